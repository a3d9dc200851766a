//! Caller authorisation decisions: which checks apply, Turnstile's siteverify exchange, and
//! the `WWW-Authenticate` challenge.

use crate::logic::{config::Config, jwt::JwtError};

/// The header carrying a Turnstile token.
pub const TURNSTILE_HEADER: &str = "cf-turnstile-response";
/// Turnstile tokens are at most 2048 characters.
pub const MAX_TURNSTILE_TOKEN_LEN: usize = 2048;

/// How a caller without a bearer token is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// A valid JWT is required.
    Jwt,
    /// `ALLOW_ANONYMOUS=true`: no token needed, but one that is sent is still verified.
    AnonymousAllowed,
}

/// The policy, or `None` when nothing could authorise a caller (fail closed).
pub fn policy(cfg: &Config) -> Option<Policy> {
    match (&cfg.jwt_secret, cfg.allow_anonymous) {
        (_, true) => Some(Policy::AnonymousAllowed),
        (Some(_), false) => Some(Policy::Jwt),
        (None, false) => None,
    }
}

/// `WWW-Authenticate` for a 401 (RFC 6750).
pub fn challenge(error: Option<JwtError>) -> String {
    match error.and_then(JwtError::bearer_error) {
        Some(e) => format!("Bearer realm=\"dukcapil-proxy\", error=\"{e}\""),
        None => "Bearer realm=\"dukcapil-proxy\"".to_string(),
    }
}

/// The Turnstile token from its header, if it has a plausible shape.
pub fn turnstile_token(header: Option<&str>) -> Option<&str> {
    let t = header?.trim();
    let ok = !t.is_empty()
        && t.len() <= MAX_TURNSTILE_TOKEN_LEN
        && t.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(t)
}

fn form_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// The `application/x-www-form-urlencoded` body for siteverify.
pub fn siteverify_body(
    secret: &str,
    token: &str,
    remote_ip: Option<&str>,
    idempotency_key: &str,
) -> String {
    let mut body = String::new();
    for (i, (k, v)) in [
        ("secret", Some(secret)),
        ("response", Some(token)),
        ("remoteip", remote_ip),
        ("idempotency_key", Some(idempotency_key)),
    ]
    .into_iter()
    .enumerate()
    {
        let Some(v) = v else { continue };
        if i > 0 {
            body.push('&');
        }
        body.push_str(k);
        body.push('=');
        form_encode(v, &mut body);
    }
    body
}

/// Whether siteverify said `success: true` (anything unreadable is a failure).
pub fn siteverify_success(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Answer {
        success: bool,
    }
    serde_json::from_slice::<Answer>(body).is_ok_and(|a| a.success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::config::tests::cfg;

    #[test]
    fn policies() {
        assert_eq!(policy(&cfg(&[])), None);
        assert_eq!(
            policy(&cfg(&[("PROXY_JWT_SECRET", "s")])),
            Some(Policy::Jwt)
        );
        assert_eq!(
            policy(&cfg(&[("ALLOW_ANONYMOUS", "true")])),
            Some(Policy::AnonymousAllowed)
        );
        assert_eq!(
            policy(&cfg(&[
                ("ALLOW_ANONYMOUS", "True"),
                ("PROXY_JWT_SECRET", "s")
            ])),
            Some(Policy::Jwt)
        );
    }

    #[test]
    fn turnstile_exchange() {
        assert_eq!(
            siteverify_body("s&k", "t=1 2", Some("203.0.113.9"), "r"),
            "secret=s%26k&response=t%3D1%202&remoteip=203.0.113.9&idempotency_key=r"
        );
        assert_eq!(
            siteverify_body("s", "t", None, "r"),
            "secret=s&response=t&idempotency_key=r"
        );
        assert!(siteverify_success(br#"{"success":true,"error-codes":[]}"#));
        for b in [
            &br#"{"success":false}"#[..],
            b"",
            b"{}",
            br#"{"success":"true"}"#,
            b"<html>",
        ] {
            assert!(!siteverify_success(b));
        }
        assert_eq!(turnstile_token(Some(" abc ")), Some("abc"));
        assert_eq!(turnstile_token(Some("a b")), None);
        assert_eq!(turnstile_token(Some("")), None);
        assert_eq!(turnstile_token(Some(&"a".repeat(2049))), None);
        assert!(challenge(Some(JwtError::Expired)).contains("invalid_token"));
        assert!(!challenge(Some(JwtError::Missing)).contains("error="));
    }
}
