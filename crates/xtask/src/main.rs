//! `cargo xtask <command>`: the project's automation. Every command installs what it needs.

mod bench_proxy;
mod codegen;
mod demo;
mod fuzz;
mod mutants;
mod proxy;
mod python;
mod reliability;
mod secrets;
mod self_contained;
mod setup;
mod util;
mod web;

use std::process::ExitCode;
use util::{Result, XtaskError};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test                 every check and test suite (what CI runs)
  build [worker|package]  build the npm package (crates/dukcapil-web/pkg, copied to www/vendor)
                       and the Worker (build/), or only one; never needs a browser
  demo [--live] [--allow-origin ORIGIN]
                       build and serve the demo onboarding page (sandbox; --live: real HyperVerge;
                       --allow-origin: a page of yours may call the demo proxy too)
  codegen [--check]    regenerate committed generated files (or check them for drift)
  token --nik NIK --txn ID [--sub S] [--ttl SECS]  mint a caller token for local use
  token --scope transactions:read [--sub S]      mint a server token for the results endpoint
  keygen               print a fresh receipt signing key (a private P-256 JWK)
  bench browser        the browser benchmark: our module vs the native canvas and npm peers
  bench proxy          the proxy Worker under load vs the double and a pass-through Worker
  fuzz [--seconds N] [TARGET…]  run the fuzz targets (60 s each by default)
  mutants [CRATE…] [-- ARG…]  mutation score of the pure crates (cargo-mutants; minutes, not in test)
  reliability [--full] hostile inputs, upstream faults, load, leak scan, hostile files (--full: full load)
  setup                install the pinned tools without running anything";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let root = util::workspace_root()?;
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("test") => test(&root),
        Some("demo") => demo(&root, rest),
        Some("build") => build(&root, rest),
        Some("codegen") => codegen::run(&root, rest),
        Some("fuzz") => fuzz::run(&root, rest),
        Some("mutants") => mutants::run(&root, rest),
        Some("reliability") => {
            let tools = setup::ensure_build_tools(&root)?;
            reliability::run(&root, &tools, &setup::ensure_browser()?, rest)
        }
        Some("bench") => bench(&root, rest),
        Some("token") => proxy::token(&root, rest),
        Some("keygen") => secrets::keygen(),
        Some("setup") => {
            let tools = setup::ensure_build_tools(&root)?;
            let browser = setup::ensure_browser()?;
            let cargo_deny = setup::ensure_cargo_deny()?;
            println!(
                "{}\n{}\ncargo-deny:    {}",
                tools.describe(),
                browser.describe(),
                cargo_deny.display()
            );
            Ok(())
        }
        Some("help" | "--help" | "-h") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(XtaskError::new(format!(
            "unknown command `{other}`\n\n{USAGE}"
        ))),
    }
}

/// Long enough to catch regressions, short enough for CI.
const FUZZ_SECONDS_IN_TEST: u64 = 15;

fn test(root: &std::path::Path) -> Result<()> {
    let tools = setup::ensure_build_tools(root)?;
    let browser = setup::ensure_browser()?;
    let cargo_deny = setup::ensure_cargo_deny()?;
    let cargo = util::cargo();
    util::step("cargo fmt --check");
    util::run(root, &cargo, &["fmt", "--all", "--", "--check"], &[])?;
    util::step("cargo clippy -D warnings");
    util::run(
        root,
        &cargo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    // Advisories are left out: their database is on GitHub, out of reach here (deny.toml).
    util::step("cargo deny check licenses bans sources");
    util::run(
        root,
        &cargo_deny.to_string_lossy(),
        &["deny", "--locked", "check", "licenses", "bans", "sources"],
        &[],
    )?;
    util::step("the repository is self-contained");
    self_contained::check(root)?;
    util::step("generated files are up to date (those from the npm package's build: after it)");
    codegen::ensure(
        root,
        codegen::Mode::Check,
        &[
            codegen::Needs::Nothing,
            codegen::Needs::NpmPackages,
            codegen::Needs::Cargo,
        ],
    )?;
    util::step("native tests");
    util::run(root, &cargo, &["test", "--workspace"], &[])?;
    util::step("core tests with district names");
    util::run(
        root,
        &cargo,
        &["test", "-p", "dukcapil-core", "--all-features"],
        &[],
    )?;
    // The browser module builds the selfie crate without its decoders: what is compiled only
    // then is tested only then (its unit tests; the integration tests need the decoders).
    util::step("selfie without the decoders: unit tests and clippy");
    let no_decoders = ["-p", "dukcapil-selfie", "--no-default-features"];
    util::run(
        root,
        &cargo,
        &[&["test", "--lib"][..], &no_decoders].concat(),
        &[],
    )?;
    util::run(
        root,
        &cargo,
        &[
            &["clippy", "--all-targets"][..],
            &no_decoders,
            &["--", "-D", "warnings"],
        ]
        .concat(),
        &[],
    )?;
    // The glue crates compile only their wasm32 code there, so lint them there too.
    util::step("cargo clippy -D warnings for wasm32");
    let wasm_clippy = |packages: &[&str]| {
        let mut args = vec!["clippy", "--target", "wasm32-unknown-unknown"];
        args.extend(packages);
        args.extend(["--", "-D", "warnings"]);
        util::run(root, &cargo, &args, &[])
    };
    wasm_clippy(&[
        "-p",
        "dukcapil-core",
        "-p",
        "dukcapil-selfie",
        "-p",
        "dukcapil-web",
        "-p",
        "dukcapil-proxy",
    ])?;
    // The NIK-only module of `dukcapil-facematch/nik` is dukcapil-web without `full`.
    wasm_clippy(&["-p", "dukcapil-web", "--no-default-features"])?;
    util::step("edge proxy (dukcapil-proxy) under Miniflare/workerd");
    proxy::test(root, &tools)?;
    util::step("browser module (dukcapil-web) in headless Chromium");
    web::test(root, &tools, &browser)?;
    util::step("end to end: the demo page in Chromium, wrangler dev, the HyperVerge double");
    demo::test(root, &browser)?;
    reliability::test(root, &browser)?;
    util::step("short fuzz runs (regressions)");
    fuzz::fuzz(root, FUZZ_SECONDS_IN_TEST, &[])?;
    util::step("all checks passed");
    Ok(())
}

fn bench(root: &std::path::Path, args: &[String]) -> Result<()> {
    let tools = setup::ensure_build_tools(root)?;
    match args.first().map(String::as_str) {
        Some("browser") => web::bench(root, &tools, &setup::ensure_browser()?),
        Some("proxy") => bench_proxy::run(root, &tools),
        _ => Err(XtaskError::new("usage: cargo xtask bench browser|proxy")),
    }
}

/// `cargo xtask build [worker|package]`; also wrangler.toml's [build] command.
fn build(root: &std::path::Path, args: &[String]) -> Result<()> {
    let tools = setup::ensure_build_tools(root)?;
    match args {
        [] => demo::build_all(root, &tools),
        [what] if what == "worker" => proxy::build(root, &tools),
        [what] if what == "package" => demo::build_package(root, &tools),
        _ => Err(XtaskError::new("usage: cargo xtask build [worker|package]")),
    }
}

fn demo(root: &std::path::Path, args: &[String]) -> Result<()> {
    let tools = setup::ensure_build_tools(root)?;
    demo::run(root, &tools, args)
}
