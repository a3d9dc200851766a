//! Secrets for local use: `cargo xtask keygen` (a receipt signing key), and the `.dev.vars`
//! that `cargo xtask demo` completes so `cargo xtask token` mints tokens the demo accepts.
//!
//! Key material comes from Node's WebCrypto (the same P-256 and CSPRNG the Worker's runtime
//! uses), so xtask needs no elliptic-curve crate of its own.

use crate::proxy::dev_var;
use crate::util::{self, Result, XtaskError};
use std::hash::{BuildHasher, Hasher};
use std::path::Path;

/// Prints a fresh private P-256 JWK and a fresh 32-byte secret, one JSON object per line.
const GENERATE: &str = r#"
const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const { kty, crv, x, y, d } = await crypto.subtle.exportKey('jwk', pair.privateKey);
console.log(JSON.stringify({ kty, crv, x, y, d }));
console.log(Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url'));
"#;

/// A fresh receipt signing key (a private JWK, one line of JSON) and a fresh secret of 32
/// random bytes (base64url, 43 characters).
fn generate() -> Result<(String, String)> {
    let out = util::output("node", &["--input-type=module", "-e", GENERATE])
        .ok_or_else(|| XtaskError::new("node could not generate a key (Node 20 or newer?)"))?;
    let mut lines = out.lines();
    match (lines.next(), lines.next()) {
        (Some(jwk), Some(secret)) if jwk.starts_with('{') && secret.len() == 43 => {
            Ok((jwk.to_string(), secret.to_string()))
        }
        _ => Err(XtaskError::new("node gave no key")),
    }
}

/// `cargo xtask keygen`: a fresh `RECEIPT_SIGNING_KEY` on stdout, how to use it on stderr.
pub fn keygen() -> Result<()> {
    let (jwk, _) = generate()?;
    println!("{jwk}");
    eprintln!(
        "\nA private P-256 JWK for RECEIPT_SIGNING_KEY. Keep it secret:\n  \
         npx wrangler secret put RECEIPT_SIGNING_KEY      (paste the line above)\n\
         To rotate: put the current key in RECEIPT_SIGNING_KEY_PREVIOUS first, then this one in \
         RECEIPT_SIGNING_KEY; remove the previous one once no receipt signed with it is still in \
         use (RECEIPT_TTL_SECONDS, 900 s by default)."
    );
    Ok(())
}

/// Adds a random `PROXY_JWT_SECRET` and a fresh `RECEIPT_SIGNING_KEY` to `.dev.vars` when it
/// lacks them, and returns both (the ones already there, or the new ones).
pub fn complete_dev_vars(root: &Path) -> Result<(String, String)> {
    let path = root.join(".dev.vars");
    let secret = dev_var(&path, "PROXY_JWT_SECRET");
    let key = dev_var(&path, "RECEIPT_SIGNING_KEY");
    if let (Some(secret), Some(key)) = (&secret, &key) {
        return Ok((secret.clone(), key.clone()));
    }
    let (new_key, new_secret) = generate()?;
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if secret.is_none() {
        text.push_str(&format!("PROXY_JWT_SECRET={new_secret}\n"));
    }
    if key.is_none() {
        // Single quotes: wrangler's dotenv reader takes the JSON inside literally.
        text.push_str(&format!("RECEIPT_SIGNING_KEY='{new_key}'\n"));
    }
    std::fs::write(&path, text)?;
    util::step("added a random PROXY_JWT_SECRET and a receipt signing key to .dev.vars");
    Ok((secret.unwrap_or(new_secret), key.unwrap_or(new_key)))
}

/// 128 bits that differ between calls and processes: for a token's `jti`, never a secret.
/// (std's `RandomState` is seeded from the OS's randomness once per process.)
pub fn unique_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(n);
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_do_not_repeat() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| unique_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|i| i.len() == 32));
    }

    #[test]
    fn dev_vars_are_completed_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("xtask-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(".dev.vars"), "HV_APP_ID=x").unwrap();
        let (secret, key) = complete_dev_vars(&dir).unwrap();
        assert_eq!(secret.len(), 43);
        let read = dukcapil_proxy::logic::receipt::read_signing_key(&key);
        assert!(read.is_some(), "{key}");
        // What wrangler reads back is what was written, and a second run changes nothing.
        let text = std::fs::read_to_string(dir.join(".dev.vars")).unwrap();
        assert!(text.starts_with("HV_APP_ID=x\nPROXY_JWT_SECRET="));
        assert_eq!(complete_dev_vars(&dir).unwrap(), (secret, key));
        assert_eq!(
            std::fs::read_to_string(dir.join(".dev.vars")).unwrap(),
            text
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
