//! Receipts: the proxy vouches for an outcome with a compact JWS (ES256) that the customer's
//! backend verifies with any JWT library against `GET /.well-known/jwks.json`.
//!
//! Everything but the signature itself is here, with no I/O: reading the signing keys (private
//! JWKs, from secrets), their RFC 7638 thumbprints (the `kid`), the JWKS document, the claims,
//! and the JWS around the signature. The signature is made by the runtime's WebCrypto
//! (`crypto.subtle`, ECDSA P-256 with SHA-256), which the pipeline asks the glue for: it costs
//! no wasm bytes and runs natively (see the README's measurements). WebCrypto's ECDSA signature
//! is `r || s`, 32 bytes each (IEEE P1363), which is exactly JWS's ES256 form (RFC 7518 §3.4).

use crate::logic::jwt::{b64url, b64url_decode, sha256};
use dukcapil_core::json::parse_object;
use serde::Serialize;
use serde_json::{Map, Value};

/// `typ` of every receipt (RFC 8725 §3.11: a distinct type per kind of JWT).
pub const RECEIPT_TYP: &str = "dukcapil-receipt+jwt";
/// The JWKS route.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// How long a JWKS may be cached. A rotation publishes the next key as the current one and
/// keeps the old one as the previous, so a cached set still verifies every live receipt.
pub const JWKS_MAX_AGE_S: u32 = 300;

/// A P-256 public key: the JWK's `x` and `y`, base64url without padding (32 bytes each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcPublic {
    pub x: String,
    pub y: String,
}

impl EcPublic {
    /// The RFC 7638 thumbprint: base64url SHA-256 of the required members in order.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.x, self.y
        );
        b64url(&sha256(canonical.as_bytes()))
    }

    /// The public JWK, as the JWKS lists it. (`x`, `y` and the thumbprint are base64url: no
    /// character in them needs escaping.)
    fn jwk(&self) -> String {
        format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}","kid":"{}","alg":"ES256","use":"sig"}}"#,
            self.x,
            self.y,
            self.thumbprint()
        )
    }
}

/// The signing key from `RECEIPT_SIGNING_KEY`. `Debug` shows the public part only.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub public: EcPublic,
    /// The private JWK with only `kty`, `crv`, `x`, `y` and `d`, for WebCrypto's `importKey`.
    pub private_jwk: String,
}

impl core::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.public.thumbprint())
            .finish_non_exhaustive()
    }
}

/// A coordinate or private scalar: base64url without padding of exactly 32 bytes, in its one
/// canonical spelling.
fn member32(jwk: &Map<String, Value>, name: &str) -> Option<String> {
    let text = jwk.get(name)?.as_str()?;
    let bytes = b64url_decode(text)?;
    (bytes.len() == 32 && b64url(&bytes) == text).then(|| text.to_string())
}

/// A P-256 JWK: `kty` EC, `crv` P-256, and `alg`, `use` and `key_ops`, when present, fit for
/// ES256 signatures. `kid` is ignored: a receipt's `kid` is always the thumbprint.
fn read_jwk(text: &str, private: bool) -> Option<(EcPublic, Option<String>)> {
    let jwk = parse_object(text.trim().as_bytes())?;
    let s = |name: &str| jwk.get(name).map(Value::as_str);
    if s("kty")? != Some("EC") || s("crv")? != Some("P-256") {
        return None;
    }
    if s("alg").is_some_and(|a| a != Some("ES256")) || s("use").is_some_and(|u| u != Some("sig")) {
        return None;
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops.as_array()?;
        let want = if private { "sign" } else { "verify" };
        if !ops.iter().any(|o| o.as_str() == Some(want)) {
            return None;
        }
    }
    let public = EcPublic {
        x: member32(&jwk, "x")?,
        y: member32(&jwk, "y")?,
    };
    let d = match jwk.get("d") {
        None => None,
        Some(_) => Some(member32(&jwk, "d")?),
    };
    Some((public, d))
}

/// `RECEIPT_SIGNING_KEY`: a private P-256 JWK. Whether `d` belongs to `x` and `y` is checked
/// when WebCrypto imports it (once per isolate, before anything is forwarded).
pub fn read_signing_key(text: &str) -> Option<SigningKey> {
    let (public, d) = read_jwk(text, true)?;
    let d = d?;
    let private_jwk = format!(
        r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}","d":"{d}"}}"#,
        public.x, public.y
    );
    Some(SigningKey {
        public,
        private_jwk,
    })
}

/// `RECEIPT_SIGNING_KEY_PREVIOUS`: the key before the last rotation, private (as it was) or
/// public; only its public part is ever used.
pub fn read_previous_key(text: &str) -> Option<EcPublic> {
    read_jwk(text, false)
        .or_else(|| read_jwk(text, true))
        .map(|(public, _)| public)
}

/// The JWKS document: the current key, then the previous one (if any and different).
pub fn jwks(current: &EcPublic, previous: Option<&EcPublic>) -> String {
    match previous.filter(|p| *p != current) {
        Some(p) => format!(r#"{{"keys":[{},{}]}}"#, current.jwk(), p.jwk()),
        None => format!(r#"{{"keys":[{}]}}"#, current.jwk()),
    }
}

/// What a receipt says. Optional claims are left out when absent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claims<'a> {
    pub iss: &'a str,
    /// The caller token's `sub`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<&'a str>,
    /// The caller token's `iss`: the backend that asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<&'a str>,
    /// Unique per receipt.
    pub jti: &'a str,
    pub iat: i64,
    pub exp: i64,
    pub txn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_jti: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nik_hmac: Option<&'a str>,
    /// `match`, `no_match`, or the refusal's error code.
    pub outcome: &'a str,
    /// On verdicts.
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub is_match: Option<bool>,
    /// On verdicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// HyperVerge's `metaData.requestId`, for billing and disputes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hv_request_id: Option<&'a str>,
    /// The proxy's own request id (`x-request-id`).
    pub request_id: &'a str,
    pub sandbox: bool,
}

impl Claims<'_> {
    pub fn to_json(&self) -> String {
        // Only strings, booleans and finite numbers: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// `base64url(header) . base64url(claims)`: the bytes that are signed.
pub fn signing_input(kid: &str, claims_json: &str) -> String {
    let header = format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"{RECEIPT_TYP}"}}"#);
    format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(claims_json.as_bytes())
    )
}

/// The compact JWS, or `None` for a signature that is not 64 bytes of `r || s`.
pub fn assemble(signing_input: &str, signature: &[u8]) -> Option<String> {
    (signature.len() == 64).then(|| format!("{signing_input}.{}", b64url(signature)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A P-256 key made with `crypto.subtle.generateKey` (a test key, never used elsewhere),
    /// and its thumbprint as `jose`'s `calculateJwkThumbprint` computes it.
    pub(crate) const TEST_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"GA-6Nb8PRwf9XhBuqjR6aFvxjgG_hcjRLIY0MKIKi5s","y":"Yv7BRgRGWit0P1kP89ubw_45ib6b6BfnANvbmBr_z3k","d":"oppTYY8v7ap1V55xbZ8J8pghLi4Bj21g1MR6m8qp-B4"}"#;
    const TEST_KID: &str = "BCgMZF4LDJNIJhjlLqp8FwdkgI-hCvDH9aT4DydysTY";

    #[test]
    fn keys_are_read_strictly_and_identified_by_thumbprint() {
        let key = read_signing_key(TEST_KEY).expect("the test key");
        assert_eq!(key.public.thumbprint(), TEST_KID);
        assert!(key.private_jwk.contains(r#""d":"oppT"#));
        assert!(!format!("{key:?}").contains("oppT"), "Debug hides d");
        assert!(format!("{key:?}").contains(TEST_KID), "Debug names the key");
        let with = |extra: &str| TEST_KEY.replacen('{', &format!("{{{extra},"), 1);
        for ok in [
            with(r#""alg":"ES256""#),
            with(r#""use":"sig""#),
            with(r#""key_ops":["sign"]"#),
            with(r#""kid":"anything""#),
        ] {
            assert_eq!(
                read_signing_key(&ok)
                    .map(|k| k.public.thumbprint())
                    .as_deref(),
                Some(TEST_KID),
                "{ok}"
            );
        }
        let bad = [
            with(r#""alg":"ES384""#),
            with(r#""alg":"none""#),
            with(r#""use":"enc""#),
            with(r#""key_ops":["verify"]"#),
            TEST_KEY.replace(r#""crv":"P-256""#, r#""crv":"P-384""#),
            TEST_KEY.replace(r#""kty":"EC""#, r#""kty":"RSA""#),
            TEST_KEY.replace(r#","d":"oppTYY8v7ap1V55xbZ8J8pghLi4Bj21g1MR6m8qp-B4""#, ""),
            TEST_KEY.replace(
                "oppTYY8v7ap1V55xbZ8J8pghLi4Bj21g1MR6m8qp-B4",
                "oppTYY8v7ap1V55xbZ8J8pghLi4Bj21g1MR6m8qp-B",
            ),
            TEST_KEY.replace(
                "oppTYY8v7ap1V55xbZ8J8pghLi4Bj21g1MR6m8qp-B4",
                "oppTYY8v7ap1V55xbZ8J8pghLi4Bj21g1MR6m8qp-B4=",
            ),
            TEST_KEY.replace(
                "GA-6Nb8PRwf9XhBuqjR6aFvxjgG_hcjRLIY0MKIKi5s",
                "GA-6Nb8PRwf9XhBuqjR6aFvxjgG_hcjRLIY0MKIKi5t",
            ),
            // Canonical base64url, but of 31 and 33 bytes.
            TEST_KEY.replace(
                "GA-6Nb8PRwf9XhBuqjR6aFvxjgG_hcjRLIY0MKIKi5s",
                &"A".repeat(42),
            ),
            TEST_KEY.replace(
                "GA-6Nb8PRwf9XhBuqjR6aFvxjgG_hcjRLIY0MKIKi5s",
                &"A".repeat(44),
            ),
            with(r#""kty":"EC""#),
            "not json".into(),
            String::new(),
        ];
        for b in bad {
            assert_eq!(read_signing_key(&b), None, "{b}");
        }
        let public_only =
            TEST_KEY.replace(r#","d":"oppTYY8v7ap1V55xbZ8J8pghLi4Bj21g1MR6m8qp-B4""#, "");
        assert_eq!(read_previous_key(&public_only), Some(key.public.clone()));
        assert_eq!(read_previous_key(TEST_KEY), Some(key.public));
    }

    #[test]
    fn the_jwks_publishes_public_parts_only() {
        let current = read_signing_key(TEST_KEY).unwrap().public;
        let previous = EcPublic {
            x: b64url(&[1; 32]),
            y: b64url(&[2; 32]),
        };
        let doc: Value = serde_json::from_str(&jwks(&current, Some(&previous))).unwrap();
        let keys = doc["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0]["kid"], TEST_KID);
        assert_eq!(
            (keys[0]["alg"].as_str(), keys[0]["use"].as_str()),
            (Some("ES256"), Some("sig"))
        );
        assert!(keys.iter().all(|k| k.get("d").is_none()));
        assert_eq!(keys[1]["kid"], previous.thumbprint().as_str());
        let one: Value = serde_json::from_str(&jwks(&current, Some(&current))).unwrap();
        assert_eq!(one["keys"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_receipt_is_a_compact_jws() {
        let claims = Claims {
            iss: "dukcapil-facematch",
            sub: Some("user-1"),
            aud: None,
            jti: "r-1",
            iat: 100,
            exp: 1000,
            txn: "kyc-1",
            token_jti: Some("t-1"),
            nik_hmac: None,
            outcome: "match",
            is_match: Some(true),
            score: Some(87.5),
            hv_request_id: Some("hv-1"),
            request_id: "req-1",
            sandbox: false,
        };
        let json = claims.to_json();
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            (v["match"].as_bool(), v["score"].as_f64()),
            (Some(true), Some(87.5))
        );
        assert!(v.get("aud").is_none() && v.get("nik_hmac").is_none());
        assert_eq!(v["sandbox"], false);
        let input = signing_input(TEST_KID, &json);
        let (h, c) = input.split_once('.').unwrap();
        let header: Value = serde_json::from_slice(&b64url_decode(h).unwrap()).unwrap();
        assert_eq!(
            header,
            json!({"alg": "ES256", "kid": TEST_KID, "typ": RECEIPT_TYP})
        );
        assert_eq!(b64url_decode(c).unwrap(), json.as_bytes());
        let jws = assemble(&input, &[7; 64]).unwrap();
        assert_eq!(jws.matches('.').count(), 2);
        assert!(jws.ends_with(&b64url(&[7; 64])));
        assert_eq!(assemble(&input, &[7; 65]), None);
        // A DER signature (what OpenSSL gives) is not a JWS signature.
        assert_eq!(assemble(&input, &[0x30; 70]), None);
    }
}
