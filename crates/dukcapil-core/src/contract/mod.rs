//! The HyperVerge "Dukcapil with FaceMatch" contract, in four parts:
//!
//! - [`request`]: what a caller sends (`{"id", "image"}` and `transactionId`), how it is
//!   checked, and the body forwarded upstream.
//! - [`upstream`]: the vendor's answers. Its doc contradicts itself (see
//!   `docs/upstream-contract.md`), so reading is lenient on form and strict on meaning:
//!   anything that can't be read for sure is `UPSTREAM_ERROR`, never a silent verdict.
//! - [`retry`]: when the browser client sends the same transaction again.
//! - [`envelope`]: our proxy's own answers, in the vendor's shape plus `error.code`, written
//!   by the proxy and read strictly by the browser client.

pub mod envelope;
pub mod request;
pub mod retry;
pub mod upstream;

#[cfg(test)]
mod tests {
    use super::acceptable_base_url;

    #[test]
    fn base_urls() {
        let cases = [
            (
                "https://ind-thomas.hyperverge.co/",
                Some("https://ind-thomas.hyperverge.co"),
            ),
            ("http://127.0.0.1:8123", Some("http://127.0.0.1:8123")),
            ("http://127.1.2.3", Some("http://127.1.2.3")),
            ("http://localhost:1/x", Some("http://localhost:1/x")),
            ("http://[::1]:8787", Some("http://[::1]:8787")),
            ("http://[::1]", Some("http://[::1]")),
            ("http://example.com", None),
            ("http://127.0.0.1.evil.com", None),
            ("http://127.0.0.1.evil.com:80", None),
            ("http://127.0.0.300", None),
            ("http://localhost.evil.com", None),
            ("http://user@127.0.0.1", None),
            ("https://user@host", None),
            ("ftp://x", None),
            ("https://", None),
            ("http://", None),
        ];
        for (url, want) in cases {
            assert_eq!(acceptable_base_url(url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn endpoints_carry_no_query_or_fragment() {
        use super::acceptable_endpoint;
        assert_eq!(
            acceptable_endpoint("https://x/api/").as_deref(),
            Ok("https://x/api")
        );
        for url in [
            "https://x/api?key=1",
            "https://x/api#f",
            "https://x/api?",
            "http://localhost#",
        ] {
            assert!(
                acceptable_endpoint(url).unwrap_err().contains("query"),
                "{url}"
            );
        }
        assert!(acceptable_endpoint("http://example.com")
            .unwrap_err()
            .contains("https://"));
    }
}

/// The path of the upstream endpoint, which the proxy serves too.
pub const VERIFY_PATH: &str = "/v1/dukcapilWithFacematch";
/// The default upstream base URL ("API URL" in the doc; its curl example has a typo).
pub const DEFAULT_BASE_URL: &str = "https://ind-thomas.hyperverge.co";

/// A base URL the proxy may call (`HV_BASE_URL`, the siteverify URL) or the browser client
/// may send a NIK and a selfie to: `https://` anywhere, `http://` only to loopback (local
/// development and the tests' doubles), never with credentials in it. Returned without a
/// trailing slash.
pub fn acceptable_base_url(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let host_of = |rest: &'_ str| -> Option<String> {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        (!host.is_empty() && !host.contains('@')).then(|| host.to_string())
    };
    if let Some(rest) = url.strip_prefix("https://") {
        return host_of(rest).map(|_| url.to_string());
    }
    let host = host_of(url.strip_prefix("http://")?)?;
    let name = match host.rsplit_once(':') {
        // `[::1]:8787`, `127.0.0.1:8787`; a bare `[::1]` has its colons inside the brackets.
        Some((h, port)) if !port.contains(']') => h,
        _ => host.as_str(),
    };
    let loopback = name == "localhost"
        || name == "[::1]"
        || name.strip_prefix("127.").is_some_and(|rest| {
            rest.split('.').count() == 3 && rest.split('.').all(|o| o.parse::<u8>().is_ok())
        });
    loopback.then(|| url.to_string())
}

/// The URL the browser client may post to: an [`acceptable_base_url`] that carries no query
/// and no fragment (where string joining used to put the path after `?key=1`, the client now
/// joins with the URL API, and a query would be sent to the proxy on every call).
/// `Err` says what is wrong, for the `TypeError` the client throws.
pub fn acceptable_endpoint(url: &str) -> Result<String, &'static str> {
    if url.contains(['?', '#']) {
        return Err("must not carry a query (`?`) or a fragment (`#`)");
    }
    acceptable_base_url(url).ok_or(
        "must be an https:// URL (http:// only on loopback: localhost, 127.0.0.0/8 or [::1]), \
         without credentials",
    )
}

/// A face-match verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchResult {
    pub is_match: bool,
    /// On HyperVerge's documented 0–100 scale, as the upstream gave it. A score between 0
    /// and 1 is kept as it is (never multiplied by 100): decide on `is_match`.
    pub score: f64,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub transaction_id: Option<String>,
    /// A link to the stored selfie: personal data, kept out of answers by default.
    pub s3_url: Option<String>,
}
