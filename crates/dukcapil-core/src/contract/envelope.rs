//! Our proxy's answers: the vendor's envelope with `match` a boolean, `score` a number and, on
//! failures, `error: { code, retryable }`. The proxy writes them here and the browser client
//! reads them here, strictly: only this exact form is a verdict or names an error code.

use super::MatchResult;
use crate::{json::parse_object, ErrorCode, Lang};
use serde_json::{json, Map, Value};

/// What every answer of the proxy carries besides its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta<'a> {
    pub request_id: &'a str,
    pub transaction_id: &'a str,
    /// Answers of the simulated upstream say `"sandbox": true`.
    pub sandbox: bool,
}

fn envelope(mut top: Map<String, Value>, meta: &Meta<'_>) -> String {
    top.insert(
        "metaData".into(),
        json!({ "requestId": meta.request_id, "transactionId": meta.transaction_id }),
    );
    if meta.sandbox {
        top.insert("sandbox".into(), Value::Bool(true));
    }
    Value::Object(top).to_string()
}

/// The proxy's success answer. `s3Url` only when the operator opted in.
pub fn success_envelope(result: &MatchResult, meta: &Meta<'_>, expose_s3_url: bool) -> String {
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
    let mut top = Map::new();
    top.insert("status".into(), "success".into());
    top.insert("statusCode".into(), 200.into());
    top.insert("result".into(), Value::Object(res));
    envelope(top, meta)
}

/// The proxy's error answer. `message` (English, for the caller only) defaults to the code's.
pub fn error_envelope(code: ErrorCode, message: Option<&str>, meta: &Meta<'_>) -> String {
    let mut top = Map::new();
    top.insert("status".into(), "failure".into());
    top.insert("statusCode".into(), code.http_status().into());
    top.insert(
        "message".into(),
        message.unwrap_or_else(|| code.message(Lang::En)).into(),
    );
    top.insert(
        "error".into(),
        json!({ "code": code.as_str(), "retryable": code.retryable() }),
    );
    envelope(top, meta)
}

/// An answer that is not a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeFailure {
    pub code: ErrorCode,
    /// The answer was our error envelope, so `code` is the one the proxy named. Otherwise
    /// something in front of the proxy answered, and `code` follows its HTTP status alone.
    pub ours: bool,
    pub request_id: Option<String>,
    pub transaction_id: Option<String>,
}

/// The code for an answer that is not our envelope (a platform or gateway error page).
pub fn foreign_code(http_status: u16) -> ErrorCode {
    match http_status {
        401 => ErrorCode::Unauthorized,
        429 => ErrorCode::RateLimited,
        400..=499 => ErrorCode::BadRequest,
        _ => ErrorCode::UpstreamError,
    }
}

fn string(v: Option<&Value>) -> Option<String> {
    v?.as_str().map(str::to_owned)
}

/// `metaData` with both ids as strings.
fn read_meta(v: &Map<String, Value>) -> Option<(String, String)> {
    let m = v.get("metaData")?.as_object()?;
    Some((string(m.get("requestId"))?, string(m.get("transactionId"))?))
}

fn read_success(http_status: u16, v: &Map<String, Value>) -> Option<MatchResult> {
    if http_status != 200 || v.get("statusCode")?.as_u64()? != 200 {
        return None;
    }
    let result = v.get("result")?.as_object()?;
    let details = result.get("details")?.as_object()?;
    let is_match = details.get("match")?.as_bool()?;
    let score = details.get("score")?.as_f64()?;
    if !(0.0..=100.0).contains(&score) {
        return None;
    }
    let message = match result.get("message") {
        None | Some(Value::Null) => None,
        Some(m) => Some(m.as_str()?.to_owned()),
    };
    let s3_url = match result.get("s3Url") {
        None => None,
        Some(u) => Some(u.as_str()?.to_owned()),
    };
    let (request_id, transaction_id) = read_meta(v)?;
    Some(MatchResult {
        is_match,
        score,
        message,
        request_id: Some(request_id),
        transaction_id: Some(transaction_id),
        s3_url,
    })
}

fn read_failure(http_status: u16, v: &Map<String, Value>) -> Option<EnvelopeFailure> {
    if v.get("statusCode")?.as_u64()? != u64::from(http_status) {
        return None;
    }
    v.get("message")?.as_str()?;
    let error = v.get("error")?.as_object()?;
    let code = ErrorCode::from_code(error.get("code")?.as_str()?)?;
    error.get("retryable")?.as_bool()?;
    let (request_id, transaction_id) = read_meta(v)?;
    Some(EnvelopeFailure {
        code,
        ours: true,
        request_id: Some(request_id),
        transaction_id: Some(transaction_id),
    })
}

/// Reads an answer of our proxy. Only the exact envelope is a verdict or names its code
/// (other fields are allowed, so that later proxies can add some); anything else, including a
/// verdict in the vendor's looser forms, is a foreign answer read by its status alone.
pub fn read_envelope(http_status: u16, body: &[u8]) -> Result<MatchResult, EnvelopeFailure> {
    let foreign = EnvelopeFailure {
        code: foreign_code(http_status),
        ours: false,
        request_id: None,
        transaction_id: None,
    };
    let Some(v) = parse_object(body) else {
        return Err(foreign);
    };
    match v.get("status").and_then(Value::as_str) {
        Some("success") => read_success(http_status, &v).ok_or(foreign),
        Some("failure") => Err(read_failure(http_status, &v).unwrap_or(foreign)),
        _ => Err(foreign),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const META: Meta<'static> = Meta {
        request_id: "req-9",
        transaction_id: "txn-9",
        sandbox: false,
    };

    fn result() -> MatchResult {
        MatchResult {
            is_match: true,
            score: 87.5,
            message: Some("ok".into()),
            request_id: None,
            transaction_id: None,
            s3_url: Some("https://s3.example/selfie.jpg".into()),
        }
    }

    #[test]
    fn what_we_write_we_read() {
        let hidden = success_envelope(
            &result(),
            &Meta {
                sandbox: true,
                ..META
            },
            false,
        );
        assert!(!hidden.contains("s3") && hidden.contains(r#""sandbox":true"#));
        let back = read_envelope(200, hidden.as_bytes()).unwrap();
        assert_eq!((back.is_match, back.score, back.s3_url), (true, 87.5, None));
        assert_eq!(back.request_id.as_deref(), Some("req-9"));
        let shown = success_envelope(&result(), &META, true);
        assert_eq!(
            read_envelope(200, shown.as_bytes())
                .unwrap()
                .s3_url
                .as_deref(),
            Some("https://s3.example/selfie.jpg")
        );
        for &code in ErrorCode::ALL.iter().filter(|c| c.http_status() >= 400) {
            let body = error_envelope(code, None, &META);
            let err = read_envelope(code.http_status(), body.as_bytes()).unwrap_err();
            assert_eq!((err.code, err.ours), (code, true), "{body}");
            assert_eq!(err.transaction_id.as_deref(), Some("txn-9"));
        }
        let precise = error_envelope(ErrorCode::NikLength, Some("found 3"), &META);
        assert!(precise.contains(r#""message":"found 3""#));
    }

    #[test]
    fn only_the_exact_envelope_counts() {
        let meta = r#""metaData":{"requestId":"r","transactionId":"t"}"#;
        let foreign = [
            // The vendor's own looser forms are not our envelope.
            (200, format!(r#"{{"status":"success","statusCode":"200","result":{{"details":{{"match":"true","score":"87.5"}}}},{meta}}}"#)),
            (200, format!(r#"{{"status":"success","statusCode":200,"result":{{"details":{{"match":true,"score":101}}}},{meta}}}"#)),
            (200, format!(r#"{{"status":"success","statusCode":200,"result":{{"details":{{"match":true}}}},{meta}}}"#)),
            (200, format!(r#"{{"status":"success","statusCode":200,"result":{{"details":{{"match":true,"match":false,"score":1}}}},{meta}}}"#)),
            (200, r#"{"status":"success","statusCode":200,"result":{"details":{"match":true,"score":1}}}"#.to_string()),
            (502, format!(r#"{{"status":"failure","statusCode":502,"message":"x","error":{{"code":"NOT_A_CODE","retryable":true}},{meta}}}"#)),
            (401, format!(r#"{{"status":"failure","statusCode":500,"message":"x","error":{{"code":"UPSTREAM_ERROR","retryable":true}},{meta}}}"#)),
            (429, r#"{"message":"Too Many Requests"}"#.to_string()),
            // A success envelope under another HTTP status, or the other way round.
            (500, format!(r#"{{"status":"success","statusCode":200,"result":{{"details":{{"match":true,"score":1}}}},{meta}}}"#)),
            (200, format!(r#"{{"status":"success","statusCode":500,"result":{{"details":{{"match":true,"score":1}}}},{meta}}}"#)),
            (400, "<html>".to_string()),
            (503, String::new()),
        ];
        for (status, body) in foreign {
            let err = read_envelope(status, body.as_bytes()).unwrap_err();
            assert_eq!(
                (err.code, err.ours),
                (foreign_code(status), false),
                "{body}"
            );
        }
        assert_eq!(foreign_code(401), ErrorCode::Unauthorized);
        assert_eq!(foreign_code(429), ErrorCode::RateLimited);
        assert_eq!(foreign_code(404), ErrorCode::BadRequest);
        assert_eq!(foreign_code(500), ErrorCode::UpstreamError);
        assert_eq!(foreign_code(200), ErrorCode::UpstreamError);
    }
}
