//! Who the caller is, which rate-limit budget it spends, Turnstile's siteverify exchange, and
//! the `WWW-Authenticate` challenge.

use crate::logic::{
    config::Config,
    jwt::{self, Claims},
    refusal::Reason,
};

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

/// Who is calling, decided from the `Authorization` header before anything else is spent.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// A valid token, bound (if it says so) to this transaction.
    Token(Claims),
    /// No token, and anonymous calls are allowed.
    Anonymous,
    /// No valid token where one is needed: refused, after spending the per-IP budget.
    Rejected(Reason),
}

impl Caller {
    /// The `auth` field of the log line.
    pub fn log_name(&self) -> &'static str {
        match self {
            Caller::Token(_) => "jwt",
            Caller::Anonymous => "anonymous",
            Caller::Rejected(_) => "rejected",
        }
    }
}

/// Verifies the caller's token, if any, at `now_s`, for `transaction_id`.
pub fn identify(
    policy: Policy,
    secret: Option<&str>,
    authorization: Option<&str>,
    transaction_id: &str,
    now_s: i64,
) -> Caller {
    let verify = |secret: &str| {
        let token = jwt::bearer_token(authorization)?;
        let claims = jwt::verify_hs256(token, secret.as_bytes(), now_s)?;
        jwt::check_txn(&claims, transaction_id)?;
        Ok(claims)
    };
    match (policy, secret, authorization) {
        // Anonymous allowed, but a token that is sent must still be valid.
        (Policy::AnonymousAllowed, _, None) => Caller::Anonymous,
        (_, Some(secret), _) => verify(secret).map_or_else(Caller::Rejected, Caller::Token),
        // A token, and no secret to check it with.
        (_, None, _) => Caller::Rejected(Reason::TokenSignature),
    }
}

/// Which rate limiting binding a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limiter {
    /// `IP_RATE_LIMITER`, keyed by the client IP: callers without a valid token only.
    Ip,
    /// `SUBJECT_RATE_LIMITER`, keyed by the token.
    Subject,
}

impl Limiter {
    /// The binding's name in `wrangler.toml`.
    pub const fn binding(self) -> &'static str {
        match self {
            Limiter::Ip => crate::logic::config::IP_RATE_LIMITER,
            Limiter::Subject => crate::logic::config::SUBJECT_RATE_LIMITER,
        }
    }

    pub const fn reason(self) -> Reason {
        match self {
            Limiter::Ip => Reason::RateLimitedIp,
            Limiter::Subject => Reason::RateLimitedSubject,
        }
    }
}

/// The budget a caller spends, and its key.
///
/// A valid token spends its subject's budget and never the IP's: thousands of phones share
/// one address behind a mobile carrier's NAT, and a stranger's junk requests from that address
/// must not lock them out. Callers without a valid token (anonymous ones, and failed attempts)
/// spend the IP's, so junk from one address is throttled before it costs anything more.
pub fn budget(caller: &Caller, client_ip: Option<&str>) -> (Limiter, String) {
    match caller {
        Caller::Token(claims) => (Limiter::Subject, subject_key(claims)),
        Caller::Anonymous | Caller::Rejected(_) => (
            Limiter::Ip,
            format!("ip:{}", client_ip.unwrap_or("unknown")),
        ),
    }
}

/// The token's subject: `sub` (hashed, it may be an e-mail), else the NIK it is bound to,
/// else the token itself (by its lifetime and transaction), so each budget is one person's.
pub fn subject_key(claims: &Claims) -> String {
    if let Some(sub) = &claims.sub {
        return format!("sub:{}", jwt::sha256_hex(sub));
    }
    if let Some(nik) = &claims.nik_sha256 {
        return format!("nik:{}", nik.to_ascii_lowercase());
    }
    let txn = claims.txn.as_deref().unwrap_or("");
    format!(
        "tok:{}",
        jwt::sha256_hex(&format!("{}:{}:{txn}", claims.iat, claims.exp))
    )
}

/// `WWW-Authenticate` for a 401 (RFC 6750).
pub fn challenge(reason: Reason) -> String {
    match reason.bearer_error() {
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
    dukcapil_core::json::parse_object(body)
        .is_some_and(|o| o.get("success") == Some(&serde_json::Value::Bool(true)))
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
    fn budgets_keep_token_holders_off_the_ip_budget() {
        let claims = |sub: Option<&str>, nik: Option<&str>| Claims {
            sub: sub.map(Into::into),
            nik_sha256: nik.map(Into::into),
            txn: None,
            exp: 60,
            iat: 0,
        };
        let token = Caller::Token(claims(Some("alice"), Some("AB")));
        let (limiter, key) = budget(&token, Some("203.0.113.9"));
        assert_eq!(limiter, Limiter::Subject);
        assert_eq!(key, format!("sub:{}", jwt::sha256_hex("alice")));
        assert_eq!(subject_key(&claims(None, Some("AB"))), "nik:ab".to_string());
        assert!(subject_key(&claims(None, None)).starts_with("tok:"));
        for caller in [Caller::Anonymous, Caller::Rejected(Reason::TokenExpired)] {
            assert_eq!(
                budget(&caller, Some("203.0.113.9")),
                (Limiter::Ip, "ip:203.0.113.9".into())
            );
        }
        assert_eq!(budget(&Caller::Anonymous, None).1, "ip:unknown");
    }

    #[test]
    fn identification() {
        let now = 1_800_000_000;
        let token = jwt::sign_hs256(
            &format!(r#"{{"iat":{now},"exp":{},"txn":"t-1"}}"#, now + 60),
            b"k",
        );
        let bearer = format!("Bearer {token}");
        let id = |policy, secret, auth, txn| identify(policy, secret, auth, txn, now);
        assert!(matches!(
            id(Policy::Jwt, Some("k"), Some(&bearer), "t-1"),
            Caller::Token(_)
        ));
        let cases = [
            (Policy::Jwt, Some("k"), None, "t-1", Reason::TokenMissing),
            (
                Policy::Jwt,
                Some("x"),
                Some(bearer.as_str()),
                "t-1",
                Reason::TokenSignature,
            ),
            (
                Policy::Jwt,
                Some("k"),
                Some(bearer.as_str()),
                "t-2",
                Reason::TokenTxnMismatch,
            ),
            (
                Policy::AnonymousAllowed,
                Some("x"),
                Some(bearer.as_str()),
                "t-1",
                Reason::TokenSignature,
            ),
            (
                Policy::AnonymousAllowed,
                None,
                Some(bearer.as_str()),
                "t-1",
                Reason::TokenSignature,
            ),
        ];
        for (policy, secret, auth, txn, want) in cases {
            assert_eq!(id(policy, secret, auth, txn), Caller::Rejected(want));
        }
        assert_eq!(
            id(Policy::AnonymousAllowed, None, None, "t"),
            Caller::Anonymous
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
            br#"{"success":true,"success":false}"#,
            b"<html>",
        ] {
            assert!(!siteverify_success(b));
        }
        assert_eq!(turnstile_token(Some(" abc ")), Some("abc"));
        assert_eq!(turnstile_token(Some("a b")), None);
        assert_eq!(turnstile_token(Some("")), None);
        assert_eq!(turnstile_token(Some(&"a".repeat(2049))), None);
        assert!(challenge(Reason::TokenExpired).contains("invalid_token"));
        assert!(!challenge(Reason::TokenMissing).contains("error="));
        assert!(!challenge(Reason::TurnstileRejected).contains("error="));
    }
}
