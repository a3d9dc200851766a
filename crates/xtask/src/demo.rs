//! `cargo xtask demo` and the end-to-end tests: the page in `www/` and the Worker served from
//! one origin by `wrangler dev`, exactly as a customer runs it locally.

use crate::{
    proxy,
    setup::{Browser, Tools},
    util::{self, Result, XtaskError},
    web,
};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

const DEMO_ADDR: &str = "127.0.0.1";
const DEMO_PORT: u16 = 8787;

/// Where the page imports the npm package from (gitignored: a build output).
fn vendor_dir(root: &Path) -> PathBuf {
    root.join("www/vendor/dukcapil-facematch")
}

/// Copies the built package next to the page, replacing any older copy.
fn vendor_package(root: &Path) -> Result<()> {
    let from = web::pkg_dir(root);
    let to = vendor_dir(root);
    if to.exists() {
        std::fs::remove_dir_all(&to)?;
    }
    copy_dir(&from, &to)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Builds the npm package and puts it next to the page.
pub fn build_package(root: &Path, tools: &Tools) -> Result<()> {
    web::build(root, tools)?;
    vendor_package(root)
}

/// Builds the package and the Worker, and puts the package next to the page.
pub fn build_all(root: &Path, tools: &Tools) -> Result<()> {
    build_package(root, tools)?;
    proxy::build(root, tools)
}

/// The wrangler.toml environment of the demo: the page in www/ and the API, in the sandbox.
const DEMO_ENV: &str = "demo";

/// The environment every `wrangler dev` we start gets: no metrics, no calls home, its config
/// kept out of `~/.config`, and wrangler.toml's [build] command skipped (we built already).
fn wrangler_env(root: &Path) -> Vec<(&'static str, PathBuf)> {
    vec![
        ("WRANGLER_SEND_METRICS", "false".into()),
        ("CLOUDFLARE_CF_FETCH_ENABLED", "false".into()),
        ("XDG_CONFIG_HOME", root.join("target/wrangler-config")),
        ("DUKCAPIL_PREBUILT", "1".into()),
    ]
}

/// The end-to-end suite in `tests/e2e`. `cargo xtask test` runs it after `proxy::test` and
/// `web::test`, which built the Worker and the package, so it only puts the package in place.
pub fn test(root: &Path, browser: &Browser) -> Result<()> {
    vendor_package(root)?;
    util::run(
        root,
        "node",
        &["--test", "--test-concurrency=1", "tests/e2e/"],
        &[("CHROMIUM", browser.chromium.as_os_str())],
    )
}

pub fn run(root: &Path, tools: &Tools, args: &[String]) -> Result<()> {
    let live = args.iter().any(|a| a == "--live");
    build_all(root, tools)?;
    let url = format!("http://{DEMO_ADDR}:{DEMO_PORT}");
    // The rest ([env.demo] in wrangler.toml) is what `wrangler deploy --env demo` deploys.
    let mut vars = Vec::new();
    if live {
        let dev_vars = std::fs::read_to_string(root.join(".dev.vars")).unwrap_or_default();
        let has = |k: &str| dev_vars.lines().any(|l| l.trim_start().starts_with(k));
        if !has("HV_APP_ID") || !has("HV_APP_KEY") {
            return Err(XtaskError::new(
                "--live needs HV_APP_ID and HV_APP_KEY in .dev.vars (see the README)",
            ));
        }
        vars.push("SANDBOX:false");
    }
    println!("\nDemo: {url}\n");
    if live {
        println!("LIVE: the page calls the real HyperVerge API with the keys in .dev.vars.");
    } else {
        println!("Sandbox mode: nothing leaves this machine. The NIK's last four digits pick the outcome:");
        println!("{}", proxy::sandbox_table());
    }
    println!("Ctrl-C stops the demo.\n");
    let mut cmd = Command::new(tools.node_bin.join("wrangler"));
    cmd.current_dir(root)
        .args(["dev", "--env", DEMO_ENV])
        .args(["--ip", DEMO_ADDR, "--port", &DEMO_PORT.to_string()])
        .arg("--show-interactive-dev-session=false")
        .arg("--persist-to")
        .arg(root.join("target/wrangler-state/demo"))
        .envs(wrangler_env(root))
        .stdin(std::process::Stdio::null());
    for v in &vars {
        cmd.args(["--var", v]);
    }
    // wrangler gets Ctrl-C too (same process group) and stops workerd; we wait for it.
    let status = cmd
        .status()
        .map_err(|e| XtaskError::new(format!("cannot start wrangler: {e}")))?;
    if status.success() || status.code().is_none() {
        Ok(())
    } else {
        Err(XtaskError::new(format!(
            "wrangler dev exited with {status}"
        )))
    }
}
