//! Which handler a method and path reach.

use crate::logic::cors::origin_of;

pub use crate::logic::receipt::JWKS_PATH;
/// The verification path: the same as upstream, so the proxy is a drop-in base URL.
pub use dukcapil_core::contract::VERIFY_PATH;
pub const HEALTH_PATH: &str = "/healthz";
/// The results endpoint: `GET /v1/transactions/{transactionId}`, server to server.
pub const TRANSACTIONS_PREFIX: &str = "/v1/transactions/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Verify,
    Health,
    /// The receipts' public keys: open to any origin.
    Jwks,
    /// A transaction's state and receipt, for the backend (no CORS).
    Transaction,
    /// CORS preflight (`OPTIONS`) on a known path.
    Preflight,
    /// A known path with another method; carries the `Allow` header value.
    MethodNotAllowed(&'static str),
    NotFound,
}

impl Route {
    /// A path safe to log: known paths as they are, anything else redacted (a client could
    /// put personal data in a URL).
    pub fn log_path(path: &str) -> &'static str {
        match path {
            VERIFY_PATH => VERIFY_PATH,
            HEALTH_PATH => HEALTH_PATH,
            JWKS_PATH => JWKS_PATH,
            // The ID itself is logged, masked, as `transaction_id`.
            p if p.starts_with(TRANSACTIONS_PREFIX) => "/v1/transactions/{id}",
            _ => "<other>",
        }
    }
}

/// The path of a request URL as the runtime gives it (`https://host/path?query`), without its
/// query or fragment; empty for a URL [`origin_of`] cannot read (no route matches it).
pub fn path_of(url: &str) -> &str {
    let Some(origin) = origin_of(url) else {
        return "";
    };
    match url[origin.len()..].split(['?', '#']).next() {
        Some("") | None => "/",
        Some(path) => path,
    }
}

/// The transaction ID in a results endpoint path, as it is (checked like the header).
pub fn transaction_in_path(path: &str) -> Option<&str> {
    path.strip_prefix(TRANSACTIONS_PREFIX)
}

/// Routes on the exact path (no trailing-slash or case variants: they are not the API).
pub fn route(method: &str, path: &str) -> Route {
    if transaction_in_path(path).is_some() {
        // Never preflighted: a server calls it, and a browser gets no CORS headers.
        return match method {
            "GET" => Route::Transaction,
            _ => Route::MethodNotAllowed("GET"),
        };
    }
    let (allow, route) = match path {
        VERIFY_PATH => ("POST, OPTIONS", Route::Verify),
        HEALTH_PATH => ("GET, HEAD, OPTIONS", Route::Health),
        // Never preflighted: a plain GET from any page is a simple request.
        JWKS_PATH => ("GET, HEAD", Route::Jwks),
        _ => return Route::NotFound,
    };
    match (method, route) {
        ("OPTIONS", Route::Verify | Route::Health) => Route::Preflight,
        ("POST", Route::Verify) | ("GET" | "HEAD", Route::Health | Route::Jwks) => route,
        _ => Route::MethodNotAllowed(allow),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_paths_are_logged() {
        assert_eq!(Route::log_path(VERIFY_PATH), VERIFY_PATH);
        assert_eq!(Route::log_path(HEALTH_PATH), HEALTH_PATH);
        assert_eq!(Route::log_path("/3273010101900001"), "<other>");
    }

    #[test]
    fn table() {
        let cases = [
            ("POST", VERIFY_PATH, Route::Verify),
            ("GET", VERIFY_PATH, Route::MethodNotAllowed("POST, OPTIONS")),
            ("PUT", VERIFY_PATH, Route::MethodNotAllowed("POST, OPTIONS")),
            ("OPTIONS", VERIFY_PATH, Route::Preflight),
            ("GET", HEALTH_PATH, Route::Health),
            ("HEAD", HEALTH_PATH, Route::Health),
            (
                "POST",
                HEALTH_PATH,
                Route::MethodNotAllowed("GET, HEAD, OPTIONS"),
            ),
            ("POST", "/v1/dukcapilWithFacematch/", Route::NotFound),
            ("POST", "/v1/dukcapilwithfacematch", Route::NotFound),
            ("GET", "/", Route::NotFound),
            ("OPTIONS", "/nope", Route::NotFound),
            ("GET", JWKS_PATH, Route::Jwks),
            ("HEAD", JWKS_PATH, Route::Jwks),
            ("POST", JWKS_PATH, Route::MethodNotAllowed("GET, HEAD")),
            ("OPTIONS", JWKS_PATH, Route::MethodNotAllowed("GET, HEAD")),
            ("GET", "/.well-known/jwks.json/", Route::NotFound),
            ("GET", "/v1/transactions/txn-1", Route::Transaction),
            ("GET", "/v1/transactions/", Route::Transaction),
            (
                "OPTIONS",
                "/v1/transactions/txn-1",
                Route::MethodNotAllowed("GET"),
            ),
            (
                "POST",
                "/v1/transactions/txn-1",
                Route::MethodNotAllowed("GET"),
            ),
            ("GET", "/v1/transactions", Route::NotFound),
        ];
        for (method, path, want) in cases {
            assert_eq!(route(method, path), want, "{method} {path}");
        }
        assert_eq!(Route::log_path("/3201010101900001"), "<other>");
        assert_eq!(
            Route::log_path("/v1/transactions/3201010101900001"),
            "/v1/transactions/{id}"
        );
        let paths = [
            ("https://proxy.test/v1/dukcapilWithFacematch", VERIFY_PATH),
            (
                "https://proxy.test/v1/dukcapilWithFacematch?x=1#y",
                VERIFY_PATH,
            ),
            ("http://127.0.0.1:8787/healthz", HEALTH_PATH),
            ("https://proxy.test", "/"),
            ("https://proxy.test/", "/"),
            ("https://proxy.test?q", "/"),
            ("ftp://proxy.test/healthz", ""),
        ];
        for (url, path) in paths {
            assert_eq!(path_of(url), path, "{url}");
        }
    }
}
