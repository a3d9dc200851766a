//! CORS with an exact-origin allowlist. Requests without `Origin` (server to server) pass.

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
/// lower case, so a looser match would only admit look-alikes). `null` is never allowed.
pub fn check_origin(origin: Option<&str>, allowed: &[String]) -> OriginCheck {
    match origin {
        None => OriginCheck::Absent,
        Some("null") => OriginCheck::Denied,
        Some(o) if allowed.iter().any(|a| a == o) => OriginCheck::Allowed(o.to_string()),
        Some(_) => OriginCheck::Denied,
    }
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
            assert_eq!(check_origin(origin, &allowed), want, "{origin:?}");
        }
        assert_eq!(
            check_origin(Some("null"), &["null".to_string()]),
            OriginCheck::Denied
        );
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
