//! Every answer the proxy gives: status, body in the upstream's envelope, and the headers
//! that go on all of them.

use crate::logic::{config::RATE_LIMIT_RETRY_AFTER_S, cors};
use dukcapil_core::{
    contract::{error_envelope_with_message, success_envelope, MatchResult},
    ErrorCode, Lang,
};

/// A finished HTTP answer, ready for the glue to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Marks a JSON object answer as simulated.
fn mark_sandbox(body: String) -> String {
    match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.insert("sandbox".into(), serde_json::Value::Bool(true));
            serde_json::Value::Object(map).to_string()
        }
        _ => body,
    }
}

/// An error in the upstream's envelope plus `error.code`. `message` defaults to the code's
/// English message; it is shown to the caller only, never logged.
pub fn error(
    code: ErrorCode,
    message: Option<&str>,
    request_id: &str,
    transaction_id: &str,
    sandbox: bool,
) -> Answer {
    let message = message.unwrap_or_else(|| code.message(Lang::En));
    let mut body = error_envelope_with_message(code, message, request_id, transaction_id);
    if sandbox {
        body = mark_sandbox(body);
    }
    let mut headers = Vec::new();
    if matches!(
        code,
        ErrorCode::RateLimited | ErrorCode::UpstreamRateLimited
    ) {
        headers.push(("retry-after", RATE_LIMIT_RETRY_AFTER_S.to_string()));
    }
    Answer {
        status: code.http_status(),
        headers,
        body,
    }
}

/// A verdict, normalised: `match` a boolean, `score` a number, `s3Url` only if exposed.
pub fn success(
    result: &MatchResult,
    request_id: &str,
    transaction_id: &str,
    sandbox: bool,
    expose_s3_url: bool,
) -> Answer {
    Answer {
        status: 200,
        headers: Vec::new(),
        body: success_envelope(result, request_id, transaction_id, sandbox, expose_s3_url),
    }
}

/// `/healthz`: readiness only, no configuration detail.
pub fn health(ready: bool) -> Answer {
    Answer {
        status: if ready { 200 } else { 503 },
        headers: Vec::new(),
        body: format!(
            r#"{{"status":"{}","ready":{ready}}}"#,
            if ready { "ok" } else { "unavailable" }
        ),
    }
}

/// A CORS preflight answer (no body).
pub fn preflight(check: &cors::OriginCheck) -> Answer {
    Answer {
        status: 204,
        headers: cors::preflight_headers(check),
        body: String::new(),
    }
}

/// Adds the headers every answer carries.
pub fn finish(
    mut answer: Answer,
    request_id: &str,
    transaction_id: Option<&str>,
    origin: &cors::OriginCheck,
    server_timing: &str,
) -> Answer {
    let mut h = vec![
        ("cache-control", "no-store".to_string()),
        ("x-content-type-options", "nosniff".to_string()),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'".to_string(),
        ),
        ("referrer-policy", "no-referrer".to_string()),
        ("vary", "Origin".to_string()),
        ("x-request-id", request_id.to_string()),
    ];
    if !answer.body.is_empty() {
        h.push((
            "content-type",
            "application/json; charset=utf-8".to_string(),
        ));
    }
    if let Some(t) = transaction_id {
        h.push(("transactionId", t.to_string()));
    }
    if !server_timing.is_empty() {
        h.push(("server-timing", server_timing.to_string()));
    }
    if answer.status != 204 {
        h.extend(cors::answer_headers(origin));
    }
    h.append(&mut answer.headers);
    answer.headers = h;
    answer
}

/// `Server-Timing`: the upstream call (when there was one) and the whole request.
pub fn server_timing(upstream_ms: Option<f64>, total_ms: f64) -> String {
    let total = format!("total;dur={total_ms:.1}");
    match upstream_ms {
        Some(ms) => format!("upstream;dur={ms:.1}, {total}"),
        None => total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::cors::OriginCheck;

    #[test]
    fn errors_use_the_envelope() {
        let a = error(ErrorCode::RateLimited, None, "r", "t", true);
        assert_eq!((a.status, a.header("retry-after")), (429, Some("60")));
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(v["error"]["code"], "RATE_LIMITED");
        assert_eq!(v["metaData"]["transactionId"], "t");
        assert_eq!(v["sandbox"], true);
        let a = error(
            ErrorCode::NikLength,
            Some("NIK must have 16 digits (found 3)."),
            "r",
            "t",
            false,
        );
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!((a.status, v.get("sandbox")), (400, None));
    }

    #[test]
    fn common_headers_on_every_answer() {
        let allowed = OriginCheck::Allowed("https://a.id".into());
        for a in [
            health(true),
            health(false),
            preflight(&allowed),
            error(ErrorCode::NotFound, None, "r", "t", false),
        ] {
            let a = finish(
                a,
                "rid",
                Some("t"),
                &allowed,
                &server_timing(Some(12.34), 20.0),
            );
            assert_eq!(a.header("cache-control"), Some("no-store"));
            assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
            assert_eq!(a.header("x-request-id"), Some("rid"));
            assert_eq!(a.header("vary"), Some("Origin"));
            assert_eq!(
                a.header("access-control-allow-origin"),
                Some("https://a.id")
            );
            assert_eq!(
                a.header("server-timing"),
                Some("upstream;dur=12.3, total;dur=20.0")
            );
        }
        let a = finish(health(true), "rid", None, &OriginCheck::Absent, "");
        assert_eq!(
            (
                a.header("access-control-allow-origin"),
                a.header("transactionid")
            ),
            (None, None)
        );
        assert_eq!(health(true).body, r#"{"status":"ok","ready":true}"#);
    }
}
