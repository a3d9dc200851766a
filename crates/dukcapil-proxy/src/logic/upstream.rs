//! The call to HyperVerge: what is sent, and how any answer becomes the proxy's answer.

use crate::logic::refusal::Refusal;
use dukcapil_core::contract::{upstream::parse_upstream_response, MatchResult};

/// Upstream answers are small JSON; anything bigger is refused unread.
pub const MAX_UPSTREAM_BODY: usize = 256 * 1024;

/// The headers sent upstream with the checked body.
pub fn upstream_headers(
    app_id: &str,
    app_key: &str,
    transaction_id: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".to_string()),
        ("appId", app_id.to_string()),
        ("appKey", app_key.to_string()),
        ("transactionId", transaction_id.to_string()),
    ]
}

/// A read answer: the verdict or refusal, and the upstream's request id (for the log).
pub fn interpret(status: u16, body: &[u8]) -> (Result<MatchResult, Refusal>, Option<String>) {
    match parse_upstream_response(status, body) {
        Ok(result) => {
            let id = result.request_id.clone();
            (Ok(result), id)
        }
        Err(f) => (Err(Refusal::upstream(f.code)), f.request_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::refusal::Reason;
    use dukcapil_core::ErrorCode;

    #[test]
    fn answers_over_256_kib_are_refused_unread() {
        assert_eq!(MAX_UPSTREAM_BODY, 262_144);
    }

    #[test]
    fn answers_become_verdicts_or_refusals_with_reasons() {
        let v = interpret(
            200,
            br#"{"status":"success","statusCode":200,"result":{"details":{"score":87.5,"match":"yes"}},"metaData":{"requestId":"r-1"}}"#,
        );
        assert!(v.0.as_ref().is_ok_and(|r| r.is_match && r.score == 87.5));
        assert_eq!(v.1.as_deref(), Some("r-1"));
        let cases = [
            (
                401,
                "",
                ErrorCode::ProxyUpstreamCredentials,
                Reason::UpstreamCredentialsRejected,
            ),
            (
                429,
                "",
                ErrorCode::UpstreamRateLimited,
                Reason::UpstreamRateLimited,
            ),
            (503, "", ErrorCode::UpstreamBusy, Reason::UpstreamBusy),
            (
                502,
                "<html>",
                ErrorCode::UpstreamError,
                Reason::UpstreamError,
            ),
            (
                404,
                "",
                ErrorCode::UpstreamRejected,
                Reason::UpstreamRejected,
            ),
            (
                423,
                r#"{"message":"Multiple faces detected"}"#,
                ErrorCode::MultipleFaces,
                Reason::UpstreamRefused,
            ),
            // An upstream that pretends to be a proxy cannot pick the caller-facing code.
            (
                400,
                r#"{"status":"failure","error":{"code":"UNAUTHORIZED"}}"#,
                ErrorCode::UpstreamRejected,
                Reason::UpstreamRejected,
            ),
        ];
        for (status, body, code, reason) in cases {
            let (got, _) = interpret(status, body.as_bytes());
            let r = got.unwrap_err();
            assert_eq!((r.code, r.reason), (code, reason), "{status} {body}");
        }
    }

    #[test]
    fn request_headers() {
        let h = upstream_headers("id", "key", "t-1");
        let names: Vec<_> = h.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["content-type", "appId", "appKey", "transactionId"]);
        assert_eq!(h[0].1, "application/json");
    }
}
