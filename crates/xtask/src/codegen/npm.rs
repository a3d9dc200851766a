//! The npm package's generated parts: the error-code unions of its declarations, the path
//! its client calls, its version, and the raw wasm-bindgen declarations.

use crate::util::{Result, XtaskError};
use dukcapil_core::{nik::NikError, ErrorCode};
use dukcapil_selfie::SelfieError;
use std::path::Path;

const PACKAGE_JSON: &str = "crates/dukcapil-web/npm/package.json";

/// `export type NAME =\n  | 'A'\n  | 'B';`
fn union(doc: &str, name: &str, members: &[String]) -> String {
    let mut t = String::from(doc);
    t.push_str(&format!("export type {name} ="));
    for m in members {
        t.push_str(&format!("\n  | {m}"));
    }
    t.push_str(";\n");
    t
}

fn quoted(code: &str) -> String {
    format!("'{code}'")
}

/// `NikErrorCode` from `NikError::CODES`, for the NIK-only entry's declarations (the main
/// entry's re-export it).
pub fn nik_error_codes() -> String {
    let nik: Vec<String> = NikError::CODES.iter().map(|c| quoted(c.as_str())).collect();
    union("", "NikErrorCode", &nik)
}

/// `SelfieErrorCode` from `SelfieError::ALL`, and `FaceMatchErrorCode`: `NikErrorCode` and
/// every other code of the core catalogue, which `verify` may reject with.
pub fn error_code_unions() -> String {
    let selfie: Vec<String> = SelfieError::ALL.iter().map(|e| quoted(e.code())).collect();
    let mut face_match = vec!["NikErrorCode".to_string()];
    face_match.extend(
        ErrorCode::ALL
            .iter()
            .filter(|c| !NikError::CODES.contains(c))
            .map(|c| quoted(c.as_str())),
    );
    [
        union("", "SelfieErrorCode", &selfie),
        union(
            "/** Codes of the core catalogue that `verify` can reject with. */\n",
            "FaceMatchErrorCode",
            &face_match,
        ),
    ]
    .join("\n")
}

/// The cap on the answer `FaceMatchClient` reads, from the core's envelope reader, the path
/// it joins to the endpoint, the core's `VERIFY_PATH`, and the retry options' defaults and
/// bound, from the core's retry rule.
pub fn client_limits() -> String {
    use dukcapil_core::contract::retry;
    format!(
        "const MAX_ANSWER_BYTES = {};\nconst VERIFY_PATH = '{}';\n\
         const DEFAULT_RETRIES = {};\nconst MAX_RETRIES = {};\nconst DEFAULT_RETRY_DELAY_MS = {};\n",
        dukcapil_core::contract::envelope::MAX_ANSWER_BYTES,
        dukcapil_core::contract::VERIFY_PATH,
        retry::DEFAULT_RETRIES,
        retry::MAX_RETRIES,
        retry::DEFAULT_RETRY_DELAY_MS,
    )
}

/// `package.json` with the workspace's version: `Cargo.toml` is the one place it is set.
pub fn package_json(root: &Path) -> Result<String> {
    let text = std::fs::read_to_string(root.join(PACKAGE_JSON))?;
    with_version(&text, env!("CARGO_PKG_VERSION"))
}

fn with_version(package_json: &str, version: &str) -> Result<String> {
    let mut found = 0;
    let lines: Vec<String> = package_json
        .split_inclusive('\n')
        .map(|line| match line.strip_prefix("  \"version\": \"") {
            Some(_) => {
                found += 1;
                format!("  \"version\": \"{version}\",\n")
            }
            None => line.to_string(),
        })
        .collect();
    if found != 1 {
        return Err(XtaskError::new(format!(
            "{PACKAGE_JSON} needs exactly one top-level `\"version\": \"…\",` line"
        )));
    }
    Ok(lines.concat())
}

/// The wasm-bindgen declarations of the raw exports, as the last `web::build` wrote them.
pub fn raw_api(root: &Path) -> Result<String> {
    let built = crate::web::raw_api_built(root);
    std::fs::read_to_string(&built).map_err(|e| {
        XtaskError::new(format!(
            "cannot read {} ({e}): the npm package must be built first",
            built.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `1.2.3` → (1, 2, 3); anything after a `-` or `+` is ignored.
    fn version_triple(v: &str) -> Option<(u64, u64, u64)> {
        let core = v.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        let triple = (parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(triple)
    }

    /// The versions of CHANGELOG.md's release headings (`## [1.2.3] - 2026-01-31`), newest first.
    fn changelog_releases(changelog: &str) -> Vec<&str> {
        changelog
            .lines()
            .filter_map(|l| l.strip_prefix("## ["))
            .filter_map(|l| l.split_once(']').map(|(v, _)| v))
            .filter(|v| *v != "Unreleased")
            .collect()
    }

    #[test]
    fn unions_list_every_code_once() {
        let unions = nik_error_codes() + &error_code_unions();
        for code in ErrorCode::ALL {
            assert_eq!(unions.matches(&quoted(code.as_str())).count(), 1, "{code}");
        }
        for e in SelfieError::ALL {
            assert_eq!(unions.matches(&quoted(e.code())).count(), 1, "{}", e.code());
        }
        assert!(unions
            .contains("export type FaceMatchErrorCode =\n  | NikErrorCode\n  | 'IMAGE_MISSING'"));
    }

    /// The changelog never names a release newer than the workspace version, the one place
    /// the version is set.
    #[test]
    fn changelog_releases_are_not_ahead_of_the_version() {
        let root = crate::util::workspace_root().unwrap();
        let changelog = std::fs::read_to_string(root.join("CHANGELOG.md")).unwrap();
        assert!(changelog.contains("## [Unreleased]"));
        let version = version_triple(env!("CARGO_PKG_VERSION")).unwrap();
        for release in changelog_releases(&changelog) {
            let v = version_triple(release).unwrap_or_else(|| panic!("bad version {release}"));
            assert!(
                v <= version,
                "CHANGELOG.md has a [{release}] section, newer than Cargo.toml's version"
            );
        }
    }

    #[test]
    fn changelog_headings_and_versions_are_read() {
        let text = "# Changelog\n## [Unreleased]\n## [0.2.0] - 2026-01-02\n### Added\n## [0.1.10] - 2025-01-01\n";
        assert_eq!(changelog_releases(text), ["0.2.0", "0.1.10"]);
        assert!(version_triple("0.1.10") > version_triple("0.1.9"));
        assert_eq!(version_triple("1.2.3-rc.1"), Some((1, 2, 3)));
        assert_eq!(version_triple("1.2"), None);
        assert_eq!(version_triple("1.2.3.4"), None);
    }

    #[test]
    fn the_version_line_is_replaced() {
        let pkg =
            "{\n  \"name\": \"x\",\n  \"version\": \"0.0.1\",\n  \"deps\": { \"version\": 1 }\n}\n";
        assert_eq!(
            with_version(pkg, "1.2.3").unwrap(),
            "{\n  \"name\": \"x\",\n  \"version\": \"1.2.3\",\n  \"deps\": { \"version\": 1 }\n}\n"
        );
        assert!(with_version("{}", "1.2.3").is_err());
    }
}
