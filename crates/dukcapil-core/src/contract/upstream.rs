//! The vendor's answers: every documented shape read into a verdict or a typed failure.
//!
//! Lenient on form (`"87.5"` or `87.5`, `"yes"` or `true`, details under `result.details` or
//! `result.message`), strict on meaning: a verdict needs HTTP 200, `status: "success"`, a
//! `statusCode` of 200 when there is one, and a readable `match` and `score`. Duplicate keys
//! make an answer unreadable. The `error.code` field is ours (see [`super::envelope`]) and is
//! never honoured here: an upstream cannot pick the code our callers see.

use super::MatchResult;
use crate::{json::parse_object, ErrorCode};
use serde_json::{Map, Value};

/// An upstream answer that is not a verdict. `code` is always one the upstream can cause
/// ([`ErrorCode::upstream`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamFailure {
    pub code: ErrorCode,
    pub http_status: u16,
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

/// The code of a documented refusal message.
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
        ErrorCode::ProxyUpstreamCredentials
    } else {
        return None;
    })
}

/// The code of a failure with this status (the HTTP one, or the body's `statusCode` when the
/// vendor reports a failure with HTTP 200) and this message, if any.
///
/// Statuses that say who failed decide on their own: credentials, quota, a busy or broken
/// server, a redirect. Otherwise a documented message decides, and an unknown 4xx (or an
/// unknown refusal with HTTP 200) is `UPSTREAM_REJECTED`: sending it again cannot succeed.
fn code_for_failure(status: Option<u16>, message: Option<&str>) -> ErrorCode {
    match status {
        Some(401 | 403) => return ErrorCode::ProxyUpstreamCredentials,
        Some(429) => return ErrorCode::UpstreamRateLimited,
        Some(503) => return ErrorCode::UpstreamBusy,
        Some(300..=399 | 500..) => return ErrorCode::UpstreamError,
        _ => {}
    }
    if let Some(code) = message.and_then(code_for_message) {
        return code;
    }
    match status {
        Some(413) => ErrorCode::ImageTooLarge,
        Some(423) => ErrorCode::MultipleFaces,
        Some(400..=499) => ErrorCode::UpstreamRejected,
        // No status at all, or a nonsensical one: we cannot say it was a refusal.
        _ => ErrorCode::UpstreamError,
    }
}

fn status_in_body(v: &Map<String, Value>) -> Option<u16> {
    match v.get("statusCode")? {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => Some(0), // present but unreadable: not 200
    }
}

/// Reads any answer of the upstream into a verdict or a typed failure.
pub fn parse_upstream_response(
    http_status: u16,
    body: &[u8],
) -> Result<MatchResult, UpstreamFailure> {
    let Some(v) = parse_object(body) else {
        // Not JSON (a gateway's HTML page), a duplicate key, or not an object.
        let code = match http_status {
            200 => ErrorCode::UpstreamError,
            s => code_for_failure(Some(s), None),
        };
        return Err(UpstreamFailure {
            code,
            http_status,
            request_id: None,
            transaction_id: None,
        });
    };
    let meta = v.get("metaData");
    let fail = |code| UpstreamFailure {
        code,
        http_status,
        request_id: text(meta.and_then(|m| m.get("requestId"))),
        transaction_id: text(meta.and_then(|m| m.get("transactionId"))),
    };
    let success = v
        .get("status")
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("success"));
    let body_status = status_in_body(&v);
    if http_status != 200 || !success || body_status.is_some_and(|s| s != 200) {
        // A failure, possibly reported with HTTP 200 and its real status in the body.
        let status = if http_status == 200 {
            body_status
        } else {
            Some(http_status)
        };
        let message = v.get("message").and_then(Value::as_str);
        return Err(fail(code_for_failure(status, message)));
    }
    let Some(result) = v.get("result").and_then(Value::as_object) else {
        return Err(fail(ErrorCode::UpstreamError));
    };
    let message = text(result.get("message"));
    let refused = result
        .get("status")
        .and_then(Value::as_str)
        .is_some_and(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("invalid") || s.contains("fail") || s.contains("error")
        });
    if refused {
        // A refusal reported with HTTP 200: a documented message, or one we don't know.
        let code = message
            .as_deref()
            .and_then(code_for_message)
            .unwrap_or(ErrorCode::UpstreamRejected);
        return Err(fail(code));
    }
    let details = [result.get("details"), result.get("message")]
        .into_iter()
        .flatten()
        .find_map(Value::as_object);
    let Some(details) = details else {
        return Err(fail(ErrorCode::UpstreamError));
    };
    let is_match = details.get("match").and_then(read_match);
    let score = ["score", "match-score", "matchScore"]
        .iter()
        .find_map(|k| details.get(*k))
        .and_then(read_score);
    let (Some(is_match), Some(score)) = (is_match, score) else {
        return Err(fail(ErrorCode::UpstreamError));
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    #[test]
    fn messages_and_statuses_name_their_code() {
        for (status, message, code) in [
            (None, "nik format is not valid", ErrorCode::NikInvalid),
            (None, "NIK is invalid", ErrorCode::NikInvalid),
            (None, "nik not registered", ErrorCode::UpstreamError),
            (
                None,
                "input image detect face fail",
                ErrorCode::FaceNotDetected,
            ),
            (None, "Face not detected", ErrorCode::FaceNotDetected),
            (None, "no face in the image", ErrorCode::FaceNotDetected),
            (None, "Token Expired", ErrorCode::ProxyUpstreamCredentials),
            (
                None,
                "Missing/Invalid credentials",
                ErrorCode::ProxyUpstreamCredentials,
            ),
            (Some(423), "faces: 2", ErrorCode::MultipleFaces),
            (Some(413), "entity", ErrorCode::ImageTooLarge),
            (Some(418), "teapot", ErrorCode::UpstreamRejected),
        ] {
            assert_eq!(
                code_for_failure(status, Some(message)),
                code,
                "{status:?} {message}"
            );
        }
    }

    #[test]
    fn a_refusal_with_http_200_is_read_by_its_status_word() {
        for word in ["INVALID_REQUEST", "FAILED", "ERROR", "failure"] {
            let body = format!(
                r#"{{"status":"success","statusCode":"200","result":{{"status":"{word}","message":"input image detect face fail","details":{{"match":"true","score":"90"}}}}}}"#
            );
            let err = parse_upstream_response(200, body.as_bytes()).unwrap_err();
            assert_eq!(err.code, ErrorCode::FaceNotDetected, "{word}");
        }
    }

    #[test]
    fn a_match_and_score_given_as_objects_are_read_by_their_value() {
        let body = br#"{"status":"success","statusCode":"200","result":{"details":{"match":{"value":"yes","confidence":"high"},"score":{"value":"87.5"}}}}"#;
        let got = parse_upstream_response(200, body).unwrap();
        assert_eq!((got.is_match, got.score), (true, 87.5));
        let bad = br#"{"status":"success","statusCode":"200","result":{"details":{"match":{"value":"yes"},"score":{"value":"high"}}}}"#;
        assert!(parse_upstream_response(200, bad).is_err());
    }

    #[test]
    fn every_code_read_here_is_one_the_upstream_can_cause() {
        let statuses = [
            None,
            Some(0),
            Some(200),
            Some(302),
            Some(400),
            Some(401),
            Some(403),
        ];
        let more = [
            Some(404),
            Some(413),
            Some(418),
            Some(423),
            Some(429),
            Some(500),
        ];
        let messages = [
            None,
            Some("nik format is not valid"),
            Some("input image detect face fail"),
            Some("Multiple faces detected"),
            Some("image larger than 2M"),
            Some("Image not found"),
            Some("Invalid file type for: image"),
            Some("Requests rate limit exceeded"),
            Some("DEPENDENCY SERVER BUSY"),
            Some("Token Expired"),
            Some("something new"),
        ];
        for status in statuses.iter().chain(&more).chain(&[Some(503), Some(504)]) {
            for message in messages {
                let code = code_for_failure(*status, message);
                assert!(code.upstream(), "{status:?} {message:?} gave {code}");
            }
        }
    }

    proptest! {
        #[test]
        fn decimal_matches_parse_f64(s in r"[+-]?[0-9]{0,4}(\.[0-9]{0,6})?([eE][+-]?[0-9])?") {
            prop_assert_eq!(decimal(&s), s.parse::<f64>().ok());
        }
    }
}
