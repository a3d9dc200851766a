//! The call to HyperVerge: what is sent, and how any answer becomes the proxy's answer.

use dukcapil_core::{
    contract::{parse_upstream_response, MatchResult},
    ErrorCode,
};

/// Upstream answers are small JSON; anything bigger is refused unread.
pub const MAX_UPSTREAM_BODY: usize = 256 * 1024;

/// The headers sent upstream with the checked body (`CheckedRequest::upstream_body`).
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

/// What became of the upstream call.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Verdict(MatchResult),
    Failed {
        /// The code the client sees.
        code: ErrorCode,
        /// A stable reason for the log (never upstream text, which may echo input).
        reason: &'static str,
        upstream_request_id: Option<String>,
    },
}

/// Codes an upstream answer may turn into; anything else it claims is `UPSTREAM_ERROR`, so an
/// odd upstream can never make the proxy say e.g. `UNAUTHORIZED` to the caller.
fn allowed_upstream_code(code: ErrorCode) -> ErrorCode {
    match code {
        ErrorCode::NikInvalid
        | ErrorCode::FaceNotDetected
        | ErrorCode::MultipleFaces
        | ErrorCode::ImageTooLarge
        | ErrorCode::ImageMissing
        | ErrorCode::ImageType
        | ErrorCode::UpstreamRateLimited
        | ErrorCode::UpstreamBusy => code,
        _ => ErrorCode::UpstreamError,
    }
}

fn reason_for(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::ProxyUpstreamCredentials => "upstream_credentials_rejected",
        ErrorCode::UpstreamRateLimited => "upstream_rate_limited",
        ErrorCode::UpstreamBusy => "upstream_busy",
        ErrorCode::UpstreamError => "upstream_error",
        _ => "upstream_refused",
    }
}

/// Interprets an upstream answer (status and body as read). The HTTP status decides first,
/// so a 5xx is never read as a verdict, then the core's contract reader.
pub fn interpret(status: u16, body: &[u8]) -> Outcome {
    let parsed = parse_upstream_response(status, body);
    let (code, request_id) = match parsed {
        Ok(result) if status == 200 => return Outcome::Verdict(result),
        Ok(result) => (ErrorCode::UpstreamError, result.request_id),
        Err(f) => {
            let code = match status {
                401 | 403 => ErrorCode::ProxyUpstreamCredentials,
                429 => ErrorCode::UpstreamRateLimited,
                503 => ErrorCode::UpstreamBusy,
                500.. => ErrorCode::UpstreamError,
                _ if f.code == ErrorCode::UpstreamUnauthorized => {
                    ErrorCode::ProxyUpstreamCredentials
                }
                _ => allowed_upstream_code(f.code),
            };
            (code, f.request_id)
        }
    };
    Outcome::Failed {
        code,
        reason: reason_for(code),
        upstream_request_id: request_id,
    }
}

/// An upstream that could not be read in time or at all.
pub fn transport_failure(timed_out: bool) -> Outcome {
    let (code, reason) = if timed_out {
        (ErrorCode::UpstreamTimeout, "upstream_timeout")
    } else {
        (ErrorCode::UpstreamError, "upstream_unreachable")
    };
    Outcome::Failed {
        code,
        reason,
        upstream_request_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(status: u16, body: &str) -> ErrorCode {
        match interpret(status, body.as_bytes()) {
            Outcome::Failed { code, .. } => code,
            Outcome::Verdict(v) => panic!("verdict {v:?} for {status} {body}"),
        }
    }

    #[test]
    fn verdicts_in_every_documented_shape() {
        let bodies = [
            r#"{"status":"success","statusCode":"200","result":{"message":"ok","details":{"score":"87.5","match":"true"},"s3Url":"https://s3/x"},"metaData":{"requestId":"r","transactionId":"t"}}"#,
            r#"{"status":"success","statusCode":200,"result":{"message":{"score":87.5,"match":true}}}"#,
            r#"{"status":"success","statusCode":200,"result":{"details":{"score":87.5,"match":"yes"}}}"#,
        ];
        for b in bodies {
            match interpret(200, b.as_bytes()) {
                Outcome::Verdict(v) => assert!(v.is_match && v.score == 87.5, "{b}"),
                other => panic!("{other:?} for {b}"),
            }
        }
    }

    #[test]
    fn failures_map_to_client_codes() {
        let cases = [
            (
                401,
                r#"{"message":"Missing/Invalid credentials","statusCode":401,"status":"failure"}"#,
                ErrorCode::ProxyUpstreamCredentials,
            ),
            (401, "", ErrorCode::ProxyUpstreamCredentials),
            (
                429,
                r#"{"message":"Requests rate limit exceeded"}"#,
                ErrorCode::UpstreamRateLimited,
            ),
            (
                503,
                r#"{"message":"DEPENDENCY SERVER BUSY"}"#,
                ErrorCode::UpstreamBusy,
            ),
            (
                500,
                r#"{"message":"Internal Server Error"}"#,
                ErrorCode::UpstreamError,
            ),
            (
                500,
                r#"{"message":"nik format is not valid"}"#,
                ErrorCode::UpstreamError,
            ),
            (502, "<html>bad gateway</html>", ErrorCode::UpstreamError),
            (200, "garbage", ErrorCode::UpstreamError),
            (
                200,
                r#"{"status":"success","result":{}}"#,
                ErrorCode::UpstreamError,
            ),
            (
                200,
                r#"{"status":"success","result":{"details":{"match":"maybe","score":1}}}"#,
                ErrorCode::UpstreamError,
            ),
            (
                200,
                r#"{"status":"success","statusCode":"200","result":{"status":"INVALID_REQUEST","message":"nik format is not valid"}}"#,
                ErrorCode::NikInvalid,
            ),
            (
                200,
                r#"{"status":"success","statusCode":"200","result":{"status":"INVALID_REQUEST","message":"input image detect face fail"}}"#,
                ErrorCode::FaceNotDetected,
            ),
            (
                200,
                r#"{"status":"success","statusCode":"200","result":{"status":"INVALID_REQUEST","message":"image larger than 2M"}}"#,
                ErrorCode::ImageTooLarge,
            ),
            (
                400,
                r#"{"message":"Image not found","statusCode":400,"status":"failure"}"#,
                ErrorCode::ImageMissing,
            ),
            (
                400,
                r#"{"message":"Invalid file type for: image","statusCode":400,"status":"failure"}"#,
                ErrorCode::ImageType,
            ),
            (
                423,
                r#"{"message":"Multiple faces detected"}"#,
                ErrorCode::MultipleFaces,
            ),
            // An upstream that pretends to be a proxy cannot pick the caller-facing code.
            (
                400,
                r#"{"status":"failure","error":{"code":"UNAUTHORIZED"}}"#,
                ErrorCode::UpstreamError,
            ),
            (
                201,
                r#"{"status":"success","result":{"details":{"match":true,"score":90}}}"#,
                ErrorCode::UpstreamError,
            ),
            // The glue never follows redirects (they would carry appKey elsewhere): a 3xx,
            // even with a verdict in its body, is an upstream error.
            (307, "", ErrorCode::UpstreamError),
            (
                302,
                r#"{"status":"success","result":{"details":{"match":true,"score":90}}}"#,
                ErrorCode::UpstreamError,
            ),
        ];
        for (status, body, want) in cases {
            assert_eq!(failed(status, body), want, "{status} {body}");
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
