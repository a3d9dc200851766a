//! The Python side of the receipt tests: a venv under `target/` with PyJWT and cryptography
//! from `examples/requirements.txt` (pinned with hashes), for `examples/verify_receipt.py`.
//! Installed once; later runs only compare the requirements with what was installed.

use crate::util::{self, Result, XtaskError};
use std::path::{Path, PathBuf};

const REQUIREMENTS: &str = "examples/requirements.txt";
const VENV: &str = "target/py-venv";
/// What was installed, to skip pip when the requirements are unchanged.
const STAMP: &str = ".xtask-requirements";

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts/python.exe")
    } else {
        venv.join("bin/python")
    }
}

/// A Python 3.9 or newer on PATH.
fn system_python() -> Result<String> {
    for candidate in ["python3", "python"] {
        let version = util::output(
            candidate,
            &["-c", "import sys; print('%d %d' % sys.version_info[:2])"],
        );
        let ok = version
            .as_deref()
            .and_then(|v| v.split_once(' '))
            .and_then(|(major, minor)| {
                Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?))
            })
            .is_some_and(|v| v >= (3, 9));
        if ok {
            return Ok(candidate.to_string());
        }
    }
    Err(XtaskError::new(
        "Python 3.9 or newer (with its venv module) is needed for the receipt tests:\n  \
         Debian/Ubuntu:  sudo apt-get install python3 python3-venv\n  \
         macOS:          brew install python",
    ))
}

/// The venv's python, with the pinned packages installed.
pub fn ensure_venv(root: &Path) -> Result<PathBuf> {
    let requirements = std::fs::read_to_string(root.join(REQUIREMENTS))?;
    let venv = root.join(VENV);
    let python = venv_python(&venv);
    let stamp = venv.join(STAMP);
    if python.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&requirements) {
        return Ok(python);
    }
    if !python.is_file() {
        util::step("creating target/py-venv (Python, for the receipt tests)");
        let system = system_python()?;
        util::run(root, &system, &["-m", "venv", VENV], &[])?;
    }
    util::step("installing PyJWT and cryptography into target/py-venv (pinned, with hashes)");
    util::run(
        root,
        &python.to_string_lossy(),
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--require-hashes",
            "--only-binary=:all:",
            "-r",
            REQUIREMENTS,
        ],
        &[],
    )?;
    std::fs::write(stamp, requirements)?;
    Ok(python)
}
