//! Installs what the commands need, idempotently: a second run only checks versions.
//!
//! Tools go into a versioned cache outside the clone (`$XDG_CACHE_HOME/dukcapil-facematch`),
//! so fresh clones on the same machine (CI's, for one) reuse them.

use crate::util::{self, Result, XtaskError};
use std::path::{Path, PathBuf};

/// cargo-fuzz, for `cargo xtask fuzz` and the short fuzz runs in `cargo xtask test`.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// cargo-deny, for the licence, ban and source checks in `cargo xtask test` (deny.toml).
pub const CARGO_DENY_VERSION: &str = "0.20.2";
/// cargo-mutants, for `cargo xtask mutants` (not part of `cargo xtask test`).
pub const CARGO_MUTANTS_VERSION: &str = "27.1.0";
/// worker-build must match the `worker` crate's minor version.
pub const WORKER_BUILD_VERSION: &str = "0.8.7";
const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Paths of the tools that build the package and the Worker. No browser: building and the
/// demo never need one (see [`Browser`]).
#[derive(Debug, Clone)]
pub struct Tools {
    /// Directory holding `wasm-bindgen` and `wasm-bindgen-test-runner`, when a crate uses it.
    pub wasm_bindgen_bin: Option<PathBuf>,
    /// The `worker-build` binary, when the proxy crate exists.
    pub worker_build: Option<PathBuf>,
    /// `node_modules/.bin`.
    pub node_bin: PathBuf,
}

/// The headless browser the tests and the browser benchmark drive.
#[derive(Debug, Clone)]
pub struct Browser {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

impl Tools {
    /// One line per tool, for `cargo xtask setup`.
    pub fn describe(&self) -> String {
        let opt = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or("(not needed yet)".into(), |p| p.display().to_string())
        };
        format!(
            "wasm-bindgen:  {}\nworker-build:  {}\nnode tools:    {}",
            opt(&self.wasm_bindgen_bin),
            opt(&self.worker_build),
            self.node_bin.display(),
        )
    }
}

impl Browser {
    pub fn describe(&self) -> String {
        format!(
            "chromium:      {}\nchromedriver:  {}",
            self.chromium.display(),
            self.chromedriver.display()
        )
    }
}

/// What `cargo xtask build` and `demo` need: the wasm target, Node and the npm packages, and
/// the pinned wasm-bindgen CLI and worker-build.
pub fn ensure_build_tools(root: &Path) -> Result<Tools> {
    ensure_wasm_target()?;
    ensure_node()?;
    ensure_npm_packages(root)?;
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let wasm_bindgen_bin = match locked_version(&lock, "wasm-bindgen") {
        Some(v) => Some(ensure_wasm_bindgen(&v)?),
        None => None,
    };
    let worker_build = match locked_version(&lock, "worker") {
        Some(_) => Some(ensure_worker_build()?),
        None => None,
    };
    Ok(Tools {
        wasm_bindgen_bin,
        worker_build,
        node_bin: root.join("node_modules/.bin"),
    })
}

fn tools_dir() -> Result<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or_else(|| XtaskError::new("neither XDG_CACHE_HOME nor HOME is set"))?;
    Ok(cache.join("dukcapil-facematch/tools"))
}

fn ensure_wasm_target() -> Result<()> {
    // The toolchain's own standard library for wasm32, wherever the toolchain came from.
    let sysroot = util::output("rustc", &["--print", "sysroot"]).unwrap_or_default();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(WASM_TARGET)
        .is_dir()
    {
        return Ok(());
    }
    if util::output("rustup", &["--version"]).is_none() {
        return Err(XtaskError::new(format!(
            "the {WASM_TARGET} standard library is missing and rustup is not installed. \
             Install Rust with rustup (https://rustup.rs), which reads rust-toolchain.toml and adds \
             the target itself, then run the command again."
        )));
    }
    util::step(&format!("installing the {WASM_TARGET} target"));
    util::run(
        Path::new("."),
        "rustup",
        &["target", "add", WASM_TARGET],
        &[],
    )
}

fn ensure_node() -> Result<()> {
    let version = util::output("node", &["--version"])
        .ok_or_else(|| {
            XtaskError::new(
                "Node.js is missing: install Node 20 or newer with npm, then run the command again:\n  \
                 Debian/Ubuntu:  sudo apt-get install nodejs npm   (check `node --version` ≥ 20)\n  \
                 macOS:          brew install node",
            )
        })?;
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 20 {
        return Err(XtaskError::new(format!(
            "Node {version} is too old: the pinned wrangler 4.86 needs Node 20 or newer"
        )));
    }
    Ok(())
}

/// `npm ci` only when `package-lock.json` changed since the last install, and the installed
/// tree does not already match it. (`npm ci` then `wrangler deploy` must not reinstall under
/// the running wrangler: its [build] command comes here.)
fn ensure_npm_packages(root: &Path) -> Result<()> {
    let lock = std::fs::read(root.join("package-lock.json"))?;
    let stamp = root.join("node_modules/.xtask-installed-lock");
    if std::fs::read(&stamp).ok().as_deref() == Some(lock.as_slice()) {
        return Ok(());
    }
    let installed = std::fs::read(root.join("node_modules/.package-lock.json")).ok();
    if !installed.is_some_and(|i| installed_matches_lock(&lock, &i)) {
        util::step("installing npm packages from package-lock.json");
        util::run(root, "npm", &["ci", "--no-audit", "--no-fund"], &[])?;
    }
    std::fs::write(stamp, lock)?;
    Ok(())
}

/// Whether npm's record of what it installed (`node_modules/.package-lock.json`) is the
/// lockfile's tree: every installed package at the locked version, nothing extra, and only
/// optional ones (other platforms' binaries) left out.
fn installed_matches_lock(lock: &[u8], installed: &[u8]) -> bool {
    let packages = |bytes: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| v.get("packages")?.as_object().cloned())
    };
    let (Some(locked), Some(installed)) = (packages(lock), packages(installed)) else {
        return false;
    };
    let optional = |p: &serde_json::Value| {
        ["optional", "devOptional", "peer"]
            .iter()
            .any(|k| p.get(k) == Some(&serde_json::Value::Bool(true)))
    };
    let locked_ok = locked
        .iter()
        .filter(|(path, _)| !path.is_empty())
        .all(|(path, p)| match installed.get(path) {
            Some(i) => i.get("version") == p.get("version"),
            None => optional(p),
        });
    locked_ok && installed.keys().all(|path| locked.contains_key(path))
}

/// The version of `name` recorded in Cargo.lock.
pub fn locked_version(lock: &str, name: &str) -> Option<String> {
    let needle = format!("name = \"{name}\"\n");
    let at = lock.find(&needle)? + needle.len();
    let line = lock[at..].lines().next()?;
    Some(
        line.strip_prefix("version = \"")?
            .strip_suffix('"')?
            .to_string(),
    )
}

/// Installs `krate` at `version` from crates.io into its own versioned root in the tools
/// cache, unless `ready` already holds for that root. Returns the root.
fn cargo_install(
    krate: &str,
    version: &str,
    locked: bool,
    how_long: &str,
    ready: impl Fn(&Path) -> bool,
) -> Result<PathBuf> {
    let root = tools_dir()?.join(format!("{krate}-{version}"));
    if ready(&root) {
        return Ok(root);
    }
    util::step(&format!("installing {krate} {version} ({how_long}, once)"));
    let root_arg = root.to_string_lossy().into_owned();
    let mut args = vec!["install", krate, "--version", version, "--root", &root_arg];
    if locked {
        args.push("--locked");
    }
    util::run(Path::new("."), &util::cargo(), &args, &[])?;
    Ok(root)
}

/// The wasm-bindgen CLI must equal the crate version to the patch.
fn ensure_wasm_bindgen(version: &str) -> Result<PathBuf> {
    let matches = |root: &Path| {
        let exe = root.join("bin/wasm-bindgen");
        util::output(&exe.to_string_lossy(), &["--version"]).is_some_and(|v| v.ends_with(version))
    };
    // Not --locked: its lockfile pins a webpki-roots newer than the registry here has.
    let root = cargo_install("wasm-bindgen-cli", version, false, "a few minutes", matches)?;
    Ok(root.join("bin"))
}

/// A pinned, `--locked` install of `krate`'s binary `bin`; returns the binary's path.
fn cargo_install_bin(krate: &str, version: &str, bin: &str, how_long: &str) -> Result<PathBuf> {
    let rel = format!("bin/{bin}");
    let root = cargo_install(krate, version, true, how_long, |root| {
        root.join(&rel).is_file()
    })?;
    Ok(root.join(rel))
}

fn ensure_worker_build() -> Result<PathBuf> {
    cargo_install_bin(
        "worker-build",
        WORKER_BUILD_VERSION,
        "worker-build",
        "several minutes",
    )
}

pub fn ensure_cargo_fuzz() -> Result<PathBuf> {
    cargo_install_bin(
        "cargo-fuzz",
        CARGO_FUZZ_VERSION,
        "cargo-fuzz",
        "a minute or two",
    )
}

pub fn ensure_cargo_deny() -> Result<PathBuf> {
    cargo_install_bin(
        "cargo-deny",
        CARGO_DENY_VERSION,
        "cargo-deny",
        "a few minutes",
    )
}

pub fn ensure_cargo_mutants() -> Result<PathBuf> {
    cargo_install_bin(
        "cargo-mutants",
        CARGO_MUTANTS_VERSION,
        "cargo-mutants",
        "a few minutes",
    )
}

/// How to install Chromium and ChromeDriver by hand, per system.
const BROWSER_HELP: &str =
    "Chromium and ChromeDriver are needed by the tests and the browser benchmark \
(never by `cargo xtask build` or `demo`). Install them, then run the command again:
  Debian:          sudo apt-get install chromium chromium-driver
  Ubuntu:          sudo apt-get install chromium-browser chromium-chromedriver
  macOS:           brew install --cask chromium chromedriver
or point CHROMIUM and CHROMEDRIVER at binaries of the same major version.";

/// Chromium and ChromeDriver: `$CHROMIUM`/`$CHROMEDRIVER`, else found on PATH (or in a macOS
/// app bundle), else installed from apt when this is Debian's apt and root. Browser test tools
/// cannot download their own browser here, so none of them is asked to.
pub fn ensure_browser() -> Result<Browser> {
    if let Some(found) = find_browser() {
        return Ok(found);
    }
    let is_root = util::output("id", &["-u"]).as_deref() == Some("0");
    if !is_root || which("apt-get").is_none() {
        return Err(XtaskError::new(format!(
            "Chromium or ChromeDriver is missing.\n{BROWSER_HELP}"
        )));
    }
    util::step("installing Chromium and ChromeDriver from apt");
    let envs: &[(&str, &std::ffi::OsStr)] = &[("DEBIAN_FRONTEND", "noninteractive".as_ref())];
    util::run(Path::new("/"), "apt-get", &["update", "-q"], envs)?;
    util::run(
        Path::new("/"),
        "apt-get",
        &["install", "-y", "-q", "chromium", "chromium-driver"],
        envs,
    )?;
    find_browser().ok_or_else(|| {
        XtaskError::new(format!(
            "apt installed chromium but it is not on PATH.\n{BROWSER_HELP}"
        ))
    })
}

fn find_browser() -> Option<Browser> {
    let from_env = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_file())
    };
    let file = |p: &str| Some(PathBuf::from(p)).filter(|p| p.is_file());
    let chromium = from_env("CHROMIUM")
        .or_else(|| which("chromium"))
        .or_else(|| which("chromium-browser"))
        .or_else(|| file("/usr/bin/chromium"))
        .or_else(|| file("/Applications/Chromium.app/Contents/MacOS/Chromium"))?;
    let chromedriver = from_env("CHROMEDRIVER")
        .or_else(|| which("chromedriver"))
        .or_else(|| file("/usr/bin/chromedriver"))?;
    Some(Browser {
        chromium,
        chromedriver,
    })
}

/// The first `name` on PATH that is a file.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::{installed_matches_lock, locked_version};

    #[test]
    fn an_installed_tree_matches_its_lockfile_or_not() {
        let lock = br#"{"packages": {"": {"name": "w"},
            "node_modules/a": {"version": "1.0.0", "dev": true},
            "node_modules/a-linux": {"version": "1.0.0", "dev": true, "optional": true},
            "node_modules/a-darwin": {"version": "1.0.0", "dev": true, "optional": true}}}"#;
        let same = br#"{"packages": {"node_modules/a": {"version": "1.0.0"},
            "node_modules/a-linux": {"version": "1.0.0"}}}"#;
        assert!(installed_matches_lock(lock, same));
        let older = br#"{"packages": {"node_modules/a": {"version": "0.9.0"}}}"#;
        assert!(!installed_matches_lock(lock, older));
        let missing = br#"{"packages": {"node_modules/a-linux": {"version": "1.0.0"}}}"#;
        assert!(!installed_matches_lock(lock, missing));
        let extra = br#"{"packages": {"node_modules/a": {"version": "1.0.0"},
            "node_modules/b": {"version": "2.0.0"}}}"#;
        assert!(!installed_matches_lock(lock, extra));
        assert!(!installed_matches_lock(lock, b"not json"));
    }

    #[test]
    fn reads_versions_from_a_lockfile() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n\n[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(locked_version(lock, "worker"), None);
    }
}
