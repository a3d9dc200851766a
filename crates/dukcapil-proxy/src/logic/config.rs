//! Configuration read from Worker vars and secrets, with safe defaults and fail-closed checks.

use crate::logic::{
    auth::{policy, Policy},
    refusal::Reason,
};

/// Where answers come from when no `HV_BASE_URL` is set.
pub use dukcapil_core::contract::DEFAULT_BASE_URL as DEFAULT_HV_BASE_URL;
/// Cloudflare's Turnstile siteverify endpoint.
pub const DEFAULT_TURNSTILE_VERIFY_URL: &str =
    "https://challenges.cloudflare.com/turnstile/v0/siteverify";
pub const DEFAULT_UPSTREAM_TIMEOUT_MS: u32 = 15_000;
pub const MIN_UPSTREAM_TIMEOUT_MS: u32 = 100;
pub const MAX_UPSTREAM_TIMEOUT_MS: u32 = 60_000;
/// Shorter `PROXY_JWT_SECRET`s work but log a warning.
pub const MIN_JWT_SECRET_LEN: usize = 32;

/// Names of the rate limiting bindings in `wrangler.toml`.
pub const IP_RATE_LIMITER: &str = "IP_RATE_LIMITER";
pub const SUBJECT_RATE_LIMITER: &str = "SUBJECT_RATE_LIMITER";
/// `Retry-After` on 429: the `period` of the `[[ratelimits]]` bindings.
pub const RATE_LIMIT_RETRY_AFTER_S: u32 = 60;

/// Every var and secret the proxy reads (documentation and tests use this list).
pub const VARIABLES: &[&str] = &[
    "HV_APP_ID",
    "HV_APP_KEY",
    "HV_BASE_URL",
    "ALLOWED_ORIGINS",
    "UPSTREAM_TIMEOUT_MS",
    "EXPOSE_S3_URL",
    "SANDBOX",
    "ALLOW_ANONYMOUS",
    "PROXY_JWT_SECRET",
    "TURNSTILE_SECRET",
    "TURNSTILE_VERIFY_URL",
];

/// The proxy's settings. `Debug` is hand-written so secrets never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub hv_app_id: Option<String>,
    pub hv_app_key: Option<String>,
    /// Without a trailing slash; `None` when the var is not an acceptable URL.
    pub hv_base_url: Option<String>,
    pub allowed_origins: Vec<String>,
    pub upstream_timeout_ms: u32,
    pub expose_s3_url: bool,
    pub sandbox: bool,
    pub allow_anonymous: bool,
    pub jwt_secret: Option<String>,
    pub turnstile_secret: Option<String>,
    pub turnstile_verify_url: Option<String>,
    /// Stable names of configuration problems worth a log line (never values).
    pub warnings: Vec<&'static str>,
}

impl core::fmt::Debug for Config {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Config")
            .field(
                "hv_credentials",
                &(self.hv_app_id.is_some() && self.hv_app_key.is_some()),
            )
            .field("hv_base_url", &self.hv_base_url)
            .field("allowed_origins", &self.allowed_origins)
            .field("upstream_timeout_ms", &self.upstream_timeout_ms)
            .field("sandbox", &self.sandbox)
            .field("allow_anonymous", &self.allow_anonymous)
            .field("jwt", &self.jwt_secret.is_some())
            .field("turnstile", &self.turnstile_secret.is_some())
            .finish_non_exhaustive()
    }
}

/// How the request is answered once it is valid and authorised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend<'a> {
    /// The simulated upstream of [`crate::logic::sandbox`].
    Sandbox,
    Live {
        base_url: &'a str,
        app_id: &'a str,
        app_key: &'a str,
    },
}

/// Switches are on only when the var is exactly `true`, so a typo never enables anything.
fn flag(value: Option<&str>) -> bool {
    value == Some("true")
}

/// Secrets that are empty or blank count as missing.
fn non_blank(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// `https://` anywhere; `http://` only to loopback (the contract double in tests).
pub fn acceptable_base_url(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let host_ok = |rest: &str| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.contains('@')
    };
    if let Some(rest) = url.strip_prefix("https://") {
        return host_ok(rest).then(|| url.to_string());
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
        let loopback = matches!(name, "127.0.0.1" | "localhost" | "[::1]");
        return (loopback && host_ok(rest)).then(|| url.to_string());
    }
    None
}

impl Config {
    /// Reads the configuration through `get`, which returns a var or secret by name.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Config {
        let mut warnings = Vec::new();
        let sandbox = flag(get("SANDBOX").as_deref());
        let hv_app_id = non_blank(get("HV_APP_ID"));
        let hv_app_key = non_blank(get("HV_APP_KEY"));
        if sandbox && (hv_app_id.is_some() || hv_app_key.is_some()) {
            warnings.push("sandbox_with_live_credentials");
        }
        let hv_base_url = match non_blank(get("HV_BASE_URL")) {
            None => Some(DEFAULT_HV_BASE_URL.to_string()),
            Some(url) => {
                let ok = acceptable_base_url(&url);
                if ok.is_none() {
                    warnings.push("hv_base_url_rejected");
                }
                ok
            }
        };
        let upstream_timeout_ms = match get("UPSTREAM_TIMEOUT_MS") {
            None => DEFAULT_UPSTREAM_TIMEOUT_MS,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(ms) => ms.clamp(MIN_UPSTREAM_TIMEOUT_MS, MAX_UPSTREAM_TIMEOUT_MS),
                Err(_) => {
                    warnings.push("upstream_timeout_ms_invalid");
                    DEFAULT_UPSTREAM_TIMEOUT_MS
                }
            },
        };
        let allowed_origins = get("ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(|o| o.trim().trim_end_matches('/'))
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect();
        let allow_anonymous = flag(get("ALLOW_ANONYMOUS").as_deref());
        if allow_anonymous {
            warnings.push("anonymous_calls_allowed");
        }
        let turnstile_verify_url = match non_blank(get("TURNSTILE_VERIFY_URL")) {
            None => Some(DEFAULT_TURNSTILE_VERIFY_URL.to_string()),
            Some(url) => {
                let ok = acceptable_base_url(&url);
                if ok.is_none() {
                    warnings.push("turnstile_verify_url_rejected");
                }
                ok
            }
        };
        let jwt_secret = non_blank(get("PROXY_JWT_SECRET"));
        // HS256 keys shorter than the hash output are brute-forceable offline from one token.
        if jwt_secret
            .as_ref()
            .is_some_and(|s| s.len() < MIN_JWT_SECRET_LEN)
        {
            warnings.push("jwt_secret_short");
        }
        Config {
            hv_app_id,
            hv_app_key,
            hv_base_url,
            allowed_origins,
            upstream_timeout_ms,
            expose_s3_url: flag(get("EXPOSE_S3_URL").as_deref()),
            sandbox,
            allow_anonymous,
            jwt_secret,
            turnstile_secret: non_blank(get("TURNSTILE_SECRET")),
            turnstile_verify_url,
            warnings,
        }
    }

    /// Where valid requests go, or why nothing can be forwarded (fail closed).
    pub fn backend(&self) -> Result<Backend<'_>, Reason> {
        if self.sandbox {
            return Ok(Backend::Sandbox);
        }
        match (&self.hv_base_url, &self.hv_app_id, &self.hv_app_key) {
            (Some(base_url), Some(app_id), Some(app_key)) => Ok(Backend::Live {
                base_url,
                app_id,
                app_key,
            }),
            _ => Err(Reason::UpstreamNotConfigured),
        }
    }

    /// How callers are authorised, or why none can be: neither a JWT secret nor anonymous
    /// calls explicitly allowed, or Turnstile on without a usable siteverify URL.
    pub fn authorization(&self) -> Result<Policy, Reason> {
        let turnstile_ok = self.turnstile_secret.is_none() || self.turnstile_verify_url.is_some();
        match policy(self) {
            Some(p) if turnstile_ok => Ok(p),
            _ => Err(Reason::AuthNotConfigured),
        }
    }

    /// What `/healthz` reports: a valid request could be answered.
    pub fn ready(&self) -> bool {
        self.backend().is_ok() && self.authorization().is_ok()
    }

    /// The full upstream URL.
    pub fn upstream_url(base_url: &str) -> String {
        format!("{base_url}{}", dukcapil_core::contract::VERIFY_PATH)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A configuration from literal `(name, value)` pairs, for tests here and in `auth`.
    pub(crate) fn cfg(pairs: &[(&str, &str)]) -> Config {
        Config::from_lookup(|k| {
            pairs
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_are_closed() {
        let c = cfg(&[]);
        assert!(!c.sandbox && !c.allow_anonymous && !c.expose_s3_url);
        assert_eq!(c.hv_base_url.as_deref(), Some(DEFAULT_HV_BASE_URL));
        assert_eq!(c.upstream_timeout_ms, DEFAULT_UPSTREAM_TIMEOUT_MS);
        assert_eq!(c.backend(), Err(Reason::UpstreamNotConfigured));
        assert_eq!(c.authorization(), Err(Reason::AuthNotConfigured));
        assert!(!c.ready());
        let c = cfg(&[
            ("PROXY_JWT_SECRET", "s"),
            ("TURNSTILE_SECRET", "t"),
            ("TURNSTILE_VERIFY_URL", "http://evil.example"),
        ]);
        assert_eq!(c.authorization(), Err(Reason::AuthNotConfigured));
        assert!(c.allowed_origins.is_empty());
    }

    #[test]
    fn switches_need_exactly_true() {
        for v in ["TRUE", "1", "yes", " true", "true ", ""] {
            let c = cfg(&[("SANDBOX", v), ("ALLOW_ANONYMOUS", v), ("EXPOSE_S3_URL", v)]);
            assert!(
                !c.sandbox && !c.allow_anonymous && !c.expose_s3_url,
                "{v:?}"
            );
        }
        let c = cfg(&[("SANDBOX", "true"), ("ALLOW_ANONYMOUS", "true")]);
        assert_eq!(c.backend(), Ok(Backend::Sandbox));
        assert!(c.ready());
        assert_eq!(c.warnings, ["anonymous_calls_allowed"]);
    }

    #[test]
    fn live_needs_both_secrets() {
        let c = cfg(&[
            ("HV_APP_ID", "id"),
            ("HV_APP_KEY", " "),
            ("PROXY_JWT_SECRET", "s"),
        ]);
        assert_eq!(c.backend(), Err(Reason::UpstreamNotConfigured));
        let c = cfg(&[
            ("HV_APP_ID", "id"),
            ("HV_APP_KEY", "key"),
            ("PROXY_JWT_SECRET", "s"),
        ]);
        assert!(matches!(
            c.backend(),
            Ok(Backend::Live { app_id: "id", .. })
        ));
        assert!(c.ready());
        let c = cfg(&[("SANDBOX", "true"), ("HV_APP_KEY", "key")]);
        assert!(c.warnings.contains(&"sandbox_with_live_credentials"));
        // Live credentials never turn the sandbox off.
        let c = cfg(&[
            ("SANDBOX", "true"),
            ("HV_APP_ID", "id"),
            ("HV_APP_KEY", "key"),
        ]);
        assert_eq!(c.backend(), Ok(Backend::Sandbox));
    }

    #[test]
    fn base_urls() {
        let cases = [
            (
                "https://ind-thomas.hyperverge.co/",
                Some("https://ind-thomas.hyperverge.co"),
            ),
            ("http://127.0.0.1:8123", Some("http://127.0.0.1:8123")),
            ("http://localhost:1/x", Some("http://localhost:1/x")),
            ("http://example.com", None),
            ("http://127.0.0.1.evil.com", None),
            ("https://user@host", None),
            ("ftp://x", None),
            ("https://", None),
        ];
        for (url, want) in cases {
            assert_eq!(acceptable_base_url(url).as_deref(), want, "{url}");
        }
        let c = cfg(&[
            ("HV_BASE_URL", "http://evil.example"),
            ("HV_APP_ID", "a"),
            ("HV_APP_KEY", "b"),
        ]);
        assert_eq!(c.backend(), Err(Reason::UpstreamNotConfigured));
    }

    #[test]
    fn timeouts_and_origins() {
        let c = cfg(&[
            ("UPSTREAM_TIMEOUT_MS", "5"),
            ("ALLOWED_ORIGINS", " https://a.id/, ,https://b.id"),
        ]);
        assert_eq!(c.upstream_timeout_ms, MIN_UPSTREAM_TIMEOUT_MS);
        assert_eq!(c.allowed_origins, ["https://a.id", "https://b.id"]);
        let c = cfg(&[("PROXY_JWT_SECRET", "short")]);
        assert_eq!(c.warnings, ["jwt_secret_short"]);
        let c = cfg(&[("PROXY_JWT_SECRET", &"k".repeat(32))]);
        assert!(c.warnings.is_empty());
        // Clamped to at most 60,000 ms, at the boundary and far above it.
        for (set, want) in [("60000", 60_000), ("60001", 60_000), ("4000000000", 60_000)] {
            let c = cfg(&[("UPSTREAM_TIMEOUT_MS", set)]);
            assert_eq!(c.upstream_timeout_ms, want, "{set}");
            assert!(c.warnings.is_empty(), "{set}");
        }
        assert_eq!(MAX_UPSTREAM_TIMEOUT_MS, 60_000);
        let c = cfg(&[("UPSTREAM_TIMEOUT_MS", "soon")]);
        assert_eq!(c.upstream_timeout_ms, DEFAULT_UPSTREAM_TIMEOUT_MS);
        assert!(c.warnings.contains(&"upstream_timeout_ms_invalid"));
    }

    #[test]
    fn debug_says_whether_credentials_are_set_and_ready_needs_both_halves() {
        let both = cfg(&[("HV_APP_ID", "a"), ("HV_APP_KEY", "b")]);
        assert!(format!("{both:?}").contains("hv_credentials: true"));
        let one = cfg(&[("HV_APP_ID", "a")]);
        assert!(format!("{one:?}").contains("hv_credentials: false"));
        // An upstream but no way to authorise callers, and the other way round.
        assert!(both.backend().is_ok() && !both.ready());
        let auth_only = cfg(&[("PROXY_JWT_SECRET", &"k".repeat(32))]);
        assert!(auth_only.authorization().is_ok() && !auth_only.ready());
    }

    #[test]
    fn debug_hides_secrets() {
        let c = cfg(&[
            ("HV_APP_KEY", "sekrit-key"),
            ("PROXY_JWT_SECRET", "sekrit-jwt"),
        ]);
        let shown = format!("{c:?}");
        assert!(!shown.contains("sekrit"), "{shown}");
    }
}
