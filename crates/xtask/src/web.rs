//! The browser package `dukcapil-facematch` (crate `dukcapil-web`): build, test, bench.
//!
//! No wasm-pack: cargo (wasm32 + SIMD) → the pinned wasm-bindgen CLI (`--target web`) →
//! npm binaryen's wasm-opt (never Debian's, which breaks wasm-bindgen output) → `pkg/`.

use crate::setup::Tools;
use crate::util::{self, Result, XtaskError};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// fast_image_resize always compiles wasm SIMD kernels, and the JPEG codecs are 1.7–1.9×
/// slower without SIMD. Per build rather than in .cargo/config.toml, so the Worker's build
/// is untouched.
const RUSTFLAGS: &str = "-Ctarget-feature=+simd128";
/// Measured: see the crate README ("Build choices").
const OPT_LEVEL: &str = "3";
const WASM_OPT_LEVEL: &str = "-O3";
/// The wasm features rustc emits for wasm32-unknown-unknown, plus SIMD.
const WASM_FEATURES: &[&str] = &[
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

fn cargo_env(root: &Path, tools: &Tools) -> Result<Vec<(&'static str, OsString)>> {
    let mut path = OsString::from(bindgen_dir(tools)?);
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    Ok(vec![
        ("CARGO_TARGET_DIR", target_dir(root).into()),
        ("CARGO_ENCODED_RUSTFLAGS", RUSTFLAGS.into()),
        ("PATH", path),
    ])
}

fn run_env(dir: &Path, program: &str, args: &[&str], env: &[(&'static str, OsString)]) -> Result<()> {
    let env: Vec<(&str, &OsStr)> = env.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    util::run(dir, program, args, &env)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| XtaskError::new(format!("copy {} → {}: {e}", from.display(), to.display())))
}

/// Gzip -9 size of a file.
fn gz_size(path: &Path) -> Result<u64> {
    let out = Command::new("gzip").arg("-9c").arg(path).output()?;
    if !out.status.success() {
        return Err(XtaskError::new(format!("gzip {} failed", path.display())));
    }
    Ok(out.stdout.len() as u64)
}

/// The files a page downloads, and their total gzipped size.
pub fn module_size(root: &Path) -> Result<(Vec<(String, u64)>, u64)> {
    let pkg = pkg_dir(root);
    let mut files: Vec<PathBuf> = ["index.js", "errors.js", "dukcapil_web.js", "dukcapil_web_bg.wasm"]
        .iter()
        .map(|f| pkg.join(f))
        .collect();
    files.push(snippet_errors(&pkg)?);
    let mut rows = Vec::new();
    let mut total = 0;
    for f in files {
        let gz = gz_size(&f)?;
        total += gz;
        let name = f.strip_prefix(&pkg).unwrap_or(&f).display().to_string();
        rows.push((name, gz));
    }
    Ok((rows, total))
}

/// wasm-bindgen copies `js/errors.js` to `snippets/dukcapil-web-<hash>/js/errors.js`.
fn snippet_errors(pkg: &Path) -> Result<PathBuf> {
    for entry in std::fs::read_dir(pkg.join("snippets"))? {
        let p = entry?.path().join("js/errors.js");
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(XtaskError::new("wasm-bindgen wrote no snippets/*/js/errors.js"))
}

/// Builds `crates/dukcapil-web/pkg`, the npm package.
pub fn build(root: &Path, tools: &Tools) -> Result<()> {
    let env = cargo_env(root, tools)?;
    util::step("dukcapil-web: cargo build --release (wasm32 + simd128)");
    let opt = format!("profile.release.opt-level={OPT_LEVEL}");
    run_env(
        root,
        &util::cargo(),
        &[
            "build", "--release", "--target", WASM_TARGET, "-p", "dukcapil-web",
            // Keep the target_features section for wasm-bindgen; wasm-opt strips later.
            "--config", "profile.release.strip=false",
            "--config", &opt,
        ],
        &env,
    )?;
    let wasm = target_dir(root).join(WASM_TARGET).join("release/dukcapil_web.wasm");
    let pkg = pkg_dir(root);
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg)?;
    }
    util::step("dukcapil-web: wasm-bindgen --target web");
    let bindgen = bindgen_dir(tools)?.join("wasm-bindgen");
    util::run(
        root,
        &bindgen.to_string_lossy(),
        &[
            OsStr::new("--target"), OsStr::new("web"),
            OsStr::new("--out-dir"), pkg.as_os_str(),
            wasm.as_os_str(),
        ],
        &[],
    )?;
    util::step(&format!("dukcapil-web: wasm-opt {WASM_OPT_LEVEL}"));
    let bg = pkg.join("dukcapil_web_bg.wasm");
    let wasm_opt = tools.node_bin.join("wasm-opt");
    let mut args: Vec<&OsStr> = vec![OsStr::new(WASM_OPT_LEVEL)];
    args.extend(WASM_FEATURES.iter().map(OsStr::new));
    args.extend([OsStr::new("--strip-debug"), OsStr::new("--strip-producers")]);
    args.extend([bg.as_os_str(), OsStr::new("-o"), bg.as_os_str()]);
    util::run(root, &wasm_opt.to_string_lossy(), &args, &[])?;

    let dir = crate_dir(root);
    copy(&dir.join("js/index.js"), &pkg.join("index.js"))?;
    copy(&dir.join("types/dukcapil-facematch.d.ts"), &pkg.join("index.d.ts"))?;
    copy(&dir.join("npm/package.json"), &pkg.join("package.json"))?;
    copy(&dir.join("README.md"), &pkg.join("README.md"))?;
    if root.join("LICENSE").is_file() {
        copy(&root.join("LICENSE"), &pkg.join("LICENSE"))?;
    }
    // One module instance for the error classes: the glue imports the snippet, so the
    // package entry re-exports that same file.
    let snippet = snippet_errors(&pkg)?;
    let rel = snippet.strip_prefix(&pkg).unwrap_or(&snippet).to_string_lossy().replace('\\', "/");
    std::fs::write(
        pkg.join("errors.js"),
        format!("export {{ NikError, SelfieError, FaceMatchError }} from './{rel}';\n"),
    )?;
    // wasm-bindgen's own .gitignore would hide the package from `npm pack`.
    let _ = std::fs::remove_file(pkg.join(".gitignore"));

    let (rows, total) = module_size(root)?;
    for (name, gz) in &rows {
        println!("  {name:<48} {:>7.1} KB gz", *gz as f64 / 1024.0);
    }
    println!(
        "  {:<48} {:>7.1} KB gz (budget {} KB)",
        "total JS + wasm",
        total as f64 / 1024.0,
        SIZE_BUDGET_GZ / 1024
    );
    Ok(())
}

pub fn test(root: &Path, tools: &Tools) -> Result<()> {
    build(root, tools)
}

pub fn bench(root: &Path, tools: &Tools) -> Result<()> {
    build(root, tools)
}
