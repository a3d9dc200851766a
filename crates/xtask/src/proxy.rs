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

/// Builds, then runs the Node suites in tests/proxy/ (Miniflare + the HyperVerge double), then
/// the reference receipt verifiers (jose and PyJWT) against the running Worker.
pub fn test(root: &Path, tools: &Tools) -> Result<()> {
    build(root, tools)?;
    util::step("proxy tests (node --test tests/proxy/, Miniflare)");
    util::node_tests(root, &["tests/proxy/"], false, &[])?;
    let python = crate::python::ensure_venv(root)?;
    util::step("receipts verified in Node (jose) and Python (PyJWT): node --test tests/receipts/");
    util::node_tests(
        root,
        &["tests/receipts/"],
        false,
        &[("RECEIPT_PYTHON", python.as_os_str())],
    )
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
    "usage: cargo xtask token --nik <NIK> --txn <ID> [--sub SUBJECT] [--ttl SECS]
                         [--iss ISSUER] [--aud AUDIENCE] [--secret S]
       cargo xtask token --scope transactions:read [--sub SUBJECT] [--ttl SECS] …
  Mints a caller token as a backend does: HS256 with aud, jti, txn and nik_hmac; or, with
  --scope, a server token for the results endpoint (GET /v1/transactions/{id}): HS256 with
  aud, jti, sub and scope, for the transactions whose caller tokens had that sub.
  The secret defaults to $PROXY_JWT_SECRET, then to PROXY_JWT_SECRET in .dev.vars; the
  audience to $TOKEN_AUDIENCE, then to the proxy's default.";

/// What `cargo xtask token` puts in a caller token.
struct TokenRequest {
    /// A caller token's NIK and transaction, or a server token's scope.
    kind: TokenKind,
    sub: String,
    iss: String,
    aud: String,
    ttl: u64,
    jti: String,
}

enum TokenKind {
    Caller { nik: String, txn: String },
    Server { scope: String },
}

/// Prints an HS256 caller token for the proxy: `aud`, a fresh `jti`, `txn`, `nik_hmac` of
/// the normalised NIK, `sub` and `iss`, `iat` now and `exp` after `--ttl` seconds (default
/// 300, at most 900).
pub fn token(root: &Path, args: &[String]) -> Result<()> {
    let mut nik = None;
    let mut txn = None;
    let mut scope = None;
    let mut sub = "local-dev".to_string();
    let mut iss = "cargo-xtask-token".to_string();
    let mut aud = None;
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
            "--scope" => scope = Some(value()?),
            "--sub" => sub = value()?,
            "--iss" => iss = value()?,
            "--aud" => aud = Some(value()?),
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
    let kind = match scope {
        Some(scope) => {
            if nik.is_some() || txn.is_some() {
                return Err(XtaskError::new(format!(
                    "--scope mints a server token: no --nik or --txn\n{TOKEN_USAGE}"
                )));
            }
            TokenKind::Server { scope }
        }
        None => caller_kind(nik, txn)?,
    };
    let max_ttl = dukcapil_proxy::logic::jwt::MAX_LIFETIME_S as u64;
    if !(1..=max_ttl).contains(&ttl) {
        return Err(XtaskError::new(format!(
            "--ttl must be 1–{max_ttl} seconds (the proxy refuses longer tokens)"
        )));
    }
    let dev_vars = root.join(".dev.vars");
    let from_env = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| dev_var(&dev_vars, name))
    };
    let secret = secret
        .or_else(|| from_env("PROXY_JWT_SECRET"))
        .ok_or_else(|| {
            XtaskError::new("no secret: pass --secret, set PROXY_JWT_SECRET or put it in .dev.vars")
        })?;
    let aud = aud
        .or_else(|| from_env("TOKEN_AUDIENCE"))
        .unwrap_or_else(|| dukcapil_proxy::logic::config::DEFAULT_TOKEN_AUDIENCE.to_string());
    let request = TokenRequest {
        kind,
        sub,
        iss,
        aud,
        ttl,
        jti: crate::secrets::unique_id(),
    };
    println!("{}", sign_token(&request, &secret, unix_now()?));
    Ok(())
}

/// A caller token's NIK (normalised) and transaction ID, both required and checked.
fn caller_kind(nik: Option<String>, txn: Option<String>) -> Result<TokenKind> {
    let nik = normalize_nik(&nik.ok_or_else(|| XtaskError::new(TOKEN_USAGE))?)?;
    let txn = txn.ok_or_else(|| {
        XtaskError::new(format!(
            "--txn is required: the backend owns the transaction ID\n{TOKEN_USAGE}"
        ))
    })?;
    if dukcapil_core::contract::request::validate_transaction_id(&txn).is_err() {
        return Err(XtaskError::new(
            "--txn must be 1–128 characters of [A-Za-z0-9._:-] (the proxy's rule)",
        ));
    }
    Ok(TokenKind::Caller { nik, txn })
}

fn unix_now() -> Result<u64> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| XtaskError::new("the system clock is before 1970"))
}

/// A caller token, signed with the proxy's own HS256 and NIK-binding code.
fn sign_token(t: &TokenRequest, secret: &str, now: u64) -> String {
    use dukcapil_proxy::logic::jwt::{nik_hmac, sign_hs256};
    let mut claims = serde_json::json!({
        "iss": t.iss,
        "sub": t.sub,
        "aud": t.aud,
        "jti": t.jti,
        "iat": now,
        "exp": now + t.ttl,
    });
    match &t.kind {
        TokenKind::Caller { nik, txn } => {
            claims["txn"] = txn.as_str().into();
            claims["nik_hmac"] = nik_hmac(secret.as_bytes(), nik).into();
        }
        TokenKind::Server { scope } => claims["scope"] = scope.as_str().into(),
    }
    sign_hs256(&claims.to_string(), secret.as_bytes())
}

/// The NIK as the proxy reads it, checked with the proxy's own rules and today's date.
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
pub fn dev_var(path: &Path, key: &str) -> Option<String> {
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
        use dukcapil_proxy::logic::auth::{caller_token, TokenRules};
        use dukcapil_proxy::logic::jwt::check_nik;
        let nik = "3273010101901234";
        let secret = "s3cret-s3cret-s3cret-s3cret-s3cret";
        let request = TokenRequest {
            kind: TokenKind::Caller {
                nik: nik.into(),
                txn: "t-1".into(),
            },
            sub: "me".into(),
            iss: "bank".into(),
            aud: "dukcapil-facematch".into(),
            ttl: 300,
            jti: crate::secrets::unique_id(),
        };
        let token = sign_token(&request, secret, 1_800_000_000);
        let rules = TokenRules {
            secret: Some(secret),
            audience: "dukcapil-facematch",
            require_nik: true,
        };
        let claims = caller_token(&rules, &token, "t-1", 1_800_000_100).unwrap();
        assert_eq!(
            (
                claims.exp - claims.iat,
                claims.sub.as_deref(),
                claims.iss.as_deref()
            ),
            (300, Some("me"), Some("bank"))
        );
        assert_eq!(claims.jti.as_deref(), Some(request.jti.as_str()));
        assert_eq!(check_nik(&claims, secret.as_bytes(), nik), Ok(()));
        assert!(caller_token(&rules, &token, "t-2", 1_800_000_100).is_err());
    }

    #[test]
    fn server_tokens_read_transactions_and_caller_tokens_do_not() {
        use dukcapil_proxy::logic::auth::{reader_token, Caller, TokenRules, READ_SCOPE};
        let secret = "s3cret-s3cret-s3cret-s3cret-s3cret";
        let rules = TokenRules {
            secret: Some(secret),
            audience: "dukcapil-facematch",
            require_nik: true,
        };
        let mint = |kind| {
            let request = TokenRequest {
                kind,
                sub: "me".into(),
                iss: "bank".into(),
                aud: "dukcapil-facematch".into(),
                ttl: 60,
                jti: crate::secrets::unique_id(),
            };
            let token = format!("Bearer {}", sign_token(&request, secret, 1_800_000_000));
            reader_token(&rules, Some(&token), 1_800_000_010)
        };
        let server = mint(TokenKind::Server {
            scope: READ_SCOPE.into(),
        });
        assert!(matches!(server, Caller::Token(c) if c.sub.as_deref() == Some("me")));
        let caller = mint(TokenKind::Caller {
            nik: "3273010101901234".into(),
            txn: "t-1".into(),
        });
        assert!(matches!(caller, Caller::Rejected(_)));
    }

    /// Environments inherit no bindings: every rate limiter the proxy asks for is declared for
    /// the API and again for the demo, each with its own namespace.
    #[test]
    fn wrangler_toml_declares_every_rate_limiter_in_both_environments() {
        use dukcapil_proxy::logic::auth::Limiter;
        let root = util::workspace_root().unwrap();
        let toml = std::fs::read_to_string(root.join("wrangler.toml")).unwrap();
        let (api, demo) = toml.split_once("[env.demo]").unwrap();
        for limiter in Limiter::ALL {
            let name = format!("name = \"{}\"", limiter.binding());
            assert_eq!(api.matches(&name).count(), 1, "{name} for the API");
            assert_eq!(demo.matches(&name).count(), 1, "{name} for the demo");
        }
        let ids: Vec<&str> = toml
            .lines()
            .filter_map(|l| l.trim().strip_prefix("namespace_id = "))
            .collect();
        let unique: std::collections::HashSet<&&str> = ids.iter().collect();
        assert_eq!(
            (ids.len(), unique.len()),
            (2 * Limiter::ALL.len(), ids.len())
        );
    }

    /// The ledger's Durable Object binding, for the API and again for the demo, and its class
    /// made SQLite-backed by a migration (the proxy fails closed without it).
    #[test]
    fn wrangler_toml_declares_the_ledger_in_both_environments() {
        use dukcapil_proxy::logic::ledger::{LEDGER_BINDING, LEDGER_CLASS};
        let root = util::workspace_root().unwrap();
        let toml = std::fs::read_to_string(root.join("wrangler.toml")).unwrap();
        let (api, demo) = toml.split_once("[env.demo]").unwrap();
        let binding = format!("name = \"{LEDGER_BINDING}\"\nclass_name = \"{LEDGER_CLASS}\"");
        assert!(api.contains(&format!("[[durable_objects.bindings]]\n{binding}")));
        assert!(demo.contains(&format!("[[env.demo.durable_objects.bindings]]\n{binding}")));
        assert!(api.contains(&format!(
            "[[migrations]]\ntag = \"v1\"\nnew_sqlite_classes = [\"{LEDGER_CLASS}\"]"
        )));
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
