//! The reliability and security suites in `tests/reliability/`: hostile inputs against the
//! running proxy (workerd via Miniflare), upstream faults (a fault that never ends must be cut
//! by the proxy's own timeout; no clock bounds), load with an exact check that the wasm heap
//! stays flat and workerd's RSS sampled, a leak scan of every answer and log line, and hostile
//! files in the browser module (headless Chromium).
//!
//! `cargo xtask test` calls [`test`] after `proxy::test` and `web::test` have built the Worker
//! (`build/`) and the npm package (`crates/dukcapil-web/pkg`); its load test is the bounded
//! one (16 clients × 25 requests at 200 KB, 4 × 5 at 2 MB: a few seconds).
//! `cargo xtask reliability [--full]` builds both first; `--full` runs the full load
//! (32 clients × 200 requests at 200 KB, then 8 × 20 at 2 MB: about a minute).

use crate::setup::{Browser, Tools};
use crate::util::{self, Result, XtaskError};
use std::ffi::OsStr;
use std::path::Path;

/// Runs the suites against what is already built, with the bounded load test.
pub fn test(root: &Path, browser: &Browser) -> Result<()> {
    suites(root, browser, false)
}

/// `cargo xtask reliability [--full]`: builds the proxy and the browser module, then runs the
/// suites.
pub fn run(root: &Path, tools: &Tools, browser: &Browser, args: &[String]) -> Result<()> {
    let mut full = false;
    for arg in args {
        match arg.as_str() {
            "--full" => full = true,
            other => {
                return Err(XtaskError::new(format!(
                    "unknown option {other}\nusage: cargo xtask reliability [--full]"
                )))
            }
        }
    }
    crate::proxy::build(root, tools)?;
    crate::web::build(root, tools)?;
    suites(root, browser, full)
}

fn suites(root: &Path, browser: &Browser, full: bool) -> Result<()> {
    for built in [
        root.join("build/index.js"),
        crate::web::pkg_dir(root).join("index.js"),
    ] {
        if !built.is_file() {
            return Err(XtaskError::new(format!(
                "{} is missing: `cargo xtask reliability` builds it",
                built.display()
            )));
        }
    }
    util::step(if full {
        "reliability and security (node --test tests/reliability/, full load)"
    } else {
        "reliability and security (node --test tests/reliability/)"
    });
    let envs: [(&str, &OsStr); 2] = [
        ("CHROMIUM", browser.chromium.as_os_str()),
        ("RELIABILITY_FULL", OsStr::new(if full { "1" } else { "0" })),
    ];
    // One file at a time: the load test's figures are not shared with another suite's workerd.
    util::node_tests(root, &["tests/reliability/"], true, &envs)
}
