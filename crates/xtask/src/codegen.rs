//! `cargo xtask codegen [--check]`: every generated file, through one mechanism.
//!
//! Each [`Output`] is a file whose whole text, or whose marked sections, come from a plain
//! generator function. [`ensure_file_contents`] compares the generated text with the committed
//! one (in the style of rust-analyzer's xtask): `cargo xtask codegen` writes what differs,
//! `--check` and `cargo xtask test` fail and name the stale files. The outputs that need
//! neither npm packages nor a build are also checked by a plain `#[test]` below.
//!
//! A section in a hand-written file sits between two marker lines, in the file's own comment
//! syntax, e.g. `<!-- error-codes:start (cargo xtask codegen) -->` … `<!-- error-codes:end -->`.

mod licences;
mod npm;
mod regions;
mod tables;

use crate::util::{self, Result, XtaskError};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write every output that differs.
    Write,
    /// Fail when any output differs, naming them all.
    Check,
}

/// What a generator reads besides the crates xtask links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing: checked by `cargo test` too.
    Nothing,
    /// `node_modules` (the region data comes from the npm package `idn-area-data`).
    NpmPackages,
    /// `cargo tree`, which may fetch crate metadata.
    Cargo,
    /// The built npm package (`target/web`): the wasm-bindgen declarations.
    WebBuild,
}

/// The comment syntax of a file's section markers.
#[derive(Debug, Clone, Copy)]
pub enum Comment {
    /// `<!-- … -->` (Markdown).
    Html,
    /// `// …` (JavaScript, TypeScript).
    Slashes,
}

/// A named section and the generator of its text.
pub type Section = (&'static str, Body);

pub enum Body {
    /// From the crates xtask links.
    Plain(fn() -> String),
    /// From the workspace (e.g. `cargo tree`), which may fail.
    FromWorkspace(fn(&Path) -> Result<String>),
}

pub enum Generate {
    /// The whole file, from the workspace root.
    File(fn(&Path) -> Result<String>),
    /// Named sections of a hand-written file.
    Sections(Comment, &'static [Section]),
}

pub struct Output {
    pub path: &'static str,
    pub needs: Needs,
    pub generate: Generate,
}

pub const OUTPUTS: &[Output] = &[
    Output {
        path: "crates/dukcapil-core/src/regions_generated.rs",
        needs: Needs::NpmPackages,
        generate: Generate::File(regions::generate),
    },
    Output {
        path: "README.md",
        needs: Needs::Nothing,
        generate: Generate::Sections(
            Comment::Html,
            &[
                ("sandbox-table", Body::Plain(tables::sandbox)),
                (
                    "selfie-error-codes",
                    Body::Plain(tables::selfie_error_codes),
                ),
                ("error-codes", Body::Plain(tables::error_codes)),
                ("quality-gate-table", Body::Plain(tables::quality_gate)),
            ],
        ),
    },
    Output {
        path: "crates/dukcapil-proxy/README.md",
        needs: Needs::Nothing,
        generate: Generate::Sections(
            Comment::Html,
            &[
                ("check-order", Body::Plain(tables::check_order)),
                ("proxy-error-codes", Body::Plain(tables::proxy_error_codes)),
                ("log-reasons", Body::Plain(tables::log_reasons)),
            ],
        ),
    },
    Output {
        path: "crates/dukcapil-web/types/dukcapil-facematch.d.ts",
        needs: Needs::Nothing,
        generate: Generate::Sections(
            Comment::Slashes,
            &[("error-code-unions", Body::Plain(npm::error_code_unions))],
        ),
    },
    Output {
        path: "crates/dukcapil-web/types/nik.d.ts",
        needs: Needs::Nothing,
        generate: Generate::Sections(
            Comment::Slashes,
            &[("nik-error-codes", Body::Plain(npm::nik_error_codes))],
        ),
    },
    Output {
        path: "crates/dukcapil-web/js/index.js",
        needs: Needs::Nothing,
        generate: Generate::Sections(
            Comment::Slashes,
            &[("client-limits", Body::Plain(npm::client_limits))],
        ),
    },
    Output {
        path: "crates/dukcapil-web/npm/package.json",
        needs: Needs::Nothing,
        generate: Generate::File(npm::package_json),
    },
    Output {
        path: "docs/licences.md",
        needs: Needs::Cargo,
        generate: Generate::Sections(
            Comment::Html,
            &[
                ("npm-wasm-crates", Body::FromWorkspace(licences::npm_wasm)),
                (
                    "worker-wasm-crates",
                    Body::FromWorkspace(licences::worker_wasm),
                ),
            ],
        ),
    },
    Output {
        path: "crates/dukcapil-web/types/raw-api.d.ts",
        needs: Needs::WebBuild,
        generate: Generate::File(npm::raw_api),
    },
];

/// `cargo xtask codegen [--check]`: installs the npm packages and builds the npm package
/// (for its declarations) first.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mode = match args {
        [] => Mode::Write,
        [flag] if flag == "--check" => Mode::Check,
        _ => return Err(XtaskError::new("usage: cargo xtask codegen [--check]")),
    };
    let tools = crate::setup::ensure_build_tools(root)?;
    ensure(
        root,
        mode,
        &[Needs::Nothing, Needs::NpmPackages, Needs::Cargo],
    )?;
    crate::web::build(root, &tools)?;
    ensure(root, mode, &[Needs::WebBuild])
}

/// Brings every output whose needs are in `needs` up to date (or checks it).
pub fn ensure(root: &Path, mode: Mode, needs: &[Needs]) -> Result<()> {
    let mut stale = Vec::new();
    for out in OUTPUTS.iter().filter(|o| needs.contains(&o.needs)) {
        let text = generate(root, out)?;
        if ensure_file_contents(root, out.path, &text, mode)? {
            stale.push(out.path);
        }
    }
    match (mode, stale.is_empty()) {
        (Mode::Check, false) => Err(XtaskError::new(format!(
            "generated files are out of date: {}\n  run `cargo xtask codegen` and commit the result",
            stale.join(", ")
        ))),
        _ => Ok(()),
    }
}

fn generate(root: &Path, out: &Output) -> Result<String> {
    match &out.generate {
        Generate::File(f) => f(root),
        Generate::Sections(comment, sections) => {
            let text = std::fs::read_to_string(root.join(out.path))
                .map_err(|e| XtaskError::new(format!("cannot read {}: {e}", out.path)))?;
            sections.iter().try_fold(text, |doc, (name, body)| {
                let body = match body {
                    Body::Plain(f) => f(),
                    Body::FromWorkspace(f) => f(root)?,
                };
                splice(&doc, *comment, name, &body)
                    .map_err(|e| XtaskError::new(format!("{}: {e}", out.path)))
            })
        }
    }
}

/// Whether `rel` already holds `contents` (line endings aside). If not: in `Write` mode it
/// is rewritten, in `Check` mode it is left alone. Returns whether it was stale.
pub fn ensure_file_contents(root: &Path, rel: &str, contents: &str, mode: Mode) -> Result<bool> {
    let path = root.join(rel);
    let contents = normalize_newlines(contents);
    if let Ok(old) = std::fs::read_to_string(&path) {
        if normalize_newlines(&old) == contents {
            return Ok(false);
        }
    }
    match mode {
        Mode::Check => eprintln!("{rel} is not up to date"),
        Mode::Write => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, contents)?;
            util::step(&format!("updated {rel}"));
        }
    }
    Ok(true)
}

fn normalize_newlines(s: &str) -> String {
    s.replace("\r\n", "\n")
}

fn markers(comment: Comment, name: &str) -> (String, String) {
    match comment {
        Comment::Html => (
            format!("<!-- {name}:start (cargo xtask codegen) -->\n"),
            format!("<!-- {name}:end -->"),
        ),
        Comment::Slashes => (
            format!("// {name}:start (cargo xtask codegen)\n"),
            format!("// {name}:end"),
        ),
    }
}

/// `doc` with the text between `name`'s markers replaced by `body`.
fn splice(doc: &str, comment: Comment, name: &str, body: &str) -> Result<String> {
    let (start_marker, end_marker) = markers(comment, name);
    let start = doc.find(&start_marker);
    let end = doc.find(&end_marker);
    let (Some(start), Some(end)) = (start, end) else {
        return Err(XtaskError::new(format!(
            "the markers `{}` … `{end_marker}` are missing",
            start_marker.trim_end()
        )));
    };
    let body_start = start + start_marker.len();
    if end < body_start || doc[end + end_marker.len()..].contains(&end_marker) {
        return Err(XtaskError::new(format!(
            "the `{name}` markers are out of order or repeated"
        )));
    }
    Ok(format!("{}{body}{}", &doc[..body_start], &doc[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outputs that need neither npm packages nor a build are up to date.
    #[test]
    fn generated_files_are_up_to_date() {
        let root = util::workspace_root().unwrap();
        if let Err(e) = ensure(&root, Mode::Check, &[Needs::Nothing]) {
            panic!("{e}");
        }
    }

    #[test]
    fn sections_replace_only_what_is_between_the_markers() {
        let doc = "intro\n<!-- t:start (cargo xtask codegen) -->\nstale\n<!-- t:end -->\noutro\n";
        let out = splice(doc, Comment::Html, "t", "fresh\n").unwrap();
        assert_eq!(
            out,
            "intro\n<!-- t:start (cargo xtask codegen) -->\nfresh\n<!-- t:end -->\noutro\n"
        );
        assert_eq!(splice(&out, Comment::Html, "t", "fresh\n").unwrap(), out);
        let js = "a\n// v:start (cargo xtask codegen)\nold\n// v:end\nb\n";
        assert_eq!(
            splice(js, Comment::Slashes, "v", "new\n").unwrap(),
            "a\n// v:start (cargo xtask codegen)\nnew\n// v:end\nb\n"
        );
        assert!(splice("no markers", Comment::Html, "t", "x").is_err());
        assert!(splice(js, Comment::Html, "v", "x").is_err());
        let reversed = "// v:end\n// v:start (cargo xtask codegen)\n";
        assert!(splice(reversed, Comment::Slashes, "v", "x").is_err());
        let twice = format!("{js}{js}");
        assert!(splice(&twice, Comment::Slashes, "v", "x").is_err());
    }

    #[test]
    fn ensure_writes_only_in_write_mode() {
        let dir = std::env::temp_dir().join(format!("xtask-codegen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("f.txt"), "old\r\n").unwrap();
        assert!(!ensure_file_contents(&dir, "f.txt", "old\n", Mode::Check).unwrap());
        assert!(ensure_file_contents(&dir, "f.txt", "new\n", Mode::Check).unwrap());
        assert_eq!(
            std::fs::read_to_string(dir.join("f.txt")).unwrap(),
            "old\r\n"
        );
        assert!(ensure_file_contents(&dir, "f.txt", "new\n", Mode::Write).unwrap());
        assert_eq!(std::fs::read_to_string(dir.join("f.txt")).unwrap(), "new\n");
        assert!(ensure_file_contents(&dir, "sub/g.txt", "x\n", Mode::Write).unwrap());
        assert!(!ensure_file_contents(&dir, "sub/g.txt", "x\n", Mode::Check).unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
