//! Compact-JWS HS256 verification for the short-lived caller token.
//!
//! Hand-written on `hmac` + `sha2` (RustCrypto) rather than `jsonwebtoken` 10. Measured as
//! minimal wasm32 cdylibs (opt-level s, fat LTO, both with serde_json): HS256 verification
//! with these crates is 68,646 B raw / 29,668 B gzipped; with jsonwebtoken's `rust_crypto`
//! backend it is 977,650 B / 300,567 B (it links RSA, ECDSA and EdDSA, and builds for wasm
//! only after adding getrandom's `js` feature). That alone would exceed the Worker's 250 KB
//! budget. Only HS256 is ever accepted, so the surface is small: exact `alg`, no `crit`, a
//! constant-time MAC check, then the time claims.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Clock skew tolerated on every time claim.
pub const LEEWAY_S: i64 = 30;
/// The longest lifetime (`exp - iat`) a token may have.
pub const MAX_LIFETIME_S: i64 = 15 * 60;
/// Longer tokens are refused before any decoding.
pub const MAX_TOKEN_LEN: usize = 4096;

/// Why a token was refused. Only the stable [`JwtError::reason`] is logged, never the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtError {
    Missing,
    Malformed,
    Algorithm,
    Signature,
    Expired,
    NotYetValid,
    Lifetime,
    NikMismatch,
    TxnMismatch,
}

impl JwtError {
    pub const fn reason(self) -> &'static str {
        match self {
            JwtError::Missing => "token_missing",
            JwtError::Malformed => "token_malformed",
            JwtError::Algorithm => "token_algorithm",
            JwtError::Signature => "token_signature",
            JwtError::Expired => "token_expired",
            JwtError::NotYetValid => "token_not_yet_valid",
            JwtError::Lifetime => "token_lifetime",
            JwtError::NikMismatch => "token_nik_mismatch",
            JwtError::TxnMismatch => "token_txn_mismatch",
        }
    }

    /// The RFC 6750 `error` for `WWW-Authenticate`.
    pub const fn bearer_error(self) -> Option<&'static str> {
        match self {
            JwtError::Missing => None,
            _ => Some("invalid_token"),
        }
    }
}

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

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct RawClaims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    nik_sha256: Option<String>,
    #[serde(default)]
    txn: Option<String>,
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    iat: Option<f64>,
    #[serde(default)]
    nbf: Option<f64>,
}

/// The token in `Authorization: Bearer <token>` (scheme case-insensitive).
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, JwtError> {
    let value = authorization.ok_or(JwtError::Missing)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(JwtError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(JwtError::Malformed);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(JwtError::Malformed);
    }
    Ok(token)
}

fn b64url(part: &str) -> Result<Vec<u8>, JwtError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)
}

fn seconds(v: Option<f64>) -> Result<Option<i64>, JwtError> {
    match v {
        None => Ok(None),
        Some(x) if x.is_finite() && x.abs() < 1e15 => Ok(Some(x.floor() as i64)),
        Some(_) => Err(JwtError::Malformed),
    }
}

/// Verifies an HS256 compact JWS and its time claims at `now_s` (Unix seconds).
pub fn verify_hs256(token: &str, secret: &[u8], now_s: i64) -> Result<Claims, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h64), Some(c64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Header = serde_json::from_slice(&b64url(h64)?).map_err(|_| JwtError::Malformed)?;
    // Exactly HS256: "none", "hs256", HS512, RS256 (key confusion) and friends are refused.
    if header.alg != "HS256" || header.crit.is_some() {
        return Err(JwtError::Algorithm);
    }
    let signature = b64url(s64)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| JwtError::Signature)?;
    mac.update(h64.as_bytes());
    mac.update(b".");
    mac.update(c64.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| JwtError::Signature)?;

    let raw: RawClaims = serde_json::from_slice(&b64url(c64)?).map_err(|_| JwtError::Malformed)?;
    let exp = seconds(raw.exp)?.ok_or(JwtError::Malformed)?;
    let iat = seconds(raw.iat)?.ok_or(JwtError::Malformed)?;
    if exp <= iat || exp - iat > MAX_LIFETIME_S {
        return Err(JwtError::Lifetime);
    }
    if now_s > exp.saturating_add(LEEWAY_S) {
        return Err(JwtError::Expired);
    }
    if iat > now_s.saturating_add(LEEWAY_S) {
        return Err(JwtError::NotYetValid);
    }
    if let Some(nbf) = seconds(raw.nbf)? {
        if nbf > now_s.saturating_add(LEEWAY_S) {
            return Err(JwtError::NotYetValid);
        }
    }
    Ok(Claims {
        sub: raw.sub,
        nik_sha256: raw.nik_sha256,
        txn: raw.txn,
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
pub fn check_txn(claims: &Claims, transaction_id: &str) -> Result<(), JwtError> {
    match &claims.txn {
        Some(txn) if txn != transaction_id => Err(JwtError::TxnMismatch),
        _ => Ok(()),
    }
}

/// The NIK binding, checked once the body is parsed. Hex case is not significant.
pub fn check_nik(claims: &Claims, normalized_nik: &str) -> Result<(), JwtError> {
    match &claims.nik_sha256 {
        Some(h) if !h.eq_ignore_ascii_case(&sha256_hex(normalized_nik)) => {
            Err(JwtError::NikMismatch)
        }
        _ => Ok(()),
    }
}

/// Signs claims as HS256 (tests and tooling; the proxy only verifies).
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
            Err(JwtError::NikMismatch)
        );
        assert_eq!(check_txn(&claims, "t-1"), Ok(()));
        assert_eq!(check_txn(&claims, "t-2"), Err(JwtError::TxnMismatch));
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
    fn time_rules() {
        let cases = [
            (NOW - 100, NOW + 800, Ok(())),
            (NOW, NOW + 900, Ok(())),
            (NOW, NOW + 901, Err(JwtError::Lifetime)),
            (NOW, NOW, Err(JwtError::Lifetime)),
            (NOW, NOW - 1, Err(JwtError::Lifetime)),
            (NOW - 100, NOW - 30, Ok(())), // within leeway
            (NOW - 100, NOW - 31, Err(JwtError::Expired)),
            (NOW + 30, NOW + 60, Ok(())),
            (NOW + 31, NOW + 60, Err(JwtError::NotYetValid)),
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
                Err(JwtError::Malformed),
                "{c}"
            );
        }
        let nbf = format!(r#"{{"iat":{NOW},"exp":{},"nbf":{}}}"#, NOW + 60, NOW + 45);
        assert_eq!(
            verify_hs256(&token(&nbf), SECRET, NOW),
            Err(JwtError::NotYetValid)
        );
    }

    #[test]
    fn refuses_other_algorithms_and_forgeries() {
        let c = format!(r#"{{"iat":{NOW},"exp":{}}}"#, NOW + 60);
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let none = format!("{}.{}.", e.encode(r#"{"alg":"none"}"#), e.encode(&c));
        let cases = [
            (none, JwtError::Algorithm),
            (
                with_header(r#"{"alg":"HS512"}"#, &c, SECRET),
                JwtError::Algorithm,
            ),
            (
                with_header(r#"{"alg":"RS256"}"#, &c, SECRET),
                JwtError::Algorithm,
            ),
            (
                with_header(r#"{"alg":"hs256"}"#, &c, SECRET),
                JwtError::Algorithm,
            ),
            (
                with_header(r#"{"alg":"HS256","crit":["b64"]}"#, &c, SECRET),
                JwtError::Algorithm,
            ),
            (
                with_header(r#"{"typ":"JWT"}"#, &c, SECRET),
                JwtError::Malformed,
            ),
            (
                with_header(r#"{"alg":"HS256"}"#, &c, b"other-secret"),
                JwtError::Signature,
            ),
            ("a.b".to_string(), JwtError::Malformed),
            ("a.b.c.d".to_string(), JwtError::Malformed),
            ("".to_string(), JwtError::Malformed),
            ("x".repeat(MAX_TOKEN_LEN + 1), JwtError::Malformed),
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
            Err(JwtError::Signature)
        );
        // Padding or the standard alphabet is not base64url.
        assert_eq!(
            verify_hs256(&format!("{good}="), SECRET, NOW),
            Err(JwtError::Malformed)
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
        assert_eq!(bearer_token(None), Err(JwtError::Missing));
        for v in ["Basic abc", "Bearer", "Bearer ", "abc"] {
            assert_eq!(bearer_token(Some(v)), Err(JwtError::Malformed), "{v}");
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
