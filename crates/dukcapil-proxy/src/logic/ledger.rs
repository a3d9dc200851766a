//! The transaction ledger's decisions: one record per transaction, kept by a Durable Object
//! named after the transaction ID, so that each transaction is billed upstream at most once
//! (well, at most `MAX_UPSTREAM_ATTEMPTS` times, and only while no attempt has succeeded).
//!
//! The Durable Object (`glue::ledger`) runs one request at a time against its stored
//! [`Record`]: it loads the record, asks [`decide`] what to store and what to answer, writes the
//! change without awaiting anything in between (so no other request interleaves), and answers.
//! The Worker asks it with [`Request`] and reads its [`Verdict`], both JSON.
//!
//! ```text
//!            claim (attempts < max)              settle: verdict or definitive refusal
//!   (none) ──────────────────────────▶ in_flight ─────────────────────────────────────▶ done
//!   new    ◀────────────────────────── in_flight                                        │
//!            settle: retryable failure, or the lease ran out                             │
//!                                                                       replayed, never  ▼
//!                                                                       called again   (TTL)
//! ```
//!
//! What a record keeps: the owner's `sub`, the NIK's `nik_hmac`, the attempt count, the lease,
//! the outcome (match or the refusal's code, and the score), the receipt, and timestamps.
//! Never the NIK, the selfie or a token.

use serde::{Deserialize, Serialize};

/// The Durable Object binding's name in `wrangler.toml`.
pub const LEDGER_BINDING: &str = "LEDGER";
/// The Durable Object class.
pub const LEDGER_CLASS: &str = "TransactionLedger";
/// Added to `UPSTREAM_TIMEOUT_MS` for an attempt's lease: the receipt is signed and the
/// outcome settled within it.
pub const LEASE_MARGIN_MS: u32 = 5_000;
/// The header on an answer that comes from the ledger rather than from an upstream call of
/// this request (as Stripe's `Idempotent-Replayed`).
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// `Retry-After` on `409 TRANSACTION_IN_PROGRESS`: most attempts end within a second or two.
pub const IN_PROGRESS_RETRY_AFTER_S: u32 = 1;
/// `Retry-After` on `503 LEDGER_UNAVAILABLE`.
pub const UNAVAILABLE_RETRY_AFTER_S: u32 = 2;
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
pub const MAX_MAX_ATTEMPTS: u32 = 10;
pub const DEFAULT_TTL_S: u32 = 86_400;
/// 30 days.
pub const MAX_TTL_S: u32 = 30 * 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    New,
    InFlight,
    Done,
}

impl State {
    pub const fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::InFlight => "in_flight",
            State::Done => "done",
        }
    }
}

/// A finished transaction's outcome, as replays answer it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// `match`, `no_match`, or the definitive refusal's error code (as in the receipt).
    pub outcome: String,
    /// The verdict's score (none for a refusal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The signed receipt (a compact JWS).
    pub receipt: String,
}

/// What the ledger keeps about one transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub state: State,
    /// The `sub` of the token that first claimed it (none for an anonymous sandbox caller).
    pub owner: Option<String>,
    /// The `nik_hmac` it is bound to (none without a JWT secret).
    pub nik_hmac: Option<String>,
    /// Upstream calls started so far.
    pub attempts: u32,
    /// While `in_flight`: when the attempt's lease runs out (Unix ms).
    pub lease_until_ms: f64,
    pub outcome: Option<Outcome>,
    pub created_ms: f64,
    pub updated_ms: f64,
    /// When the record is deleted (Unix ms); the Durable Object's alarm is set for it.
    pub expires_ms: f64,
}

/// What the Worker asks the Durable Object.
// Externally tagged (`{"claim":{…}}`): an internally tagged enum's reader costs the Worker
// several KB more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// May this request call upstream? Sent once the request is valid and authorised.
    Claim {
        owner: Option<String>,
        nik_hmac: Option<String>,
        lease_ms: u32,
        max_attempts: u32,
        ttl_s: u32,
    },
    /// How the attempt `attempt` ended.
    Settle { attempt: u32, result: Settlement },
    /// The backend's question (`GET /v1/transactions/{id}`).
    Read { owner: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    /// A verdict or a definitive refusal, with its receipt: the transaction is done.
    Done(Outcome),
    /// A failure another attempt may get past (network, timeout, 429, 5xx, …).
    Retry,
}

/// Why the ledger refuses a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refused {
    /// Another `sub` owns the transaction.
    Owner,
    /// The transaction is bound to another NIK.
    Nik,
    /// `MAX_UPSTREAM_ATTEMPTS` calls were made and none gave an outcome.
    Exhausted,
}

/// The Durable Object's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Call upstream: this is attempt number `attempt` (from 1).
    Claimed {
        attempt: u32,
    },
    /// Another attempt holds the lease.
    InProgress,
    /// Finished: answer this, and call nothing.
    Done {
        outcome: Outcome,
    },
    Refused {
        why: Refused,
    },
    /// The settlement was recorded (or was stale and changed nothing).
    Settled,
    /// For a read: the state, and the outcome when done.
    Found {
        state: State,
        outcome: Option<Outcome>,
    },
    /// For a read: no such transaction (never claimed, or deleted after its TTL).
    Unknown,
}

impl Verdict {
    /// The log line's `ledger` field.
    pub const fn log_name(&self) -> &'static str {
        match self {
            Verdict::Claimed { .. } => "claimed",
            Verdict::InProgress => "in_progress",
            Verdict::Done { .. } => "replayed",
            Verdict::Refused {
                why: Refused::Owner,
            } => "refused_owner",
            Verdict::Refused { why: Refused::Nik } => "refused_nik",
            Verdict::Refused {
                why: Refused::Exhausted,
            } => "exhausted",
            Verdict::Settled => "settled",
            Verdict::Found { .. } => "found",
            Verdict::Unknown => "unknown",
        }
    }
}

/// What to do with the stored record.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Keep,
    /// Store this, and make sure the alarm is set for its `expires_ms`.
    Write(Record),
    /// Delete everything (an expired record the alarm has not removed yet).
    Delete,
}

/// The one decision of the Durable Object, at `now_ms` on its clock.
pub fn decide(stored: Option<&Record>, request: &Request, now_ms: f64) -> (Change, Verdict) {
    // An expired record is gone, whether or not its alarm has run yet.
    let (stored, expired) = match stored {
        Some(r) if now_ms >= r.expires_ms && !holds_lease(r, now_ms) => (None, true),
        other => (other, false),
    };
    let gone = || {
        if expired {
            Change::Delete
        } else {
            Change::Keep
        }
    };
    match request {
        Request::Read { owner } => match stored {
            None => (gone(), Verdict::Unknown),
            Some(r) if r.owner.is_some() && r.owner != *owner => (
                Change::Keep,
                Verdict::Refused {
                    why: Refused::Owner,
                },
            ),
            Some(r) => {
                let state = match r.state {
                    State::InFlight if !holds_lease(r, now_ms) => State::New,
                    s => s,
                };
                let outcome = r.outcome.clone().filter(|_| state == State::Done);
                (Change::Keep, Verdict::Found { state, outcome })
            }
        },
        Request::Claim {
            owner,
            nik_hmac,
            lease_ms,
            max_attempts,
            ttl_s,
        } => {
            let record = match stored {
                None => Record {
                    state: State::New,
                    owner: owner.clone(),
                    nik_hmac: nik_hmac.clone(),
                    attempts: 0,
                    lease_until_ms: 0.0,
                    outcome: None,
                    created_ms: now_ms,
                    updated_ms: now_ms,
                    expires_ms: now_ms + f64::from(*ttl_s) * 1000.0,
                },
                Some(r) if r.owner != *owner => {
                    return (
                        Change::Keep,
                        Verdict::Refused {
                            why: Refused::Owner,
                        },
                    );
                }
                Some(r) if r.nik_hmac != *nik_hmac => {
                    return (Change::Keep, Verdict::Refused { why: Refused::Nik });
                }
                Some(r) => r.clone(),
            };
            match record.state {
                State::Done => match record.outcome {
                    Some(outcome) => (Change::Keep, Verdict::Done { outcome }),
                    // A done record always has its outcome; one without is not replayable.
                    None => (
                        Change::Keep,
                        Verdict::Refused {
                            why: Refused::Exhausted,
                        },
                    ),
                },
                State::InFlight if holds_lease(&record, now_ms) => {
                    (Change::Keep, Verdict::InProgress)
                }
                // New, or in flight with a lease that ran out (the isolate died).
                _ if record.attempts >= *max_attempts => {
                    let change = if record.state == State::New {
                        Change::Keep
                    } else {
                        Change::Write(Record {
                            state: State::New,
                            updated_ms: now_ms,
                            ..record
                        })
                    };
                    (
                        change,
                        Verdict::Refused {
                            why: Refused::Exhausted,
                        },
                    )
                }
                _ => {
                    let attempt = record.attempts + 1;
                    let claimed = Record {
                        state: State::InFlight,
                        attempts: attempt,
                        lease_until_ms: now_ms + f64::from(*lease_ms),
                        updated_ms: now_ms,
                        ..record
                    };
                    (Change::Write(claimed), Verdict::Claimed { attempt })
                }
            }
        }
        Request::Settle { attempt, result } => {
            let Some(r) = stored else {
                return (gone(), Verdict::Settled);
            };
            match (r.state, result) {
                // The first outcome stands; a late one gets it to answer with instead.
                (State::Done, _) => match &r.outcome {
                    Some(outcome) => (
                        Change::Keep,
                        Verdict::Done {
                            outcome: outcome.clone(),
                        },
                    ),
                    None => (Change::Keep, Verdict::Settled),
                },
                // A billed outcome is kept even from an attempt whose lease ran out.
                (_, Settlement::Done(outcome)) => (
                    Change::Write(Record {
                        state: State::Done,
                        outcome: Some(outcome.clone()),
                        lease_until_ms: 0.0,
                        updated_ms: now_ms,
                        ..r.clone()
                    }),
                    Verdict::Settled,
                ),
                (State::InFlight, Settlement::Retry) if r.attempts == *attempt => (
                    Change::Write(Record {
                        state: State::New,
                        lease_until_ms: 0.0,
                        updated_ms: now_ms,
                        ..r.clone()
                    }),
                    Verdict::Settled,
                ),
                // A newer attempt holds the transaction: this failure changes nothing.
                _ => (Change::Keep, Verdict::Settled),
            }
        }
    }
}

fn holds_lease(r: &Record, now_ms: f64) -> bool {
    r.state == State::InFlight && now_ms < r.lease_until_ms
}

/// What the alarm does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Alarm {
    /// Delete everything the object stores.
    Delete,
    /// Not yet: run again at this time (Unix ms).
    Again(f64),
}

/// The alarm's decision at `now_ms`: the record goes once it expired and no attempt holds it.
pub fn on_alarm(stored: Option<&Record>, now_ms: f64) -> Alarm {
    match stored {
        Some(r) if holds_lease(r, now_ms) => Alarm::Again(r.lease_until_ms.max(r.expires_ms)),
        Some(r) if now_ms < r.expires_ms => Alarm::Again(r.expires_ms),
        _ => Alarm::Delete,
    }
}

/// The lease of an attempt, for an upstream timeout of `upstream_timeout_ms`.
pub const fn lease_ms(upstream_timeout_ms: u32) -> u32 {
    upstream_timeout_ms.saturating_add(LEASE_MARGIN_MS)
}

#[cfg(test)]
mod tests;
