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

/// The claims the proxy reads. Unknown claims are ignored; duplicate keys are malformed.
/// [`verify_hs256`] checks the signature, the times and the audience; what a kind of token
/// must carry besides (a caller token's `jti`, `txn` and `nik_hmac`, a server token's
/// `scope`) is checked by its user (see `auth`).
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// The backend that minted the token; a receipt's `aud`.
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub jti: Option<String>,
    /// The transactionId the token is bound to.
    pub txn: Option<String>,
    /// base64url HMAC-SHA256 of the NIK (see [`nik_hmac`]), when the token is bound to one.
    pub nik_hmac: Option<String>,
    /// Space-separated scopes (RFC 8693 §4.2), for server-to-server tokens.
    pub scope: Option<String>,
    pub exp: i64,
    pub iat: i64,
}

impl Claims {
    /// Whether `scope` lists `wanted`.
    pub fn has_scope(&self, wanted: &str) -> bool {
        self.scope
            .as_deref()
            .is_some_and(|s| s.split(' ').any(|x| x == wanted))
    }
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

/// base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// base64url without padding, strictly (no padding, no other alphabet, no stray bits).
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

/// A base64url part holding a JSON object (an array is not a header or claims set), read
/// with duplicate keys refused.
fn object(part: &str) -> Result<Map<String, Value>, Reason> {
    let bytes = b64url_decode(part).ok_or(Reason::TokenMalformed)?;
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

/// `aud` names `audience`: the string itself, or an array holding it (RFC 7519 §4.1.3).
fn audience_ok(claims: &Map<String, Value>, audience: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    }
}

fn hmac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; the error arm cannot happen.
    Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

/// Verifies an HS256 compact JWS at `now_s` (Unix seconds): exactly `alg: HS256` and no
/// `crit`, the signature, then `aud` (must name `audience`) and the time claims.
pub fn verify_hs256(
    token: &str,
    secret: &[u8],
    audience: &str,
    now_s: i64,
) -> Result<Claims, Reason> {
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
    let signature = b64url_decode(s64).ok_or(Reason::TokenMalformed)?;
    let mut mac = hmac(secret);
    mac.update(h64.as_bytes());
    mac.update(b".");
    mac.update(c64.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| Reason::TokenSignature)?;

    let claims = object(c64)?;
    let exp = seconds(&claims, "exp")?.ok_or(Reason::TokenMalformed)?;
    let iat = seconds(&claims, "iat")?.ok_or(Reason::TokenMalformed)?;
    let nbf = seconds(&claims, "nbf")?;
    let read = Claims {
        iss: string(&claims, "iss")?,
        sub: string(&claims, "sub")?,
        jti: string(&claims, "jti")?,
        txn: string(&claims, "txn")?,
        nik_hmac: string(&claims, "nik_hmac")?,
        scope: string(&claims, "scope")?,
        exp,
        iat,
    };
    if !audience_ok(&claims, audience) {
        return Err(Reason::TokenAudience);
    }
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
    Ok(read)
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lower-case hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    let mut s = String::with_capacity(64);
    for b in sha256(text.as_bytes()) {
        s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    s
}

/// What the NIK binding MACs: a fixed prefix, so the value is good for nothing else.
pub const NIK_HMAC_PREFIX: &str = "dukcapil-facematch:nik:";

fn nik_mac(secret: &[u8], normalized_nik: &str) -> Hmac<Sha256> {
    let mut mac = hmac(secret);
    mac.update(NIK_HMAC_PREFIX.as_bytes());
    mac.update(normalized_nik.as_bytes());
    mac
}

/// `nik_hmac`: base64url (no padding) of HMAC-SHA256 under `PROXY_JWT_SECRET` of
/// `"dukcapil-facematch:nik:" + the 16 digits`. Unlike a plain hash it cannot be reversed from
/// a masked NIK by trying the few million candidates, without the secret.
pub fn nik_hmac(secret: &[u8], normalized_nik: &str) -> String {
    b64url(&nik_mac(secret, normalized_nik).finalize().into_bytes())
}

/// The transaction binding, checked as soon as the transactionId is known.
pub fn check_txn(claims: &Claims, transaction_id: &str) -> Result<(), Reason> {
    match &claims.txn {
        Some(txn) if txn != transaction_id => Err(Reason::TokenTxnMismatch),
        _ => Ok(()),
    }
}

/// The NIK binding, checked once the body is parsed (in constant time).
pub fn check_nik(claims: &Claims, secret: &[u8], normalized_nik: &str) -> Result<(), Reason> {
    let Some(claimed) = &claims.nik_hmac else {
        return Ok(());
    };
    let claimed = b64url_decode(claimed).ok_or(Reason::TokenNikMismatch)?;
    nik_mac(secret, normalized_nik)
        .verify_slice(&claimed)
        .map_err(|_| Reason::TokenNikMismatch)
}

/// Signs claims as HS256: for tests and tooling (`cargo xtask token`, the fuzzers) only. The
/// Worker only verifies, so its build leaves this out (feature `tooling`).
#[cfg(any(test, feature = "tooling"))]
pub fn sign_hs256(claims_json: &str, secret: &[u8]) -> String {
    let signing_input = format!(
        "{}.{}",
        b64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(claims_json.as_bytes())
    );
    let mut mac = hmac(secret);
    mac.update(signing_input.as_bytes());
    let sig = b64url(&mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test-secret-not-real";
    const AUD: &str = "dukcapil-facematch";
    const NOW: i64 = 1_800_000_000;
    const NIK: &str = "3273010101900001";

    fn token(claims: &str) -> String {
        sign_hs256(claims, SECRET)
    }

    fn verify(token: &str) -> Result<Claims, Reason> {
        verify_hs256(token, SECRET, AUD, NOW)
    }

    fn with_header(header: &str, claims: &str, secret: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.as_bytes()),
            b64url(claims.as_bytes())
        );
        let mut mac = hmac(secret);
        mac.update(input.as_bytes());
        format!("{input}.{}", b64url(&mac.finalize().into_bytes()))
    }

    /// Times and audience, with `extra` claims.
    fn claims(iat: i64, exp: i64, extra: &str) -> String {
        format!(r#"{{"aud":"{AUD}","iat":{iat},"exp":{exp}{extra}}}"#)
    }

    #[test]
    fn accepts_a_good_token_and_its_bindings() {
        let c = claims(
            NOW - 10,
            NOW + 290,
            &format!(
                r#","iss":"bank","sub":"cust-1","jti":"j-1","nik_hmac":"{}","txn":"t-1","scope":"a b""#,
                nik_hmac(SECRET, NIK)
            ),
        );
        let claims = verify(&token(&c)).unwrap();
        assert_eq!(
            (
                claims.iss.as_deref(),
                claims.sub.as_deref(),
                claims.jti.as_deref()
            ),
            (Some("bank"), Some("cust-1"), Some("j-1"))
        );
        assert!(claims.has_scope("b") && !claims.has_scope("a b") && !claims.has_scope(""));
        assert_eq!(check_nik(&claims, SECRET, NIK), Ok(()));
        assert_eq!(
            check_nik(&claims, SECRET, "3273010101900002"),
            Err(Reason::TokenNikMismatch)
        );
        assert_eq!(
            check_nik(&claims, b"another-secret", NIK),
            Err(Reason::TokenNikMismatch)
        );
        assert_eq!(check_txn(&claims, "t-1"), Ok(()));
        assert_eq!(check_txn(&claims, "t-2"), Err(Reason::TokenTxnMismatch));
        let unbound = verify(&token(&super::tests::claims(NOW, NOW + 60, ""))).unwrap();
        assert_eq!(
            (check_nik(&unbound, SECRET, NIK), check_txn(&unbound, "x")),
            (Ok(()), Ok(()))
        );
        // A NIK hash in the old form, or junk, binds to nothing.
        for junk in [sha256_hex(NIK), "".into(), "!!".into()] {
            let c = super::tests::claims(NOW, NOW + 60, &format!(r#","nik_hmac":"{junk}""#));
            let t = verify(&token(&c)).unwrap();
            assert_eq!(check_nik(&t, SECRET, NIK), Err(Reason::TokenNikMismatch));
        }
    }

    #[test]
    fn nik_hmac_is_the_documented_construction() {
        // The README's Node snippet: createHmac('sha256', secret)
        //   .update('dukcapil-facematch:nik:' + nik).digest('base64url')
        assert_eq!(
            nik_hmac(b"0123456789abcdef0123456789abcdef", "3273010101901234"),
            "QASuFSB9L32pAHVccOOC2C-4EiFEf5cJb65Q5xcA_HI"
        );
        assert_eq!(nik_hmac(SECRET, NIK).len(), 43);
        assert_ne!(nik_hmac(SECRET, NIK), nik_hmac(b"other", NIK));
    }

    #[test]
    fn the_audience_must_be_ours() {
        let t = |aud: &str| {
            verify(&token(&format!(
                r#"{{"iat":{NOW},"exp":{}{aud}}}"#,
                NOW + 60
            )))
        };
        assert!(t(&format!(r#","aud":"{AUD}""#)).is_ok());
        assert!(t(&format!(r#","aud":["other","{AUD}"]"#)).is_ok());
        for aud in [
            "",
            r#","aud":"other""#,
            r#","aud":["other"]"#,
            r#","aud":null"#,
            r#","aud":7"#,
            r#","aud":"dukcapil-facematch ""#,
        ] {
            assert_eq!(t(aud).map(|_| ()), Err(Reason::TokenAudience), "{aud}");
        }
    }

    #[test]
    fn time_claims_must_be_plausible_seconds() {
        // 1e15 s is 31 million years: a claim that large is not a date, whatever else it says.
        for exp in ["1e15", "1000000000000000", "1e16", "-1e15"] {
            let c = format!(r#"{{"aud":"{AUD}","iat":{NOW},"exp":{exp}}}"#);
            assert_eq!(
                verify(&token(&c)).map(|_| ()),
                Err(Reason::TokenMalformed),
                "{exp}"
            );
        }
        let c = format!(
            r#"{{"aud":"{AUD}","iat":{NOW},"exp":{}}}"#,
            NOW as f64 + 60.9
        );
        let claims = verify(&token(&c)).unwrap();
        assert_eq!(claims.exp, NOW + 60, "fractions are floored");
    }

    #[test]
    fn issued_at_the_edge_of_the_leeway_is_accepted() {
        let c = format!(
            r#"{{"aud":"{AUD}","iat":{},"exp":{}}}"#,
            NOW + LEEWAY_S,
            NOW + LEEWAY_S + 60
        );
        assert!(verify(&token(&c)).is_ok());
        let c = format!(
            r#"{{"aud":"{AUD}","iat":{},"exp":{}}}"#,
            NOW + LEEWAY_S + 1,
            NOW + LEEWAY_S + 60
        );
        assert_eq!(
            verify(&token(&c)).map(|_| ()),
            Err(Reason::TokenNotYetValid)
        );
        // `nbf` has the same edge.
        for (nbf, ok) in [(NOW + LEEWAY_S, true), (NOW + LEEWAY_S + 1, false)] {
            let c = format!(
                r#"{{"aud":"{AUD}","iat":{NOW},"exp":{},"nbf":{nbf}}}"#,
                NOW + 60
            );
            let got = verify(&token(&c)).map(|_| ());
            assert_eq!(got.is_ok(), ok, "nbf {nbf}: {got:?}");
        }
    }

    #[test]
    fn a_token_of_exactly_the_longest_length_is_read() {
        // Pad a claim until the token is exactly MAX_TOKEN_LEN long.
        let exact = (0..200)
            .map(|n| {
                let c = format!(
                    r#"{{"aud":"{AUD}","iat":{NOW},"exp":{},"pad":"{}"}}"#,
                    NOW + 60,
                    "x".repeat(2900 + n)
                );
                token(&c)
            })
            .find(|t| t.len() == MAX_TOKEN_LEN)
            .unwrap();
        assert!(verify(&exact).is_ok());
        let longer = format!("{exact}x");
        assert_eq!(verify(&longer).map(|_| ()), Err(Reason::TokenMalformed));
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
            let got = verify(&token(&claims(iat, exp, "")));
            assert_eq!(got.map(|_| ()), want, "iat {iat} exp {exp}");
        }
        let missing = [
            format!(r#"{{"aud":"{AUD}","exp":{}}}"#, NOW + 60),
            format!(r#"{{"aud":"{AUD}","iat":{NOW}}}"#),
            format!(r#"{{"aud":"{AUD}","iat":"{NOW}","exp":{}}}"#, NOW + 60),
            format!(
                r#"{{"aud":"{AUD}","iat":{NOW},"exp":{},"exp":{}}}"#,
                NOW + 60,
                NOW + 60
            ),
            claims(NOW, NOW + 60, r#","jti":7"#),
            claims(NOW, NOW + 60, r#","nik_hmac":null"#),
            "[]".to_string(),
        ];
        for c in missing {
            assert_eq!(verify(&token(&c)), Err(Reason::TokenMalformed), "{c}");
        }
        let nbf = claims(NOW, NOW + 60, &format!(r#","nbf":{}"#, NOW + 45));
        assert_eq!(verify(&token(&nbf)), Err(Reason::TokenNotYetValid));
    }

    #[test]
    fn refuses_other_algorithms_and_forgeries() {
        let c = claims(NOW, NOW + 60, "");
        let none = format!("{}.{}.", b64url(br#"{"alg":"none"}"#), b64url(c.as_bytes()));
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
                    &claims(NOW, NOW + 60, r#","sub":7"#),
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
            assert_eq!(verify(&t), Err(want), "{t}");
        }
        // Claims swapped under a valid signature.
        let good = token(&c);
        let other = b64url(claims(NOW, NOW + 61, "").as_bytes());
        let mut parts: Vec<&str> = good.split('.').collect();
        parts[1] = &other;
        assert_eq!(verify(&parts.join(".")), Err(Reason::TokenSignature));
        // Padding or the standard alphabet is not base64url.
        assert_eq!(verify(&format!("{good}=")), Err(Reason::TokenMalformed));
        // Header with "typ" accepted alongside HS256.
        assert!(verify(&with_header(
            r#"{"typ":"JWT","alg":"HS256","kid":"1"}"#,
            &c,
            SECRET
        ))
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
