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
    SandboxWithLiveCredentials = "sandbox_with_live_credentials", [ProxyMisconfigured],
        "`SANDBOX=true` while `HV_APP_ID` or `HV_APP_KEY` is set: a sandbox must never look like production.";
    AuthNotConfigured = "auth_not_configured", [ProxyMisconfigured],
        "No `PROXY_JWT_SECRET` (and not an anonymous sandbox), or `TURNSTILE_SECRET` with an unusable `TURNSTILE_VERIFY_URL`.";
    JwtSecretShort = "jwt_secret_short", [ProxyMisconfigured],
        "`PROXY_JWT_SECRET` is shorter than 32 bytes: guessable offline from a single token.";
    AnonymousOutsideSandbox = "anonymous_outside_sandbox", [ProxyMisconfigured],
        "`ALLOW_ANONYMOUS=true` without `SANDBOX=true`: anonymous calls are for the sandbox only.";
    ReceiptKeyMissing = "receipt_key_missing", [ProxyMisconfigured],
        "Not in sandbox mode, and no `RECEIPT_SIGNING_KEY`: nothing could vouch for an answer.";
    ReceiptKeyInvalid = "receipt_key_invalid", [ProxyMisconfigured],
        "`RECEIPT_SIGNING_KEY` is not a private P-256 JWK for ES256 (or WebCrypto refused it), or `RECEIPT_SIGNING_KEY_PREVIOUS` is not a P-256 JWK.";
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
    TokenAudience = "token_audience", [Unauthorized],
        "`aud` is missing or does not name `TOKEN_AUDIENCE`.";
    TokenExpired = "token_expired", [Unauthorized],
        "`exp` is more than 30 s in the past.";
    TokenNotYetValid = "token_not_yet_valid", [Unauthorized],
        "`iat` or `nbf` is more than 30 s in the future.";
    TokenLifetime = "token_lifetime", [Unauthorized],
        "`exp - iat` is not between 1 and 900 s.";
    TokenIncomplete = "token_incomplete", [Unauthorized],
        "No `jti` or no `txn`: a caller token needs both, as strings.";
    TokenTxnMismatch = "token_txn_mismatch", [Unauthorized],
        "The token's `txn` is not this request's `transactionId`.";
    TokenNikUnbound = "token_nik_unbound", [Unauthorized],
        "No `nik_hmac` while `REQUIRE_NIK_BINDING` is on (0.1's `nik_sha256` is not read).";
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
        "The token's `nik_hmac` is not this NIK's.";
    RateLimitedNik = "rate_limited_nik", [RateLimited],
        "The NIK's budget is spent: one person's face is not probed more often than that, whoever asks.";
    TurnstileMissing = "turnstile_missing", [Unauthorized],
        "Turnstile is on and `cf-turnstile-response` is missing or implausible.";
    TurnstileRejected = "turnstile_rejected", [Unauthorized],
        "Siteverify did not answer `success: true`.";
    TurnstileHostname = "turnstile_hostname", [Unauthorized],
        "The Turnstile token was issued on a host that is neither the Worker's nor in `ALLOWED_ORIGINS`.";
    TurnstileAction = "turnstile_action", [Unauthorized],
        "`TURNSTILE_ACTION` is set and the token was issued for another action.";
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
    TokenScope = "token_scope", [Forbidden],
        "A valid token without `scope: transactions:read` on the results endpoint (a browser's caller token, say).";
    LedgerMissing = "ledger_missing", [LedgerUnavailable],
        "No `LEDGER` Durable Object binding: nothing is forwarded without the ledger (fail closed).";
    LedgerFailed = "ledger_failed", [LedgerUnavailable],
        "The ledger's Durable Object failed or gave an unreadable answer: nothing is forwarded (fail closed).";
    TransactionInProgress = "transaction_in_progress", [TransactionInProgress],
        "Another request of this transaction is calling upstream (its lease holds): retry after `Retry-After`.";
    TransactionOwner = "transaction_owner", [TransactionForbidden],
        "The transaction belongs to another token `sub`.";
    TransactionNik = "transaction_nik", [TransactionForbidden],
        "The transaction was started for another NIK (`nik_hmac`).";
    TransactionExhausted = "transaction_exhausted", [TransactionAttemptsExhausted],
        "`MAX_UPSTREAM_ATTEMPTS` upstream calls were made for the transaction and none gave an outcome.";
    TransactionUnknown = "transaction_unknown", [TransactionNotFound],
        "The results endpoint knows no such transaction: never claimed, or deleted after `LEDGER_TTL_SECONDS`.";
    ReceiptSigningFailed = "receipt_signing_failed", [ProxyMisconfigured],
        "WebCrypto failed to sign the receipt (after the upstream call): the outcome is not passed on unsigned.";
    OutOfStep = "out_of_step", [ProxyMisconfigured],
        "The Worker's glue answered a step with the wrong kind of reply (a bug).";
}

impl Reason {
    /// Whether a refusal for this reason is a definitive upstream outcome, which the proxy
    /// vouches for with a receipt as it does for a verdict: the upstream looked at this person
    /// and this photo and refused, and asking again would be refused (and billed) again.
    pub const fn receipted(self) -> bool {
        matches!(self, Reason::UpstreamRefused | Reason::UpstreamRejected)
    }

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
            | Reason::TokenAudience
            | Reason::TokenIncomplete
            | Reason::TokenTxnMismatch
            | Reason::TokenNikUnbound
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
