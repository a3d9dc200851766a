//! The one refusal type, and the catalogue of reasons it can give.
//!
//! Every way a request can fail is a [`Refusal`]: the [`ErrorCode`] the caller sees, the
//! [`Reason`] the log line records (stable, never caller or upstream text), and optionally a
//! more precise English message for the caller. [`crate::logic::answer::refused`] turns it into
//! a response, in one place.

use dukcapil_core::{contract::request::RequestError, ErrorCode, Lang};

macro_rules! reasons {
    ($($variant:ident = $name:literal, [$($code:ident),+], $when:literal;)+) => {
        /// Why a request was refused, as the log line says it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Reason { $($variant,)+ }

        impl Reason {
            /// Every reason, in catalogue order.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)+];

            /// The stable name in the log line's `reason`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Reason::$variant => $name,)+ }
            }

            /// The codes a refusal for this reason can carry; the first is its default.
            pub const fn codes(self) -> &'static [ErrorCode] {
                match self { $(Reason::$variant => &[$(ErrorCode::$code),+],)+ }
            }

            /// When it happens (for the README).
            pub const fn when(self) -> &'static str {
                match self { $(Reason::$variant => $when,)+ }
            }
        }
    };
}

reasons! {
    NotFound = "not_found", [NotFound],
        "No route has this path.";
    MethodNotAllowed = "method_not_allowed", [MethodNotAllowed],
        "The path exists but not with this method (the answer has `allow`).";
    OriginNotAllowed = "origin_not_allowed", [OriginNotAllowed],
        "An `Origin` that is not in `ALLOWED_ORIGINS`, or `null`.";
    UpstreamNotConfigured = "upstream_not_configured", [ProxyMisconfigured],
        "Not in sandbox mode, and the HyperVerge credentials or a usable `HV_BASE_URL` are missing.";
    AuthNotConfigured = "auth_not_configured", [ProxyMisconfigured],
        "Neither `PROXY_JWT_SECRET` nor `ALLOW_ANONYMOUS=true`, or `TURNSTILE_SECRET` with an unusable `TURNSTILE_VERIFY_URL`.";
    ClockUnusable = "clock_unusable", [ProxyMisconfigured],
        "The runtime's clock gave no date, so NIK birth dates cannot be checked.";
    TransactionIdInvalid = "transaction_id_invalid", [TransactionIdInvalid],
        "The `transactionId` header breaks the rule (1–128 of `A–Z a–z 0–9 . _ : -`).";
    RateLimitedIp = "rate_limited_ip", [RateLimited],
        "The per-IP budget of callers without a valid token is spent.";
    RateLimitedSubject = "rate_limited_subject", [RateLimited],
        "The budget of the token's subject is spent.";
    TokenMissing = "token_missing", [Unauthorized],
        "No `Authorization` header, and anonymous calls are not allowed.";
    TokenMalformed = "token_malformed", [Unauthorized],
        "Not a bearer token, not three base64url parts, header or claims not a JSON object, duplicate keys, or no numeric `exp`/`iat`.";
    TokenAlgorithm = "token_algorithm", [Unauthorized],
        "An `alg` other than exactly `HS256`, or any `crit` header (even `null`).";
    TokenSignature = "token_signature", [Unauthorized],
        "The HS256 signature does not match `PROXY_JWT_SECRET`.";
    TokenExpired = "token_expired", [Unauthorized],
        "`exp` is more than 30 s in the past.";
    TokenNotYetValid = "token_not_yet_valid", [Unauthorized],
        "`iat` or `nbf` is more than 30 s in the future.";
    TokenLifetime = "token_lifetime", [Unauthorized],
        "`exp - iat` is not between 1 and 900 s.";
    TokenTxnMismatch = "token_txn_mismatch", [Unauthorized],
        "The token's `txn` is not this request's `transactionId`.";
    ContentTypeUnsupported = "content_type_unsupported", [UnsupportedMediaType],
        "Not `application/json` (UTF-8) or `multipart/form-data`.";
    ContentTypeInvalid = "content_type_invalid", [RequestInvalid],
        "A `content-type` with a duplicate or unreadable parameter, or multipart without a valid boundary.";
    DeclaredTooLarge = "declared_length_too_large", [PayloadTooLarge],
        "`content-length` above the cap for the body's kind: refused before reading.";
    DeclaredLengthInvalid = "declared_length_invalid", [RequestInvalid],
        "`content-length` is not a number.";
    BodyTooLarge = "body_too_large", [PayloadTooLarge],
        "More bytes arrived than the cap allows (a chunked body, or a lying length).";
    BodyReadFailed = "body_read_failed", [RequestInvalid],
        "The body stream broke off.";
    BodyMalformed = "body_malformed", [RequestInvalid],
        "JSON or multipart that cannot be read, or unknown, duplicate or mistyped fields.";
    NikRefused = "nik_refused", [NikEmpty, NikLength, NikNotDigits, NikProvince, NikRegency, NikDistrict, NikBirthDate, NikSerial],
        "The NIK breaks the core's rules (the message names the part).";
    ImageRefused = "image_refused", [ImageMissing, ImageBase64, ImageTooLarge, ImageType],
        "The image is missing, not canonical base64, over 2,000,000 bytes, or not JPEG/PNG/PDF.";
    TokenNikMismatch = "token_nik_mismatch", [Unauthorized],
        "The token's `nik_sha256` is not the SHA-256 of this NIK.";
    TurnstileMissing = "turnstile_missing", [Unauthorized],
        "Turnstile is on and `cf-turnstile-response` is missing or implausible.";
    TurnstileRejected = "turnstile_rejected", [Unauthorized],
        "Siteverify did not answer `success: true`.";
    TurnstileUnreachable = "turnstile_unreachable", [UpstreamError],
        "Siteverify could not be reached in time.";
    UpstreamRefused = "upstream_refused", [NikInvalid, FaceNotDetected, MultipleFaces, ImageTooLarge, ImageMissing, ImageType],
        "HyperVerge refused the request with a documented reason.";
    UpstreamRejected = "upstream_rejected", [UpstreamRejected],
        "HyperVerge refused the request for a reason it does not document (an unknown 4xx, or HTTP 200 `INVALID_REQUEST` with an unknown message).";
    UpstreamCredentialsRejected = "upstream_credentials_rejected", [ProxyUpstreamCredentials],
        "HyperVerge refused `HV_APP_ID`/`HV_APP_KEY` (401/403). The caller sees a generic message.";
    UpstreamRateLimited = "upstream_rate_limited", [UpstreamRateLimited],
        "HyperVerge's quota for the credentials is spent (429).";
    UpstreamBusy = "upstream_busy", [UpstreamBusy],
        "HyperVerge or Dukcapil is busy (503).";
    UpstreamError = "upstream_error", [UpstreamError],
        "A 3xx (never followed), a 5xx, or an answer that is not a readable verdict or refusal.";
    UpstreamAnswerTooLarge = "upstream_answer_too_large", [UpstreamError],
        "The answer is over 256 KiB.";
    UpstreamUnreachable = "upstream_unreachable", [UpstreamError],
        "The connection failed or broke off.";
    UpstreamTimeout = "upstream_timeout", [UpstreamTimeout],
        "No complete answer within `UPSTREAM_TIMEOUT_MS`.";
    OutOfStep = "out_of_step", [ProxyMisconfigured],
        "The Worker's glue answered a step with the wrong kind of reply (a bug).";
}

impl Reason {
    /// The code a refusal for this reason carries unless it names another of [`Self::codes`].
    pub const fn code(self) -> ErrorCode {
        self.codes()[0]
    }

    /// RFC 6750's `error` for `WWW-Authenticate`: a token was sent but is not acceptable.
    pub const fn bearer_error(self) -> Option<&'static str> {
        match self {
            Reason::TokenMalformed
            | Reason::TokenAlgorithm
            | Reason::TokenSignature
            | Reason::TokenExpired
            | Reason::TokenNotYetValid
            | Reason::TokenLifetime
            | Reason::TokenTxnMismatch
            | Reason::TokenNikMismatch => Some("invalid_token"),
            _ => None,
        }
    }
}

/// A refused request: what the caller sees and what the log says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub reason: Reason,
    /// A more precise English message for the caller than the code's (never logged: it may
    /// quote the caller's input).
    pub message: Option<String>,
}

impl From<Reason> for Refusal {
    fn from(reason: Reason) -> Refusal {
        Refusal {
            code: reason.code(),
            reason,
            message: None,
        }
    }
}

impl Refusal {
    /// A refusal with one of the reason's other codes. A code the reason cannot carry is a bug
    /// in the caller of this function, caught by the tests; at run time the reason's default
    /// code is used instead.
    pub fn with_code(reason: Reason, code: ErrorCode) -> Refusal {
        debug_assert!(reason.codes().contains(&code), "{reason:?} with {code}");
        Refusal {
            code: if reason.codes().contains(&code) {
                code
            } else {
                reason.code()
            },
            reason,
            message: None,
        }
    }

    /// A failure of the upstream call, by the code its answer maps to. Only codes the upstream
    /// can cause pass; anything else becomes `UPSTREAM_ERROR`, so no answer can make the proxy
    /// say, say, `UNAUTHORIZED`.
    pub fn upstream(code: ErrorCode) -> Refusal {
        if !code.upstream() {
            return Reason::UpstreamError.into();
        }
        let reason = match code {
            ErrorCode::ProxyUpstreamCredentials => Reason::UpstreamCredentialsRejected,
            ErrorCode::UpstreamRateLimited => Reason::UpstreamRateLimited,
            ErrorCode::UpstreamBusy => Reason::UpstreamBusy,
            ErrorCode::UpstreamRejected => Reason::UpstreamRejected,
            ErrorCode::UpstreamTimeout => Reason::UpstreamTimeout,
            c if Reason::UpstreamRefused.codes().contains(&c) => Reason::UpstreamRefused,
            _ => Reason::UpstreamError,
        };
        Refusal::with_code(reason, code)
    }
}

impl From<RequestError> for Refusal {
    fn from(e: RequestError) -> Refusal {
        let reason = match e {
            RequestError::Nik(_) => Reason::NikRefused,
            RequestError::Image(_) => Reason::ImageRefused,
        };
        Refusal {
            message: Some(e.message(Lang::En)),
            ..Refusal::with_code(reason, e.code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        for (i, r) in Reason::ALL.iter().enumerate() {
            let s = r.as_str();
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert!(Reason::ALL[..i].iter().all(|o| o.as_str() != s), "{s}");
            assert!(!r.codes().is_empty() && !r.when().is_empty());
        }
    }

    #[test]
    fn upstream_codes_keep_their_meaning_and_nothing_else_passes() {
        for &code in ErrorCode::ALL {
            let r = Refusal::upstream(code);
            assert!(r.reason.codes().contains(&r.code), "{code}");
            if code.upstream() {
                assert_eq!(r.code, code);
            } else {
                assert_eq!(
                    (r.code, r.reason),
                    (ErrorCode::UpstreamError, Reason::UpstreamError)
                );
            }
        }
        // Every code a reason lists for an upstream outcome is one the upstream can cause.
        for r in [
            Reason::UpstreamRefused,
            Reason::UpstreamRejected,
            Reason::UpstreamCredentialsRejected,
            Reason::UpstreamBusy,
            Reason::UpstreamRateLimited,
            Reason::UpstreamTimeout,
        ] {
            assert!(r.codes().iter().all(|c| c.upstream()), "{r:?}");
        }
    }
}
