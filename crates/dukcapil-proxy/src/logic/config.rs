//! Configuration read from Worker vars and secrets, with safe defaults and fail-closed checks.

use crate::logic::{
    auth::Policy,
    ledger,
    receipt::{read_previous_key, read_signing_key, EcPublic, SigningKey},
    refusal::Reason,
};

pub use dukcapil_core::contract::acceptable_base_url;
/// Where answers come from when no `HV_BASE_URL` is set.
pub use dukcapil_core::contract::DEFAULT_BASE_URL as DEFAULT_HV_BASE_URL;
/// Cloudflare's Turnstile siteverify endpoint.
pub const DEFAULT_TURNSTILE_VERIFY_URL: &str =
    "https://challenges.cloudflare.com/turnstile/v0/siteverify";
pub const DEFAULT_UPSTREAM_TIMEOUT_MS: u32 = 15_000;
pub const MIN_UPSTREAM_TIMEOUT_MS: u32 = 100;
pub const MAX_UPSTREAM_TIMEOUT_MS: u32 = 60_000;
/// A shorter `PROXY_JWT_SECRET` is refused (`500 PROXY_MISCONFIGURED`): an HS256 key shorter
/// than the hash output can be brute-forced offline from one token.
pub const MIN_JWT_SECRET_LEN: usize = 32;
/// The `aud` caller tokens must name, unless `TOKEN_AUDIENCE` says otherwise. Also the
/// receipts' `iss` unless `RECEIPT_ISSUER` says otherwise.
pub const DEFAULT_TOKEN_AUDIENCE: &str = "dukcapil-facematch";
pub const DEFAULT_RECEIPT_TTL_S: u32 = 900;
pub const MIN_RECEIPT_TTL_S: u32 = 60;
/// A day: long enough for a backend that completes asynchronously, short enough that a
/// receipt is no standing credential.
pub const MAX_RECEIPT_TTL_S: u32 = 86_400;

/// Names of the rate limiting bindings in `wrangler.toml`.
pub const IP_RATE_LIMITER: &str = "IP_RATE_LIMITER";
pub const SUBJECT_RATE_LIMITER: &str = "SUBJECT_RATE_LIMITER";
pub const NIK_RATE_LIMITER: &str = "NIK_RATE_LIMITER";
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
    "TOKEN_AUDIENCE",
    "REQUIRE_NIK_BINDING",
    "RECEIPT_SIGNING_KEY",
    "RECEIPT_SIGNING_KEY_PREVIOUS",
    "RECEIPT_ISSUER",
    "RECEIPT_TTL_SECONDS",
    "TURNSTILE_SECRET",
    "TURNSTILE_VERIFY_URL",
    "TURNSTILE_ACTION",
    "MAX_UPSTREAM_ATTEMPTS",
    "LEDGER_TTL_SECONDS",
];

/// The receipt keys as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptKeys {
    /// `None`: no `RECEIPT_SIGNING_KEY` (the sandbox then signs with a key of its own).
    pub current: Option<SigningKey>,
    pub previous: Option<EcPublic>,
}

/// Where the key that signs receipts comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource<'a> {
    Configured(&'a SigningKey),
    /// The sandbox without `RECEIPT_SIGNING_KEY`: a key made by the isolate, which lives as
    /// long as the isolate does (published in its JWKS all the same).
    Ephemeral,
}

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
    pub token_audience: String,
    pub require_nik_binding: bool,
    /// The signing keys, or why they are unusable.
    pub receipt_keys: Result<ReceiptKeys, Reason>,
    pub receipt_issuer: String,
    pub receipt_ttl_s: u32,
    pub turnstile_secret: Option<String>,
    pub turnstile_verify_url: Option<String>,
    pub turnstile_action: Option<String>,
    /// Upstream calls per transaction, at most (1 to 10).
    pub max_upstream_attempts: u32,
    /// How long the ledger keeps a transaction, in seconds (1 s to 30 days).
    pub ledger_ttl_s: u32,
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
            .field("token_audience", &self.token_audience)
            .field("require_nik_binding", &self.require_nik_binding)
            .field("receipt_keys", &self.receipt_keys)
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

/// A whole number clamped to `(min, default, max)`; the default, with `warning`, when unreadable.
fn clamped(
    value: Option<String>,
    (min, default, max): (u32, u32, u32),
    warning: &'static str,
    warnings: &mut Vec<&'static str>,
) -> u32 {
    match value.map(|v| v.trim().parse::<u32>()) {
        None => default,
        Some(Ok(n)) => n.clamp(min, max),
        Some(Err(_)) => {
            warnings.push(warning);
            default
        }
    }
}

/// Switches that are on unless the var is exactly `false`, so a typo never turns one off.
fn flag_unless_false(value: Option<&str>) -> bool {
    value != Some("false")
}

/// `RECEIPT_SIGNING_KEY` and `RECEIPT_SIGNING_KEY_PREVIOUS`.
fn read_receipt_keys(
    current: Option<String>,
    previous: Option<String>,
) -> Result<ReceiptKeys, Reason> {
    let current = match current {
        None => None,
        Some(text) => Some(read_signing_key(&text).ok_or(Reason::ReceiptKeyInvalid)?),
    };
    let previous = match previous {
        None => None,
        Some(text) => Some(read_previous_key(&text).ok_or(Reason::ReceiptKeyInvalid)?),
    };
    Ok(ReceiptKeys { current, previous })
}

impl Config {
    /// Reads the configuration through `get`, which returns a var or secret by name.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Config {
        let mut warnings = Vec::new();
        let sandbox = flag(get("SANDBOX").as_deref());
        let hv_app_id = non_blank(get("HV_APP_ID"));
        let hv_app_key = non_blank(get("HV_APP_KEY"));
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
        let upstream_timeout_ms = clamped(
            get("UPSTREAM_TIMEOUT_MS"),
            (
                MIN_UPSTREAM_TIMEOUT_MS,
                DEFAULT_UPSTREAM_TIMEOUT_MS,
                MAX_UPSTREAM_TIMEOUT_MS,
            ),
            "upstream_timeout_ms_invalid",
            &mut warnings,
        );
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
        let require_nik_binding = flag_unless_false(get("REQUIRE_NIK_BINDING").as_deref());
        if !require_nik_binding {
            warnings.push("nik_binding_off");
        }
        let token_audience = non_blank(get("TOKEN_AUDIENCE")).map_or_else(
            || DEFAULT_TOKEN_AUDIENCE.to_string(),
            |a| a.trim().to_string(),
        );
        let receipt_issuer = non_blank(get("RECEIPT_ISSUER"))
            .map_or_else(|| token_audience.clone(), |i| i.trim().to_string());
        let receipt_ttl_s = clamped(
            get("RECEIPT_TTL_SECONDS"),
            (MIN_RECEIPT_TTL_S, DEFAULT_RECEIPT_TTL_S, MAX_RECEIPT_TTL_S),
            "receipt_ttl_seconds_invalid",
            &mut warnings,
        );
        let receipt_keys = read_receipt_keys(
            non_blank(get("RECEIPT_SIGNING_KEY")),
            non_blank(get("RECEIPT_SIGNING_KEY_PREVIOUS")),
        );
        let max_upstream_attempts = clamped(
            get("MAX_UPSTREAM_ATTEMPTS"),
            (1, ledger::DEFAULT_MAX_ATTEMPTS, ledger::MAX_MAX_ATTEMPTS),
            "max_upstream_attempts_invalid",
            &mut warnings,
        );
        let ledger_ttl_s = clamped(
            get("LEDGER_TTL_SECONDS"),
            (1, ledger::DEFAULT_TTL_S, ledger::MAX_TTL_S),
            "ledger_ttl_seconds_invalid",
            &mut warnings,
        );
        if sandbox && matches!(&receipt_keys, Ok(k) if k.current.is_none()) {
            warnings.push("receipt_key_ephemeral");
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
            token_audience,
            require_nik_binding,
            receipt_keys,
            receipt_issuer,
            receipt_ttl_s,
            turnstile_secret: non_blank(get("TURNSTILE_SECRET")),
            turnstile_verify_url,
            turnstile_action: non_blank(get("TURNSTILE_ACTION")).map(|a| a.trim().to_string()),
            max_upstream_attempts,
            ledger_ttl_s,
            warnings,
        }
    }

    /// Where valid requests go, or why nothing can be forwarded (fail closed).
    pub fn backend(&self) -> Result<Backend<'_>, Reason> {
        if self.sandbox {
            // A sandbox next to live credentials is a production Worker switched to simulated
            // answers by mistake: it would hand out real-looking matches.
            if self.hv_app_id.is_some() || self.hv_app_key.is_some() {
                return Err(Reason::SandboxWithLiveCredentials);
            }
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

    /// How callers are authorised, or why none can be: anonymous calls outside the sandbox,
    /// a JWT secret too short to be safe, neither a JWT secret nor an anonymous sandbox, or
    /// Turnstile on without a usable siteverify URL.
    pub fn authorization(&self) -> Result<Policy, Reason> {
        if self.allow_anonymous && !self.sandbox {
            return Err(Reason::AnonymousOutsideSandbox);
        }
        if self
            .jwt_secret
            .as_ref()
            .is_some_and(|s| s.len() < MIN_JWT_SECRET_LEN)
        {
            return Err(Reason::JwtSecretShort);
        }
        if self.turnstile_secret.is_some() && self.turnstile_verify_url.is_none() {
            return Err(Reason::AuthNotConfigured);
        }
        match (self.allow_anonymous, &self.jwt_secret) {
            (true, _) => Ok(Policy::AnonymousAllowed),
            (false, Some(_)) => Ok(Policy::Jwt),
            (false, None) => Err(Reason::AuthNotConfigured),
        }
    }

    /// Which key signs receipts, or why none can (fail closed outside the sandbox).
    pub fn signing_key(&self) -> Result<KeySource<'_>, Reason> {
        let keys = self.receipt_keys.as_ref().map_err(|r| *r)?;
        match (&keys.current, self.sandbox) {
            (Some(key), _) => Ok(KeySource::Configured(key)),
            (None, true) => Ok(KeySource::Ephemeral),
            (None, false) => Err(Reason::ReceiptKeyMissing),
        }
    }

    /// Every configuration check, in the order they are reported.
    pub fn check(&self) -> Result<(), Reason> {
        self.backend()?;
        self.authorization()?;
        self.signing_key()?;
        Ok(())
    }

    /// What `/healthz` reports: a valid request could be answered.
    pub fn ready(&self) -> bool {
        self.check().is_ok()
    }

    /// The full upstream URL.
    pub fn upstream_url(base_url: &str) -> String {
        format!("{base_url}{}", dukcapil_core::contract::VERIFY_PATH)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::logic::receipt::tests::TEST_KEY;

    /// A `PROXY_JWT_SECRET` long enough.
    pub(crate) const SECRET: &str = "test-secret-0123456789abcdef0123456789";

    /// A configuration from literal `(name, value)` pairs, for tests here and in `auth`.
    pub(crate) fn cfg(pairs: &[(&str, &str)]) -> Config {
        Config::from_lookup(|k| {
            pairs
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        })
    }

    /// A complete live configuration, with `pairs` over it.
    pub(crate) fn live(pairs: &[(&str, &str)]) -> Config {
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        for base in [
            ("HV_APP_ID", "id"),
            ("HV_APP_KEY", "key"),
            ("PROXY_JWT_SECRET", SECRET),
            ("RECEIPT_SIGNING_KEY", TEST_KEY),
        ] {
            if !pairs.iter().any(|(k, _)| *k == base.0) {
                all.push(base);
            }
        }
        cfg(&all)
    }

    #[test]
    fn defaults_are_closed() {
        let c = cfg(&[]);
        assert!(!c.sandbox && !c.allow_anonymous && !c.expose_s3_url);
        assert!(c.require_nik_binding);
        assert_eq!(c.hv_base_url.as_deref(), Some(DEFAULT_HV_BASE_URL));
        assert_eq!(c.upstream_timeout_ms, DEFAULT_UPSTREAM_TIMEOUT_MS);
        assert_eq!(
            (
                c.token_audience.as_str(),
                c.receipt_issuer.as_str(),
                c.receipt_ttl_s
            ),
            (
                DEFAULT_TOKEN_AUDIENCE,
                DEFAULT_TOKEN_AUDIENCE,
                DEFAULT_RECEIPT_TTL_S
            )
        );
        assert_eq!(c.backend(), Err(Reason::UpstreamNotConfigured));
        assert_eq!(c.authorization(), Err(Reason::AuthNotConfigured));
        assert_eq!(c.signing_key(), Err(Reason::ReceiptKeyMissing));
        assert!(!c.ready());
        let c = cfg(&[
            ("PROXY_JWT_SECRET", SECRET),
            ("TURNSTILE_SECRET", "t"),
            ("TURNSTILE_VERIFY_URL", "http://evil.example"),
        ]);
        assert_eq!(c.authorization(), Err(Reason::AuthNotConfigured));
        assert!(c.allowed_origins.is_empty());
        assert_eq!(live(&[]).check(), Ok(()));
    }

    #[test]
    fn every_misconfiguration_fails_closed_with_its_reason() {
        let cases: &[(&[(&str, &str)], Reason)] = &[
            (&[("HV_APP_KEY", " ")], Reason::UpstreamNotConfigured),
            (
                &[("HV_BASE_URL", "http://evil.example")],
                Reason::UpstreamNotConfigured,
            ),
            (&[("PROXY_JWT_SECRET", "short")], Reason::JwtSecretShort),
            (
                &[("PROXY_JWT_SECRET", &SECRET[..31])],
                Reason::JwtSecretShort,
            ),
            (&[("PROXY_JWT_SECRET", "")], Reason::AuthNotConfigured),
            (
                &[("ALLOW_ANONYMOUS", "true")],
                Reason::AnonymousOutsideSandbox,
            ),
            (&[("RECEIPT_SIGNING_KEY", "")], Reason::ReceiptKeyMissing),
            (&[("RECEIPT_SIGNING_KEY", "{}")], Reason::ReceiptKeyInvalid),
            (
                &[("RECEIPT_SIGNING_KEY_PREVIOUS", "nope")],
                Reason::ReceiptKeyInvalid,
            ),
            // A sandbox next to live credentials is refused, whatever else is right: either
            // credential alone is enough.
            (&[("SANDBOX", "true")], Reason::SandboxWithLiveCredentials),
            (
                &[("SANDBOX", "true"), ("HV_APP_ID", "")],
                Reason::SandboxWithLiveCredentials,
            ),
            (
                &[("SANDBOX", "true"), ("HV_APP_KEY", "")],
                Reason::SandboxWithLiveCredentials,
            ),
        ];
        for (pairs, want) in cases {
            let c = live(pairs);
            assert_eq!(c.check(), Err(*want), "{pairs:?}");
            assert!(!c.ready());
        }
        assert_eq!(live(&[("PROXY_JWT_SECRET", &SECRET[..32])]).check(), Ok(()));
    }

    #[test]
    fn the_sandbox_needs_no_credentials_and_signs_with_its_own_key() {
        let c = cfg(&[("SANDBOX", "true"), ("PROXY_JWT_SECRET", SECRET)]);
        assert_eq!(c.backend(), Ok(Backend::Sandbox));
        assert_eq!(c.signing_key(), Ok(KeySource::Ephemeral));
        assert_eq!(c.warnings, ["receipt_key_ephemeral"]);
        assert!(c.ready());
        let c = cfg(&[
            ("SANDBOX", "true"),
            ("PROXY_JWT_SECRET", SECRET),
            ("RECEIPT_SIGNING_KEY", TEST_KEY),
        ]);
        assert!(matches!(c.signing_key(), Ok(KeySource::Configured(_))));
        assert!(c.warnings.is_empty());
        // Anonymous calls: the sandbox only, with or without a secret.
        let c = cfg(&[("SANDBOX", "true"), ("ALLOW_ANONYMOUS", "true")]);
        assert_eq!(c.authorization(), Ok(Policy::AnonymousAllowed));
        assert!(c.ready());
        assert!(c.warnings.contains(&"anonymous_calls_allowed"));
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
        // And the one switch that is on by default goes off only for exactly `false`.
        for v in ["FALSE", "0", "no", " false", ""] {
            assert!(
                cfg(&[("REQUIRE_NIK_BINDING", v)]).require_nik_binding,
                "{v:?}"
            );
        }
        let c = live(&[("REQUIRE_NIK_BINDING", "false")]);
        assert!(!c.require_nik_binding);
        assert_eq!(c.warnings, ["nik_binding_off"]);
        assert_eq!(c.check(), Ok(()));
    }

    #[test]
    fn live_needs_both_secrets() {
        let c = live(&[("HV_APP_KEY", " ")]);
        assert_eq!(c.backend(), Err(Reason::UpstreamNotConfigured));
        let c = live(&[]);
        assert!(matches!(
            c.backend(),
            Ok(Backend::Live { app_id: "id", .. })
        ));
        assert!(c.ready());
    }

    #[test]
    fn ledger_limits_are_clamped() {
        let c = live(&[]);
        assert_eq!((c.max_upstream_attempts, c.ledger_ttl_s), (3, 86_400));
        for (attempts, ttl, want) in [
            ("0", "0", (1, 1)),
            ("10", "2592000", (10, 2_592_000)),
            ("11", "9999999", (10, 2_592_000)),
        ] {
            let c = live(&[
                ("MAX_UPSTREAM_ATTEMPTS", attempts),
                ("LEDGER_TTL_SECONDS", ttl),
            ]);
            assert_eq!((c.max_upstream_attempts, c.ledger_ttl_s), want);
            assert!(c.warnings.is_empty());
        }
        let c = live(&[
            ("MAX_UPSTREAM_ATTEMPTS", "many"),
            ("LEDGER_TTL_SECONDS", "1d"),
        ]);
        assert_eq!((c.max_upstream_attempts, c.ledger_ttl_s), (3, 86_400));
        assert_eq!(
            c.warnings,
            [
                "max_upstream_attempts_invalid",
                "ledger_ttl_seconds_invalid"
            ]
        );
    }

    #[test]
    fn names_and_lifetimes() {
        let c = live(&[("TOKEN_AUDIENCE", " kyc-proxy ")]);
        assert_eq!(
            (c.token_audience.as_str(), c.receipt_issuer.as_str()),
            ("kyc-proxy", "kyc-proxy")
        );
        let c = live(&[
            ("TOKEN_AUDIENCE", "a"),
            ("RECEIPT_ISSUER", "https://verify.example"),
        ]);
        assert_eq!(c.receipt_issuer, "https://verify.example");
        for (v, want) in [
            ("1", MIN_RECEIPT_TTL_S),
            ("600", 600),
            ("999999", MAX_RECEIPT_TTL_S),
        ] {
            assert_eq!(live(&[("RECEIPT_TTL_SECONDS", v)]).receipt_ttl_s, want);
        }
        let c = live(&[("RECEIPT_TTL_SECONDS", "soon")]);
        assert_eq!(c.receipt_ttl_s, DEFAULT_RECEIPT_TTL_S);
        assert!(c.warnings.contains(&"receipt_ttl_seconds_invalid"));
        assert_eq!(
            live(&[("TURNSTILE_ACTION", " kyc ")])
                .turnstile_action
                .as_deref(),
            Some("kyc")
        );
    }

    #[test]
    fn timeouts_and_origins() {
        let c = cfg(&[
            ("UPSTREAM_TIMEOUT_MS", "5"),
            ("ALLOWED_ORIGINS", " https://a.id/, ,https://b.id"),
        ]);
        assert_eq!(c.upstream_timeout_ms, MIN_UPSTREAM_TIMEOUT_MS);
        assert_eq!(c.allowed_origins, ["https://a.id", "https://b.id"]);
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
        let c = live(&[
            ("HV_APP_KEY", "sekrit-key"),
            ("PROXY_JWT_SECRET", "sekrit-jwt-0123456789abcdef0123456789"),
        ]);
        let shown = format!("{c:?}");
        assert!(!shown.contains("sekrit"), "{shown}");
        assert!(!shown.contains("oppT"), "{shown}");
    }
}
