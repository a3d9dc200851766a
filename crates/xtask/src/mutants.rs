//! `cargo xtask mutants [CRATE…]`: mutation testing of the pure crates with cargo-mutants
//! (pinned, see `setup`). Each crate is tested by its own `cargo test` only, so a decision
//! that only the JS suites under workerd pin counts as untested here. Prints the score of each
//! crate and fails below [`MIN_SCORE_PERCENT`].
//!
//! The settings, and every accepted survivor with the reason it cannot be caught, are in
//! `.cargo/mutants.toml`, which cargo-mutants reads by itself. Not part of `cargo xtask test`:
//! it takes many minutes.

use crate::{
    setup,
    util::{self, Result, XtaskError},
};
use std::path::Path;

/// The share of viable mutants each crate's own tests must catch.
pub const MIN_SCORE_PERCENT: f64 = 95.0;

/// A crate and the files of it that are mutated (all when empty).
struct Target {
    package: &'static str,
    files: &'static [&'static str],
}

const TARGETS: &[Target] = &[
    Target {
        package: "dukcapil-core",
        files: &[],
    },
    Target {
        package: "dukcapil-selfie",
        files: &[],
    },
    // The glue is wasm32-only and never compiled natively: only `logic/` can be tested here.
    Target {
        package: "dukcapil-proxy",
        files: &["crates/dukcapil-proxy/src/logic/**"],
    },
];

/// What one crate's run found.
#[derive(Debug, Default, PartialEq)]
pub struct Score {
    pub caught: u64,
    pub missed: u64,
    pub timeout: u64,
    pub unviable: u64,
    pub missed_names: Vec<String>,
}

impl Score {
    /// Viable mutants: those that built. A timeout is a hang the tests detected.
    pub fn viable(&self) -> u64 {
        self.caught + self.missed + self.timeout
    }

    pub fn percent(&self) -> f64 {
        if self.viable() == 0 {
            return 100.0;
        }
        100.0 * (self.caught + self.timeout) as f64 / self.viable() as f64
    }
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    // After `--`: passed to cargo-mutants, e.g. `-- --shard 1/8 --sharding round-robin` for a
    // sample of dukcapil-selfie's ~1,400 mutants (about 15 s each on 2 shared cores).
    let (args, passed) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let chosen: Vec<&Target> = if args.is_empty() {
        TARGETS.iter().collect()
    } else {
        args.iter()
            .map(|a| {
                TARGETS.iter().find(|t| t.package == a).ok_or_else(|| {
                    let names: Vec<_> = TARGETS.iter().map(|t| t.package).collect();
                    XtaskError::new(format!("no mutation target `{a}`; have {names:?}"))
                })
            })
            .collect::<Result<_>>()?
    };
    let cargo_mutants = setup::ensure_cargo_mutants()?;
    let mut rows = Vec::new();
    for target in chosen {
        util::step(&format!(
            "cargo mutants --package {} (its own tests only)",
            target.package
        ));
        let out = root.join("target/mutants").join(target.package);
        std::fs::create_dir_all(&out)?;
        let out_arg = out.to_string_lossy().into_owned();
        let mut cmd_args = vec!["mutants", "--package", target.package, "--output", &out_arg];
        for f in target.files {
            cmd_args.extend(["--file", f]);
        }
        cmd_args.extend(passed.iter().map(String::as_str));
        // A non-zero exit only means "some mutants survived": the score decides.
        let _ = util::run(root, &cargo_mutants.to_string_lossy(), &cmd_args, &[]);
        let outcomes = std::fs::read_to_string(out.join("mutants.out/outcomes.json"))
            .map_err(|e| XtaskError::new(format!("cargo-mutants left no outcomes: {e}")))?;
        let score = parse_outcomes(&outcomes)?;
        rows.push((target.package, score));
    }
    println!("\nmutation score (caught by the crate's own cargo test; accepted survivors are in .cargo/mutants.toml):");
    let mut failed = Vec::new();
    for (package, s) in &rows {
        println!(
            "  {package:<16} {:>5.1}%  caught {} of {} viable ({} by timeout), {} unviable",
            s.percent(),
            s.caught + s.timeout,
            s.viable(),
            s.timeout,
            s.unviable
        );
        for name in &s.missed_names {
            println!("      missed: {name}");
        }
        if s.percent() < MIN_SCORE_PERCENT {
            failed.push(format!("{package} {:.1}%", s.percent()));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(XtaskError::new(format!(
            "below the {MIN_SCORE_PERCENT}% target: {}",
            failed.join(", ")
        )))
    }
}

/// Reads cargo-mutants' `outcomes.json`.
pub fn parse_outcomes(json: &str) -> Result<Score> {
    let v: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| XtaskError::new(format!("outcomes.json is not JSON: {e}")))?;
    let count = |k: &str| v.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let missed_names = v
        .get("outcomes")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter(|o| o.get("summary").and_then(|s| s.as_str()) == Some("MissedMutant"))
        .filter_map(|o| {
            o.pointer("/scenario/Mutant/name")?
                .as_str()
                .map(String::from)
        })
        .collect();
    Ok(Score {
        caught: count("caught"),
        missed: count("missed"),
        timeout: count("timeout"),
        unviable: count("unviable"),
        missed_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_counts_and_the_missed_mutants() {
        let json = r#"{"total_mutants": 5, "missed": 1, "caught": 2, "timeout": 1, "unviable": 1,
            "outcomes": [
              {"scenario": "Baseline", "summary": "Success"},
              {"scenario": {"Mutant": {"name": "src/a.rs:3:5: replace f -> bool with true"}}, "summary": "MissedMutant"},
              {"scenario": {"Mutant": {"name": "src/a.rs:9:1: replace g with ()"}}, "summary": "CaughtMutant"}
            ]}"#;
        let s = parse_outcomes(json).unwrap();
        assert_eq!((s.caught, s.missed, s.timeout, s.unviable), (2, 1, 1, 1));
        assert_eq!(
            s.missed_names,
            ["src/a.rs:3:5: replace f -> bool with true"]
        );
        assert_eq!(s.viable(), 4);
        assert_eq!(s.percent(), 75.0);
        assert!(parse_outcomes("not json").is_err());
    }
}
