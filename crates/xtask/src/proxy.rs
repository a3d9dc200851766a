//! The edge proxy: build it with worker-build (offline, pinned tools), test it under Miniflare
//! against the HyperVerge double, and mint caller tokens for manual calls.

use crate::setup::Tools;
use crate::util::{self, Result, XtaskError};
use std::ffi::OsStr;
use std::path::Path;

/// Where worker-build writes; `main` in wrangler.toml points at `build/index.js`.
const OUT_DIR: &str = "build";
/// Budget for the Worker's wasm, gzipped.
const MAX_WASM_GZIP_BYTES: u64 = 250 * 1024;

/// esbuild's platform package under node_modules/@esbuild.
fn esbuild_platform() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "aarch64") => "linux-arm64",
        ("macos", "aarch64") => "darwin-arm64",
        ("macos", _) => "darwin-x64",
        _ => "linux-x64",
    }
}

/// The Worker's opt-level, overriding the workspace's size-first "s".
const PROXY_OPT_LEVEL: &str = "3";
/// wasm SIMD: the base64 scan over up to 2.7 MB per request runs 64 bytes at a time.
const PROXY_RUSTFLAGS: &str = "-Ctarget-feature=+simd128";
/// wasm-bindgen's catch wrappers in the Worker use exception handling too.
const WORKER_WASM_FEATURES: &[&str] = &["--enable-exception-handling"];

/// `worker-build --release`, with wasm-bindgen, wasm-opt and esbuild from our own pins
/// (its defaults download from GitHub, which fails offline).
///
/// SIMD needs two things worker-build does not do by itself: the `+simd128` flag, and a
/// wasm that keeps its `target_features` section until worker-build's wasm-opt has run (its
/// own feature list leaves SIMD out, and wasm-opt learns it from that section). So cargo does
/// not strip, and a last wasm-opt pass here strips the names and producers afterwards.
pub fn build(root: &Path, tools: &Tools) -> Result<()> {
    let worker_build = tools.worker_build.as_ref().ok_or_else(|| {
        XtaskError::new("worker-build is not installed (is `worker` in Cargo.lock?)")
    })?;
    let bindgen_dir = tools
        .wasm_bindgen_bin
        .as_ref()
        .ok_or_else(|| XtaskError::new("the wasm-bindgen CLI is not installed"))?;
    let wasm_bindgen = bindgen_dir.join("wasm-bindgen");
    let wasm_opt = tools.node_bin.join("wasm-opt");
    let esbuild = root.join(format!(
        "node_modules/@esbuild/{}/bin/esbuild",
        esbuild_platform()
    ));
    for (name, path) in [
        ("wasm-bindgen", &wasm_bindgen),
        ("wasm-opt", &wasm_opt),
        ("esbuild", &esbuild),
    ] {
        if !path.is_file() {
            return Err(XtaskError::new(format!(
                "{name} not found at {}",
                path.display()
            )));
        }
    }
    let out_dir = root.join(OUT_DIR);
    util::step("building the proxy Worker (worker-build --release)");
    let envs: [(&str, &OsStr); 6] = [
        ("WASM_BINDGEN_BIN", wasm_bindgen.as_os_str()),
        ("WASM_OPT_BIN", wasm_opt.as_os_str()),
        ("ESBUILD_BIN", esbuild.as_os_str()),
        // CPU time is what the Workers plan limits; the bundle has room (see `bench proxy`).
        (
            "CARGO_PROFILE_RELEASE_OPT_LEVEL",
            OsStr::new(PROXY_OPT_LEVEL),
        ),
        ("CARGO_PROFILE_RELEASE_STRIP", OsStr::new("false")),
        ("CARGO_ENCODED_RUSTFLAGS", OsStr::new(PROXY_RUSTFLAGS)),
    ];
    util::run(
        &root.join("crates/dukcapil-proxy"),
        &worker_build.to_string_lossy(),
        &[
            OsStr::new("--release"),
            OsStr::new("--out-dir"),
            out_dir.as_os_str(),
        ],
        &envs,
    )?;
    let wasm = out_dir.join("index_bg.wasm");
    util::step("stripping the proxy wasm (wasm-opt, after worker-build's own pass)");
    let mut args: Vec<&OsStr> = crate::web::WASM_FEATURES
        .iter()
        .chain(WORKER_WASM_FEATURES)
        .map(OsStr::new)
        .collect();
    args.extend([
        OsStr::new("--strip-debug"),
        OsStr::new("--strip-producers"),
        OsStr::new("--strip-target-features"),
        wasm.as_os_str(),
        OsStr::new("-o"),
        wasm.as_os_str(),
    ]);
    util::run(root, &wasm_opt.to_string_lossy(), &args, &[])?;
    report_size(&wasm)
}

/// Prints the wasm size and fails above the gzip budget.
fn report_size(wasm: &Path) -> Result<()> {
    let raw = std::fs::metadata(wasm)?.len();
    let gz = util::gzip_len(wasm)?;
    println!("proxy wasm: {raw} bytes, {gz} bytes gzipped (budget {MAX_WASM_GZIP_BYTES})");
    if gz > MAX_WASM_GZIP_BYTES {
        return Err(XtaskError::new(format!(
            "the proxy wasm is {gz} bytes gzipped, over the {MAX_WASM_GZIP_BYTES}-byte budget"
        )));
    }
    Ok(())
}

/// Builds, then runs the Node suites in tests/proxy/ (Miniflare + the HyperVerge double).
pub fn test(root: &Path, tools: &Tools) -> Result<()> {
    build(root, tools)?;
    util::step("proxy tests (node --test tests/proxy/, Miniflare)");
    util::run(root, "node", &["--test", "tests/proxy/"], &[])
}

/// The sandbox's test serials for a terminal, from the proxy's own table.
pub fn sandbox_table() -> String {
    use dukcapil_proxy::logic::sandbox::SANDBOX_TABLE;
    let mut s = String::from("  serial  example NIK       answer\n");
    for case in SANDBOX_TABLE {
        let serial = case.serial;
        s.push_str(&format!(
            "  {serial}    327301010190{serial}  {}\n",
            case.answer
        ));
    }
    s.push_str("  other   3273010101904242  200, match true, score 87.5");
    s
}

const TOKEN_USAGE: &str =
    "usage: cargo xtask token --nik <NIK> [--txn ID] [--ttl SECS] [--sub SUBJECT] [--secret S]
  The secret defaults to $PROXY_JWT_SECRET, then to PROXY_JWT_SECRET in .dev.vars.";

/// Prints an HS256 caller token for the proxy: `nik_sha256` of the normalised NIK, optional
/// `txn`, `iat` now and `exp` after `--ttl` seconds (default 300, at most 900).
pub fn token(root: &Path, args: &[String]) -> Result<()> {
    let mut nik = None;
    let mut txn = None;
    let mut sub = None;
    let mut secret = None;
    let mut ttl: u64 = 300;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| XtaskError::new(format!("{flag} needs a value\n{TOKEN_USAGE}")))
        };
        match flag.as_str() {
            "--nik" => nik = Some(value()?),
            "--txn" => txn = Some(value()?),
            "--sub" => sub = Some(value()?),
            "--secret" => secret = Some(value()?),
            "--ttl" => {
                ttl = value()?
                    .parse()
                    .map_err(|_| XtaskError::new("--ttl takes whole seconds"))?
            }
            "-h" | "--help" => {
                println!("{TOKEN_USAGE}");
                return Ok(());
            }
            other => {
                return Err(XtaskError::new(format!(
                    "unknown option {other}\n{TOKEN_USAGE}"
                )))
            }
        }
    }
    let nik = normalize_nik(&nik.ok_or_else(|| XtaskError::new(TOKEN_USAGE))?)?;
    let max_ttl = dukcapil_proxy::logic::jwt::MAX_LIFETIME_S as u64;
    if !(1..=max_ttl).contains(&ttl) {
        return Err(XtaskError::new(format!(
            "--ttl must be 1–{max_ttl} seconds (the proxy refuses longer tokens)"
        )));
    }
    if let Some(t) = &txn {
        if dukcapil_core::contract::request::validate_transaction_id(t).is_err() {
            return Err(XtaskError::new(
                "--txn must be 1–128 characters of [A-Za-z0-9._:-] (the proxy's rule)",
            ));
        }
    }
    let secret = match secret {
        Some(s) => s,
        None => std::env::var("PROXY_JWT_SECRET")
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| dev_var(&root.join(".dev.vars"), "PROXY_JWT_SECRET"))
            .ok_or_else(|| {
                XtaskError::new(
                    "no secret: pass --secret, set PROXY_JWT_SECRET or put it in .dev.vars",
                )
            })?,
    };
    println!(
        "{}",
        sign_token(
            &nik,
            ttl,
            txn.as_deref(),
            sub.as_deref(),
            &secret,
            unix_now()?
        )
    );
    Ok(())
}

fn unix_now() -> Result<u64> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| XtaskError::new("the system clock is before 1970"))
}

/// A caller token bound to `nik` (normalised) and optionally to a transaction, signed with
/// the proxy's own HS256 code.
fn sign_token(
    nik: &str,
    ttl: u64,
    txn: Option<&str>,
    sub: Option<&str>,
    secret: &str,
    now: u64,
) -> String {
    use dukcapil_proxy::logic::jwt::{sha256_hex, sign_hs256};
    let mut claims = serde_json::json!({
        "iat": now,
        "exp": now + ttl,
        "nik_sha256": sha256_hex(nik),
    });
    if let Some(t) = txn {
        claims["txn"] = t.into();
    }
    if let Some(s) = sub {
        claims["sub"] = s.into();
    }
    sign_hs256(&claims.to_string(), secret.as_bytes())
}

/// The NIK as the proxy hashes it, checked with the proxy's own rules and today's date.
fn normalize_nik(input: &str) -> Result<String> {
    use dukcapil_proxy::logic::time::today_in_indonesia;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64);
    let today = today_in_indonesia(now_ms)
        .ok_or_else(|| XtaskError::new("the system clock is outside the calendar"))?;
    dukcapil_core::nik::parse_nik(input, today)
        .map(|nik| nik.normalized())
        .map_err(|e| XtaskError::new(format!("--nik: {e}")))
}

/// A `KEY=value` from a dotenv-style file (optional quotes), as wrangler reads `.dev.vars`.
fn dev_var(path: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.trim().split_once('=')?;
        if k.trim() != key {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(v);
        (!v.is_empty()).then(|| v.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_table_lists_every_serial() {
        let table = sandbox_table();
        for case in dukcapil_proxy::logic::sandbox::SANDBOX_TABLE {
            assert!(table.contains(&format!("327301010190{}", case.serial)));
        }
    }

    #[test]
    fn tokens_verify_with_the_proxy() {
        use dukcapil_proxy::logic::jwt::{check_nik, check_txn, verify_hs256};
        let nik = "3273010101901234";
        let token = sign_token(nik, 300, Some("t-1"), Some("me"), "s3cret", 1_800_000_000);
        let claims = verify_hs256(&token, b"s3cret", 1_800_000_100).unwrap();
        assert_eq!(
            (claims.exp - claims.iat, claims.sub.as_deref()),
            (300, Some("me"))
        );
        assert_eq!(check_nik(&claims, nik), Ok(()));
        assert_eq!(check_txn(&claims, "t-1"), Ok(()));
        let bare = sign_token(nik, 60, None, None, "s3cret", 1_800_000_000);
        let claims = verify_hs256(&bare, b"s3cret", 1_800_000_000).unwrap();
        assert_eq!((claims.txn, claims.sub), (None, None));
    }

    #[test]
    fn nik_normalisation() {
        assert_eq!(
            normalize_nik(" 3273-0101.0190 1234 ").unwrap(),
            "3273010101901234"
        );
        assert!(normalize_nik("327301010190123").is_err());
        assert!(normalize_nik("32730101019012a4").is_err());
        assert!(normalize_nik("5473010101901234").is_err());
    }

    #[test]
    fn reads_dev_vars() {
        let dir = std::env::temp_dir().join(format!("xtask-devvars-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(".dev.vars");
        std::fs::write(
            &file,
            "HV_APP_ID=x\nPROXY_JWT_SECRET = \"s3cr=t\"\nEMPTY=\n",
        )
        .unwrap();
        assert_eq!(
            dev_var(&file, "PROXY_JWT_SECRET").as_deref(),
            Some("s3cr=t")
        );
        assert_eq!(dev_var(&file, "EMPTY"), None);
        assert_eq!(dev_var(&file, "MISSING"), None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
