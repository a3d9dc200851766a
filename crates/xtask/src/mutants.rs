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
    /// Mutants of today's code that no run has tried yet (whole-crate tallies only).
    pub not_run: u64,
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
    // After `--`: passed to cargo-mutants, e.g. `-- --iterate` to go on where the last run
    // stopped (skipping what it caught), or `-- --shard 1/8 --sharding round-robin` for a
    // part of dukcapil-selfie's ~1,460 mutants (about 7–10 s each on 2 cores).
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
        let ran = util::run(root, &cargo_mutants.to_string_lossy(), &cmd_args, &[]);
        let this_run = match std::fs::read_to_string(out.join("mutants.out/outcomes.json")) {
            Ok(outcomes) => parse_outcomes(&outcomes)?,
            // cargo-mutants exits 0 without outcomes when nothing is left to test (`--iterate`
            // after the last mutant, a `--re` that matches none): the kept verdicts still score.
            Err(_) if ran.is_ok() => Score::default(),
            Err(e) => {
                return Err(XtaskError::new(format!(
                    "cargo-mutants left no outcomes: {e}"
                )))
            }
        };
        // Every run's verdicts are kept, so that runs that each cover part of the crate
        // (`-- --iterate`, `-- --shard K/N`) add up to the whole crate's score.
        let history_file = out.join("history.tsv");
        let mut history =
            History::parse(&std::fs::read_to_string(&history_file).unwrap_or_default());
        // cargo-mutants names its lists as the verdicts are named here.
        for verdict in Verdict::ALL {
            let list = out.join(format!("mutants.out/{}.txt", verdict.as_str()));
            let names = std::fs::read_to_string(list).unwrap_or_default();
            history.record(verdict, names.lines());
        }
        std::fs::write(&history_file, history.to_text())?;
        let mut list_args = vec!["mutants", "--list", "--package", target.package];
        for f in target.files {
            list_args.extend(["--file", f]);
        }
        let listed = util::output(&cargo_mutants.to_string_lossy(), &list_args)
            .ok_or_else(|| XtaskError::new("`cargo mutants --list` failed"))?;
        let current: Vec<&str> = listed.lines().filter(|l| !l.trim().is_empty()).collect();
        rows.push((target.package, this_run, history.tally(&current)));
    }
    println!("\nmutation score (caught by the crate's own cargo test; accepted survivors are in .cargo/mutants.toml):");
    let mut failed = Vec::new();
    for (package, run, whole) in &rows {
        println!(
            "  {package:<16} this run: {:>5.1}%  caught {} of {} viable ({} by timeout), {} unviable",
            run.percent(),
            run.caught + run.timeout,
            run.viable(),
            run.timeout,
            run.unviable
        );
        println!(
            "  {package:<16} whole crate, every run kept: {:>5.1}%  caught {} of {} viable ({} by timeout), {} unviable, {} not run yet",
            whole.percent(),
            whole.caught + whole.timeout,
            whole.viable(),
            whole.timeout,
            whole.unviable,
            whole.not_run
        );
        for name in &whole.missed_names {
            println!("      missed: {name}");
        }
        if whole.percent() < MIN_SCORE_PERCENT {
            failed.push(format!(
                "{package} {:.1}%, below the {MIN_SCORE_PERCENT}% target",
                whole.percent()
            ));
        } else if whole.not_run > 0 {
            failed.push(format!(
                "{package}: {} mutants not run yet (go on with `-- --iterate`)",
                whole.not_run
            ));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(XtaskError::new(format!(
            "mutation target not met: {}",
            failed.join("; ")
        )))
    }
}

/// What a mutant came to in its latest run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Caught,
    Timeout,
    Missed,
    Unviable,
}

impl Verdict {
    const ALL: [Verdict; 4] = [
        Verdict::Caught,
        Verdict::Timeout,
        Verdict::Missed,
        Verdict::Unviable,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Verdict::Caught => "caught",
            Verdict::Timeout => "timeout",
            Verdict::Missed => "missed",
            Verdict::Unviable => "unviable",
        }
    }
}

/// Every mutant's latest verdict over all runs, by name (`FILE:LINE:COL: replace …`), kept in
/// `target/mutants/CRATE/history.tsv`. A name is the mutant's text and place, so a mutant
/// whose code moved is a new one, tried again.
#[derive(Debug, Default)]
pub struct History(std::collections::BTreeMap<String, Verdict>);

impl History {
    /// Reads `verdict<TAB>name` lines; others are ignored.
    pub fn parse(text: &str) -> History {
        let verdicts = text
            .lines()
            .filter_map(|line| {
                let (v, name) = line.split_once('\t')?;
                let v = Verdict::ALL.into_iter().find(|k| k.as_str() == v)?;
                Some((name.to_string(), v))
            })
            .collect();
        History(verdicts)
    }

    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .map(|(name, v)| format!("{}\t{name}\n", v.as_str()))
            .collect()
    }

    /// The latest run's verdict replaces any earlier one.
    pub fn record<'a>(&mut self, verdict: Verdict, names: impl IntoIterator<Item = &'a str>) {
        for name in names.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
            self.0.insert(name.to_string(), verdict);
        }
    }

    /// The score of today's mutants (`cargo mutants --list`) from their latest verdicts.
    pub fn tally(&self, current: &[&str]) -> Score {
        let mut s = Score::default();
        for name in current {
            match self.0.get(*name) {
                Some(Verdict::Caught) => s.caught += 1,
                Some(Verdict::Timeout) => s.timeout += 1,
                Some(Verdict::Unviable) => s.unviable += 1,
                Some(Verdict::Missed) => {
                    s.missed += 1;
                    s.missed_names.push(name.to_string());
                }
                None => s.not_run += 1,
            }
        }
        s
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
        not_run: 0,
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

    #[test]
    fn runs_add_up_and_the_latest_verdict_counts() {
        let mut h = History::parse("caught\ta.rs:1:1: m1\nunviable\ta.rs:2:1: m2\nbogus line\n");
        h.record(Verdict::Missed, ["a.rs:3:1: m3", ""]);
        h.record(Verdict::Timeout, ["a.rs:4:1: m4"]);
        let again = History::parse(&h.to_text());
        assert_eq!(again.0, h.0);
        // m5 is new (never run); m9 is an old name the code no longer has.
        h.record(Verdict::Caught, ["a.rs:9:9: m9"]);
        let today = [
            "a.rs:1:1: m1",
            "a.rs:2:1: m2",
            "a.rs:3:1: m3",
            "a.rs:4:1: m4",
            "a.rs:5:1: m5",
        ];
        let s = h.tally(&today);
        assert_eq!(
            (s.caught, s.timeout, s.missed, s.unviable, s.not_run),
            (1, 1, 1, 1, 1)
        );
        assert_eq!(s.missed_names, ["a.rs:3:1: m3"]);
        assert_eq!(s.percent(), 200.0 / 3.0);
        // A test added for m3: its next run catches it.
        h.record(Verdict::Caught, ["a.rs:3:1: m3"]);
        let s = h.tally(&today);
        assert_eq!((s.caught, s.missed, s.percent()), (2, 0, 100.0));
    }
}
