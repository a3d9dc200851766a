//! The third-party crates compiled into each shipped WebAssembly file, with their licences,
//! as cargo resolves them for that build.

use crate::util::{self, Result, XtaskError};
use std::{collections::BTreeSet, path::Path, process::Command};

/// The browser module (npm package).
pub fn npm_wasm(root: &Path) -> Result<String> {
    crate_table(root, "dukcapil-web")
}

/// The proxy Worker.
pub fn worker_wasm(root: &Path) -> Result<String> {
    crate_table(root, "dukcapil-proxy")
}

/// `cargo tree` of `package` for wasm32, without build-time proc macros: one row per
/// registry crate, sorted by name.
fn crate_table(root: &Path, package: &str) -> Result<String> {
    let out = Command::new(util::cargo())
        .current_dir(root)
        .args(["tree", "--locked", "--quiet", "-p", package])
        .args(["--target", "wasm32-unknown-unknown"])
        .args(["-e", "normal,no-proc-macro", "--prefix", "none"])
        .args(["--format", "{p}\t{l}"])
        .output()
        .map_err(|e| XtaskError::new(format!("cannot run cargo tree: {e}")))?;
    if !out.status.success() {
        return Err(XtaskError::new(format!(
            "cargo tree -p {package} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(table(&String::from_utf8_lossy(&out.stdout)))
}

fn table(tree: &str) -> String {
    let rows: BTreeSet<(String, String, String)> = tree
        .lines()
        .filter_map(|line| {
            let (package, licence) = line.split_once('\t')?;
            let mut words = package.split(' ');
            let (name, version) = (words.next()?, words.next()?);
            // Our own crates carry a path: `dukcapil-core v0.1.0 (/…)`.
            if package.contains(" (/") || package.contains(":\\") {
                return None;
            }
            let licence = licence.trim_end_matches(" (*)").replace('/', " OR ");
            Some((name.into(), version.trim_start_matches('v').into(), licence))
        })
        .collect();
    let mut t = String::from("| crate | version | licence |\n|---|---|---|\n");
    for (name, version, licence) in rows {
        t.push_str(&format!("| `{name}` | {version} | {licence} |\n"));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_skip_our_crates_and_duplicates() {
        let tree = "dukcapil-core v0.1.0 (/w/crates/dukcapil-core)\tMIT AND ODbL-1.0\n\
                    serde v1.0.229\tMIT OR Apache-2.0\n\
                    serde v1.0.229\tMIT OR Apache-2.0 (*)\n\
                    base64 v0.22.1\tMIT/Apache-2.0\n";
        assert_eq!(
            table(tree),
            "| crate | version | licence |\n|---|---|---|\n\
             | `base64` | 0.22.1 | MIT OR Apache-2.0 |\n\
             | `serde` | 1.0.229 | MIT OR Apache-2.0 |\n"
        );
    }
}
