//! The HyperVerge "Dukcapil with FaceMatch" contract, and the proxy's answers in the same shape.
//!
//! The vendor's doc contradicts itself on where `match`/`score` sit and on their types
//! (see `docs/upstream-contract.md`), so reading is lenient on form and strict on
//! meaning: anything that can't be read for sure is `UPSTREAM_ERROR`, never a silent verdict.

use crate::{
    date::CivilDate,
    image::{check_image_base64, CheckedImage},
    nik::{parse_nik, Nik, NikError},
    ErrorCode, Lang,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The path of the upstream endpoint, which the proxy serves too.
pub const VERIFY_PATH: &str = "/v1/dukcapilWithFacematch";
/// The default upstream base URL ("API URL" in the doc; its curl example has a typo).
pub const DEFAULT_BASE_URL: &str = "https://ind-thomas.hyperverge.co";

/// The request body `{ "id": "<NIK>", "image": "<base64>" }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyRequest {
    pub id: Option<String>,
    pub image: Option<String>,
}

// By hand, because derived struct impls also accept a JSON array (`["id", "image"]`).
impl<'de> Deserialize<'de> for VerifyRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = VerifyRequest;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object with `id` and `image` strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let mut req = VerifyRequest::default();
                let (mut seen_id, mut seen_image) = (false, false);
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let (seen, slot) = match key.as_ref() {
                        "id" => (&mut seen_id, &mut req.id),
                        "image" => (&mut seen_image, &mut req.image),
                        other => return Err(A::Error::unknown_field(other, &["id", "image"])),
                    };
                    if std::mem::replace(seen, true) {
                        return Err(A::Error::custom("duplicate field"));
                    }
                    *slot = map.next_value()?;
                }
                Ok(req)
            }
        }
        d.deserialize_map(Fields)
    }
}

/// Reads a JSON request body. Unknown fields, duplicate keys, wrong types and trailing data
/// are `REQUEST_INVALID`; absent fields are reported by [`validate_request`].
pub fn parse_verify_request_json(body: &[u8]) -> Result<VerifyRequest, ErrorCode> {
    serde_json::from_slice(body).map_err(|_| ErrorCode::RequestInvalid)
}

/// Why a request is refused before anything is sent upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    Nik(NikError),
    Image(ErrorCode),
}

impl RequestError {
    pub const fn code(&self) -> ErrorCode {
        match self {
            RequestError::Nik(e) => e.code(),
            RequestError::Image(code) => *code,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            RequestError::Nik(e) => e.message(lang),
            RequestError::Image(code) => code.message(lang).into(),
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for RequestError {}

/// A request that passed every check and may be forwarded.
#[derive(Debug, Clone)]
pub struct ValidRequest<'a> {
    pub nik: Nik,
    pub image: CheckedImage<'a>,
}

/// Checks a NIK and a base64 image (a `data:` URL is accepted) with the same rules the
/// browser applies, so nothing the upstream would refuse costs a call.
pub fn validate_request<'a>(
    id: &str,
    image: &'a str,
    today: CivilDate,
) -> Result<ValidRequest<'a>, RequestError> {
    let nik = parse_nik(id, today).map_err(RequestError::Nik)?;
    let image = check_image_base64(image).map_err(RequestError::Image)?;
    Ok(ValidRequest { nik, image })
}

/// Longest accepted `transactionId`.
pub const MAX_TRANSACTION_ID_LEN: usize = 128;

/// Checks a caller's `transactionId` (sent as a header upstream): 1–128 characters of
/// `A–Z a–z 0–9 . _ : -`, else [`ErrorCode::TransactionIdInvalid`].
///
/// ```
/// use dukcapil_core::{contract::validate_transaction_id, ErrorCode};
/// assert_eq!(validate_transaction_id("order-42:retry.1"), Ok(()));
/// assert_eq!(validate_transaction_id("a b"), Err(ErrorCode::TransactionIdInvalid));
/// ```
pub fn validate_transaction_id(id: &str) -> Result<(), ErrorCode> {
    let ok = (1..=MAX_TRANSACTION_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ErrorCode::TransactionIdInvalid)
    }
}

/// The JSON body sent upstream, `{"id":"<16 digits>","image":"<base64>"}`, as bytes.
///
/// Taking the checked types lets it splice the values in: a NIK is 16 ASCII digits and a
/// checked image is standard base64, so neither needs escaping. That saves the Worker a scan
/// and a copy of up to 2.7 MB per request, which it pays for in CPU time.
pub fn upstream_request_body(nik: &Nik, image: &CheckedImage<'_>) -> Vec<u8> {
    const HEAD: &[u8] = br#"{"id":""#;
    const MIDDLE: &[u8] = br#"","image":""#;
    const TAIL: &[u8] = br#""}"#;
    let digits = nik.normalized();
    let mut body = Vec::with_capacity(
        HEAD.len() + digits.len() + MIDDLE.len() + image.base64.len() + TAIL.len(),
    );
    for part in [
        HEAD,
        digits.as_bytes(),
        MIDDLE,
        image.base64.as_bytes(),
        TAIL,
    ] {
        body.extend_from_slice(part);
    }
    body
}

/// A face-match verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchResult {
    pub is_match: bool,
    /// As the upstream gives it (documented as 0–100; some resellers report 0–1).
    pub score: f64,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub transaction_id: Option<String>,
    /// A link to the stored selfie: personal data, kept out of answers by default.
    pub s3_url: Option<String>,
}

/// An upstream (or proxy) answer that is not a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamFailure {
    pub code: ErrorCode,
    pub http_status: u16,
    /// The upstream's own text, for logs; not meant for end users.
    pub upstream_message: Option<String>,
    pub request_id: Option<String>,
    pub transaction_id: Option<String>,
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

/// `"yes"`, `"true"`, `true`, or `{"value": "yes"}` (HyperVerge's newer modules).
fn read_match(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" => Some(true),
            "false" | "no" => Some(false),
            _ => None,
        },
        Value::Object(o) => o.get("value").and_then(read_match),
        _ => None,
    }
}

/// A number or numeric string, finite, within 0–100.
fn read_score(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => decimal(s.trim())?,
        Value::Object(o) => return o.get("value").and_then(read_score),
        _ => return None,
    };
    (n.is_finite() && (0.0..=100.0).contains(&n)).then_some(n)
}

/// A decimal number in `str::parse::<f64>`'s grammar (`+1`, `.5`, `5.`, `007`, `1e2`), read
/// by serde_json's number parser: `parse::<f64>` would link core's float parser and its 10 KB
/// table into the browser module (measured: 12.5 KB gz). `inf`/`nan` give `None`.
fn decimal(s: &str) -> Option<f64> {
    fn digits(b: &[u8]) -> (&[u8], &[u8]) {
        b.split_at(b.iter().take_while(|c| c.is_ascii_digit()).count())
    }
    let mut json = Vec::with_capacity(s.len() + 2);
    let b = s.as_bytes();
    let b = match b.first()? {
        b'-' => {
            json.push(b'-');
            &b[1..]
        }
        b'+' => &b[1..],
        _ => b,
    };
    let (int, b) = digits(b);
    let (frac, b) = match b.split_first() {
        Some((b'.', rest)) => digits(rest),
        _ => (&[][..], b),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    // As JSON: no `+`, no leading zeros, digits on both sides of a `.`.
    let int = &int[int.iter().take_while(|&&c| c == b'0').count()..];
    json.extend_from_slice(if int.is_empty() { b"0" } else { int });
    if !frac.is_empty() {
        json.push(b'.');
        json.extend_from_slice(frac);
    }
    // serde_json checks the exponent and that nothing follows, but allows trailing spaces.
    if b.last().is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    json.extend_from_slice(b);
    // Into a `Value`: a typed `f64` would link serde's error formatting (and f64 Display).
    match serde_json::from_slice::<Value>(&json).ok()? {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// Maps a documented failure message to its code.
fn code_for_message(message: &str) -> Option<ErrorCode> {
    let m = message.to_ascii_lowercase();
    let has = |s: &str| m.contains(s);
    Some(if has("nik") && (has("not valid") || has("invalid")) {
        ErrorCode::NikInvalid
    } else if has("detect face fail") || has("face not detected") || has("no face") {
        ErrorCode::FaceNotDetected
    } else if has("multiple faces") {
        ErrorCode::MultipleFaces
    } else if has("larger than 2m") || has("too large") {
        ErrorCode::ImageTooLarge
    } else if has("image not found") {
        ErrorCode::ImageMissing
    } else if has("invalid file type") {
        ErrorCode::ImageType
    } else if has("rate limit") {
        ErrorCode::UpstreamRateLimited
    } else if has("server busy") {
        ErrorCode::UpstreamBusy
    } else if has("credentials") || has("token expired") {
        ErrorCode::UpstreamUnauthorized
    } else {
        return None;
    })
}

fn code_for_status(status: u16) -> ErrorCode {
    match status {
        401 | 403 => ErrorCode::UpstreamUnauthorized,
        423 => ErrorCode::MultipleFaces,
        429 => ErrorCode::UpstreamRateLimited,
        503 => ErrorCode::UpstreamBusy,
        _ => ErrorCode::UpstreamError,
    }
}

fn status_in_body(v: &Value) -> Option<u16> {
    match v.get("statusCode")? {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads any answer of the upstream, or of our proxy (same shape plus `error.code`), into a
/// verdict or a typed failure.
pub fn parse_upstream_response(
    http_status: u16,
    body: &[u8],
) -> Result<MatchResult, UpstreamFailure> {
    let fail = |code, message: Option<String>, meta: Option<&Value>| UpstreamFailure {
        code,
        http_status,
        upstream_message: message,
        request_id: text(meta.and_then(|m| m.get("requestId"))),
        transaction_id: text(meta.and_then(|m| m.get("transactionId"))),
    };
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Err(fail(code_for_status(http_status), None, None));
    };
    let meta = v.get("metaData");
    // Our proxy names the code itself.
    if let Some(code) = v
        .pointer("/error/code")
        .and_then(Value::as_str)
        .and_then(ErrorCode::from_code)
    {
        return Err(fail(code, text(v.get("message")), meta));
    }
    let top_failure = v
        .get("status")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.eq_ignore_ascii_case("success"));
    if http_status != 200 || top_failure {
        let message = text(v.get("message"));
        let status = if http_status == 200 {
            status_in_body(&v).unwrap_or(500)
        } else {
            http_status
        };
        let code = message
            .as_deref()
            .and_then(code_for_message)
            .unwrap_or_else(|| code_for_status(status));
        return Err(fail(code, message, meta));
    }
    let Some(result) = v.get("result").and_then(Value::as_object) else {
        return Err(fail(ErrorCode::UpstreamError, None, meta));
    };
    let details = [result.get("details"), result.get("message")]
        .into_iter()
        .flatten()
        .find_map(Value::as_object);
    let verdict_status = result.get("status").and_then(Value::as_str);
    let refused = verdict_status.is_some_and(|s| {
        let s = s.to_ascii_lowercase();
        s.contains("invalid") || s.contains("fail") || s.contains("error")
    });
    let message = text(result.get("message"));
    let Some(details) = details.filter(|_| !refused) else {
        // A failure reported with HTTP 200.
        let code = message
            .as_deref()
            .and_then(code_for_message)
            .unwrap_or(ErrorCode::UpstreamError);
        return Err(fail(code, message, meta));
    };
    let is_match = details.get("match").and_then(read_match);
    let score = ["score", "match-score", "matchScore"]
        .iter()
        .find_map(|k| details.get(*k))
        .and_then(read_score);
    let (Some(is_match), Some(score)) = (is_match, score) else {
        return Err(fail(ErrorCode::UpstreamError, message, meta));
    };
    Ok(MatchResult {
        is_match,
        score,
        message,
        request_id: text(meta.and_then(|m| m.get("requestId"))),
        transaction_id: text(meta.and_then(|m| m.get("transactionId"))),
        s3_url: text(result.get("s3Url")),
    })
}

fn meta_data(request_id: &str, transaction_id: &str) -> Value {
    json!({ "requestId": request_id, "transactionId": transaction_id })
}

/// The proxy's success answer, in the upstream's shape with `match` a boolean and `score` a
/// number. `s3Url` only when the operator opted in.
pub fn success_envelope(
    result: &MatchResult,
    request_id: &str,
    transaction_id: &str,
    sandbox: bool,
    expose_s3_url: bool,
) -> String {
    let mut res = Map::new();
    res.insert(
        "message".into(),
        result.message.clone().map_or(Value::Null, Value::String),
    );
    res.insert(
        "details".into(),
        json!({ "match": result.is_match, "score": result.score }),
    );
    if let (true, Some(url)) = (expose_s3_url, &result.s3_url) {
        res.insert("s3Url".into(), Value::String(url.clone()));
    }
    let mut v = json!({
        "status": "success",
        "statusCode": 200,
        "result": res,
        "metaData": meta_data(request_id, transaction_id),
    });
    if sandbox {
        v["sandbox"] = Value::Bool(true);
    }
    v.to_string()
}

/// The proxy's error answer: the upstream's error envelope plus `error.code`.
pub fn error_envelope(code: ErrorCode, request_id: &str, transaction_id: &str) -> String {
    error_envelope_with_message(code, code.message(Lang::En), request_id, transaction_id)
}

/// [`error_envelope`] with a more specific English message (for example a [`NikError`]'s).
pub fn error_envelope_with_message(
    code: ErrorCode,
    message: &str,
    request_id: &str,
    transaction_id: &str,
) -> String {
    json!({
        "status": "failure",
        "statusCode": code.http_status(),
        "message": message,
        "error": { "code": code.as_str(), "retryable": code.retryable() },
        "metaData": meta_data(request_id, transaction_id),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn transaction_ids() {
        let long = "x".repeat(MAX_TRANSACTION_ID_LEN);
        let too_long = "x".repeat(MAX_TRANSACTION_ID_LEN + 1);
        let cases: &[(&str, bool)] = &[
            ("a", true),
            ("A1b2.C3_d4:E5-f6", true),
            ("550e8400-e29b-41d4-a716-446655440000", true),
            ("...", true),
            (&long, true),
            ("", false),
            (&too_long, false),
            ("a b", false),
            (" a", false),
            ("a\n", false),
            ("a/b", false),
            ("a+b", false),
            ("a=b", false),
            ("é", false),
            ("a\u{0}", false),
            ("ａ", false),
        ];
        for &(id, ok) in cases {
            let want = if ok {
                Ok(())
            } else {
                Err(ErrorCode::TransactionIdInvalid)
            };
            assert_eq!(validate_transaction_id(id), want, "{id:?}");
        }
    }

    #[test]
    fn decimal_reads_what_parse_f64_reads() {
        let cases = [
            "0",
            "-0",
            "+0",
            "87.5",
            "+87.5",
            "-1",
            "007",
            "0.93",
            ".5",
            "5.",
            "-.5",
            "1e2",
            "1E2",
            "1e+2",
            "2.5e-1",
            "00.010",
            "100",
            "100.0000000001",
            "1e400",
            "1e-400",
        ];
        for s in cases {
            assert_eq!(
                decimal(s),
                s.parse::<f64>().ok().filter(|f| f.is_finite()),
                "{s}"
            );
        }
        let refused = [
            "", "+", "-", ".", "e5", "1e", "1e+", "1.2.3", "1 2", "+-1", "0x10", "1_0", "inf",
            "-inf", "NaN", "infinity", "\"1\"", "true", "null", "١٢", " 1", "1 ", "1e5\n", "1e5x",
        ];
        for s in refused {
            assert_eq!(decimal(s), None, "{s}");
        }
    }

    proptest! {
        #[test]
        fn decimal_matches_parse_f64(s in r"[+-]?[0-9]{0,4}(\.[0-9]{0,6})?([eE][+-]?[0-9])?") {
            prop_assert_eq!(decimal(&s), s.parse::<f64>().ok());
        }
    }
}
