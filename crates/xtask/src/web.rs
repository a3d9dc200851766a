//! The browser package `dukcapil-facematch` (crate `dukcapil-web`): build, test, bench.
//!
//! No wasm-pack: cargo (wasm32 + SIMD) → the pinned wasm-bindgen CLI (`--target web`) →
//! npm binaryen's wasm-opt (never Debian's, which breaks wasm-bindgen output) → `pkg/`.

use crate::codegen;
use crate::setup::{Browser, Tools};
use crate::util::{self, Result, XtaskError};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// dukcapil-selfie's pixel kernels are written for wasm SIMD (its `simd` module). Per build
/// rather than in .cargo/config.toml, so the Worker's build is untouched.
const SIMD: &str = "-Ctarget-feature=+simd128";
/// The workspace profile is opt-level "s"; the crate with the pixel kernels gets 3
/// (measured: docs/browser-module.md).
const HOT_CRATES: &[&str] = &["dukcapil-selfie"];
/// Measured: see docs/browser-module.md ("Build choices"). `--converge` repeats the passes until
/// the size stops falling: −0.2 to −0.4 KB gz for about 2 s more.
const WASM_OPT_LEVEL: &str = "-Oz";
const WASM_OPT_CONVERGE: &str = "--converge";
/// The wasm features rustc emits for wasm32-unknown-unknown, plus SIMD.
pub const WASM_FEATURES: &[&str] = &[
    "--enable-simd",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];
/// The whole module (JS + wasm), gzip -9.
pub const SIZE_BUDGET_GZ: u64 = 100 * 1024;
/// The NIK-only entry (`dukcapil-facematch/nik`: JS + wasm), gzip -9.
pub const NIK_SIZE_BUDGET_GZ: u64 = 25 * 1024;

fn crate_dir(root: &Path) -> PathBuf {
    root.join("crates/dukcapil-web")
}

/// The npm package directory (gitignored).
pub fn pkg_dir(root: &Path) -> PathBuf {
    crate_dir(root).join("pkg")
}

/// Its own target dir: different RUSTFLAGS would otherwise rebuild the workspace's.
fn target_dir(root: &Path) -> PathBuf {
    root.join("target/web")
}

fn bindgen_dir(tools: &Tools) -> Result<&Path> {
    tools.wasm_bindgen_bin.as_deref().ok_or_else(|| {
        XtaskError::new("wasm-bindgen is not in Cargo.lock: is dukcapil-web in the workspace?")
    })
}

/// `+simd128`, and source paths shortened in panic locations: no home or registry paths in
/// the published wasm (and a few KB less).
fn rustflags(root: &Path) -> String {
    let mut flags = vec![SIMD.to_string()];
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(Ok(dirs)) = cargo_home.map(|h| std::fs::read_dir(h.join("registry/src"))) {
        for d in dirs.flatten() {
            flags.push(format!("--remap-path-prefix={}/=", d.path().display()));
        }
    }
    flags.push(format!("--remap-path-prefix={}/=", root.display()));
    flags.join("\x1f")
}

fn cargo_env(root: &Path, tools: &Tools) -> Result<Vec<(&'static str, OsString)>> {
    let mut path = OsString::from(bindgen_dir(tools)?);
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    Ok(vec![
        ("CARGO_TARGET_DIR", target_dir(root).into()),
        ("CARGO_ENCODED_RUSTFLAGS", rustflags(root).into()),
        ("PATH", path),
    ])
}

fn run_env(
    dir: &Path,
    program: &str,
    args: &[&str],
    env: &[(&'static str, OsString)],
) -> Result<()> {
    let env: Vec<(&str, &OsStr)> = env.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    util::run(dir, program, args, &env)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| XtaskError::new(format!("copy {} → {}: {e}", from.display(), to.display())))
}

/// Gzipped sizes of what a page downloads for one entry: the JS as shipped (bundled, not
/// minified), the JS as an app's bundler ships it (esbuild --minify), and the wasm.
pub struct ModuleSize {
    pub js_gz: u64,
    pub js_min_gz: u64,
    pub wasm_gz: u64,
}

impl ModuleSize {
    /// What counts against the budget: minified JS (as any bundler ships it) + wasm.
    pub fn total(&self) -> u64 {
        self.js_min_gz + self.wasm_gz
    }
}

/// An entry of the package: its JS, its wasm, and its size budget (gzip -9, minified JS + wasm).
pub struct Entry {
    pub specifier: &'static str,
    pub js: &'static str,
    pub wasm: &'static str,
    pub budget_gz: u64,
}

pub const ENTRIES: [Entry; 2] = [
    Entry {
        specifier: "dukcapil-facematch",
        js: "index.js",
        wasm: "dukcapil_web_bg.wasm",
        budget_gz: SIZE_BUDGET_GZ,
    },
    Entry {
        specifier: "dukcapil-facematch/nik",
        js: "nik.js",
        wasm: "dukcapil_nik_bg.wasm",
        budget_gz: NIK_SIZE_BUDGET_GZ,
    },
];

pub fn module_size(root: &Path, tools: &Tools, entry: &Entry) -> Result<ModuleSize> {
    let pkg = pkg_dir(root);
    let mut js = [0u64; 2];
    for (n, minify) in [false, true].into_iter().enumerate() {
        let bundle = target_dir(root).join(format!("size/{}.{n}.js", entry.js));
        let out = format!("--outfile={}", bundle.display());
        let mut args = vec![
            pkg.join(entry.js).to_string_lossy().into_owned(),
            "--bundle".into(),
            "--format=esm".into(),
            "--log-level=warning".into(),
            out,
        ];
        if minify {
            args.push("--minify".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        util::run(
            root,
            &tools.node_bin.join("esbuild").to_string_lossy(),
            &args,
            &[],
        )?;
        js[n] = util::gzip_len(&bundle)?;
    }
    Ok(ModuleSize {
        js_gz: js[0],
        js_min_gz: js[1],
        wasm_gz: util::gzip_len(&pkg.join(entry.wasm))?,
    })
}

/// Prints each entry's size; fails when one is over its budget.
fn check_sizes(root: &Path, tools: &Tools) -> Result<()> {
    let kb = |b: u64| b as f64 / 1024.0;
    for entry in &ENTRIES {
        let size = module_size(root, tools, entry)?;
        println!(
            "  {}: gzip -9: wasm {:.1} KB + JS {:.1} KB ({:.1} KB as shipped) = {:.1} KB (budget {} KB)",
            entry.specifier,
            kb(size.wasm_gz),
            kb(size.js_min_gz),
            kb(size.js_gz),
            kb(size.total()),
            entry.budget_gz / 1024
        );
        if size.total() > entry.budget_gz {
            return Err(XtaskError::new(format!(
                "{} is {:.1} KB gzipped (wasm + minified JS), over its {} KB budget: see \
                 docs/browser-module.md, \"Size\"",
                entry.specifier,
                kb(size.total()),
                entry.budget_gz / 1024
            )));
        }
    }
    Ok(())
}

/// wasm-bindgen copies `js/errors.js` to `snippets/dukcapil-web-<hash>/js/errors.js`.
fn snippet_errors(pkg: &Path) -> Result<PathBuf> {
    for entry in std::fs::read_dir(pkg.join("snippets"))? {
        let p = entry?.path().join("js/errors.js");
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(XtaskError::new(
        "wasm-bindgen wrote no snippets/*/js/errors.js",
    ))
}

/// Builds `crates/dukcapil-web/pkg`, the npm package; fails when an entry is over its size
/// budget.
pub fn build(root: &Path, tools: &Tools) -> Result<()> {
    build_variant(root, tools, None, &pkg_dir(root))?;
    check_sizes(root, tools)
}

/// The package built with the `stage-timing` feature, for the benchmark only.
fn stages_pkg_dir(root: &Path) -> PathBuf {
    target_dir(root).join("pkg-stages")
}

/// One wasm module of the package: cargo (wasm32 + simd128) with `cargo_args`, wasm-bindgen
/// `--out-name out_name` into `out`, wasm-opt. The glue's `@ts-self-types` pointer is dropped:
/// the package's declarations are its own (`index.d.ts`, `nik.d.ts`).
fn build_module(
    root: &Path,
    tools: &Tools,
    cargo_args: &[String],
    out_name: &str,
    out: &Path,
) -> Result<()> {
    let env = cargo_env(root, tools)?;
    util::step(&format!(
        "dukcapil-web: cargo build --release (wasm32 + simd128) {}",
        cargo_args.join(" ")
    ));
    let mut args: Vec<String> = [
        "build",
        "--release",
        "--target",
        WASM_TARGET,
        "-p",
        "dukcapil-web",
        // Keep the target_features section for wasm-bindgen; wasm-opt strips later.
        "--config",
        "profile.release.strip=false",
    ]
    .map(String::from)
    .to_vec();
    for krate in HOT_CRATES {
        args.push("--config".into());
        args.push(format!("profile.release.package.{krate}.opt-level=3"));
    }
    args.extend(cargo_args.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_env(root, &util::cargo(), &args, &env)?;
    let wasm = target_dir(root)
        .join(WASM_TARGET)
        .join("release/dukcapil_web.wasm");
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    util::step(&format!(
        "dukcapil-web: wasm-bindgen --target web ({out_name})"
    ));
    let bindgen = bindgen_dir(tools)?.join("wasm-bindgen");
    util::run(
        root,
        &bindgen.to_string_lossy(),
        &[
            OsStr::new("--target"),
            OsStr::new("web"),
            OsStr::new("--out-name"),
            OsStr::new(out_name),
            OsStr::new("--out-dir"),
            out.as_os_str(),
            wasm.as_os_str(),
        ],
        &[],
    )?;
    util::step(&format!(
        "dukcapil-web: wasm-opt {WASM_OPT_LEVEL} ({out_name})"
    ));
    let bg = out.join(format!("{out_name}_bg.wasm"));
    let wasm_opt = tools.node_bin.join("wasm-opt");
    let mut args: Vec<&OsStr> = vec![OsStr::new(WASM_OPT_LEVEL), OsStr::new(WASM_OPT_CONVERGE)];
    args.extend(WASM_FEATURES.iter().map(OsStr::new));
    args.extend([OsStr::new("--strip-debug"), OsStr::new("--strip-producers")]);
    args.extend([bg.as_os_str(), OsStr::new("-o"), bg.as_os_str()]);
    util::run(root, &wasm_opt.to_string_lossy(), &args, &[])?;
    let glue = out.join(format!("{out_name}.js"));
    let text = std::fs::read_to_string(&glue)?;
    let kept: Vec<&str> = text
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("/* @ts-self-types="))
        .collect();
    std::fs::write(&glue, kept.concat())?;
    Ok(())
}

/// Where the NIK-only module is built before it joins the package.
fn nik_out_dir(root: &Path) -> PathBuf {
    target_dir(root).join("pkg-nik")
}

/// The NIK-only module (`--no-default-features`: NIK rules and region names), into `pkg`.
fn build_nik(root: &Path, tools: &Tools, pkg: &Path) -> Result<()> {
    let out = nik_out_dir(root);
    build_module(
        root,
        tools,
        &["--no-default-features".into()],
        NIK_MODULE,
        &out,
    )?;
    for f in [format!("{NIK_MODULE}.js"), format!("{NIK_MODULE}_bg.wasm")] {
        copy(&out.join(&f), &pkg.join(&f))?;
    }
    // Both glues import the same errors.js snippet (one NikError class); check it is so.
    let main = snippet_errors(pkg)?;
    let nik = snippet_errors(&out)?;
    if main.strip_prefix(pkg).ok() != nik.strip_prefix(&out).ok() {
        return Err(XtaskError::new(format!(
            "the NIK module's errors.js snippet ({}) is not the main one's ({})",
            nik.display(),
            main.display()
        )));
    }
    Ok(())
}

/// The NIK-only module's wasm-bindgen name (`dukcapil_nik.js`, `dukcapil_nik_bg.wasm`).
const NIK_MODULE: &str = "dukcapil_nik";

/// Builds the package into `pkg`, with a cargo `feature` of dukcapil-web if given (only the
/// published build, without one, updates the raw declarations kept for the drift check).
fn build_variant(root: &Path, tools: &Tools, feature: Option<&str>, pkg: &Path) -> Result<()> {
    let cargo_args: Vec<String> = feature
        .map(|f| vec!["--features".to_string(), f.to_string()])
        .unwrap_or_default();
    build_module(root, tools, &cargo_args, "dukcapil_web", pkg)?;

    let dir = crate_dir(root);
    for f in ["index.js", "nik.js", "loader.js"] {
        copy(&dir.join("js").join(f), &pkg.join(f))?;
    }
    copy(
        &dir.join("types/dukcapil-facematch.d.ts"),
        &pkg.join("index.d.ts"),
    )?;
    copy(&dir.join("types/nik.d.ts"), &pkg.join("nik.d.ts"))?;
    copy(&dir.join("npm/package.json"), &pkg.join("package.json"))?;
    copy(&dir.join("README.md"), &pkg.join("README.md"))?;
    // The licence, and the notices the ODbL region data and the IJG code ask for.
    for f in ["LICENSE", "NOTICE"] {
        copy(&root.join(f), &pkg.join(f))?;
    }
    // One module instance for the error classes: the glue imports the snippet, so the
    // package entry re-exports that same file.
    let snippet = snippet_errors(pkg)?;
    let rel = snippet
        .strip_prefix(pkg)
        .unwrap_or(&snippet)
        .to_string_lossy()
        .replace('\\', "/");
    std::fs::write(
        pkg.join("errors.js"),
        format!("export {{ NikError, SelfieError, FaceMatchError }} from './{rel}';\n"),
    )?;
    // wasm-bindgen's own .gitignore would hide the package from `npm pack`.
    let _ = std::fs::remove_file(pkg.join(".gitignore"));
    // The raw glue's declarations are internal (index.d.ts is the API). Their exported
    // functions are kept aside for the drift check; the ABI part names closures by hash.
    if feature.is_none() {
        let raw = std::fs::read_to_string(pkg.join("dukcapil_web.d.ts"))?;
        let api = raw
            .split("export type InitInput")
            .next()
            .unwrap_or(&raw)
            .trim_end();
        std::fs::write(raw_api_built(root), format!("{api}\n"))?;
    }
    std::fs::remove_file(pkg.join("dukcapil_web.d.ts"))?;
    std::fs::remove_file(pkg.join("dukcapil_web_bg.wasm.d.ts"))?;
    match feature {
        None => build_nik(root, tools, pkg),
        Some(_) => Ok(()),
    }
}

/// The raw exports' declarations as built; `cargo xtask codegen` commits them.
pub fn raw_api_built(root: &Path) -> PathBuf {
    target_dir(root).join("raw-api.d.ts")
}

fn node(root: &Path, args: &[&str], env: &[(&str, &OsStr)]) -> Result<()> {
    util::run(root, "node", args, env)
}

/// Everything for the browser package, in this order: build (which checks the entries' size
/// budgets); declarations (drift, no
/// `any`, tsc --strict); size budget; wasm-bindgen-test in headless Chromium (every selfie
/// source, the fake camera, NIK and client rules); FaceMatchClient against an HTTP double;
/// the npm tarball in a Vite app and a plain module page.
pub fn test(root: &Path, tools: &Tools, browser: &Browser) -> Result<()> {
    build(root, tools)?;

    util::step("dukcapil-web: declarations are committed, exact and strict");
    codegen::ensure(root, codegen::Mode::Check, &[codegen::Needs::WebBuild])?;
    for f in [
        crate_dir(root).join("types/dukcapil-facematch.d.ts"),
        crate_dir(root).join("types/nik.d.ts"),
        crate_dir(root).join("types/raw-api.d.ts"),
    ] {
        let text = std::fs::read_to_string(&f)?;
        if let Some((n, line)) = text.lines().enumerate().find(|(_, l)| {
            l.split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|w| w == "any")
        }) {
            return Err(XtaskError::new(format!(
                "{}:{}: `any` in declarations: {line}",
                f.display(),
                n + 1
            )));
        }
    }
    let tsc = tools.node_bin.join("tsc");
    // With the DOM, and in a worker-only program (no DOM lib).
    for config in ["tsconfig.json", "tsconfig.worker.json"] {
        util::run(
            root,
            &tsc.to_string_lossy(),
            &["-p", &format!("tests/web/types/{config}")],
            &[],
        )?;
    }

    lint_package(root, tools)?;

    util::step("dukcapil-web: wasm-bindgen-test in headless Chromium (fake camera)");
    let y4m = target_dir(root).join("face.y4m");
    if !y4m.is_file() {
        node(
            root,
            &["tests/web/make-y4m.mjs", &y4m.to_string_lossy()],
            &[],
        )?;
    }
    let webdriver = target_dir(root).join("webdriver.json");
    let args = [
        "--use-fake-ui-for-media-stream".to_string(),
        "--use-fake-device-for-media-stream".to_string(),
        format!("--use-file-for-fake-video-capture={}", y4m.display()),
        "--autoplay-policy=no-user-gesture-required".to_string(),
        "--disable-gpu".to_string(),
    ];
    let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    std::fs::write(
        &webdriver,
        format!(
            "{{\"goog:chromeOptions\": {{\"args\": [{}]}}}}\n",
            quoted.join(", ")
        ),
    )?;
    let mut env = cargo_env(root, tools)?;
    util::step("dukcapil-selfie: its simd128 kernels against the portable ones (wasm, Node)");
    run_env(
        root,
        &util::cargo(),
        &[
            "test",
            "--target",
            WASM_TARGET,
            "-p",
            "dukcapil-selfie",
            "--lib",
        ],
        &env,
    )?;
    env.push(("CHROMEDRIVER", browser.chromedriver.clone().into()));
    env.push(("WASM_BINDGEN_TEST_WEBDRIVER_JSON", webdriver.into()));
    run_env(
        root,
        &util::cargo(),
        &["test", "--target", WASM_TARGET, "-p", "dukcapil-web"],
        &env,
    )?;

    let env: &[(&str, &OsStr)] = &[("CHROMIUM", browser.chromium.as_os_str())];
    util::step("dukcapil-web: FaceMatchClient against an HTTP double (headless Chromium)");
    util::node_tests(root, &["tests/web/client.test.mjs"], false, env)?;
    util::step(
        "dukcapil-web: strict CSP, cross-origin images, options, init failures, the NIK entry",
    );
    util::node_tests(root, &["tests/web/errors.test.mjs"], false, env)?;
    util::step("dukcapil-web: npm tarball in Vite apps, a plain page, Node; the README's examples");
    util::node_tests(root, &["tests/web/package.test.mjs"], false, env)?;
    Ok(())
}

/// `npm pack` of the package, then the ecosystem's own linters on the tarball: publint
/// (package.json against the files) and arethetypeswrong (types per module resolution).
fn lint_package(root: &Path, tools: &Tools) -> Result<()> {
    util::step("dukcapil-web: publint and arethetypeswrong on the packed tarball");
    let dir = target_dir(root).join("lint");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    util::run(
        root,
        "npm",
        &[
            OsStr::new("pack"),
            OsStr::new("--silent"),
            OsStr::new("--pack-destination"),
            dir.as_os_str(),
            pkg_dir(root).as_os_str(),
        ],
        &[],
    )?;
    let tarball = std::fs::read_dir(&dir)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or_else(|| XtaskError::new("npm pack wrote no tarball"))?;
    let tarball = tarball.to_string_lossy();
    let bin = |name: &str| tools.node_bin.join(name).to_string_lossy().into_owned();
    // --strict: warnings fail too.
    util::run(root, &bin("publint"), &["run", "--strict", &tarball], &[])?;
    util::run(
        root,
        &bin("attw"),
        &[
            &tarball,
            // ESM only, as wasm-bindgen's `--target web` output is: `require` is not supported.
            "--profile",
            "esm-only",
            // The .wasm subpath is a binary asset, exported so that a page can load it from
            // its own URL (`init(url)`, strict CSPs, CDNs). It has no JS and no types by
            // nature, so attw's "no resolution" for it is expected, not a defect.
            "--exclude-entrypoints",
            "./dukcapil_web_bg.wasm",
            "./dukcapil_nik_bg.wasm",
        ],
        &[],
    )
}

/// Builds, then times our module against the native canvas pipeline and two npm libraries
/// in one headless Chromium, and where our time goes (a second build with per-stage
/// timings). Prints tables; asserts nothing.
pub fn bench(root: &Path, tools: &Tools, browser: &Browser) -> Result<()> {
    build(root, tools)?;
    let stages = stages_pkg_dir(root);
    build_variant(root, tools, Some("stage-timing"), &stages)?;
    util::step("dukcapil-web: benchmark (headless Chromium)");
    let chromium: &OsStr = browser.chromium.as_os_str();
    node(
        root,
        &["tests/web/bench.mjs"],
        &[("CHROMIUM", chromium), ("PKG_STAGES", stages.as_os_str())],
    )
}
