//! Small process and path helpers shared by the xtask commands.

use std::{
    ffi::OsStr,
    fmt,
    path::{Path, PathBuf},
    process::Command,
};

#[derive(Debug)]
pub struct XtaskError(String);

impl XtaskError {
    pub fn new(msg: impl Into<String>) -> Self {
        XtaskError(msg.into())
    }
}

impl fmt::Display for XtaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::io::Error> for XtaskError {
    fn from(e: std::io::Error) -> Self {
        XtaskError(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, XtaskError>;

/// The workspace root: the parent of `crates/xtask`.
pub fn workspace_root() -> Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .ok_or_else(|| XtaskError::new("cannot find the workspace root"))
}

/// The cargo that runs us, so the pinned toolchain is used throughout.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub fn step(name: &str) {
    println!("\n==> {name}");
}

/// Runs a command to completion, failing on a non-zero exit.
pub fn run<S: AsRef<OsStr>>(
    dir: &Path,
    program: &str,
    args: &[S],
    envs: &[(&str, &OsStr)],
) -> Result<()> {
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(envs.iter().map(|(k, v)| (*k, *v)))
        .status()
        .map_err(|e| XtaskError::new(format!("cannot start `{program}`: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
        Err(XtaskError::new(format!(
            "`{program} {}` failed with {status}",
            shown.join(" ")
        )))
    }
}

/// A test that hangs fails after this long, rather than holding a CI run until the CI's own
/// limit; the slowest single test takes well under a minute.
const NODE_TEST_TIMEOUT_MS: u32 = 300_000;

/// `node --test` on `files` (files or folders), one test file at a time when `serial`.
pub fn node_tests(dir: &Path, files: &[&str], serial: bool, envs: &[(&str, &OsStr)]) -> Result<()> {
    let mut args = vec![
        "--test".to_string(),
        format!("--test-timeout={NODE_TEST_TIMEOUT_MS}"),
    ];
    if serial {
        args.push("--test-concurrency=1".into());
    }
    args.extend(files.iter().map(|f| f.to_string()));
    run(dir, "node", &args, envs)
}

/// Runs a command and returns its trimmed stdout, or `None` if it cannot run or fails.
pub fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The size of a file after `gzip -9`: how the bundle budgets are measured.
pub fn gzip_len(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .arg("-9c")
        .arg(path)
        .output()
        .map_err(|e| XtaskError::new(format!("cannot run gzip: {e}")))?;
    if !out.status.success() {
        return Err(XtaskError::new(format!("gzip {} failed", path.display())));
    }
    Ok(out.stdout.len() as u64)
}
