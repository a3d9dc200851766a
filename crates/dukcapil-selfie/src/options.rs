//! Which option of [`SelfieOptions`] is wrong, and what it allows: the browser module names
//! it in `SELFIE_INVALID_OPTIONS` (options are spelled as its JS API spells them).

use crate::{
    QualityChecks, SelfieOptions, MAX_MAX_DIMENSION, MAX_MAX_PIXELS, MIN_MAX_BYTES,
    MIN_MAX_DIMENSION,
};
use dukcapil_core::{image::MAX_IMAGE_BYTES, Lang};

/// What an option accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptionRule {
    /// A whole number in `min..=max`.
    Whole { min: u64, max: u64 },
    /// A number in `(min, max]` (`open_min`) or `min..=max`.
    Number { min: u64, max: u64, open_min: bool },
    /// `true` or `false`.
    Bool,
    /// `true`, `false` or an object of thresholds (`checks`).
    Checks,
}

/// Every option, as the browser API names it (`checks.*` are the gate's thresholds).
pub const OPTIONS: &[(&str, OptionRule)] = &[
    (
        "maxDimension",
        OptionRule::Whole {
            min: MIN_MAX_DIMENSION as u64,
            max: MAX_MAX_DIMENSION as u64,
        },
    ),
    (
        "maxBytes",
        OptionRule::Whole {
            min: MIN_MAX_BYTES as u64,
            max: MAX_IMAGE_BYTES as u64,
        },
    ),
    (
        "quality",
        OptionRule::Number {
            min: 0,
            max: 1,
            open_min: true,
        },
    ),
    (
        "maxPixels",
        OptionRule::Whole {
            min: 1,
            max: MAX_MAX_PIXELS,
        },
    ),
    ("checks", OptionRule::Checks),
    ("checks.minBrightness", LEVEL),
    ("checks.maxDarkClipped", SHARE),
    ("checks.maxBrightness", LEVEL),
    ("checks.maxBrightClipped", SHARE),
    ("checks.minSharpness", SHARE),
    ("checks.faces", OptionRule::Bool),
];

const LEVEL: OptionRule = OptionRule::Number {
    min: 0,
    max: 255,
    open_min: false,
};
const SHARE: OptionRule = OptionRule::Number {
    min: 0,
    max: 1,
    open_min: false,
};

/// The rule of option `name` (`"maxBytes"`, `"checks.minSharpness"`); `None` for a name that
/// is not an option.
pub fn option_rule(name: &str) -> Option<OptionRule> {
    OPTIONS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

impl OptionRule {
    /// Whether `v` (a JS number) obeys the rule; `Bool` and `Checks` are checked by type.
    pub fn allows(&self, v: f64) -> bool {
        match *self {
            // Integers, so that messages never format a float (which links a float printer).
            OptionRule::Whole { min, max } => {
                v.fract() == 0.0 && (min as f64..=max as f64).contains(&v)
            }
            OptionRule::Number { min, max, open_min } => {
                let (min, max) = (min as f64, max as f64);
                v.is_finite() && v <= max && (v > min || (!open_min && v == min))
            }
            OptionRule::Bool | OptionRule::Checks => false,
        }
    }

    fn describe(&self, lang: Lang) -> String {
        match (*self, lang) {
            (OptionRule::Whole { min, max }, Lang::En) => {
                format!("a whole number from {min} to {max}")
            }
            (OptionRule::Whole { min, max }, Lang::Id) => {
                format!("bilangan bulat dari {min} sampai {max}")
            }
            (OptionRule::Number { min, max, open_min }, Lang::En) if open_min => {
                format!("a number above {min} and at most {max}")
            }
            (OptionRule::Number { min, max, open_min }, Lang::Id) if open_min => {
                format!("angka di atas {min} dan paling besar {max}")
            }
            (OptionRule::Number { min, max, .. }, Lang::En) => {
                format!("a number from {min} to {max}")
            }
            (OptionRule::Number { min, max, .. }, Lang::Id) => {
                format!("angka dari {min} sampai {max}")
            }
            (OptionRule::Bool, _) => "true / false".into(),
            (OptionRule::Checks, Lang::En) => "true, false or an object of thresholds".into(),
            (OptionRule::Checks, Lang::Id) => "true, false, atau objek ambang batas".into(),
        }
    }
}

/// What is wrong with the options.
#[derive(Debug, Clone, PartialEq)]
pub enum BadOption {
    /// This option breaks its rule.
    Rule(&'static str),
    /// Not an option at all (a typo must not be silently ignored).
    Unknown(String),
    /// `checks.minBrightness` is above `checks.maxBrightness`.
    BrightnessOrder,
}

impl BadOption {
    /// The option at fault, as named in the browser API.
    pub fn name(&self) -> &str {
        match self {
            BadOption::Rule(n) => n,
            BadOption::Unknown(n) => n,
            BadOption::BrightnessOrder => "checks.minBrightness",
        }
    }

    /// What a developer must change, for the error message (no user data in it).
    pub fn explain(&self, lang: Lang) -> String {
        match (self, lang) {
            (BadOption::Rule(n), Lang::En) => {
                let rule = option_rule(n).map(|r| r.describe(lang)).unwrap_or_default();
                format!("`{n}` must be {rule}.")
            }
            (BadOption::Rule(n), Lang::Id) => {
                let rule = option_rule(n).map(|r| r.describe(lang)).unwrap_or_default();
                format!("`{n}` harus {rule}.")
            }
            (BadOption::Unknown(n), Lang::En) => {
                format!("`{n}` is not an option (options: {}).", names(n))
            }
            (BadOption::Unknown(n), Lang::Id) => {
                format!("`{n}` bukan opsi yang dikenal (opsi: {}).", names(n))
            }
            (BadOption::BrightnessOrder, Lang::En) => {
                "`checks.minBrightness` must not be above `checks.maxBrightness`.".into()
            }
            (BadOption::BrightnessOrder, Lang::Id) => {
                "`checks.minBrightness` tidak boleh di atas `checks.maxBrightness`.".into()
            }
        }
    }
}

/// The options at the level of `unknown` (top level, or `checks.`), comma-separated.
fn names(unknown: &str) -> String {
    let in_checks = unknown.starts_with("checks.");
    let list: Vec<&str> = OPTIONS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| n.starts_with("checks.") == in_checks)
        .collect();
    list.join(", ")
}

impl SelfieOptions {
    /// The first option out of its range, in [`OPTIONS`] order.
    pub fn check(&self) -> Result<(), BadOption> {
        let numbers = [
            ("maxDimension", f64::from(self.max_dimension)),
            ("maxBytes", self.max_bytes as f64),
            ("quality", f64::from(self.quality)),
            ("maxPixels", self.limits.max_pixels as f64),
        ];
        check_numbers(&numbers)?;
        match &self.checks {
            Some(c) => c.check(),
            None => Ok(()),
        }
    }
}

impl QualityChecks {
    /// The first threshold out of its range.
    pub fn check(&self) -> Result<(), BadOption> {
        let numbers = [
            ("checks.minBrightness", f64::from(self.min_brightness)),
            ("checks.maxDarkClipped", f64::from(self.max_dark_clipped)),
            ("checks.maxBrightness", f64::from(self.max_brightness)),
            (
                "checks.maxBrightClipped",
                f64::from(self.max_bright_clipped),
            ),
            ("checks.minSharpness", f64::from(self.min_sharpness)),
        ];
        check_numbers(&numbers)?;
        if self.min_brightness > self.max_brightness {
            return Err(BadOption::BrightnessOrder);
        }
        Ok(())
    }
}

fn check_numbers(numbers: &[(&'static str, f64)]) -> Result<(), BadOption> {
    for &(name, v) in numbers {
        if !option_rule(name).is_some_and(|r| r.allows(v)) {
            return Err(BadOption::Rule(name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SelfieLimits;

    #[test]
    fn the_option_at_fault_is_named_with_its_range() {
        let d = SelfieOptions::default();
        let cases: [(SelfieOptions, &str, &str); 6] = [
            (
                SelfieOptions {
                    max_bytes: 9999,
                    ..d
                },
                "maxBytes",
                "`maxBytes` must be a whole number from 10000 to 2000000.",
            ),
            (
                SelfieOptions { quality: 0.0, ..d },
                "quality",
                "`quality` must be a number above 0 and at most 1.",
            ),
            (
                SelfieOptions {
                    max_dimension: 9000,
                    ..d
                },
                "maxDimension",
                "`maxDimension` must be a whole number from 64 to 8192.",
            ),
            (
                SelfieOptions {
                    limits: SelfieLimits { max_pixels: 0 },
                    ..d
                },
                "maxPixels",
                "`maxPixels` must be a whole number from 1 to 128000000.",
            ),
            (
                SelfieOptions {
                    checks: Some(QualityChecks {
                        min_sharpness: 2.0,
                        ..Default::default()
                    }),
                    ..d
                },
                "checks.minSharpness",
                "`checks.minSharpness` must be a number from 0 to 1.",
            ),
            (
                SelfieOptions {
                    checks: Some(QualityChecks {
                        min_brightness: 100.0,
                        max_brightness: 90.0,
                        ..Default::default()
                    }),
                    ..d
                },
                "checks.minBrightness",
                "`checks.minBrightness` must not be above `checks.maxBrightness`.",
            ),
        ];
        for (o, name, en) in cases {
            let bad = o.check().unwrap_err();
            assert_eq!((bad.name(), bad.explain(Lang::En).as_str()), (name, en));
            assert!(bad.explain(Lang::Id).contains(name));
            assert!(o.validate().is_err());
        }
        assert_eq!(d.check(), Ok(()));
        // Each kind of range, in Indonesian.
        for (name, id) in [
            ("quality", "angka di atas 0 dan paling besar 1"),
            ("maxBytes", "bilangan bulat dari 10000 sampai 2000000"),
            ("checks.minSharpness", "angka dari 0 sampai 1"),
        ] {
            let said = BadOption::Rule(name).explain(Lang::Id);
            assert!(said.contains(id), "{said}");
        }
        // Equal bounds leave a single brightness allowed: not out of order.
        let equal = QualityChecks {
            min_brightness: 90.0,
            max_brightness: 90.0,
            ..Default::default()
        };
        assert_eq!(equal.check(), Ok(()));
    }

    #[test]
    fn unknown_names_list_the_options_of_their_level() {
        let top = BadOption::Unknown("maxByte".into()).explain(Lang::En);
        assert_eq!(
            top,
            "`maxByte` is not an option (options: maxDimension, maxBytes, quality, maxPixels, checks)."
        );
        let inner = BadOption::Unknown("checks.minSharp".into()).explain(Lang::En);
        assert!(inner.contains("checks.minSharpness") && !inner.contains("maxBytes"));
        assert_eq!(option_rule("maxByte"), None);
        assert_eq!(option_rule("checks.faces"), Some(OptionRule::Bool));
    }

    #[test]
    fn rules_at_their_edges() {
        let q = option_rule("quality").unwrap();
        assert!(!q.allows(0.0) && q.allows(0.001) && q.allows(1.0) && !q.allows(1.01));
        assert!(!q.allows(f64::NAN) && !q.allows(f64::INFINITY));
        let b = option_rule("maxBytes").unwrap();
        assert!(b.allows(10_000.0) && !b.allows(10_000.5) && !b.allows(2_000_001.0));
        let share = option_rule("checks.minSharpness").unwrap();
        assert!(share.allows(0.0) && share.allows(1.0) && !share.allows(-0.1));
    }
}
