//! When the browser client sends the same transaction again. The proxy's ledger answers a
//! finished transaction from its record, so a retry with the same `transactionId` never
//! causes a second billed call; a request without one is never retried.

use crate::ErrorCode;

/// Retries after the first try, unless the caller says otherwise.
pub const DEFAULT_RETRIES: u32 = 2;
/// The most retries a caller may ask for.
pub const MAX_RETRIES: u32 = 10;
/// The first backoff's ceiling, unless the caller says otherwise; it doubles per retry.
pub const DEFAULT_RETRY_DELAY_MS: f64 = 500.0;
/// The longest backoff before a retry.
pub const MAX_BACKOFF_MS: f64 = 8_000.0;
/// The longest `Retry-After` worth waiting for: a form should not hang longer.
pub const MAX_RETRY_AFTER_MS: f64 = 30_000.0;

/// What went wrong with one try.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Failure {
    /// The error's code (`None`: not one of ours).
    pub code: Option<ErrorCode>,
    /// The answer's HTTP status (`None`: no answer came).
    pub status: Option<u16>,
    /// The answer's `Retry-After`, in milliseconds.
    pub retry_after_ms: Option<f64>,
}

/// How many retries there may be, and how long the first backoff may be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub retries: u32,
    pub base_ms: f64,
}

impl RetryPolicy {
    /// The policy for one request: `retries` when it names its transaction, else none (without
    /// a `transactionId` the proxy makes a new transaction per request, so a retry could be
    /// billed again).
    pub const fn for_request(retries: u32, base_ms: f64, names_transaction: bool) -> RetryPolicy {
        RetryPolicy {
            retries: if names_transaction { retries } else { 0 },
            base_ms,
        }
    }

    /// Milliseconds to wait before retry number `attempt` (from 0) after `failure`, or `None`
    /// for no retry. Network errors, timeouts and `TRANSACTION_IN_PROGRESS` are retried; a
    /// 429 or 503 only when it says when to come back (`Retry-After`, up to 30 s). The wait
    /// is exponential backoff with full jitter (`jitter` in [0, 1)), never shorter than
    /// `Retry-After`.
    pub fn delay_ms(self, failure: Failure, attempt: u32, jitter: f64) -> Option<f64> {
        if attempt >= self.retries.min(MAX_RETRIES) {
            return None;
        }
        let always = matches!(
            failure.code,
            Some(ErrorCode::Network | ErrorCode::Timeout | ErrorCode::TransactionInProgress)
        );
        let told = matches!(failure.status, Some(429 | 503)) && failure.retry_after_ms.is_some();
        if !always && !told {
            return None;
        }
        let retry_after = failure.retry_after_ms.unwrap_or(0.0).max(0.0);
        if retry_after > MAX_RETRY_AFTER_MS {
            return None;
        }
        // `attempt` < MAX_RETRIES here, so the shift cannot overflow.
        let ceiling = (self.base_ms.max(0.0) * f64::from(1u32 << attempt)).min(MAX_BACKOFF_MS);
        Some((jitter.clamp(0.0, 1.0) * ceiling).max(retry_after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        retries: DEFAULT_RETRIES,
        base_ms: DEFAULT_RETRY_DELAY_MS,
    };

    fn failure(code: &str, status: Option<u16>, retry_after_ms: Option<f64>) -> Failure {
        Failure {
            code: ErrorCode::from_code(code),
            status,
            retry_after_ms,
        }
    }

    #[test]
    fn which_failures_are_retried() {
        // (code, status, Retry-After ms, retried)
        let cases = [
            ("NETWORK", None, None, true),
            ("TIMEOUT", None, None, true),
            ("TRANSACTION_IN_PROGRESS", Some(409), None, true),
            ("TRANSACTION_IN_PROGRESS", Some(409), Some(0.0), true),
            ("RATE_LIMITED", Some(429), Some(1_000.0), true),
            ("LEDGER_UNAVAILABLE", Some(503), Some(0.0), true),
            ("UPSTREAM_BUSY", Some(503), Some(2_000.0), true),
            // Told when, but too long to keep a form waiting.
            ("RATE_LIMITED", Some(429), Some(30_001.0), false),
            ("RATE_LIMITED", Some(429), Some(30_000.0), true),
            // Not told when.
            ("RATE_LIMITED", Some(429), None, false),
            ("UPSTREAM_BUSY", Some(503), None, false),
            // Retryable in general, but another try may be billed or change nothing now.
            ("UPSTREAM_TIMEOUT", Some(504), None, false),
            ("UPSTREAM_ERROR", Some(502), Some(0.0), false),
            // Definitive.
            ("FACE_NOT_DETECTED", Some(422), None, false),
            ("UNAUTHORIZED", Some(401), None, false),
            ("ABORTED", None, None, false),
            ("SOMETHING_ELSE", Some(500), None, false),
        ];
        for (code, status, after, retried) in cases {
            let got = POLICY.delay_ms(failure(code, status, after), 0, 0.5);
            assert_eq!(
                got.is_some(),
                retried,
                "{code} {status:?} {after:?}: {got:?}"
            );
        }
    }

    #[test]
    fn a_request_without_its_transaction_is_never_retried() {
        let network = failure("NETWORK", None, None);
        let named = RetryPolicy::for_request(2, 500.0, true);
        assert_eq!(named, POLICY);
        assert!(named.delay_ms(network, 0, 0.5).is_some());
        let unnamed = RetryPolicy::for_request(2, 500.0, false);
        assert_eq!(unnamed.delay_ms(network, 0, 0.5), None);
    }

    #[test]
    fn bounded_by_the_retries_asked_for_and_by_the_most_allowed() {
        let network = failure("NETWORK", None, None);
        for attempt in 0..DEFAULT_RETRIES {
            assert!(
                POLICY.delay_ms(network, attempt, 0.5).is_some(),
                "{attempt}"
            );
        }
        assert_eq!(POLICY.delay_ms(network, DEFAULT_RETRIES, 0.5), None);
        let none = RetryPolicy {
            retries: 0,
            ..POLICY
        };
        assert_eq!(none.delay_ms(network, 0, 0.5), None);
        let greedy = RetryPolicy {
            retries: u32::MAX,
            ..POLICY
        };
        assert!(greedy.delay_ms(network, MAX_RETRIES - 1, 0.5).is_some());
        assert_eq!(greedy.delay_ms(network, MAX_RETRIES, 0.5), None);
    }

    #[test]
    fn exponential_backoff_with_full_jitter_capped_and_never_before_retry_after() {
        let greedy = RetryPolicy {
            retries: MAX_RETRIES,
            ..POLICY
        };
        let network = failure("NETWORK", None, None);
        // (attempt, jitter, ms)
        let cases = [
            (0, 1.0, 500.0),
            (1, 1.0, 1_000.0),
            (2, 1.0, 2_000.0),
            (3, 1.0, 4_000.0),
            (4, 1.0, 8_000.0),
            (5, 1.0, 8_000.0),
            (9, 1.0, 8_000.0),
            (2, 0.25, 500.0),
            (2, 0.0, 0.0),
            // Out-of-range jitter is clamped.
            (0, 7.0, 500.0),
            (0, -1.0, 0.0),
        ];
        for (attempt, jitter, want) in cases {
            assert_eq!(
                greedy.delay_ms(network, attempt, jitter),
                Some(want),
                "{attempt} {jitter}"
            );
        }
        // Retry-After is a floor.
        let told = failure("RATE_LIMITED", Some(429), Some(3_000.0));
        assert_eq!(POLICY.delay_ms(told, 0, 1.0), Some(3_000.0));
        let in_progress = failure("TRANSACTION_IN_PROGRESS", Some(409), Some(1_500.0));
        assert_eq!(POLICY.delay_ms(in_progress, 1, 1.0), Some(1_500.0));
        let short = failure("TRANSACTION_IN_PROGRESS", Some(409), Some(100.0));
        assert_eq!(POLICY.delay_ms(short, 1, 1.0), Some(1_000.0));
        // A negative base or Retry-After counts as none.
        let odd = RetryPolicy {
            retries: 1,
            base_ms: -5.0,
        };
        assert_eq!(
            odd.delay_ms(failure("TIMEOUT", None, Some(-3.0)), 0, 1.0),
            Some(0.0)
        );
    }
}
