//! Every answer the proxy gives: status, body in the upstream's envelope, and the headers
//! that go on all of them.

use crate::logic::{
    auth::challenge,
    config::RATE_LIMIT_RETRY_AFTER_S,
    cors,
    ledger::{self, State},
    receipt::JWKS_MAX_AGE_S,
    refusal::Refusal,
};
use dukcapil_core::{
    contract::{
        envelope::{error_envelope, success_envelope, Meta},
        MatchResult,
    },
    ErrorCode,
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

/// The one place a refusal becomes an answer: the code's status, the error envelope, and the
/// headers that go with it (`www-authenticate` on 401, `retry-after` on 429, `allow` on 405).
pub fn refused(refusal: &Refusal, meta: &Meta<'_>, allow: Option<&'static str>) -> Answer {
    let code = refusal.code;
    let mut headers = Vec::new();
    match code {
        ErrorCode::Unauthorized => headers.push(("www-authenticate", challenge(refusal.reason))),
        ErrorCode::RateLimited | ErrorCode::UpstreamRateLimited => {
            headers.push(("retry-after", RATE_LIMIT_RETRY_AFTER_S.to_string()));
        }
        ErrorCode::TransactionInProgress => {
            let s = ledger::IN_PROGRESS_RETRY_AFTER_S;
            headers.push(("retry-after", s.to_string()));
        }
        ErrorCode::LedgerUnavailable => {
            let s = ledger::UNAVAILABLE_RETRY_AFTER_S;
            headers.push(("retry-after", s.to_string()));
        }
        ErrorCode::MethodNotAllowed => {
            if let Some(allow) = allow {
                headers.push(("allow", allow.to_string()));
            }
        }
        _ => {}
    }
    Answer {
        status: code.http_status(),
        headers,
        body: error_envelope(code, refusal.message.as_deref(), meta),
    }
}

/// A verdict, normalised: `match` a boolean, `score` a number, `s3Url` only if exposed.
pub fn success(result: &MatchResult, meta: &Meta<'_>, expose_s3_url: bool) -> Answer {
    Answer {
        status: 200,
        headers: Vec::new(),
        body: success_envelope(result, meta, expose_s3_url),
    }
}

/// The results endpoint's answer: the state, and the receipt once the transaction is done.
pub fn transaction(state: State, receipt: Option<&str>) -> Answer {
    let body = match receipt {
        Some(r) => serde_json::json!({ "state": state.as_str(), "receipt": r }),
        None => serde_json::json!({ "state": state.as_str() }),
    };
    Answer {
        status: 200,
        headers: Vec::new(),
        body: body.to_string(),
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

/// `/.well-known/jwks.json`: public, cacheable, readable from any origin.
pub fn jwks(document: String) -> Answer {
    Answer {
        status: 200,
        headers: vec![
            ("content-type", "application/jwk-set+json".to_string()),
            ("cache-control", format!("public, max-age={JWKS_MAX_AGE_S}")),
            ("access-control-allow-origin", "*".to_string()),
        ],
        body: document,
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

/// Adds the headers every answer carries (an answer's own `content-type`, `cache-control`
/// and `access-control-allow-origin` stand).
pub fn finish(
    mut answer: Answer,
    request_id: &str,
    transaction_id: Option<&str>,
    origin: &cors::OriginCheck,
    server_timing: &str,
) -> Answer {
    let own = |name: &str| answer.header(name).is_some();
    let (own_type, own_cache, own_cors) = (
        own("content-type"),
        own("cache-control"),
        own("access-control-allow-origin"),
    );
    let mut h = Vec::with_capacity(12);
    if !own_cache {
        h.push(("cache-control", "no-store".to_string()));
    }
    h.extend([
        ("x-content-type-options", "nosniff".to_string()),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'".to_string(),
        ),
        ("referrer-policy", "no-referrer".to_string()),
        ("vary", "Origin".to_string()),
        ("x-request-id", request_id.to_string()),
    ]);
    if !answer.body.is_empty() && !own_type {
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
    if answer.status != 204 && !own_cors {
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
    use crate::logic::{cors::OriginCheck, refusal::Reason};

    const META: Meta<'static> = Meta {
        request_id: "r",
        transaction_id: "t",
        sandbox: true,
        receipt: None,
    };

    #[test]
    fn refusals_use_the_envelope_and_their_headers() {
        let a = refused(&Reason::RateLimitedIp.into(), &META, None);
        assert_eq!((a.status, a.header("retry-after")), (429, Some("60")));
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(v["error"]["code"], "RATE_LIMITED");
        assert_eq!(v["metaData"]["transactionId"], "t");
        assert_eq!(v["sandbox"], true);
        let mut nik = Refusal::with_code(Reason::NikRefused, ErrorCode::NikLength);
        nik.message = Some("NIK must have 16 digits (found 3).".into());
        let a = refused(
            &nik,
            &Meta {
                sandbox: false,
                ..META
            },
            None,
        );
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!((a.status, v.get("sandbox")), (400, None));
        assert_eq!(v["message"], "NIK must have 16 digits (found 3).");
        let a = refused(&Reason::TokenExpired.into(), &META, None);
        assert_eq!(
            a.header("www-authenticate"),
            Some("Bearer realm=\"dukcapil-proxy\", error=\"invalid_token\"")
        );
        let a = refused(
            &Reason::MethodNotAllowed.into(),
            &META,
            Some("POST, OPTIONS"),
        );
        assert_eq!((a.status, a.header("allow")), (405, Some("POST, OPTIONS")));
        for (reason, status, after) in [
            (Reason::TransactionInProgress, 409, "1"),
            (Reason::LedgerMissing, 503, "2"),
        ] {
            let a = refused(&reason.into(), &META, None);
            assert_eq!((a.status, a.header("retry-after")), (status, Some(after)));
        }
        let a = refused(&Reason::TransactionExhausted.into(), &META, None);
        assert_eq!((a.status, a.header("retry-after")), (409, None));
    }

    #[test]
    fn the_results_endpoint_tells_the_state_and_the_receipt_when_done() {
        assert_eq!(
            transaction(State::Done, Some("a.b.c")).body,
            r#"{"receipt":"a.b.c","state":"done"}"#
        );
        assert_eq!(
            transaction(State::InFlight, None).body,
            r#"{"state":"in_flight"}"#
        );
    }

    #[test]
    fn a_body_is_labelled_json_and_an_empty_answer_is_not() {
        let none = OriginCheck::Absent;
        let empty = finish(preflight(&none), "rid", None, &none, "");
        assert_eq!(empty.header("content-type"), None);
        let full = finish(health(true), "rid", None, &none, "");
        assert_eq!(
            full.header("content-type"),
            Some("application/json; charset=utf-8")
        );
    }

    #[test]
    fn common_headers_on_every_answer() {
        let allowed = OriginCheck::Allowed("https://a.id".into());
        for a in [
            health(true),
            health(false),
            preflight(&allowed),
            refused(&Reason::NotFound.into(), &META, None),
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

    #[test]
    fn the_jwks_is_public_and_cacheable() {
        let a = finish(
            jwks(r#"{"keys":[]}"#.into()),
            "rid",
            None,
            &OriginCheck::Allowed("https://a.id".into()),
            "total;dur=1.0",
        );
        let count = |name: &str| a.headers.iter().filter(|(k, _)| *k == name).count();
        assert_eq!(a.header("cache-control"), Some("public, max-age=300"));
        assert_eq!(a.header("content-type"), Some("application/jwk-set+json"));
        assert_eq!(a.header("access-control-allow-origin"), Some("*"));
        for name in [
            "cache-control",
            "content-type",
            "access-control-allow-origin",
        ] {
            assert_eq!(count(name), 1, "{name}");
        }
        assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
    }
}
