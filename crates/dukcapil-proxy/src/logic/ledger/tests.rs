use super::*;

const LEASE: u32 = 20_000;
const TTL: u32 = 86_400;

fn claim(owner: Option<&str>, nik: Option<&str>) -> Request {
    Request::Claim {
        owner: owner.map(str::to_string),
        nik_hmac: nik.map(str::to_string),
        lease_ms: LEASE,
        max_attempts: 3,
        ttl_s: TTL,
    }
}

fn outcome(receipt: &str) -> Outcome {
    Outcome {
        outcome: "match".into(),
        score: Some(91.0),
        receipt: receipt.into(),
    }
}

/// Runs `steps` (request, time) against one stored record, as the Durable Object does, and
/// returns each verdict and the record after each step.
fn run(steps: &[(Request, f64)]) -> Vec<(Verdict, Option<Record>)> {
    let mut stored: Option<Record> = None;
    steps
        .iter()
        .map(|(request, now)| {
            let (change, verdict) = decide(stored.as_ref(), request, *now);
            match change {
                Change::Keep => {}
                Change::Write(r) => stored = Some(r),
                Change::Delete => stored = None,
            }
            (verdict, stored.clone())
        })
        .collect()
}

fn verdicts(steps: &[(Request, f64)]) -> Vec<Verdict> {
    run(steps).into_iter().map(|(v, _)| v).collect()
}

const fn settle(attempt: u32, result: Settlement) -> Request {
    Request::Settle { attempt, result }
}

const ME: Option<&str> = Some("customer-42");
const NIK: Option<&str> = Some("hmac-a");

#[test]
fn a_first_claim_wins_and_concurrent_ones_wait() {
    let v = verdicts(&[
        (claim(ME, NIK), 0.0),
        (claim(ME, NIK), 1.0),
        (claim(ME, NIK), 19_999.0),
    ]);
    assert_eq!(
        v,
        [
            Verdict::Claimed { attempt: 1 },
            Verdict::InProgress,
            Verdict::InProgress
        ]
    );
}

#[test]
fn done_is_replayed_and_never_claimed_again() {
    let steps = [
        (claim(ME, NIK), 0.0),
        (settle(1, Settlement::Done(outcome("r1"))), 900.0),
        (claim(ME, NIK), 1_000.0),
        (claim(ME, NIK), 10_000_000.0),
    ];
    let out = run(&steps);
    assert_eq!(out[1].0, Verdict::Settled);
    let done = Verdict::Done {
        outcome: outcome("r1"),
    };
    assert_eq!((&out[2].0, &out[3].0), (&done, &done));
    let record = out[3].1.clone().unwrap();
    assert_eq!((record.state, record.attempts), (State::Done, 1));
}

#[test]
fn a_retryable_failure_frees_the_transaction_up_to_the_attempt_cap() {
    let v = verdicts(&[
        (claim(ME, NIK), 0.0),
        (settle(1, Settlement::Retry), 100.0),
        (claim(ME, NIK), 200.0),
        (settle(2, Settlement::Retry), 300.0),
        (claim(ME, NIK), 400.0),
        (settle(3, Settlement::Retry), 500.0),
        (claim(ME, NIK), 600.0),
    ]);
    assert_eq!(v[0], Verdict::Claimed { attempt: 1 });
    assert_eq!(v[2], Verdict::Claimed { attempt: 2 });
    assert_eq!(v[4], Verdict::Claimed { attempt: 3 });
    assert_eq!(
        v[6],
        Verdict::Refused {
            why: Refused::Exhausted
        }
    );
}

#[test]
fn a_lease_that_runs_out_frees_the_transaction_and_counts_the_attempt() {
    let lease = f64::from(LEASE);
    let v = verdicts(&[
        (claim(ME, NIK), 0.0),
        (claim(ME, NIK), lease - 1.0),
        (claim(ME, NIK), lease),
        // The first attempt's late failure changes nothing: attempt 2 holds the lease.
        (settle(1, Settlement::Retry), lease + 1.0),
        (claim(ME, NIK), lease + 2.0),
        (claim(ME, NIK), 3.0 * lease),
        (claim(ME, NIK), 4.0 * lease),
    ]);
    assert_eq!(
        v,
        [
            Verdict::Claimed { attempt: 1 },
            Verdict::InProgress,
            Verdict::Claimed { attempt: 2 },
            Verdict::Settled,
            Verdict::InProgress,
            Verdict::Claimed { attempt: 3 },
            Verdict::Refused {
                why: Refused::Exhausted
            },
        ]
    );
}

#[test]
fn the_first_outcome_stands_and_a_late_one_answers_with_it() {
    let lease = f64::from(LEASE);
    let v = verdicts(&[
        (claim(ME, NIK), 0.0),
        (claim(ME, NIK), lease + 1.0),
        // Attempt 1 ends late with a verdict: billed, so kept.
        (settle(1, Settlement::Done(outcome("r1"))), lease + 2.0),
        (settle(2, Settlement::Done(outcome("r2"))), lease + 3.0),
        (claim(ME, NIK), lease + 4.0),
    ]);
    let first = Verdict::Done {
        outcome: outcome("r1"),
    };
    assert_eq!(v[2], Verdict::Settled);
    assert_eq!((&v[3], &v[4]), (&first, &first));
}

#[test]
fn another_owner_or_nik_is_refused_and_changes_nothing() {
    let them = Some("customer-7");
    let out = run(&[
        (claim(ME, NIK), 0.0),
        (claim(them, NIK), 1.0),
        (claim(None, NIK), 2.0),
        (claim(ME, Some("hmac-b")), 3.0),
        (claim(ME, None), 4.0),
        (
            Request::Read {
                owner: them.map(str::to_string),
            },
            5.0,
        ),
        (Request::Read { owner: None }, 6.0),
    ]);
    let owner = Verdict::Refused {
        why: Refused::Owner,
    };
    let nik = Verdict::Refused { why: Refused::Nik };
    let got: Vec<_> = out.iter().map(|(v, _)| v.clone()).collect();
    assert_eq!(
        got[1..],
        [
            owner.clone(),
            owner.clone(),
            nik.clone(),
            nik,
            owner.clone(),
            owner
        ]
    );
    assert!(out.windows(2).all(|w| w[0].1 == w[1].1), "a refusal wrote");
}

#[test]
fn an_anonymous_transaction_is_anyones_to_read() {
    let v = verdicts(&[
        (claim(None, None), 0.0),
        (
            Request::Read {
                owner: Some("backend".into()),
            },
            1.0,
        ),
    ]);
    assert_eq!(
        v[1],
        Verdict::Found {
            state: State::InFlight,
            outcome: None
        }
    );
}

#[test]
fn reads_tell_the_state_and_the_outcome_only_when_done() {
    let me = || Request::Read {
        owner: ME.map(str::to_string),
    };
    let lease = f64::from(LEASE);
    let v = verdicts(&[
        (me(), 0.0),
        (claim(ME, NIK), 1.0),
        (me(), 2.0),
        (me(), lease + 1.0),
        (claim(ME, NIK), lease + 2.0),
        (settle(2, Settlement::Done(outcome("r"))), lease + 3.0),
        (me(), lease + 4.0),
    ]);
    let found = |state, outcome| Verdict::Found { state, outcome };
    assert_eq!(v[0], Verdict::Unknown);
    assert_eq!(v[2], found(State::InFlight, None));
    // A lapsed lease reads as `new`: the next try may call.
    assert_eq!(v[3], found(State::New, None));
    assert_eq!(v[6], found(State::Done, Some(outcome("r"))));
}

#[test]
fn an_expired_record_is_gone_even_before_its_alarm() {
    let ttl_ms = f64::from(TTL) * 1000.0;
    let out = run(&[
        (claim(ME, NIK), 0.0),
        (settle(1, Settlement::Done(outcome("r"))), 1.0),
        (
            Request::Read {
                owner: ME.map(str::to_string),
            },
            ttl_ms,
        ),
    ]);
    assert_eq!(out[2], (Verdict::Unknown, None));
    // A claim after expiry starts afresh, for anyone.
    let v = verdicts(&[
        (claim(ME, NIK), 0.0),
        (claim(Some("other"), NIK), ttl_ms + 1.0),
    ]);
    assert_eq!(v[1], Verdict::Claimed { attempt: 1 });
}

#[test]
fn the_alarm_deletes_only_what_expired_and_no_attempt_holds() {
    let r = |state, lease_until_ms, expires_ms| Record {
        state,
        owner: None,
        nik_hmac: None,
        attempts: 1,
        lease_until_ms,
        outcome: None,
        created_ms: 0.0,
        updated_ms: 0.0,
        expires_ms,
    };
    let cases = [
        (None, 5.0, Alarm::Delete),
        (Some(r(State::Done, 0.0, 10.0)), 10.0, Alarm::Delete),
        (Some(r(State::Done, 0.0, 10.0)), 5.0, Alarm::Again(10.0)),
        (
            Some(r(State::InFlight, 20.0, 10.0)),
            15.0,
            Alarm::Again(20.0),
        ),
        (Some(r(State::InFlight, 20.0, 10.0)), 20.0, Alarm::Delete),
        (Some(r(State::New, 0.0, 10.0)), 11.0, Alarm::Delete),
    ];
    for (record, now, want) in cases {
        assert_eq!(on_alarm(record.as_ref(), now), want, "{record:?} at {now}");
    }
}

#[test]
fn an_attempt_in_flight_outlives_the_ttl_until_its_lease_ends() {
    let short = || Request::Claim {
        owner: None,
        nik_hmac: None,
        lease_ms: LEASE,
        max_attempts: 3,
        ttl_s: 1,
    };
    let out = run(&[(short(), 0.0), (short(), 1_500.0)]);
    assert_eq!(out[1].0, Verdict::InProgress);
    let record = out[1].1.clone().unwrap();
    assert_eq!(record.expires_ms, 1_000.0);
    assert_eq!(
        on_alarm(Some(&record), 1_000.0),
        Alarm::Again(f64::from(LEASE))
    );
    // Once it is over, the record is gone: a new claim starts afresh.
    let out = run(&[(short(), 0.0), (short(), f64::from(LEASE))]);
    assert_eq!(out[1].0, Verdict::Claimed { attempt: 1 });
}

#[test]
fn requests_and_verdicts_round_trip_as_json() {
    let requests = [
        claim(ME, NIK),
        settle(2, Settlement::Retry),
        settle(1, Settlement::Done(outcome("r"))),
        Request::Read { owner: None },
    ];
    for r in requests {
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), r, "{json}");
    }
    let verdicts = [
        Verdict::Claimed { attempt: 1 },
        Verdict::InProgress,
        Verdict::Done {
            outcome: outcome("r"),
        },
        Verdict::Refused {
            why: Refused::Exhausted,
        },
        Verdict::Settled,
        Verdict::Found {
            state: State::Done,
            outcome: Some(outcome("r")),
        },
        Verdict::Unknown,
    ];
    for v in verdicts {
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), v, "{json}");
    }
    assert_eq!(
        serde_json::to_string(&Verdict::InProgress).unwrap(),
        r#""in_progress""#
    );
}

#[test]
fn each_transition_writes_exactly_this_record() {
    let record = |state, attempts, lease_until_ms, outcome: Option<Outcome>, updated_ms| Record {
        state,
        owner: ME.map(str::to_string),
        nik_hmac: NIK.map(str::to_string),
        attempts,
        lease_until_ms,
        outcome,
        created_ms: 0.0,
        updated_ms,
        expires_ms: f64::from(TTL) * 1000.0,
    };
    let capped = |max_attempts| Request::Claim {
        owner: ME.map(str::to_string),
        nik_hmac: NIK.map(str::to_string),
        lease_ms: LEASE,
        max_attempts,
        ttl_s: TTL,
    };
    let in_flight =
        |attempts, at: f64| record(State::InFlight, attempts, at + f64::from(LEASE), None, at);
    // (stored, request, now, change)
    let cases = [
        // A first claim: created, claimed, leased.
        (None, capped(3), 0.0, Change::Write(in_flight(1, 0.0))),
        // A claim after a retryable failure: the next attempt, leased from now.
        (
            Some(record(State::New, 1, 0.0, None, 50.0)),
            capped(3),
            100.0,
            Change::Write(in_flight(2, 100.0)),
        ),
        // A lease that ran out, at the cap: back to new (so reads say so), nothing claimed.
        (
            Some(in_flight(3, 0.0)),
            capped(3),
            30_000.0,
            Change::Write(record(State::New, 3, f64::from(LEASE), None, 30_000.0)),
        ),
        // Already new at the cap: nothing to write.
        (
            Some(record(State::New, 3, 0.0, None, 50.0)),
            capped(3),
            60.0,
            Change::Keep,
        ),
        // The outcome settles it: done, no lease.
        (
            Some(in_flight(1, 0.0)),
            settle(1, Settlement::Done(outcome("r1"))),
            900.0,
            Change::Write(record(State::Done, 1, 0.0, Some(outcome("r1")), 900.0)),
        ),
        // A retryable failure of the current attempt: new again, no lease.
        (
            Some(in_flight(2, 100.0)),
            settle(2, Settlement::Retry),
            700.0,
            Change::Write(record(State::New, 2, 0.0, None, 700.0)),
        ),
    ];
    for (i, (stored, request, now, want)) in cases.into_iter().enumerate() {
        let (change, _) = decide(stored.as_ref(), &request, now);
        assert_eq!(change, want, "case {i}");
    }
}

#[test]
fn a_lease_is_the_upstream_timeout_and_the_margin() {
    assert_eq!(lease_ms(20_000), 20_000 + LEASE_MARGIN_MS);
    assert_eq!(lease_ms(1), 1 + LEASE_MARGIN_MS);
    assert_eq!(lease_ms(u32::MAX), u32::MAX);
}
