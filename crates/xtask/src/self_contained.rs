//! A clone must stand alone: users get this repository without the team folder that sits beside it
//! on development machines, so no tracked file may point there.

use crate::util::{Result, XtaskError};
use std::path::Path;

/// The team folder's name, split so that this file does not match itself.
const TEAM_FOLDER: &str = concat!("sha", "red");

/// Tracked text that reaches outside the clone into the team folder: `(path, line number)`.
fn outside_references(path: &str, text: &str) -> Vec<(String, usize)> {
    let needles = [format!("../{TEAM_FOLDER}"), format!("/work/{TEAM_FOLDER}")];
    text.lines()
        .enumerate()
        .filter(|(_, line)| needles.iter().any(|n| line.contains(n.as_str())))
        .map(|(i, _)| (path.to_string(), i + 1))
        .collect()
}

/// Fails when any tracked file refers to the team folder beside the clone.
pub fn check(root: &Path) -> Result<()> {
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .map_err(|e| XtaskError::new(format!("cannot run git ls-files: {e}")))?;
    if !out.status.success() {
        return Err(XtaskError::new("git ls-files failed"));
    }
    let mut found = Vec::new();
    for rel in out.stdout.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let rel = String::from_utf8_lossy(rel);
        // Binary files (photos) cannot hold a path worth reporting.
        let Ok(text) = std::fs::read_to_string(root.join(rel.as_ref())) else {
            continue;
        };
        found.extend(outside_references(&rel, &text));
    }
    if found.is_empty() {
        println!("no tracked file refers outside the repository");
        return Ok(());
    }
    let list: Vec<String> = found.iter().map(|(p, l)| format!("  {p}:{l}")).collect();
    Err(XtaskError::new(format!(
        "these tracked files refer to ../{TEAM_FOLDER}, which a clone does not have; copy what they \
         need into the repository:\n{}",
        list.join("\n")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references_to_the_team_folder() {
        let text = format!("a\nsee ../{TEAM_FOLDER}/fixtures/x.jpg\nb /work/{TEAM_FOLDER}/r\nc\n");
        assert_eq!(
            outside_references("f.md", &text),
            [("f.md".to_string(), 2), ("f.md".to_string(), 3)]
        );
        assert!(outside_references("f.md", "tests/fixtures and sharedArrayBuffer").is_empty());
    }
}
