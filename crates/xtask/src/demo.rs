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
    // The demo's receipt is checked in Python too.
    let python = crate::python::ensure_venv(root)?;
    util::node_tests(
        root,
        &["tests/e2e/"],
        true,
        &[
            ("CHROMIUM", browser.chromium.as_os_str()),
            ("RECEIPT_PYTHON", python.as_os_str()),
        ],
    )
}

/// The page and the reference backend (the "app"), and the proxy, as in production: two origins.
const APP_PORT: u16 = 8787;
const PROXY_PORT: u16 = 8788;
/// The reference backend, which `cargo xtask demo` runs next to the Worker.
const BACKEND: &str = "examples/backend-node/server.mjs";

/// `cargo xtask demo [--live]`: the page from the reference backend (which mints tokens and
/// verifies receipts), the Worker under `wrangler dev --env demo` with tokens required.
pub fn run(root: &Path, tools: &Tools, args: &[String]) -> Result<()> {
    let live = args.iter().any(|a| a == "--live");
    build_all(root, tools)?;
    let dev_vars = root.join(".dev.vars");
    if live
        && (proxy::dev_var(&dev_vars, "HV_APP_ID").is_none()
            || proxy::dev_var(&dev_vars, "HV_APP_KEY").is_none())
    {
        return Err(XtaskError::new(
            "--live needs HV_APP_ID and HV_APP_KEY in .dev.vars (see the README)",
        ));
    }
    // So that `cargo xtask token` mints tokens this demo accepts.
    let (secret, _) = crate::secrets::complete_dev_vars(root)?;
    let app = format!("http://{DEMO_ADDR}:{APP_PORT}");
    let proxy_url = format!("http://{DEMO_ADDR}:{PROXY_PORT}");
    // Over [env.demo] in wrangler.toml (the deployed demo: an anonymous sandbox): tokens
    // required, and the page's origin (and any `--allow-origin`) allowed.
    let mut vars = vec![
        "ALLOW_ANONYMOUS:false".to_string(),
        format!("ALLOWED_ORIGINS:{}", allowed_origins(&app, args)),
    ];
    if live {
        vars.push("SANDBOX:false".into());
    }
    println!("\nDemo: {app}   (the page and examples/backend-node; the proxy is {proxy_url})\n");
    if live {
        println!("LIVE: the page calls the real HyperVerge API with the keys in .dev.vars.");
    } else {
        println!("Sandbox mode: nothing leaves this machine. The NIK's last four digits pick the outcome:");
        println!("{}", proxy::sandbox_table());
    }
    println!(
        "\nThe page asks the backend for a token, the proxy answers with a signed receipt, and the\n\
         backend verifies it against {proxy_url}/.well-known/jwks.json before it records the outcome.\n\
         Ctrl-C stops everything.\n"
    );
    let audience = proxy::dev_var(&dev_vars, "TOKEN_AUDIENCE");
    let mut backend = Command::new("node");
    backend
        .current_dir(root)
        .arg(BACKEND)
        .env("HOST", DEMO_ADDR)
        .env("PORT", APP_PORT.to_string())
        .env("PROXY_URL", &proxy_url)
        .env("PROXY_JWT_SECRET", &secret)
        .env("STATIC_DIR", root.join("www"))
        .env(
            "ALLOW_SANDBOX_RECEIPTS",
            if live { "false" } else { "true" },
        )
        .stdin(std::process::Stdio::null());
    if let Some(a) = audience {
        backend.env("TOKEN_AUDIENCE", a);
    }
    let mut wrangler = Command::new(tools.node_bin.join("wrangler"));
    wrangler
        .current_dir(root)
        .args(["dev", "--env", DEMO_ENV])
        .args(["--ip", DEMO_ADDR, "--port", &PROXY_PORT.to_string()])
        .arg("--show-interactive-dev-session=false")
        .arg("--persist-to")
        .arg(root.join("target/wrangler-state/demo"))
        .envs(wrangler_env(root))
        .stdin(std::process::Stdio::null());
    for v in &vars {
        wrangler.args(["--var", v]);
    }
    let spawn = |cmd: &mut Command, what: &str| {
        cmd.spawn()
            .map_err(|e| XtaskError::new(format!("cannot start {what}: {e}")))
    };
    let mut backend = spawn(&mut backend, "the backend (node)")?;
    let mut wrangler = match spawn(&mut wrangler, "wrangler") {
        Ok(w) => w,
        Err(e) => {
            stop(&mut backend);
            return Err(e);
        }
    };
    // Ctrl-C reaches both (same process group). Whichever ends first takes the other along.
    loop {
        if let Some(status) = wrangler.try_wait()? {
            stop(&mut backend);
            return if status.success() || status.code().is_none() {
                Ok(())
            } else {
                Err(XtaskError::new(format!(
                    "wrangler dev exited with {status}"
                )))
            };
        }
        if let Some(status) = backend.try_wait()? {
            stop(&mut wrangler);
            return Err(XtaskError::new(format!(
                "the backend exited with {status} (is port {APP_PORT} free?)"
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Stops a child we started: SIGTERM (so wrangler stops its workerd), then waits.
fn stop(child: &mut std::process::Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let terminated = Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .is_ok_and(|s| s.success());
    if !terminated {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// The demo page's origin, and every `--allow-origin ORIGIN` (repeatable): a page of your own
/// (a Vite dev server, say) may call the demo proxy too.
fn allowed_origins(app: &str, args: &[String]) -> String {
    let mut origins = vec![app];
    origins.extend(
        args.windows(2)
            .filter(|w| w[0] == "--allow-origin")
            .map(|w| w[1].trim_end_matches('/')),
    );
    origins.join(",")
}

#[cfg(test)]
mod tests {
    use super::allowed_origins;

    #[test]
    fn allow_origin_adds_origins_to_the_demo_page() {
        let args: Vec<String> = [
            "--live",
            "--allow-origin",
            "http://localhost:5173/",
            "--allow-origin",
            "https://a.test",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            allowed_origins("http://127.0.0.1:8787", &args),
            "http://127.0.0.1:8787,http://localhost:5173,https://a.test"
        );
        assert_eq!(allowed_origins("http://x", &[]), "http://x");
    }
}
