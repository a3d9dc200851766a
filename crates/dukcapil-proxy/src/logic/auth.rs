//! Who the caller is, which rate-limit budget it spends, Turnstile's siteverify exchange, and
//! the `WWW-Authenticate` challenge.

use crate::logic::{
    jwt::{self, Claims},
    refusal::Reason,
};
use serde_json::Value;

/// The header carrying a Turnstile token.
pub const TURNSTILE_HEADER: &str = "cf-turnstile-response";
/// Turnstile tokens are at most 2048 characters.
pub const MAX_TURNSTILE_TOKEN_LEN: usize = 2048;

/// How a caller without a bearer token is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// A valid caller token is required.
    Jwt,
    /// `ALLOW_ANONYMOUS=true` in the sandbox: no token needed, but one that is sent is still
    /// verified.
    AnonymousAllowed,
}

/// Who is calling, decided from the `Authorization` header before anything else is spent.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// A valid caller token, bound to this transaction.
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

    pub fn claims(&self) -> Option<&Claims> {
        match self {
            Caller::Token(c) => Some(c),
            _ => None,
        }
    }
}

/// What a caller token must be, besides well signed and in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRules<'a> {
    pub secret: Option<&'a str>,
    /// `TOKEN_AUDIENCE`.
    pub audience: &'a str,
    /// `REQUIRE_NIK_BINDING`.
    pub require_nik: bool,
}

/// A caller token: HS256 for `aud`, with a `jti` and a `txn` (the backend owns the
/// transaction), bound to `transaction_id`, and bound to a NIK when that is required (checked
/// against the body's NIK later, by [`jwt::check_nik`]).
pub fn caller_token(
    rules: &TokenRules<'_>,
    token: &str,
    transaction_id: &str,
    now_s: i64,
) -> Result<Claims, Reason> {
    // A token, and no secret to check it with.
    let secret = rules.secret.ok_or(Reason::TokenSignature)?;
    let claims = jwt::verify_hs256(token, secret.as_bytes(), rules.audience, now_s)?;
    let present = |c: &Option<String>| c.as_deref().is_some_and(|v| !v.is_empty());
    if !present(&claims.jti) || !present(&claims.txn) {
        return Err(Reason::TokenIncomplete);
    }
    jwt::check_txn(&claims, transaction_id)?;
    if rules.require_nik && claims.nik_hmac.is_none() {
        return Err(Reason::TokenNikUnbound);
    }
    Ok(claims)
}

/// Verifies the caller's token, if any, at `now_s`, for `transaction_id`.
pub fn identify(
    policy: Policy,
    rules: &TokenRules<'_>,
    authorization: Option<&str>,
    transaction_id: &str,
    now_s: i64,
) -> Caller {
    if policy == Policy::AnonymousAllowed && authorization.is_none() {
        return Caller::Anonymous;
    }
    // Anonymous allowed or not, a token that is sent must be valid.
    let verified = jwt::bearer_token(authorization)
        .and_then(|token| caller_token(rules, token, transaction_id, now_s));
    verified.map_or_else(Caller::Rejected, Caller::Token)
}

/// The scope a server token needs for the results endpoint.
pub const READ_SCOPE: &str = "transactions:read";

/// A server token for the results endpoint: HS256 for `aud`, with a `jti`, and with
/// [`READ_SCOPE`]. A caller token (a browser's) has no scope, so it is refused even though it
/// is well signed. Anonymous reads are never allowed, sandbox or not.
pub fn reader_token(rules: &TokenRules<'_>, authorization: Option<&str>, now_s: i64) -> Caller {
    let verified = jwt::bearer_token(authorization).and_then(|token| {
        let secret = rules.secret.ok_or(Reason::TokenSignature)?;
        let claims = jwt::verify_hs256(token, secret.as_bytes(), rules.audience, now_s)?;
        if claims.jti.as_deref().is_none_or(str::is_empty) {
            return Err(Reason::TokenIncomplete);
        }
        if !claims.has_scope(READ_SCOPE) {
            return Err(Reason::TokenScope);
        }
        Ok(claims)
    });
    verified.map_or_else(Caller::Rejected, Caller::Token)
}

/// Which rate limiting binding a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limiter {
    /// `IP_RATE_LIMITER`, keyed by the client IP: callers without a valid token only.
    Ip,
    /// `SUBJECT_RATE_LIMITER`, keyed by the token.
    Subject,
    /// `NIK_RATE_LIMITER`, keyed by the NIK's HMAC: how often one person's face is probed.
    Nik,
}

impl Limiter {
    pub const ALL: [Limiter; 3] = [Limiter::Ip, Limiter::Subject, Limiter::Nik];

    /// The binding's name in `wrangler.toml`.
    pub const fn binding(self) -> &'static str {
        match self {
            Limiter::Ip => crate::logic::config::IP_RATE_LIMITER,
            Limiter::Subject => crate::logic::config::SUBJECT_RATE_LIMITER,
            Limiter::Nik => crate::logic::config::NIK_RATE_LIMITER,
        }
    }

    pub const fn reason(self) -> Reason {
        match self {
            Limiter::Ip => Reason::RateLimitedIp,
            Limiter::Subject => Reason::RateLimitedSubject,
            Limiter::Nik => Reason::RateLimitedNik,
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
/// else the token itself (its `jti`), so each budget is one person's.
pub fn subject_key(claims: &Claims) -> String {
    if let Some(sub) = &claims.sub {
        return format!("sub:{}", jwt::sha256_hex(sub));
    }
    if let Some(nik) = &claims.nik_hmac {
        return format!("nik:{nik}");
    }
    format!(
        "tok:{}",
        jwt::sha256_hex(claims.jti.as_deref().unwrap_or(""))
    )
}

/// The per-NIK budget's key: the NIK's HMAC (what the token binds), or without a secret (an
/// anonymous sandbox) its plain SHA-256: never the NIK itself.
pub fn nik_key(nik_hmac: Option<&str>, normalized_nik: &str) -> String {
    match nik_hmac {
        Some(h) => format!("nik:{h}"),
        None => format!("nik-sha256:{}", jwt::sha256_hex(normalized_nik)),
    }
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

/// Siteverify's answer: `success: true` (anything unreadable is a failure), issued on one of
/// `hostname_ok`'s hosts, and for `action` when one is set.
pub fn siteverify_verdict(
    body: &[u8],
    hostname_ok: impl Fn(&str) -> bool,
    action: Option<&str>,
) -> Result<(), Reason> {
    let answer = dukcapil_core::json::parse_object(body).ok_or(Reason::TurnstileRejected)?;
    if answer.get("success") != Some(&Value::Bool(true)) {
        return Err(Reason::TurnstileRejected);
    }
    let field = |name| answer.get(name).and_then(Value::as_str);
    if !field("hostname").is_some_and(&hostname_ok) {
        return Err(Reason::TurnstileHostname);
    }
    match action {
        Some(want) if field("action") != Some(want) => Err(Reason::TurnstileAction),
        _ => Ok(()),
    }
}

/// The host of an origin or URL (`https://kyc.example.co.id:8443/x` → `kyc.example.co.id`),
/// as siteverify's `hostname` names it.
pub fn host_of(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    match authority.strip_prefix('[') {
        // An IPv6 literal: `[::1]:8787` → `::1`.
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::config::tests::SECRET;

    const NOW: i64 = 1_800_000_000;
    const AUD: &str = "dukcapil-facematch";
    const NIK: &str = "3273010101900001";

    fn rules(secret: Option<&str>, require_nik: bool) -> TokenRules<'_> {
        TokenRules {
            secret,
            audience: AUD,
            require_nik,
        }
    }

    fn claims(sub: Option<&str>, nik_hmac: Option<&str>, jti: &str) -> Claims {
        Claims {
            iss: None,
            sub: sub.map(Into::into),
            jti: Some(jti.into()),
            txn: Some("t".into()),
            nik_hmac: nik_hmac.map(Into::into),
            scope: None,
            exp: 60,
            iat: 0,
        }
    }

    #[test]
    fn budgets_keep_token_holders_off_the_ip_budget() {
        let token = Caller::Token(claims(Some("alice"), Some("AB"), "j"));
        let (limiter, key) = budget(&token, Some("203.0.113.9"));
        assert_eq!(limiter, Limiter::Subject);
        assert_eq!(key, format!("sub:{}", jwt::sha256_hex("alice")));
        assert_eq!(subject_key(&claims(None, Some("AB"), "j")), "nik:AB");
        assert_eq!(
            subject_key(&claims(None, None, "j")),
            format!("tok:{}", jwt::sha256_hex("j"))
        );
        for caller in [Caller::Anonymous, Caller::Rejected(Reason::TokenExpired)] {
            assert_eq!(
                budget(&caller, Some("203.0.113.9")),
                (Limiter::Ip, "ip:203.0.113.9".into())
            );
        }
        assert_eq!(budget(&Caller::Anonymous, None).1, "ip:unknown");
        assert_eq!(nik_key(Some("h"), NIK), "nik:h");
        assert!(!nik_key(None, NIK).contains(NIK));
        let bindings: Vec<_> = Limiter::ALL.iter().map(|l| l.binding()).collect();
        assert_eq!(
            bindings,
            [
                "IP_RATE_LIMITER",
                "SUBJECT_RATE_LIMITER",
                "NIK_RATE_LIMITER"
            ]
        );
    }

    fn sign(extra: &str) -> String {
        let c = format!(r#"{{"aud":"{AUD}","iat":{NOW},"exp":{}{extra}}}"#, NOW + 60);
        format!("Bearer {}", jwt::sign_hs256(&c, SECRET.as_bytes()))
    }

    #[test]
    fn only_server_tokens_with_the_read_scope_read_transactions() {
        let strict = rules(Some(SECRET), true);
        let read = |auth: &str| reader_token(&strict, Some(auth), NOW);
        let ok = read(&sign(
            r#","jti":"j","sub":"customer-42","scope":"openid transactions:read""#,
        ));
        assert!(matches!(ok, Caller::Token(c) if c.sub.as_deref() == Some("customer-42")));
        let hmac = jwt::nik_hmac(SECRET.as_bytes(), NIK);
        let cases = [
            // A browser's caller token: well signed, no scope.
            (
                read(&sign(&format!(
                    r#","jti":"j","txn":"t","nik_hmac":"{hmac}""#
                ))),
                Reason::TokenScope,
            ),
            (
                read(&sign(r#","jti":"j","scope":"transactions:write""#)),
                Reason::TokenScope,
            ),
            (
                read(&sign(r#","jti":"j","scope":"transactions:readx""#)),
                Reason::TokenScope,
            ),
            (
                read(&sign(r#","scope":"transactions:read""#)),
                Reason::TokenIncomplete,
            ),
            (reader_token(&strict, None, NOW), Reason::TokenMissing),
            (
                reader_token(
                    &rules(Some("another-secret-0123456789abcdef0123"), true),
                    Some(&sign(r#","jti":"j","scope":"transactions:read""#)),
                    NOW,
                ),
                Reason::TokenSignature,
            ),
            (
                reader_token(
                    &rules(None, true),
                    Some(&sign(r#","jti":"j","scope":"transactions:read""#)),
                    NOW,
                ),
                Reason::TokenSignature,
            ),
        ];
        for (i, (got, want)) in cases.into_iter().enumerate() {
            assert_eq!(got, Caller::Rejected(want), "case {i}");
        }
    }

    #[test]
    fn caller_tokens_carry_jti_txn_and_the_nik_binding() {
        let hmac = jwt::nik_hmac(SECRET.as_bytes(), NIK);
        let full = sign(&format!(r#","jti":"j","txn":"t-1","nik_hmac":"{hmac}""#));
        let id = |policy, rules: &TokenRules<'_>, auth: Option<&str>, txn| {
            identify(policy, rules, auth, txn, NOW)
        };
        let strict = rules(Some(SECRET), true);
        assert!(matches!(
            id(Policy::Jwt, &strict, Some(&full), "t-1"),
            Caller::Token(_)
        ));
        let unbound = sign(r#","jti":"j","txn":"t-1""#);
        let cases = [
            (Policy::Jwt, strict, None, "t-1", Reason::TokenMissing),
            (
                Policy::Jwt,
                rules(Some("x"), true),
                Some(full.as_str()),
                "t-1",
                Reason::TokenSignature,
            ),
            (
                Policy::Jwt,
                strict,
                Some(full.as_str()),
                "t-2",
                Reason::TokenTxnMismatch,
            ),
            (
                Policy::Jwt,
                strict,
                Some(unbound.as_str()),
                "t-1",
                Reason::TokenNikUnbound,
            ),
            (
                Policy::Jwt,
                strict,
                Some(&sign(&format!(r#","txn":"t-1","nik_hmac":"{hmac}""#))),
                "t-1",
                Reason::TokenIncomplete,
            ),
            (
                Policy::Jwt,
                strict,
                Some(&sign(&format!(r#","jti":"j","nik_hmac":"{hmac}""#))),
                "t-1",
                Reason::TokenIncomplete,
            ),
            (
                Policy::Jwt,
                strict,
                Some(&sign(&format!(
                    r#","jti":"","txn":"t-1","nik_hmac":"{hmac}""#
                ))),
                "t-1",
                Reason::TokenIncomplete,
            ),
            // 0.1's binding is not read.
            (
                Policy::Jwt,
                strict,
                Some(&sign(&format!(
                    r#","jti":"j","txn":"t-1","nik_sha256":"{}""#,
                    jwt::sha256_hex(NIK)
                ))),
                "t-1",
                Reason::TokenNikUnbound,
            ),
            (
                Policy::AnonymousAllowed,
                rules(Some("x"), true),
                Some(full.as_str()),
                "t-1",
                Reason::TokenSignature,
            ),
            (
                Policy::AnonymousAllowed,
                rules(None, true),
                Some(full.as_str()),
                "t-1",
                Reason::TokenSignature,
            ),
        ];
        for (policy, rules, auth, txn, want) in cases {
            assert_eq!(
                id(policy, &rules, auth, txn),
                Caller::Rejected(want),
                "{auth:?}"
            );
        }
        // With the binding switched off, an unbound token passes (a bound one is still checked).
        assert!(matches!(
            id(
                Policy::Jwt,
                &rules(Some(SECRET), false),
                Some(&unbound),
                "t-1"
            ),
            Caller::Token(_)
        ));
        assert_eq!(
            id(Policy::AnonymousAllowed, &rules(None, true), None, "t"),
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
        let ours = |h: &str| h == "kyc.example.co.id";
        let ok =
            br#"{"success":true,"error-codes":[],"hostname":"kyc.example.co.id","action":"kyc"}"#;
        assert_eq!(siteverify_verdict(ok, ours, None), Ok(()));
        assert_eq!(siteverify_verdict(ok, ours, Some("kyc")), Ok(()));
        assert_eq!(
            siteverify_verdict(ok, ours, Some("login")),
            Err(Reason::TurnstileAction)
        );
        assert_eq!(
            siteverify_verdict(ok, |_| false, None),
            Err(Reason::TurnstileHostname)
        );
        let no_host = br#"{"success":true}"#;
        assert_eq!(
            siteverify_verdict(no_host, |_| true, None),
            Err(Reason::TurnstileHostname)
        );
        for b in [
            &br#"{"success":false,"hostname":"kyc.example.co.id"}"#[..],
            b"",
            b"{}",
            br#"{"success":"true","hostname":"kyc.example.co.id"}"#,
            br#"{"success":true,"success":false,"hostname":"kyc.example.co.id"}"#,
            b"<html>",
        ] {
            assert_eq!(
                siteverify_verdict(b, ours, None),
                Err(Reason::TurnstileRejected)
            );
        }
        for (origin, host) in [
            ("https://kyc.example.co.id", "kyc.example.co.id"),
            ("http://127.0.0.1:8787", "127.0.0.1"),
            ("https://a.id:8443/x?y", "a.id"),
            ("http://[::1]:8787", "::1"),
        ] {
            assert_eq!(host_of(origin), host);
        }
        assert_eq!(turnstile_token(Some(" abc ")), Some("abc"));
        assert_eq!(turnstile_token(Some("a b")), None);
        assert_eq!(turnstile_token(Some("")), None);
        assert_eq!(turnstile_token(Some(&"a".repeat(2049))), None);
        assert!(challenge(Reason::TokenExpired).contains("invalid_token"));
        assert!(challenge(Reason::TokenAudience).contains("invalid_token"));
        assert!(!challenge(Reason::TokenMissing).contains("error="));
        assert!(!challenge(Reason::TurnstileRejected).contains("error="));
    }
}
