//! `cargo xtask fuzz [--seconds N] [TARGET…]`: runs the cargo-fuzz targets in
//! `crates/dukcapil-fuzz`, each for N seconds, and prints the executions done.
//!
//! Stable Rust is enough: with `--sanitizer none` cargo-fuzz needs no `-Z` flags, and the code
//! it fuzzes forbids `unsafe`, so AddressSanitizer would add little.

use crate::{
    setup,
    util::{self, Result, XtaskError},
};
use std::{path::Path, process::Command};

const FUZZ_DIR: &str = "crates/dukcapil-fuzz";

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut seconds = 60u64;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--seconds" {
            seconds = it
                .next()
                .and_then(|s| s.parse().ok())
                .filter(|&s| s > 0)
                .ok_or_else(|| XtaskError::new("--seconds takes a positive whole number"))?;
        } else {
            targets.push(arg.clone());
        }
    }
    fuzz(root, seconds, &targets)
}

/// Fuzzes `targets` (all when empty) for `seconds` each; fails on the first crash.
pub fn fuzz(root: &Path, seconds: u64, targets: &[String]) -> Result<()> {
    let cargo_fuzz = setup::ensure_cargo_fuzz()?;
    let all = list_targets(root)?;
    let chosen: Vec<String> = if targets.is_empty() {
        all
    } else {
        for t in targets {
            if !all.contains(t) {
                return Err(XtaskError::new(format!(
                    "no fuzz target `{t}`; have {all:?}"
                )));
            }
        }
        targets.to_vec()
    };
    let mut rows = Vec::new();
    for target in &chosen {
        util::step(&format!("fuzzing {target} for {seconds} s"));
        let corpus = root.join("target/fuzz-corpus").join(target);
        let artifacts = root.join("target/fuzz-artifacts").join(target);
        std::fs::create_dir_all(&corpus)?;
        std::fs::create_dir_all(&artifacts)?;
        let seeds = root.join(FUZZ_DIR).join("seeds").join(target);
        let out = Command::new(&cargo_fuzz)
            .current_dir(root)
            // The size-tuned release profile (fat LTO, strip) breaks coverage instrumentation.
            .envs([
                ("CARGO_PROFILE_RELEASE_LTO", "false"),
                ("CARGO_PROFILE_RELEASE_STRIP", "false"),
                ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
            ])
            .args(["fuzz", "run", "--sanitizer", "none", "--fuzz-dir", FUZZ_DIR])
            .arg("--target-dir")
            .arg(root.join("target/fuzz"))
            .arg(target)
            .arg(&corpus)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg("-print_final_stats=1")
            .output()
            .map_err(|e| XtaskError::new(format!("cannot start cargo-fuzz: {e}")))?;
        let log = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(XtaskError::new(format!(
                "fuzz target {target} failed; the input is in {}. Fix the bug, then copy the \
                 input into {FUZZ_DIR}/seeds/{target}/ as a regression test.\n{}",
                artifacts.display(),
                tail.join("\n")
            )));
        }
        let runs = stat(&log, "stat::number_of_executed_units:").unwrap_or(0);
        let corpus_files = std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
        println!(
            "{target}: {runs} executions in {seconds} s, corpus {corpus_files} inputs, no crash"
        );
        rows.push((target.clone(), runs, corpus_files));
    }
    println!(
        "\n| target | seconds | executions | corpus inputs | crashes |\n|---|---:|---:|---:|---:|"
    );
    for (target, runs, corpus) in rows {
        println!("| {target} | {seconds} | {runs} | {corpus} | 0 |");
    }
    Ok(())
}

fn stat(log: &str, key: &str) -> Option<u64> {
    log.lines()
        .find_map(|l| l.trim().strip_prefix(key))
        .and_then(|v| v.trim().parse().ok())
}

fn list_targets(root: &Path) -> Result<Vec<String>> {
    let dir = root.join(FUZZ_DIR).join("fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::stat;

    #[test]
    fn reads_libfuzzer_final_stats() {
        let log = "INFO: x\nstat::number_of_executed_units: 9826839\nstat::peak_rss_mb: 40\n";
        assert_eq!(stat(log, "stat::number_of_executed_units:"), Some(9826839));
        assert_eq!(stat(log, "stat::missing:"), None);
    }
}
