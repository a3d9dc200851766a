//! Our proxy's answers: the vendor's envelope with `match` a boolean, `score` a number and, on
//! failures, `error: { code, retryable }`; a signed `receipt` on every verdict and definitive
//! refusal. The proxy writes them here and the browser client reads them here, strictly: only
//! this exact form is a verdict or names an error code ([`read_envelope`]), and only an answer
//! to the request that was sent counts ([`read_answer`]).

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
    /// The proxy's signed receipt (a compact JWS), on verdicts and definitive refusals.
    pub receipt: Option<&'a str>,
}

fn envelope(mut top: Map<String, Value>, meta: &Meta<'_>) -> String {
    top.insert(
        "metaData".into(),
        json!({ "requestId": meta.request_id, "transactionId": meta.transaction_id }),
    );
    if meta.sandbox {
        top.insert("sandbox".into(), Value::Bool(true));
    }
    if let Some(receipt) = meta.receipt {
        top.insert("receipt".into(), Value::String(receipt.to_owned()));
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

/// A verdict in our envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub result: MatchResult,
    pub receipt: Option<String>,
    pub sandbox: bool,
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
    /// The receipt of a definitive refusal.
    pub receipt: Option<String>,
    pub sandbox: bool,
    /// Why the answer was not read as the proxy's (for developers, in English; no data from
    /// the answer): `None` for the proxy's own error envelope.
    pub reason: Option<&'static str>,
}

impl EnvelopeFailure {
    fn foreign(code: ErrorCode, reason: &'static str) -> EnvelopeFailure {
        EnvelopeFailure {
            code,
            reason: Some(reason),
            ours: false,
            request_id: None,
            transaction_id: None,
            receipt: None,
            sandbox: false,
        }
    }
}

/// The code for an answer that is not our envelope (a platform or gateway error page).
pub fn foreign_code(http_status: u16) -> ErrorCode {
    match http_status {
        401 => ErrorCode::Unauthorized,
        429 => ErrorCode::RateLimited,
        400..=499 => ErrorCode::BadRequest,
        // A gateway in front of the proxy gave up waiting.
        504 => ErrorCode::UpstreamTimeout,
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

/// `receipt` (absent, or a string) and `sandbox` (absent, or `true`).
fn read_extras(v: &Map<String, Value>) -> Option<(Option<String>, bool)> {
    let receipt = match v.get("receipt") {
        None => None,
        Some(r) => Some(r.as_str()?.to_owned()),
    };
    let sandbox = match v.get("sandbox") {
        None => false,
        Some(Value::Bool(true)) => true,
        Some(_) => return None,
    };
    Some((receipt, sandbox))
}

fn read_success(http_status: u16, v: &Map<String, Value>) -> Result<Verdict, &'static str> {
    if http_status != 200 || v.get("statusCode").and_then(Value::as_u64) != Some(200) {
        return Err("a success answer needs HTTP 200 and `statusCode: 200`");
    }
    let details = v
        .get("result")
        .and_then(Value::as_object)
        .and_then(|r| r.get("details"))
        .and_then(Value::as_object)
        .ok_or("a success answer without `result.details`")?;
    let is_match = details
        .get("match")
        .and_then(Value::as_bool)
        .ok_or("`result.details.match` is not a boolean")?;
    let score = details
        .get("score")
        .and_then(Value::as_f64)
        .ok_or("`result.details.score` is not a number")?;
    if !(0.0..=100.0).contains(&score) {
        return Err("`result.details.score` is outside 0–100");
    }
    let result = v.get("result").and_then(Value::as_object);
    let field = |name: &str| result.and_then(|r| r.get(name));
    let message = match field("message") {
        None | Some(Value::Null) => None,
        Some(m) => Some(
            m.as_str()
                .ok_or("`result.message` is not a string")?
                .to_owned(),
        ),
    };
    let s3_url = match field("s3Url") {
        None => None,
        Some(u) => Some(
            u.as_str()
                .ok_or("`result.s3Url` is not a string")?
                .to_owned(),
        ),
    };
    let (request_id, transaction_id) =
        read_meta(v).ok_or("`metaData` without string `requestId` and `transactionId`")?;
    let (receipt, sandbox) =
        read_extras(v).ok_or("`receipt` is not a string or `sandbox` is not `true`")?;
    Ok(Verdict {
        result: MatchResult {
            is_match,
            score,
            message,
            request_id: Some(request_id),
            transaction_id: Some(transaction_id),
            s3_url,
        },
        receipt,
        sandbox,
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
    let (receipt, sandbox) = read_extras(v)?;
    Some(EnvelopeFailure {
        code,
        ours: true,
        request_id: Some(request_id),
        transaction_id: Some(transaction_id),
        receipt,
        sandbox,
        reason: None,
    })
}

/// Reads an answer of our proxy. Only the exact envelope is a verdict or names its code
/// (other fields are allowed, so that later proxies can add some); anything else, including a
/// verdict in the vendor's looser forms, is a foreign answer read by its status alone.
pub fn read_envelope(http_status: u16, body: &[u8]) -> Result<Verdict, EnvelopeFailure> {
    let foreign = |reason| EnvelopeFailure::foreign(foreign_code(http_status), reason);
    let Some(v) = parse_object(body) else {
        return Err(foreign("the answer is not a JSON object"));
    };
    match v.get("status").and_then(Value::as_str) {
        Some("success") => read_success(http_status, &v).map_err(foreign),
        Some("failure") => Err(read_failure(http_status, &v).unwrap_or_else(|| {
            foreign(
                "a failure answer without the proxy's `error.code`, `statusCode` and `metaData`",
            )
        })),
        _ => Err(foreign(
            "not the proxy's envelope (no `status: \"success\"` or `\"failure\"`)",
        )),
    }
}

/// The longest excerpt of a foreign answer the client reports, in characters.
pub const EXCERPT_CHARS: usize = 160;

/// A short excerpt of an answer that is not the proxy's (a gateway page, a wrong path's 404),
/// for `FaceMatchError.bodyExcerpt`: printable ASCII only (other bytes become `?`, whitespace
/// and control bytes one space; byte-wise, which keeps the browser module small), at most
/// [`EXCERPT_CHARS`], and free of what could be personal data: runs of 6 or more digits (a
/// NIK) become `#`, runs of 32 or more base64 characters (a selfie, a token) become `…`.
/// `None` for an empty answer.
pub fn answer_excerpt(body: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 6 && run.bytes().all(|b| b.is_ascii_digit()) {
            out.push('#');
        } else if run.len() >= 32 {
            out.push('…');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for &b in body {
        if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_') {
            run.push(char::from(b));
            continue;
        }
        flush(&mut run, &mut out);
        let c = match b {
            0x21..=0x7e => char::from(b),
            0x80.. if out.ends_with('?') => continue,
            0x80.. => '?',
            _ if out.ends_with(' ') => continue,
            _ => ' ',
        };
        out.push(c);
    }
    flush(&mut run, &mut out);
    let out = out.trim_matches(' ');
    if out.is_empty() {
        return None;
    }
    // Counted in chars: `…` is one.
    Some(match out.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out.to_string(),
    })
}

/// The largest answer the browser client reads: ours are under 2 KiB.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What the client sent, and what it accepts back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expected<'a> {
    /// The `transactionId` the request carried: the answer must echo it.
    pub transaction_id: Option<&'a str>,
    /// Whether answers from the proxy's sandbox (simulated, `"sandbox": true`) are accepted.
    pub allow_sandbox: bool,
    /// The body was longer than [`MAX_ANSWER_BYTES`], so it was not read.
    pub too_large: bool,
}

/// Reads an answer to a request the browser client sent, as [`read_envelope`] and then: an
/// answer that is too large, echoes another `transactionId` or is a verdict without a
/// receipt is not one of ours (`UPSTREAM_ERROR`: not an answer to this request); an answer of
/// the sandbox is `SANDBOX_NOT_ALLOWED` unless sandbox answers are allowed.
pub fn read_answer(
    http_status: u16,
    body: &[u8],
    expected: &Expected<'_>,
) -> Result<Verdict, EnvelopeFailure> {
    if expected.too_large {
        return Err(EnvelopeFailure::foreign(
            foreign_code(http_status),
            "the answer is larger than 64 KiB (not read)",
        ));
    }
    let answer = read_envelope(http_status, body);
    let (transaction_id, sandbox, ours) = match &answer {
        Ok(v) => (v.result.transaction_id.as_deref(), v.sandbox, true),
        Err(f) => (f.transaction_id.as_deref(), f.sandbox, f.ours),
    };
    if !ours {
        return answer;
    }
    let not_ours = |reason| Err(EnvelopeFailure::foreign(ErrorCode::UpstreamError, reason));
    if expected
        .transaction_id
        .is_some_and(|t| Some(t) != transaction_id)
    {
        return not_ours("the answer echoes another `transactionId` than the one sent");
    }
    if matches!(&answer, Ok(v) if v.receipt.is_none()) {
        return not_ours("a verdict without the proxy's `receipt`");
    }
    if sandbox && !expected.allow_sandbox {
        let (request_id, transaction_id) = match answer {
            Ok(v) => (v.result.request_id, v.result.transaction_id),
            Err(f) => (f.request_id, f.transaction_id),
        };
        return Err(EnvelopeFailure {
            code: ErrorCode::SandboxNotAllowed,
            ours: true,
            request_id,
            transaction_id,
            receipt: None,
            sandbox: true,
            reason: None,
        });
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The browser client's cap (generated into its JS) must hold any answer of ours: a
    /// verdict with its receipt is under 4 KiB, so 64 KiB leaves room without inviting a
    /// large foreign body.
    #[test]
    fn the_answer_cap_is_64_kib() {
        assert_eq!(MAX_ANSWER_BYTES, 65_536);
    }

    const META: Meta<'static> = Meta {
        request_id: "req-9",
        transaction_id: "txn-9",
        sandbox: false,
        receipt: Some("h.c.s"),
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
        assert_eq!(
            (back.result.is_match, back.result.score, back.result.s3_url),
            (true, 87.5, None)
        );
        assert_eq!(
            (back.receipt.as_deref(), back.sandbox),
            (Some("h.c.s"), true)
        );
        assert_eq!(back.result.request_id.as_deref(), Some("req-9"));
        let shown = success_envelope(&result(), &META, true);
        assert_eq!(
            read_envelope(200, shown.as_bytes())
                .unwrap()
                .result
                .s3_url
                .as_deref(),
            Some("https://s3.example/selfie.jpg")
        );
        let bare = Meta {
            receipt: None,
            ..META
        };
        for &code in ErrorCode::ALL.iter().filter(|c| c.http_status() >= 400) {
            let body = error_envelope(code, None, &bare);
            assert!(!body.contains("receipt"));
            let err = read_envelope(code.http_status(), body.as_bytes()).unwrap_err();
            assert_eq!((err.code, err.ours), (code, true), "{body}");
            assert_eq!(err.transaction_id.as_deref(), Some("txn-9"));
            assert_eq!((err.receipt, err.sandbox), (None, false));
        }
        let precise = error_envelope(ErrorCode::NikLength, Some("found 3"), &META);
        assert!(precise.contains(r#""message":"found 3""#));
        let refused = error_envelope(ErrorCode::FaceNotDetected, None, &META);
        let err = read_envelope(422, refused.as_bytes()).unwrap_err();
        assert_eq!(err.receipt.as_deref(), Some("h.c.s"));
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
            // A receipt that is not a string, a sandbox flag that is not `true`.
            (200, format!(r#"{{"status":"success","statusCode":200,"result":{{"details":{{"match":true,"score":1}}}},{meta},"receipt":7}}"#)),
            (200, format!(r#"{{"status":"success","statusCode":200,"result":{{"details":{{"match":true,"score":1}}}},{meta},"sandbox":false}}"#)),
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
        assert_eq!(foreign_code(504), ErrorCode::UpstreamTimeout);
        assert_eq!(foreign_code(200), ErrorCode::UpstreamError);
    }

    #[test]
    fn only_an_answer_to_this_request_counts() {
        let live = success_envelope(&result(), &META, false);
        let sandbox_meta = Meta {
            sandbox: true,
            ..META
        };
        let sandbox = success_envelope(&result(), &sandbox_meta, false);
        let unsigned = success_envelope(
            &result(),
            &Meta {
                receipt: None,
                ..META
            },
            false,
        );
        let refused = error_envelope(ErrorCode::FaceNotDetected, None, &sandbox_meta);
        let sent = |t| Expected {
            transaction_id: t,
            ..Expected::default()
        };
        let read = |status, body: &str, e: Expected<'_>| {
            read_answer(status, body.as_bytes(), &e).map_err(|f| (f.code, f.ours))
        };
        assert!(read(200, &live, sent(Some("txn-9"))).is_ok());
        assert!(read(200, &live, sent(None)).is_ok());
        let cases = [
            // Another request's answer.
            (
                200,
                &live,
                sent(Some("txn-1")),
                (ErrorCode::UpstreamError, false),
            ),
            // A verdict nobody vouches for.
            (
                200,
                &unsigned,
                sent(None),
                (ErrorCode::UpstreamError, false),
            ),
            // Simulated answers, verdict or not, unless allowed.
            (
                200,
                &sandbox,
                sent(None),
                (ErrorCode::SandboxNotAllowed, true),
            ),
            (
                422,
                &refused,
                sent(Some("txn-9")),
                (ErrorCode::SandboxNotAllowed, true),
            ),
            (
                200,
                &live,
                Expected {
                    too_large: true,
                    ..sent(None)
                },
                (ErrorCode::UpstreamError, false),
            ),
        ];
        for (status, body, expected, want) in cases {
            assert_eq!(read(status, body, expected).unwrap_err(), want, "{body}");
        }
        let allowed = Expected {
            allow_sandbox: true,
            ..sent(Some("txn-9"))
        };
        assert!(read(200, &sandbox, allowed).is_ok_and(|v| v.sandbox));
        let f = read_answer(422, refused.as_bytes(), &allowed).unwrap_err();
        assert_eq!(
            (f.code, f.receipt.as_deref(), f.sandbox),
            (ErrorCode::FaceNotDetected, Some("h.c.s"), true)
        );
        // A foreign answer is read by its status, whatever was sent.
        assert_eq!(
            read(401, "<html>", sent(Some("x"))).unwrap_err(),
            (ErrorCode::Unauthorized, false)
        );
    }

    #[test]
    fn foreign_answers_say_what_was_wrong() {
        let cases: [(u16, &str, &str); 5] = [
            (
                422,
                r#"{"error":"Face not detected"}"#,
                "not the proxy's envelope",
            ),
            (404, "Cannot POST /x", "not a JSON object"),
            (
                200,
                r#"{"status":"success","statusCode":200,"result":{"details":{"match":true,"score":150}},"metaData":{"requestId":"r","transactionId":"t"}}"#,
                "outside 0–100",
            ),
            (
                200,
                r#"{"status":"success","statusCode":200,"result":{"details":{"match":"yes","score":1}}}"#,
                "`result.details.match` is not a boolean",
            ),
            (
                502,
                r#"{"status":"failure","error":{"code":"UPSTREAM_ERROR"}}"#,
                "`error.code`",
            ),
        ];
        for (status, body, why) in cases {
            let f = read_envelope(status, body.as_bytes()).unwrap_err();
            assert!(
                !f.ours && f.reason.unwrap().contains(why),
                "{body}: {:?}",
                f.reason
            );
        }
        let too_large = Expected {
            too_large: true,
            ..Default::default()
        };
        let f = read_answer(200, b"", &too_large).unwrap_err();
        assert!(f.reason.unwrap().contains("64 KiB"));
    }

    #[test]
    fn excerpts_keep_the_gist_and_drop_personal_data() {
        let nik_echo = br#"{"error": "Face not detected",  "id":"3171024503990001",
            "image":"/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsL"}"#;
        let e = answer_excerpt(nik_echo).unwrap();
        assert!(
            e.contains("Face not detected") && e.contains(r##""id":"#""##),
            "{e}"
        );
        assert!(
            !e.contains("3171") && !e.contains("4AAQSkZJRgABAQAAAQABAAD"),
            "{e}"
        );
        assert!(!e.contains('\n') && !e.contains("  "), "{e}");
        assert_eq!(
            answer_excerpt(b"<h1>404</h1> Cannot POST /v1/dukcapilWithFacematch").as_deref(),
            Some("<h1>404</h1> Cannot POST /v1/dukcapilWithFacematch")
        );
        let long = answer_excerpt("é ".repeat(500).as_bytes()).unwrap();
        assert!(long.starts_with("? ? "), "{long}");
        assert_eq!(long.chars().count(), EXCERPT_CHARS + 1);
        assert!(long.ends_with('…'));
        assert_eq!(answer_excerpt(b" \r\n "), None);
        assert_eq!(answer_excerpt(&[0xff, 0xfe, b'a']).as_deref(), Some("?a"));
    }
}
