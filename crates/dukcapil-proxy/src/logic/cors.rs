//! CORS with an exact-origin allowlist. Requests without `Origin` (server to server) pass, and
//! so do requests from the Worker's own origin: a page it serves (the demo) calls it there.

/// Request headers a browser may send; `transactionId` is matched case-insensitively.
pub const ALLOW_HEADERS: &str = "authorization, content-type, transactionid, cf-turnstile-response";
pub const ALLOW_METHODS: &str = "POST, GET, OPTIONS";
/// Response headers the page may read.
pub const EXPOSE_HEADERS: &str = "x-request-id, transactionid, server-timing, retry-after";
/// How long a browser may cache a preflight, in seconds.
pub const MAX_AGE_S: u32 = 600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginCheck {
    /// No `Origin`: not a browser cross-origin call, so no CORS headers.
    Absent,
    /// Allowed: echo this exact origin back.
    Allowed(String),
    Denied,
}

impl OriginCheck {
    /// The log line's `origin` (the header itself is caller text).
    pub fn log_name(&self) -> &'static str {
        match self {
            OriginCheck::Absent => "absent",
            OriginCheck::Allowed(_) => "allowed",
            OriginCheck::Denied => "denied",
        }
    }
}

/// Exact, case-sensitive match against the allowlist (browsers send origins in canonical
/// lower case, so a looser match would only admit look-alikes), or equality with `own`, the
/// origin of the request's own URL. A browser never sends another site's page as that origin,
/// and a non-browser client could as well leave `Origin` out. `null` is never allowed.
pub fn check_origin(origin: Option<&str>, own: Option<&str>, allowed: &[String]) -> OriginCheck {
    match origin {
        None => OriginCheck::Absent,
        Some("null") => OriginCheck::Denied,
        Some(o) if own == Some(o) || allowed.iter().any(|a| a == o) => {
            OriginCheck::Allowed(o.to_string())
        }
        Some(_) => OriginCheck::Denied,
    }
}

/// The origin (`scheme://host[:port]`) of a request URL as the runtime gives it (host in lower
/// case, default port left out, as browsers write `Origin`). Read by hand: the `url` crate's
/// parser would bring Unicode tables into the Worker. `None` for anything unusual.
pub fn origin_of(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")?;
    let scheme = &url[..scheme_end];
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let rest = &url[scheme_end + 3..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(&url[..scheme_end + 3 + authority_len])
}

/// CORS headers for an actual (non-preflight) answer.
pub fn answer_headers(check: &OriginCheck) -> Vec<(&'static str, String)> {
    match check {
        OriginCheck::Allowed(o) => vec![
            ("access-control-allow-origin", o.clone()),
            ("access-control-expose-headers", EXPOSE_HEADERS.into()),
        ],
        _ => Vec::new(),
    }
}

/// Extra headers for a successful preflight.
pub fn preflight_headers(check: &OriginCheck) -> Vec<(&'static str, String)> {
    match check {
        OriginCheck::Allowed(o) => vec![
            ("access-control-allow-origin", o.clone()),
            ("access-control-allow-methods", ALLOW_METHODS.into()),
            ("access-control-allow-headers", ALLOW_HEADERS.into()),
            ("access-control-max-age", MAX_AGE_S.to_string()),
        ],
        _ => vec![("allow", ALLOW_METHODS.into())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names() {
        assert_eq!(OriginCheck::Absent.log_name(), "absent");
        assert_eq!(
            OriginCheck::Allowed("https://a.id".into()).log_name(),
            "allowed"
        );
        assert_eq!(OriginCheck::Denied.log_name(), "denied");
    }

    #[test]
    fn exact_origins_only() {
        let allowed = vec![
            "https://kyc.example.id".to_string(),
            "http://localhost:8787".to_string(),
        ];
        let cases = [
            (None, OriginCheck::Absent),
            (
                Some("https://kyc.example.id"),
                OriginCheck::Allowed("https://kyc.example.id".into()),
            ),
            (
                Some("http://localhost:8787"),
                OriginCheck::Allowed("http://localhost:8787".into()),
            ),
            (Some("https://KYC.example.id"), OriginCheck::Denied),
            (Some("https://kyc.example.id.evil.com"), OriginCheck::Denied),
            (Some("https://evil.kyc.example.id"), OriginCheck::Denied),
            (Some("http://kyc.example.id"), OriginCheck::Denied),
            (Some("https://kyc.example.id/"), OriginCheck::Denied),
            (Some("null"), OriginCheck::Denied),
            (Some(""), OriginCheck::Denied),
        ];
        for (origin, want) in cases {
            assert_eq!(check_origin(origin, None, &allowed), want, "{origin:?}");
        }
        assert_eq!(
            check_origin(Some("null"), Some("null"), &["null".to_string()]),
            OriginCheck::Denied
        );
    }

    #[test]
    fn origins_of_request_urls() {
        let cases = [
            ("https://a.example/v1/x?y=1", Some("https://a.example")),
            ("http://127.0.0.1:8787/v1/x", Some("http://127.0.0.1:8787")),
            ("https://a.example", Some("https://a.example")),
            ("https://a.example?q", Some("https://a.example")),
            ("https://user:pw@a.example/", None),
            ("ftp://a.example/", None),
            ("https:///path", None),
            ("a.example/path", None),
        ];
        for (url, want) in cases {
            assert_eq!(origin_of(url), want, "{url}");
        }
    }

    #[test]
    fn the_workers_own_origin_is_allowed_and_nothing_else_with_it() {
        let own = Some("https://dukcapil-proxy-demo.example.workers.dev");
        let cases = [
            (
                Some("https://dukcapil-proxy-demo.example.workers.dev"),
                OriginCheck::Allowed("https://dukcapil-proxy-demo.example.workers.dev".into()),
            ),
            (
                Some("http://dukcapil-proxy-demo.example.workers.dev"),
                OriginCheck::Denied,
            ),
            (
                Some("https://dukcapil-proxy-demo.example.workers.dev.evil.com"),
                OriginCheck::Denied,
            ),
            (Some("https://evil.example"), OriginCheck::Denied),
            (None, OriginCheck::Absent),
        ];
        for (origin, want) in cases {
            assert_eq!(check_origin(origin, own, &[]), want, "{origin:?}");
        }
    }

    #[test]
    fn preflight_lists_every_header_the_page_sends() {
        let h = preflight_headers(&OriginCheck::Allowed("https://a".into()));
        let allow = &h
            .iter()
            .find(|(k, _)| *k == "access-control-allow-headers")
            .unwrap()
            .1;
        for name in [
            "authorization",
            "content-type",
            "transactionid",
            "cf-turnstile-response",
        ] {
            assert!(allow.contains(name), "{name}");
        }
        assert!(answer_headers(&OriginCheck::Denied).is_empty());
    }
}
