//! Compact-JWS HS256 verification for the short-lived caller token.
//!
//! Hand-written on `hmac` + `sha2` (RustCrypto) rather than `jsonwebtoken` 10. Measured as
//! minimal wasm32 cdylibs (opt-level s, fat LTO, both with serde_json): HS256 verification
//! with these crates is 68,646 B raw / 29,668 B gzipped; with jsonwebtoken's `rust_crypto`
//! backend it is 977,650 B / 300,567 B (it links RSA, ECDSA and EdDSA, and builds for wasm
//! only after adding getrandom's `js` feature). That alone would exceed the Worker's 250 KB
//! budget. Only HS256 is ever accepted, so the surface is small: exact `alg`, no `crit`, a
//! constant-time MAC check, then the time claims.

use crate::logic::refusal::Reason;
use base64::Engine as _;
use dukcapil_core::json::parse_object;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Clock skew tolerated on every time claim.
pub const LEEWAY_S: i64 = 30;
/// The longest lifetime (`exp - iat`) a token may have.
pub const MAX_LIFETIME_S: i64 = 15 * 60;
/// Longer tokens are refused before any decoding.
pub const MAX_TOKEN_LEN: usize = 4096;

/// The claims the proxy uses. Unknown claims are ignored; duplicate keys are malformed.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    pub sub: Option<String>,
    /// Lower-case hex SHA-256 of the normalised NIK, when the token is bound to one.
    pub nik_sha256: Option<String>,
    /// The transactionId the token is bound to, if any.
    pub txn: Option<String>,
    pub exp: i64,
    pub iat: i64,
}

/// The token in `Authorization: Bearer <token>` (scheme case-insensitive).
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, Reason> {
    let value = authorization.ok_or(Reason::TokenMissing)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(Reason::TokenMalformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Reason::TokenMalformed);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(Reason::TokenMalformed);
    }
    Ok(token)
}

/// A base64url part holding a JSON object (an array is not a header or claims set), read
/// with duplicate keys refused.
fn object(part: &str) -> Result<Map<String, Value>, Reason> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Reason::TokenMalformed)?;
    parse_object(&bytes).ok_or(Reason::TokenMalformed)
}

/// A NumericDate claim: absent, or a finite number (fractions allowed, floored).
fn seconds(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, Reason> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() && x.abs() < 1e15 => Ok(Some(x.floor() as i64)),
            _ => Err(Reason::TokenMalformed),
        },
    }
}

/// A string claim: absent, or a string.
fn string(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, Reason> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Reason::TokenMalformed),
    }
}

/// Verifies an HS256 compact JWS and its time claims at `now_s` (Unix seconds).
pub fn verify_hs256(token: &str, secret: &[u8], now_s: i64) -> Result<Claims, Reason> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(Reason::TokenMalformed);
    }
    let mut parts = token.split('.');
    let (Some(h64), Some(c64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reason::TokenMalformed);
    };
    let header = object(h64)?;
    // Exactly HS256: "none", "hs256", HS512, RS256 (key confusion) and friends are refused,
    // and so is any `crit`, even `null`: we understand no extension.
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(if header.contains_key("alg") {
            Reason::TokenAlgorithm
        } else {
            Reason::TokenMalformed
        });
    }
    if header.contains_key("crit") {
        return Err(Reason::TokenAlgorithm);
    }
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s64)
        .map_err(|_| Reason::TokenMalformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| Reason::TokenSignature)?;
    mac.update(h64.as_bytes());
    mac.update(b".");
    mac.update(c64.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| Reason::TokenSignature)?;

    let claims = object(c64)?;
    let exp = seconds(&claims, "exp")?.ok_or(Reason::TokenMalformed)?;
    let iat = seconds(&claims, "iat")?.ok_or(Reason::TokenMalformed)?;
    let nbf = seconds(&claims, "nbf")?;
    let (sub, nik_sha256, txn) = (
        string(&claims, "sub")?,
        string(&claims, "nik_sha256")?,
        string(&claims, "txn")?,
    );
    if exp <= iat || exp - iat > MAX_LIFETIME_S {
        return Err(Reason::TokenLifetime);
    }
    if now_s > exp.saturating_add(LEEWAY_S) {
        return Err(Reason::TokenExpired);
    }
    if iat > now_s.saturating_add(LEEWAY_S)
        || nbf.is_some_and(|n| n > now_s.saturating_add(LEEWAY_S))
    {
        return Err(Reason::TokenNotYetValid);
    }
    Ok(Claims {
        sub,
        nik_sha256,
        txn,
        exp,
        iat,
    })
}

/// Lower-case hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// The transaction binding, checked as soon as the transactionId is known.
pub fn check_txn(claims: &Claims, transaction_id: &str) -> Result<(), Reason> {
    match &claims.txn {
        Some(txn) if txn != transaction_id => Err(Reason::TokenTxnMismatch),
        _ => Ok(()),
    }
}

/// The NIK binding, checked once the body is parsed. Hex case is not significant.
pub fn check_nik(claims: &Claims, normalized_nik: &str) -> Result<(), Reason> {
    match &claims.nik_sha256 {
        Some(h) if !h.eq_ignore_ascii_case(&sha256_hex(normalized_nik)) => {
            Err(Reason::TokenNikMismatch)
        }
        _ => Ok(()),
    }
}

/// Signs claims as HS256: for tests and tooling (`cargo xtask token`, the fuzzers) only. The
/// Worker only verifies, so its build leaves this out (feature `tooling`).
#[cfg(any(test, feature = "tooling"))]
pub fn sign_hs256(claims_json: &str, secret: &[u8]) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signing_input = format!(
        "{}.{}",
        e.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        e.encode(claims_json.as_bytes())
    );
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return signing_input, // unreachable: HMAC takes keys of any length
    };
    mac.update(signing_input.as_bytes());
    let sig = e.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-secret-not-real";
    const NOW: i64 = 1_800_000_000;
    const NIK: &str = "3273010101900001";

    fn token(claims: &str) -> String {
        sign_hs256(claims, SECRET)
    }

    fn with_header(header: &str, claims: &str, secret: &[u8]) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let input = format!("{}.{}", e.encode(header), e.encode(claims));
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", e.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn accepts_a_good_token_and_its_bindings() {
        let c = format!(
            r#"{{"sub":"cust-1","iat":{},"exp":{},"nik_sha256":"{}","txn":"t-1","aud":"x"}}"#,
            NOW - 10,
            NOW + 290,
            sha256_hex(NIK).to_uppercase()
        );
        let claims = verify_hs256(&token(&c), SECRET, NOW).unwrap();
        assert_eq!(claims.sub.as_deref(), Some("cust-1"));
        assert_eq!(check_nik(&claims, NIK), Ok(()));
        assert_eq!(
            check_nik(&claims, "3273010101900002"),
            Err(Reason::TokenNikMismatch)
        );
        assert_eq!(check_txn(&claims, "t-1"), Ok(()));
        assert_eq!(check_txn(&claims, "t-2"), Err(Reason::TokenTxnMismatch));
        let unbound = verify_hs256(
            &token(&format!(r#"{{"iat":{NOW},"exp":{}}}"#, NOW + 60)),
            SECRET,
            NOW,
        )
        .unwrap();
        assert_eq!(
            (check_nik(&unbound, NIK), check_txn(&unbound, "x")),
            (Ok(()), Ok(()))
        );
    }

    #[test]
    fn time_claims_must_be_plausible_seconds() {
        // 1e15 s is 31 million years: a claim that large is not a date, whatever else it says.
        for exp in ["1e15", "1000000000000000", "1e16", "-1e15"] {
            let c = format!(r#"{{"iat":{NOW},"exp":{exp}}}"#);
            assert_eq!(
                verify_hs256(&token(&c), SECRET, NOW).map(|_| ()),
                Err(Reason::TokenMalformed),
                "{exp}"
            );
        }
        let c = format!(r#"{{"iat":{NOW},"exp":{}}}"#, NOW as f64 + 60.9);
        let claims = verify_hs256(&token(&c), SECRET, NOW).unwrap();
        assert_eq!(claims.exp, NOW + 60, "fractions are floored");
    }

    #[test]
    fn issued_at_the_edge_of_the_leeway_is_accepted() {
        let c = format!(
            r#"{{"iat":{},"exp":{}}}"#,
            NOW + LEEWAY_S,
            NOW + LEEWAY_S + 60
        );
        assert!(verify_hs256(&token(&c), SECRET, NOW).is_ok());
        let c = format!(
            r#"{{"iat":{},"exp":{}}}"#,
            NOW + LEEWAY_S + 1,
            NOW + LEEWAY_S + 60
        );
        assert_eq!(
            verify_hs256(&token(&c), SECRET, NOW).map(|_| ()),
            Err(Reason::TokenNotYetValid)
        );
        // `nbf` has the same edge.
        for (nbf, ok) in [(NOW + LEEWAY_S, true), (NOW + LEEWAY_S + 1, false)] {
            let c = format!(r#"{{"iat":{NOW},"exp":{},"nbf":{nbf}}}"#, NOW + 60);
            let got = verify_hs256(&token(&c), SECRET, NOW).map(|_| ());
            assert_eq!(got.is_ok(), ok, "nbf {nbf}: {got:?}");
        }
    }

    #[test]
    fn a_token_of_exactly_the_longest_length_is_read() {
        // Pad a claim until the token is exactly MAX_TOKEN_LEN long.
        let exact = (0..200)
            .map(|n| {
                let c = format!(
                    r#"{{"iat":{NOW},"exp":{},"pad":"{}"}}"#,
                    NOW + 60,
                    "x".repeat(2900 + n)
                );
                token(&c)
            })
            .find(|t| t.len() == MAX_TOKEN_LEN)
            .unwrap();
        assert!(verify_hs256(&exact, SECRET, NOW).is_ok());
        let longer = format!("{exact}x");
        assert_eq!(
            verify_hs256(&longer, SECRET, NOW).map(|_| ()),
            Err(Reason::TokenMalformed)
        );
    }

    #[test]
    fn time_rules() {
        let cases = [
            (NOW - 100, NOW + 800, Ok(())),
            (NOW, NOW + 900, Ok(())),
            (NOW, NOW + 901, Err(Reason::TokenLifetime)),
            (NOW, NOW, Err(Reason::TokenLifetime)),
            (NOW, NOW - 1, Err(Reason::TokenLifetime)),
            (NOW - 100, NOW - 30, Ok(())), // within leeway
            (NOW - 100, NOW - 31, Err(Reason::TokenExpired)),
            (NOW + 30, NOW + 60, Ok(())),
            (NOW + 31, NOW + 60, Err(Reason::TokenNotYetValid)),
        ];
        for (iat, exp, want) in cases {
            let got = verify_hs256(
                &token(&format!(r#"{{"iat":{iat},"exp":{exp}}}"#)),
                SECRET,
                NOW,
            );
            assert_eq!(got.map(|_| ()), want, "iat {iat} exp {exp}");
        }
        let missing = [
            format!(r#"{{"exp":{}}}"#, NOW + 60),
            format!(r#"{{"iat":{NOW}}}"#),
            format!(r#"{{"iat":"{NOW}","exp":{}}}"#, NOW + 60),
            format!(r#"{{"iat":{NOW},"exp":{},"exp":{}}}"#, NOW + 60, NOW + 60),
            "[]".to_string(),
        ];
        for c in missing {
            assert_eq!(
                verify_hs256(&token(&c), SECRET, NOW),
                Err(Reason::TokenMalformed),
                "{c}"
            );
        }
        let nbf = format!(r#"{{"iat":{NOW},"exp":{},"nbf":{}}}"#, NOW + 60, NOW + 45);
        assert_eq!(
            verify_hs256(&token(&nbf), SECRET, NOW),
            Err(Reason::TokenNotYetValid)
        );
    }

    #[test]
    fn refuses_other_algorithms_and_forgeries() {
        let c = format!(r#"{{"iat":{NOW},"exp":{}}}"#, NOW + 60);
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let none = format!("{}.{}.", e.encode(r#"{"alg":"none"}"#), e.encode(&c));
        let cases = [
            (none, Reason::TokenAlgorithm),
            (
                with_header(r#"{"alg":"HS512"}"#, &c, SECRET),
                Reason::TokenAlgorithm,
            ),
            (
                with_header(r#"{"alg":"RS256"}"#, &c, SECRET),
                Reason::TokenAlgorithm,
            ),
            (
                with_header(r#"{"alg":"hs256"}"#, &c, SECRET),
                Reason::TokenAlgorithm,
            ),
            (
                with_header(r#"{"alg":"HS256","crit":["b64"]}"#, &c, SECRET),
                Reason::TokenAlgorithm,
            ),
            (
                with_header(r#"{"alg":"HS256","crit":null}"#, &c, SECRET),
                Reason::TokenAlgorithm,
            ),
            // Header and claims must be JSON objects, without duplicate keys.
            (
                with_header(r#"["HS256"]"#, &c, SECRET),
                Reason::TokenMalformed,
            ),
            (
                with_header(r#"{"alg":"HS256","alg":"HS256"}"#, &c, SECRET),
                Reason::TokenMalformed,
            ),
            (
                with_header(
                    r#"{"alg":"HS256"}"#,
                    &format!(r#"[null,null,null,{},{NOW}]"#, NOW + 60),
                    SECRET,
                ),
                Reason::TokenMalformed,
            ),
            (
                with_header(
                    r#"{"alg":"HS256"}"#,
                    &format!(r#"{{"iat":{NOW},"exp":{},"sub":7}}"#, NOW + 60),
                    SECRET,
                ),
                Reason::TokenMalformed,
            ),
            (
                with_header(r#"{"typ":"JWT"}"#, &c, SECRET),
                Reason::TokenMalformed,
            ),
            (
                with_header(r#"{"alg":"HS256"}"#, &c, b"other-secret"),
                Reason::TokenSignature,
            ),
            ("a.b".to_string(), Reason::TokenMalformed),
            ("a.b.c.d".to_string(), Reason::TokenMalformed),
            ("".to_string(), Reason::TokenMalformed),
            ("x".repeat(MAX_TOKEN_LEN + 1), Reason::TokenMalformed),
        ];
        for (t, want) in cases {
            assert_eq!(verify_hs256(&t, SECRET, NOW), Err(want), "{t}");
        }
        // Claims swapped under a valid signature.
        let good = token(&c);
        let other = e.encode(format!(r#"{{"iat":{NOW},"exp":{}}}"#, NOW + 61));
        let mut parts: Vec<&str> = good.split('.').collect();
        parts[1] = &other;
        assert_eq!(
            verify_hs256(&parts.join("."), SECRET, NOW),
            Err(Reason::TokenSignature)
        );
        // Padding or the standard alphabet is not base64url.
        assert_eq!(
            verify_hs256(&format!("{good}="), SECRET, NOW),
            Err(Reason::TokenMalformed)
        );
        // Header with "typ" accepted alongside HS256.
        assert!(verify_hs256(
            &with_header(r#"{"typ":"JWT","alg":"HS256","kid":"1"}"#, &c, SECRET),
            SECRET,
            NOW
        )
        .is_ok());
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(Reason::TokenMissing));
        for v in ["Basic abc", "Bearer", "Bearer ", "abc"] {
            assert_eq!(bearer_token(Some(v)), Err(Reason::TokenMalformed), "{v}");
        }
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
