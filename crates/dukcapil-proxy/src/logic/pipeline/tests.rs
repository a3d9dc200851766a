//! The pipeline driven natively, with every I/O step answered from a scripted world.

use super::*;
use crate::logic::{
    config::tests::SECRET,
    jwt::{b64url_decode, nik_hmac, sha256_hex, sign_hs256},
    receipt::tests::TEST_KEY,
};
use dukcapil_core::{image::encode_base64, ErrorCode};
use std::{cell::RefCell, collections::HashMap};

const NIK: &str = "3273010101900001";
const OTHER_NIK: &str = "3273010101904321";
const ORIGIN: &str = "https://kyc.example.co.id";
/// 2026-11-26 in Indonesia.
const NOW_MS: f64 = 1_795_618_800_000.0;
const MATCH: &str = include_str!("../../../../../tests/fixtures/upstream/200-match.json");
const BUSY: &str = include_str!("../../../../../tests/fixtures/upstream/503-busy.json");

fn token(claims: &str) -> String {
    format!("Bearer {}", sign_hs256(claims, SECRET.as_bytes()))
}

/// A caller token as a backend mints it, for `txn-1`.
fn bound_token(nik: &str, sub: Option<&str>) -> String {
    let now = (NOW_MS / 1000.0) as i64;
    let sub = sub.map_or(String::new(), |s| format!(r#","sub":"{s}""#));
    token(&format!(
        r#"{{"iss":"bank","aud":"dukcapil-facematch","jti":"tok-1","iat":{now},"exp":{},"nik_hmac":"{}","txn":"txn-1"{sub}}}"#,
        now + 300,
        nik_hmac(SECRET.as_bytes(), nik)
    ))
}

/// A receipt's claims.
fn receipt_claims(receipt: &str) -> serde_json::Value {
    let claims = receipt.split('.').nth(1).unwrap();
    serde_json::from_slice(&b64url_decode(claims).unwrap()).unwrap()
}

fn image() -> String {
    encode_base64(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5, 6, 7, 8])
}

/// How a scripted call ends.
#[derive(Clone)]
enum Called {
    Answer(u16, Vec<u8>),
    TooLarge,
    Unreachable,
    TimedOut,
}

/// Rate limiting bindings that count per key: `cap` per key, `nik_cap` per NIK.
struct Limits {
    cap: u32,
    nik_cap: u32,
    counts: RefCell<HashMap<String, u32>>,
    missing: bool,
}

impl Limits {
    fn ask(&self, limiter: Limiter, key: &str) -> LimitReply {
        if self.missing {
            return LimitReply::Missing { first: true };
        }
        let cap = if limiter == Limiter::Nik {
            self.nik_cap
        } else {
            self.cap
        };
        let mut counts = self.counts.borrow_mut();
        let n = counts.entry(key.to_string()).or_insert(0);
        *n += 1;
        if *n > cap {
            LimitReply::Limited
        } else {
            LimitReply::Allowed
        }
    }
}

/// The transaction ledger as the Durable Object keeps it: the pure decision over a record.
enum Ledger {
    /// Kept across runs of the same world when `persist`, else fresh for each run.
    Working {
        /// By transaction ID (the Durable Object's name).
        records: RefCell<HashMap<String, ledger::Record>>,
        persist: bool,
        /// The Durable Object's clock.
        now_ms: std::cell::Cell<f64>,
    },
    Missing,
    Failed,
    /// Answers these in turn, whatever it is asked.
    Script(RefCell<std::collections::VecDeque<&'static str>>),
}

impl Ledger {
    fn working() -> Ledger {
        Ledger::Working {
            records: RefCell::default(),
            persist: false,
            now_ms: std::cell::Cell::new(NOW_MS),
        }
    }

    fn persistent() -> Ledger {
        Ledger::Working {
            records: RefCell::default(),
            persist: true,
            now_ms: std::cell::Cell::new(NOW_MS),
        }
    }

    fn record(&self) -> Option<ledger::Record> {
        match self {
            Ledger::Working { records, .. } => records.borrow().get("txn-1").cloned(),
            _ => None,
        }
    }

    fn ask(&self, transaction_id: &str, request: &str) -> (String, Option<String>) {
        match self {
            Ledger::Working {
                records, now_ms, ..
            } => {
                let request: ledger::Request = serde_json::from_str(request).unwrap();
                let stored = records.borrow().get(transaction_id).cloned();
                let (change, verdict) = ledger::decide(stored.as_ref(), &request, now_ms.get());
                let mut records = records.borrow_mut();
                match change {
                    ledger::Change::Keep => {}
                    ledger::Change::Write(r) => {
                        records.insert(transaction_id.to_string(), r);
                    }
                    ledger::Change::Delete => {
                        records.remove(transaction_id);
                    }
                }
                let op = match request {
                    ledger::Request::Claim { .. } => "claim",
                    ledger::Request::Settle { .. } => "settle",
                    ledger::Request::Read { .. } => "read",
                };
                (op.into(), Some(serde_json::to_string(&verdict).unwrap()))
            }
            Ledger::Missing => ("missing".into(), None),
            Ledger::Failed => ("failed".into(), None),
            Ledger::Script(answers) => (
                "scripted".into(),
                answers.borrow_mut().pop_front().map(str::to_string),
            ),
        }
    }
}

/// A request, the configuration and everything the outside world will answer.
struct World {
    ledger: Ledger,
    vars: Vec<(&'static str, String)>,
    head: Head,
    body: Vec<u8>,
    limits: Limits,
    siteverify: Called,
    upstream: Called,
    key: KeyReply,
    /// What signing gives: `r || s`, or a failure.
    signature: Option<Vec<u8>>,
}

fn world() -> World {
    let body = format!(r#"{{"id":"{NIK}","image":"{}"}}"#, image()).into_bytes();
    World {
        ledger: Ledger::working(),
        vars: vec![
            ("HV_APP_ID", "app-id".into()),
            ("HV_APP_KEY", "app-key".into()),
            ("PROXY_JWT_SECRET", SECRET.into()),
            ("ALLOWED_ORIGINS", ORIGIN.into()),
            ("TURNSTILE_SECRET", "turnstile-secret".into()),
            ("RECEIPT_SIGNING_KEY", TEST_KEY.into()),
        ],
        head: Head {
            method: "POST".into(),
            url: "https://proxy.example/v1/dukcapilWithFacematch".into(),
            origin: Some(ORIGIN.into()),
            transaction_id: Some("txn-1".into()),
            authorization: Some(bound_token(NIK, Some("alice"))),
            content_type: Some("application/json".into()),
            content_length: Some(body.len().to_string()),
            client_ip: Some("198.51.100.7".into()),
            turnstile: Some("turnstile-token".into()),
        },
        body,
        limits: Limits {
            cap: 1000,
            nik_cap: 1000,
            counts: RefCell::default(),
            missing: false,
        },
        siteverify: Called::Answer(
            200,
            br#"{"success":true,"hostname":"kyc.example.co.id"}"#.to_vec(),
        ),
        upstream: Called::Answer(200, MATCH.as_bytes().to_vec()),
        key: KeyReply::Imported,
        signature: Some(vec![7; 64]),
    }
}

/// What one run did.
struct Run {
    answer: Answer,
    log: serde_json::Value,
    steps: Vec<String>,
    /// The upstream body as the glue would have made it.
    staged: Option<Vec<u8>>,
    calls: Vec<Call>,
    keys: Vec<KeyRequest>,
    receipt: Option<String>,
}

impl Run {
    fn body(&self) -> serde_json::Value {
        serde_json::from_str(&self.answer.body).unwrap()
    }
    fn reason(&self) -> Option<&str> {
        self.log["reason"].as_str()
    }
    fn code(&self) -> Option<ErrorCode> {
        self.log["code"].as_str().and_then(ErrorCode::from_code)
    }
}

fn stage(body: &[u8], plan: &UpstreamBody) -> Vec<u8> {
    match plan {
        UpstreamBody::Original => body.to_vec(),
        UpstreamBody::Splice { head, image, tail } => {
            [&head[..], &body[image.clone()], tail].concat()
        }
        UpstreamBody::Built(b) => b.clone(),
    }
}

fn call_reply(called: &Called) -> CallReply<'_> {
    match called {
        Called::Answer(status, body) => CallReply::Answered {
            status: *status,
            body,
        },
        Called::TooLarge => CallReply::TooLarge,
        Called::Unreachable => CallReply::Unreachable,
        Called::TimedOut => CallReply::TimedOut,
    }
}

/// Drives the pipeline as the glue does, answering each step from `w`.
fn run(w: &World) -> Run {
    let cfg = Config::from_lookup(|k| w.vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
    let ctx = Context {
        request_id: "req-1".into(),
        fresh_transaction_id: "fresh-txn".into(),
        receipt_id: "rcpt-1".into(),
        now_ms: NOW_MS,
    };
    if let Ledger::Working {
        records,
        persist: false,
        ..
    } = &w.ledger
    {
        records.borrow_mut().clear();
    }
    let mut p = Pipeline::new(&cfg, w.head.clone(), ctx);
    let (mut steps, mut staged, mut calls, mut keys) = (Vec::new(), None, Vec::new(), Vec::new());
    let mut step = p.start();
    for _ in 0..ORDER.len() * 2 {
        step = match step {
            Step::LoadKey(request) => {
                steps.push("key".into());
                keys.push(request);
                p.resume(Reply::Key(w.key.clone()))
            }
            Step::Sign { input } => {
                steps.push("sign".into());
                assert!(input.split('.').count() == 2, "{input}");
                p.resume(Reply::Signed(w.signature.as_deref()))
            }
            Step::RateLimit { limiter, key } => {
                steps.push(format!("limit {} {key}", limiter.binding()));
                p.resume(Reply::Limit(w.limits.ask(limiter, &key)))
            }
            Step::ReadBody {
                declared,
                mut limit,
            } => {
                steps.push("read".into());
                let over = declared.is_none() && limit.admit(w.body.len()).is_err();
                p.resume(Reply::Body(if over {
                    BodyReply::TooLarge
                } else {
                    BodyReply::Read(&w.body)
                }))
            }
            Step::StageBody(plan) => {
                steps.push("stage".into());
                staged = Some(stage(&w.body, &plan));
                p.resume(Reply::Staged)
            }
            Step::Siteverify(call) => {
                steps.push("siteverify".into());
                calls.push(call);
                p.resume(Reply::Called {
                    reply: call_reply(&w.siteverify),
                    ms: 3.0,
                })
            }
            Step::CallUpstream(call) => {
                steps.push("upstream".into());
                assert_eq!(call.body, None, "the upstream gets the staged body");
                calls.push(call);
                p.resume(Reply::Called {
                    reply: call_reply(&w.upstream),
                    ms: 40.0,
                })
            }
            Step::Wait { ms } => {
                steps.push(format!("wait {ms}"));
                p.resume(Reply::Waited { ms: f64::from(ms) })
            }
            Step::Ledger {
                transaction_id,
                request,
            } => {
                assert_eq!(Some(transaction_id.as_str()), p.transaction_id.as_deref());
                let (op, answer) = w.ledger.ask(&transaction_id, &request);
                steps.push(format!("ledger {op}"));
                p.resume(Reply::Ledger(match (&w.ledger, &answer) {
                    (Ledger::Missing, _) => LedgerReply::Missing,
                    (_, Some(a)) => LedgerReply::Answered(a),
                    (_, None) => LedgerReply::Failed,
                }))
            }
            Step::Finish => break,
        };
    }
    let (answer, log) = p.finish(50.0, Some(1 << 20));
    Run {
        receipt: p.receipt().map(str::to_owned),
        answer,
        log: serde_json::from_str(&log).unwrap(),
        steps,
        staged,
        calls,
        keys,
    }
}

#[test]
fn a_good_request_goes_upstream_once_with_the_callers_bytes() {
    let w = world();
    let r = run(&w);
    assert_eq!(r.answer.status, 200, "{}", r.answer.body);
    assert_eq!(
        r.steps,
        [
            "key".into(),
            format!("limit SUBJECT_RATE_LIMITER sub:{}", sha256_hex("alice")),
            "read".into(),
            "stage".into(),
            format!(
                "limit NIK_RATE_LIMITER nik:{}",
                nik_hmac(SECRET.as_bytes(), NIK)
            ),
            "siteverify".into(),
            "ledger claim".into(),
            "upstream".into(),
            "sign".into(),
            "ledger settle".into(),
        ]
    );
    // Our browser module's body is forwarded as it is.
    assert_eq!(r.staged.as_deref(), Some(&w.body[..]));
    let upstream = &r.calls[1];
    assert_eq!(
        upstream.url,
        "https://ind-thomas.hyperverge.co/v1/dukcapilWithFacematch"
    );
    assert!(upstream
        .headers
        .contains(&("transactionId", "txn-1".to_string())));
    let v: serde_json::Value = serde_json::from_str(&r.answer.body).unwrap();
    assert_eq!(v["result"]["details"]["match"], true);
    assert_eq!(v["metaData"]["transactionId"], "txn-1");
    assert_eq!(r.answer.header("transactionId"), Some("txn-1"));
    assert_eq!(
        r.answer.header("server-timing"),
        Some("upstream;dur=40.0, total;dur=50.0")
    );
    let l = &r.log;
    assert_eq!(l["nik"], "3273**********01");
    assert_eq!(
        (l["auth"].as_str(), l["body"].as_str()),
        (Some("jwt"), Some("json"))
    );
    assert_eq!(
        (l["upstream_status"].as_u64(), l["matched"].as_bool()),
        (Some(200), Some(true))
    );
    assert_eq!(l["upstream_request_id"], "hv-req-0001");
    assert_eq!(l["wasm_memory_bytes"], 1 << 20);
    assert!(l.get("reason").is_none() && l.get("code").is_none());
}

/// Makes a world fail one check.
type Breaker = fn(&mut World);

/// Index `i` breaks `ORDER[i]`.
const BREAKERS: &[(Check, Breaker)] = &[
    (Check::Route, |w| {
        w.head.url = "https://proxy.example/v1/other".into()
    }),
    (Check::Origin, |w| {
        w.head.origin = Some("https://evil.example".into())
    }),
    (Check::TransactionId, |w| {
        w.head.transaction_id = Some("a b".into())
    }),
    (Check::Configured, |w| {
        w.vars.retain(|(k, _)| *k != "HV_APP_KEY")
    }),
    (Check::ReceiptKey, |w| w.key = KeyReply::Failed),
    (Check::RateLimit, |w| w.limits.cap = 0),
    (Check::Token, |w| w.head.authorization = None),
    (Check::ContentType, |w| {
        w.head.content_type = Some("text/plain".into())
    }),
    (Check::DeclaredLength, |w| {
        w.head.content_length = Some("99999999".into())
    }),
    (Check::Body, |w| {
        w.body = br#"{"id":"1234"}"#.to_vec();
        w.head.content_length = Some(w.body.len().to_string());
    }),
    (Check::NikBinding, |w| {
        w.head.authorization = Some(bound_token(OTHER_NIK, Some("alice")))
    }),
    (Check::NikRateLimit, |w| w.limits.nik_cap = 0),
    (Check::Turnstile, |w| w.head.turnstile = None),
    (Check::Ledger, |w| w.ledger = Ledger::Missing),
    (Check::Upstream, |w| {
        w.upstream = Called::Answer(503, BUSY.as_bytes().to_vec())
    }),
    (Check::Receipt, |w| w.signature = None),
];

/// The checks that can refuse: settling never does (the outcome in hand is answered).
fn refusing_checks() -> Vec<Check> {
    ORDER
        .iter()
        .copied()
        .filter(|c| *c != Check::Settle)
        .collect()
}

/// The check a refusal reason belongs to.
fn check_of(reason: &str) -> Check {
    let reason = Reason::ALL
        .iter()
        .find(|r| r.as_str() == reason)
        .unwrap_or_else(|| panic!("unknown reason {reason}"));
    match reason {
        Reason::NotFound | Reason::MethodNotAllowed => Check::Route,
        Reason::OriginNotAllowed => Check::Origin,
        Reason::TransactionIdInvalid => Check::TransactionId,
        Reason::UpstreamNotConfigured
        | Reason::SandboxWithLiveCredentials
        | Reason::AuthNotConfigured
        | Reason::JwtSecretShort
        | Reason::AnonymousOutsideSandbox
        | Reason::ReceiptKeyMissing
        | Reason::ClockUnusable => Check::Configured,
        Reason::ReceiptKeyInvalid => Check::ReceiptKey,
        Reason::RateLimitedIp | Reason::RateLimitedSubject => Check::RateLimit,
        Reason::TokenNikMismatch => Check::NikBinding,
        Reason::RateLimitedNik => Check::NikRateLimit,
        Reason::TokenMissing
        | Reason::TokenMalformed
        | Reason::TokenAlgorithm
        | Reason::TokenSignature
        | Reason::TokenAudience
        | Reason::TokenExpired
        | Reason::TokenNotYetValid
        | Reason::TokenLifetime
        | Reason::TokenIncomplete
        | Reason::TokenTxnMismatch
        | Reason::TokenNikUnbound => Check::Token,
        Reason::ContentTypeUnsupported | Reason::ContentTypeInvalid => Check::ContentType,
        Reason::DeclaredTooLarge | Reason::DeclaredLengthInvalid => Check::DeclaredLength,
        Reason::BodyTooLarge
        | Reason::BodyReadFailed
        | Reason::BodyMalformed
        | Reason::NikRefused
        | Reason::ImageRefused => Check::Body,
        Reason::TurnstileMissing
        | Reason::TurnstileRejected
        | Reason::TurnstileHostname
        | Reason::TurnstileAction
        | Reason::TurnstileUnreachable => Check::Turnstile,
        Reason::UpstreamRefused
        | Reason::UpstreamRejected
        | Reason::UpstreamCredentialsRejected
        | Reason::UpstreamRateLimited
        | Reason::UpstreamBusy
        | Reason::UpstreamError
        | Reason::UpstreamAnswerTooLarge
        | Reason::UpstreamUnreachable
        | Reason::UpstreamTimeout => Check::Upstream,
        Reason::ReceiptSigningFailed => Check::Receipt,
        Reason::TokenScope => Check::Token,
        Reason::LedgerMissing
        | Reason::LedgerFailed
        | Reason::TransactionInProgress
        | Reason::TransactionOwner
        | Reason::TransactionNik
        | Reason::TransactionExhausted
        | Reason::TransactionUnknown => Check::Ledger,
        Reason::OutOfStep => panic!("out of step"),
    }
}

#[test]
fn each_check_refuses_on_its_own_and_nothing_after_it_runs() {
    assert_eq!(
        BREAKERS.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        refusing_checks(),
        "one breaker per check, in order"
    );
    for (check, breaker) in BREAKERS {
        let mut w = world();
        breaker(&mut w);
        let r = run(&w);
        let reason = r
            .reason()
            .unwrap_or_else(|| panic!("{check:?} was not refused"));
        assert_eq!(check_of(reason), *check, "{reason}");
        let reason = Reason::ALL.iter().find(|x| x.as_str() == reason).unwrap();
        assert!(reason.codes().contains(&r.code().unwrap()));
        assert_eq!(r.answer.status, r.code().unwrap().http_status());
        let at = |c: Check| ORDER.iter().position(|x| *x == c);
        if at(*check) < at(Check::Upstream) {
            assert!(
                !r.steps.contains(&"upstream".into()),
                "{check:?}: {:?}",
                r.steps
            );
        }
        if ORDER.iter().position(|c| c == check) < ORDER.iter().position(|c| *c == Check::Body) {
            assert!(!r.steps.contains(&"read".into()), "{check:?} read the body");
        }
    }
}

#[test]
fn a_request_failing_two_checks_gets_the_earlier_ones_refusal() {
    for (i, (first, break_first)) in BREAKERS.iter().enumerate() {
        for (second, break_second) in &BREAKERS[i + 1..] {
            let mut w = world();
            // The later check's breaker first, so the earlier's wins where they overlap.
            break_second(&mut w);
            break_first(&mut w);
            let r = run(&w);
            let reason = r.reason().unwrap_or("none");
            assert_eq!(
                check_of(reason),
                *first,
                "{first:?} + {second:?} gave {reason}"
            );
        }
    }
}

#[test]
fn callers_without_a_valid_token_never_spend_the_budget_of_token_holders() {
    // Thousands of phones behind one carrier NAT address: a stranger's junk from that
    // address uses up the address's budget, and token holders behind it are unaffected.
    let mut w = world();
    w.vars.retain(|(k, _)| *k != "TURNSTILE_SECRET");
    w.limits.cap = 3;
    let junk = [
        None,
        Some("Bearer not.a.token".to_string()),
        Some(token(r#"{"iat":1,"exp":2}"#)),
    ];
    for (n, auth) in junk.iter().cycle().take(10).enumerate() {
        w.head.authorization = auth.clone();
        let r = run(&w);
        assert_eq!(r.steps, ["key", "limit IP_RATE_LIMITER ip:198.51.100.7"]);
        // Refused either way; once the address's budget is spent, with 429.
        let want = if n < 3 { "token" } else { "rate_limited_ip" };
        assert!(
            r.reason().unwrap().starts_with(want),
            "{n}: {:?}",
            r.reason()
        );
    }
    w.limits.nik_cap = 1000;
    for sub in ["alice", "bob", "carol"] {
        w.head.authorization = Some(bound_token(NIK, Some(sub)));
        let r = run(&w);
        assert_eq!(r.answer.status, 200, "{sub}: {}", r.answer.body);
        assert!(r.steps[1].starts_with("limit SUBJECT_RATE_LIMITER sub:"));
        assert!(r.steps.iter().all(|s| !s.contains("IP_RATE_LIMITER")));
    }
    // A token holder spends its own subject's budget, across addresses.
    w.head.authorization = Some(bound_token(NIK, Some("dave")));
    for n in 0..4 {
        w.head.client_ip = Some(format!("203.0.113.{n}"));
        let want = if n < 3 { 200 } else { 429 };
        assert_eq!(run(&w).answer.status, want);
    }
    assert_eq!(run(&w).reason(), Some("rate_limited_subject"));
}

#[test]
fn anonymous_callers_spend_the_ip_budget_and_a_sent_token_is_still_checked() {
    let mut w = world();
    w.vars = vec![
        ("SANDBOX", "true".into()),
        ("ALLOW_ANONYMOUS", "true".into()),
        ("PROXY_JWT_SECRET", SECRET.into()),
        ("RECEIPT_SIGNING_KEY", TEST_KEY.into()),
    ];
    w.head.authorization = None;
    w.head.origin = None;
    let r = run(&w);
    assert_eq!(r.answer.status, 200, "{}", r.answer.body);
    assert_eq!(r.steps[1], "limit IP_RATE_LIMITER ip:198.51.100.7");
    assert_eq!(r.log["auth"], "anonymous");
    assert_eq!(r.log["level"], "warn");
    assert!(r.log["warnings"]
        .as_array()
        .unwrap()
        .contains(&"anonymous_call".into()));
    w.head.authorization = Some(bound_token(OTHER_NIK, None));
    assert_eq!(run(&w).reason(), Some("token_nik_mismatch"));
    // No secret to check a sent token with: refused, never ignored.
    w.vars.retain(|(k, _)| *k != "PROXY_JWT_SECRET");
    assert_eq!(run(&w).reason(), Some("token_signature"));
}

#[test]
fn bodies_are_forwarded_without_copies_where_possible() {
    let img = image();
    let cases = [
        (format!(r#"{{"image":"{img}","id":"{NIK}"}}"#), "splice"),
        (
            format!(r#"{{"id":"3273-0101-0190-0001","image":"data:image/jpeg;base64,{img}"}}"#),
            "splice",
        ),
        (
            format!(r#"{{"id":"{NIK}","image":"{}"}}"#, img.replace('/', "\\/")),
            "built",
        ),
    ];
    let canonical = format!(r#"{{"id":"{NIK}","image":"{img}"}}"#);
    for (body, _) in cases {
        let mut w = world();
        w.body = body.into_bytes();
        w.head.content_length = Some(w.body.len().to_string());
        let r = run(&w);
        assert_eq!(r.answer.status, 200);
        assert_eq!(r.staged.as_deref(), Some(canonical.as_bytes()));
    }
    // A chunked body over the cap is refused as it streams in.
    let mut w = world();
    w.head.content_length = None;
    w.body = vec![b' '; crate::logic::body::MAX_JSON_BODY + 1];
    assert_eq!(run(&w).reason(), Some("body_too_large"));
    // More bytes than the cap, whatever the declared length said.
    let mut w = world();
    w.head.content_length = Some("10".into());
    w.body = vec![b' '; crate::logic::body::MAX_JSON_BODY + 1];
    assert_eq!(run(&w).reason(), Some("body_too_large"));
}

#[test]
fn upstream_outcomes() {
    let cases = [
        (Called::TooLarge, "upstream_answer_too_large", ErrorCode::UpstreamError),
        (Called::Unreachable, "upstream_unreachable", ErrorCode::UpstreamError),
        (Called::TimedOut, "upstream_timeout", ErrorCode::UpstreamTimeout),
        (
            Called::Answer(401, b"{}".to_vec()),
            "upstream_credentials_rejected",
            ErrorCode::ProxyUpstreamCredentials,
        ),
        (
            Called::Answer(200, br#"{"status":"success","statusCode":"200","result":{"status":"INVALID_REQUEST","message":"who knows"}}"#.to_vec()),
            "upstream_rejected",
            ErrorCode::UpstreamRejected,
        ),
    ];
    for (called, reason, code) in cases {
        let mut w = world();
        w.upstream = called;
        let r = run(&w);
        assert_eq!((r.reason(), r.code()), (Some(reason), Some(code)));
        assert_eq!(r.log["upstream_ms"], 40.0);
        assert_eq!(r.answer.header("transactionId"), Some("txn-1"));
    }
}

#[test]
fn turnstile_outcomes() {
    let cases = [
        (
            Called::Answer(200, br#"{"success":false}"#.to_vec()),
            "turnstile_rejected",
        ),
        (
            Called::Answer(500, br#"{"success":true}"#.to_vec()),
            "turnstile_rejected",
        ),
        (Called::TooLarge, "turnstile_rejected"),
        (Called::Unreachable, "turnstile_unreachable"),
        (Called::TimedOut, "turnstile_unreachable"),
        // Solved on someone else's page.
        (
            Called::Answer(
                200,
                br#"{"success":true,"hostname":"evil.example"}"#.to_vec(),
            ),
            "turnstile_hostname",
        ),
        (
            Called::Answer(
                200,
                br#"{"success":true,"hostname":"kyc.example.co.id.evil.example"}"#.to_vec(),
            ),
            "turnstile_hostname",
        ),
    ];
    for (called, reason) in cases {
        let mut w = world();
        w.siteverify = called;
        let r = run(&w);
        assert_eq!(r.reason(), Some(reason));
        assert!(!r.steps.contains(&"upstream".into()));
    }
    // The Worker's own host counts (the demo page it serves), and the action when it is set.
    let mut w = world();
    w.siteverify = Called::Answer(
        200,
        br#"{"success":true,"hostname":"proxy.example","action":"login"}"#.to_vec(),
    );
    assert_eq!(run(&w).answer.status, 200);
    w.vars.push(("TURNSTILE_ACTION", "kyc".into()));
    assert_eq!(run(&w).reason(), Some("turnstile_action"));
    w.siteverify = Called::Answer(
        200,
        br#"{"success":true,"hostname":"proxy.example","action":"kyc"}"#.to_vec(),
    );
    assert_eq!(run(&w).answer.status, 200);
    let r = run(&world());
    let sv = &r.calls[0];
    assert_eq!(
        sv.body.as_deref(),
        Some("secret=turnstile-secret&response=turnstile-token&remoteip=198.51.100.7&idempotency_key=req-1")
    );
    let mut w = world();
    w.head.turnstile = Some("a b".into());
    assert_eq!(run(&w).reason(), Some("turnstile_missing"));
    let r = run(&w);
    assert!(r
        .answer
        .header("www-authenticate")
        .is_some_and(|h| !h.contains("error=")));
}

/// The public part of a key the glue generated.
fn generated() -> EcPublic {
    EcPublic {
        x: crate::logic::jwt::b64url(&[3; 32]),
        y: crate::logic::jwt::b64url(&[4; 32]),
    }
}

#[test]
fn the_sandbox_answers_from_the_vendors_own_answers() {
    let mut w = world();
    w.vars = vec![
        ("SANDBOX", "true".into()),
        ("PROXY_JWT_SECRET", SECRET.into()),
    ];
    w.head.origin = None;
    w.head.turnstile = None;
    w.key = KeyReply::Generated(generated());
    let r = run(&w);
    assert_eq!(r.answer.status, 200);
    assert_eq!(r.keys, [KeyRequest::Generate]);
    assert!(!r.steps.iter().any(|s| s == "stage" || s == "upstream"));
    let claims = receipt_claims(r.receipt.as_deref().unwrap());
    assert_eq!(
        (claims["sandbox"].as_bool(), claims["outcome"].as_str()),
        (Some(true), Some("match"))
    );
    assert!(r.log["warnings"]
        .as_array()
        .unwrap()
        .contains(&"receipt_key_ephemeral".into()));
    let v: serde_json::Value = serde_json::from_str(&r.answer.body).unwrap();
    assert_eq!(
        (
            v["sandbox"].as_bool(),
            v["result"]["details"]["score"].as_f64()
        ),
        (Some(true), Some(87.5))
    );
    let nik = "3273010101900009";
    w.body = format!(r#"{{"id":"{nik}","image":"{}"}}"#, image()).into_bytes();
    w.head.content_length = Some(w.body.len().to_string());
    w.head.authorization = Some(bound_token(nik, None));
    let r = run(&w);
    // A timeout is not signed, and frees the transaction for the next try.
    assert_eq!(
        r.steps[r.steps.len() - 2..],
        ["wait 15000", "ledger settle"]
    );
    assert_eq!(r.reason(), Some("upstream_timeout"));
    let v: serde_json::Value = serde_json::from_str(&r.answer.body).unwrap();
    assert_eq!(v["sandbox"], true);
}

#[test]
fn other_routes() {
    let mut w = world();
    w.head.method = "OPTIONS".into();
    let r = run(&w);
    assert_eq!(r.answer.status, 204);
    assert_eq!(r.answer.header("access-control-allow-origin"), Some(ORIGIN));
    assert!(r.steps.is_empty());
    w.head.origin = Some("null".into());
    assert_eq!(run(&w).reason(), Some("origin_not_allowed"));
    // A page the Worker serves itself (the demo) calls from the Worker's own origin.
    let mut w = world();
    w.head.origin = Some("https://proxy.example".into());
    assert_eq!(run(&w).answer.status, 200);
    let mut w = world();
    w.head.method = "GET".into();
    w.head.url = "https://proxy.example/healthz".into();
    let r = run(&w);
    assert_eq!(
        (r.answer.status, r.answer.body.as_str()),
        (200, r#"{"status":"ok","ready":true}"#)
    );
    assert_eq!(r.answer.header("transactionId"), None);
    w.head.method = "DELETE".into();
    let r = run(&w);
    assert_eq!(r.answer.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(r.log["path"], "/healthz");
    w.head.url = format!("https://proxy.example/{NIK}?x=1");
    let r = run(&w);
    assert_eq!(
        (r.answer.status, r.log["path"].as_str()),
        (404, Some("<other>"))
    );
}

#[test]
fn the_log_line_holds_no_personal_data() {
    let mut w = world();
    w.head.transaction_id = Some(format!("kyc-{NIK}"));
    w.head.authorization = Some(token(&format!(
        r#"{{"aud":"dukcapil-facematch","jti":"j","iat":{},"exp":{},"txn":"kyc-{NIK}","nik_hmac":"{}"}}"#,
        NOW_MS as i64 / 1000,
        NOW_MS as i64 / 1000 + 60,
        nik_hmac(SECRET.as_bytes(), NIK)
    )));
    let r = run(&w);
    assert_eq!(r.answer.status, 200, "{}", r.answer.body);
    let line = r.log.to_string();
    assert!(!line.contains(NIK), "{line}");
    assert_eq!(r.log["receipt_id"], "rcpt-1");
    // Nor does the receipt, but in the caller's own `txn`: the NIK only as its HMAC.
    let mut claims = receipt_claims(r.receipt.as_deref().unwrap());
    assert_eq!(claims["txn"], format!("kyc-{NIK}").as_str());
    claims["txn"] = "".into();
    let claims = claims.to_string();
    assert!(
        !claims.contains(NIK) && !claims.contains(&NIK[4..14]),
        "{claims}"
    );
    assert_eq!(r.log["transaction_id"], "kyc-3273**********01");
    // The caller gets its own id back unchanged.
    assert_eq!(
        r.answer.header("transactionId"),
        Some(format!("kyc-{NIK}").as_str())
    );
    // A refused NIK: the precise message goes to the caller, never to the log.
    let mut w = world();
    w.body = br#"{"id":"3273x","image":""}"#.to_vec();
    w.head.content_length = None;
    let r = run(&w);
    assert_eq!(r.reason(), Some("nik_refused"));
    assert!(r.answer.body.contains("character 5"));
    assert!(!r.log.to_string().contains("character"));
    // An invalid transactionId is answered with a fresh one and never logged.
    let mut w = world();
    w.head.transaction_id = Some("a\"b".into());
    let r = run(&w);
    assert_eq!(r.answer.header("transactionId"), Some("fresh-txn"));
    assert_eq!(r.log["transaction_id"], "fresh-txn");
}

#[test]
fn missing_or_failing_limiters_are_warned_about_and_do_not_block() {
    let mut w = world();
    w.limits.missing = true;
    let r = run(&w);
    assert_eq!(r.answer.status, 200);
    assert!(r.log["warnings"]
        .as_array()
        .unwrap()
        .contains(&"rate_limiter_missing".into()));
}

#[test]
fn a_reply_to_the_wrong_step_is_refused_not_trusted() {
    let cfg = Config::from_lookup(|k| match k {
        "HV_APP_ID" | "HV_APP_KEY" | "PROXY_JWT_SECRET" => Some(SECRET.into()),
        "RECEIPT_SIGNING_KEY" => Some(TEST_KEY.into()),
        _ => None,
    });
    let w = world();
    let ctx = Context {
        request_id: "r".into(),
        fresh_transaction_id: "t".into(),
        receipt_id: "rc".into(),
        now_ms: NOW_MS,
    };
    let head = Head {
        origin: None,
        ..w.head.clone()
    };
    let mut p = Pipeline::new(&cfg, head.clone(), ctx.clone());
    assert!(matches!(p.start(), Step::LoadKey(KeyRequest::Import(_))));
    // A generated key for a configured one is not the key that was asked for.
    assert!(matches!(
        p.resume(Reply::Key(KeyReply::Generated(generated()))),
        Step::Finish
    ));
    assert!(p.finish(1.0, None).1.contains(r#""reason":"out_of_step""#));
    let mut p = Pipeline::new(&cfg, head, ctx);
    assert!(matches!(p.start(), Step::LoadKey(_)));
    assert!(matches!(
        p.resume(Reply::Key(KeyReply::Imported)),
        Step::RateLimit { .. }
    ));
    // The glue claims to have read a body while a rate limiter was asked.
    assert!(matches!(
        p.resume(Reply::Body(BodyReply::Read(b"{}"))),
        Step::Finish
    ));
    let (answer, log) = p.finish(1.0, None);
    assert_eq!(answer.status, 500);
    assert!(log.contains(r#""reason":"out_of_step""#));
    // And a reply after the end.
    assert!(matches!(p.resume(Reply::Staged), Step::Finish));
}

/// The upstream answers, and whether the proxy vouches for each with a receipt.
const OUTCOMES: &[(&str, u16, &str, Option<&str>)] = &[
    ("200-match", 200, "", Some("match")),
    ("200-nomatch", 200, "", Some("no_match")),
    (
        "200-face-fail",
        422,
        "FACE_NOT_DETECTED",
        Some("FACE_NOT_DETECTED"),
    ),
    ("200-nik-invalid", 422, "NIK_INVALID", Some("NIK_INVALID")),
    (
        "200-too-large",
        413,
        "IMAGE_TOO_LARGE",
        Some("IMAGE_TOO_LARGE"),
    ),
    (
        "423-multiple-faces",
        422,
        "MULTIPLE_FACES",
        Some("MULTIPLE_FACES"),
    ),
    ("400-image-type", 415, "IMAGE_TYPE", Some("IMAGE_TYPE")),
    (
        "400-image-missing",
        400,
        "IMAGE_MISSING",
        Some("IMAGE_MISSING"),
    ),
    ("401-unauthorized", 502, "PROXY_UPSTREAM_CREDENTIALS", None),
    ("429-rate-limited", 429, "UPSTREAM_RATE_LIMITED", None),
    ("503-busy", 503, "UPSTREAM_BUSY", None),
    ("500-server-error", 502, "UPSTREAM_ERROR", None),
];

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../tests/fixtures/upstream/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_verdict_and_definitive_refusal_carries_a_receipt_and_nothing_else_does() {
    for &(name, status, code, outcome) in OUTCOMES {
        let mut w = world();
        let upstream_status = name[..3].parse().unwrap();
        w.upstream = Called::Answer(upstream_status, fixture(name));
        let r = run(&w);
        assert_eq!(r.answer.status, status, "{name}: {}", r.answer.body);
        let body = r.body();
        if !code.is_empty() {
            assert_eq!(body["error"]["code"], code, "{name}");
        }
        assert_eq!(
            r.steps.contains(&"sign".into()),
            outcome.is_some(),
            "{name}"
        );
        let Some(outcome) = outcome else {
            assert!(
                body.get("receipt").is_none() && r.receipt.is_none(),
                "{name}"
            );
            continue;
        };
        let receipt = body["receipt"].as_str().unwrap();
        assert_eq!(r.receipt.as_deref(), Some(receipt));
        let c = receipt_claims(receipt);
        let now = (NOW_MS / 1000.0) as i64;
        // The upstream took 40 ms: still the same second.
        assert_eq!(
            (c["iat"].as_i64(), c["exp"].as_i64()),
            (Some(now), Some(now + 900))
        );
        assert_eq!(c["outcome"], outcome, "{name}");
        assert_eq!(c["iss"], "dukcapil-facematch");
        assert_eq!(
            (c["sub"].as_str(), c["aud"].as_str()),
            (Some("alice"), Some("bank"))
        );
        assert_eq!(
            (c["jti"].as_str(), c["token_jti"].as_str()),
            (Some("rcpt-1"), Some("tok-1"))
        );
        assert_eq!(
            (c["txn"].as_str(), c["request_id"].as_str()),
            (Some("txn-1"), Some("req-1"))
        );
        assert_eq!(c["nik_hmac"], nik_hmac(SECRET.as_bytes(), NIK).as_str());
        assert_eq!(c["sandbox"], false);
        assert!(c["hv_request_id"].is_string(), "{name}: {c}");
        match outcome {
            "match" => assert_eq!(
                (c["match"].as_bool(), c["score"].as_f64()),
                (Some(true), Some(87.5))
            ),
            "no_match" => assert_eq!(c["match"], false),
            _ => assert!(c.get("match").is_none() && c.get("score").is_none()),
        }
        let header: serde_json::Value =
            serde_json::from_slice(&b64url_decode(receipt.split('.').next().unwrap()).unwrap())
                .unwrap();
        assert_eq!(
            header,
            serde_json::json!({
                "alg": "ES256",
                "kid": crate::logic::receipt::read_signing_key(TEST_KEY).unwrap().public.thumbprint(),
                "typ": "dukcapil-receipt+jwt",
            })
        );
    }
    // Refusals before the upstream never get one.
    let mut w = world();
    w.body = format!(r#"{{"id":"3273010101900000","image":"{}"}}"#, image()).into_bytes();
    w.head.content_length = None;
    let r = run(&w);
    assert_eq!(r.reason(), Some("nik_refused"));
    assert!(r.receipt.is_none() && r.body().get("receipt").is_none());
    for called in [Called::TimedOut, Called::Unreachable, Called::TooLarge] {
        let mut w = world();
        w.upstream = called;
        let r = run(&w);
        assert!(r.receipt.is_none() && !r.steps.contains(&"sign".into()));
    }
}

#[test]
fn the_receipt_names_only_what_the_caller_token_had() {
    // An anonymous sandbox without a secret: no sub, aud, token_jti or nik_hmac.
    let mut w = world();
    w.vars = vec![
        ("SANDBOX", "true".into()),
        ("ALLOW_ANONYMOUS", "true".into()),
    ];
    w.head.authorization = None;
    w.head.turnstile = None;
    w.head.origin = None;
    w.key = KeyReply::Generated(generated());
    let r = run(&w);
    let c = receipt_claims(r.receipt.as_deref().unwrap());
    for absent in ["sub", "aud", "token_jti", "nik_hmac"] {
        assert!(c.get(absent).is_none(), "{absent}: {c}");
    }
    assert_eq!(
        r.steps[3],
        format!("limit NIK_RATE_LIMITER nik-sha256:{}", sha256_hex(NIK))
    );
    // Issuer and lifetime from the configuration.
    let mut w = world();
    w.vars
        .push(("RECEIPT_ISSUER", "https://verify.example".into()));
    w.vars.push(("RECEIPT_TTL_SECONDS", "120".into()));
    let c = receipt_claims(run(&w).receipt.as_deref().unwrap());
    assert_eq!(c["iss"], "https://verify.example");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 120);
}

#[test]
fn an_unusable_key_fails_closed_before_anything_is_spent() {
    let mut w = world();
    w.key = KeyReply::Failed;
    let r = run(&w);
    assert_eq!(
        (r.answer.status, r.reason()),
        (500, Some("receipt_key_invalid"))
    );
    assert_eq!(r.steps, ["key"]);
    // No key outside the sandbox: refused before even asking for one.
    let mut w = world();
    w.vars.retain(|(k, _)| *k != "RECEIPT_SIGNING_KEY");
    let r = run(&w);
    assert_eq!(
        (r.answer.status, r.reason()),
        (500, Some("receipt_key_missing"))
    );
    assert!(r.steps.is_empty());
    // A signature that fails after the upstream call: no unsigned outcome goes out.
    for bad in [None, Some(vec![1; 70])] {
        let mut w = world();
        w.signature = bad;
        let r = run(&w);
        assert_eq!(
            (r.answer.status, r.reason()),
            (500, Some("receipt_signing_failed"))
        );
        let body = r.body();
        assert!(body.get("receipt").is_none() && body.get("result").is_none());
        assert!(r.steps.contains(&"upstream".into()));
    }
}

#[test]
fn the_jwks_publishes_the_current_and_previous_keys_to_anyone() {
    let previous = r#"{"kty":"EC","crv":"P-256","x":"AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM","y":"BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ"}"#;
    let mut w = world();
    w.vars
        .push(("RECEIPT_SIGNING_KEY_PREVIOUS", previous.into()));
    w.head.method = "GET".into();
    w.head.url = "https://proxy.example/.well-known/jwks.json".into();
    w.head.origin = Some("https://anyone.example".into());
    let r = run(&w);
    assert_eq!(r.answer.status, 200, "{}", r.answer.body);
    assert_eq!(r.steps, ["key"]);
    assert_eq!(r.answer.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.answer.header("cache-control"),
        Some("public, max-age=300")
    );
    let keys = r.body()["keys"].as_array().unwrap().clone();
    let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    let current = crate::logic::receipt::read_signing_key(TEST_KEY)
        .unwrap()
        .public;
    assert_eq!(kids, [current.thumbprint(), generated().thumbprint()]);
    assert!(keys.iter().all(|k| k.get("d").is_none()));
    assert!(!r.answer.body.contains("oppT"));
    assert_eq!(r.log["path"], "/.well-known/jwks.json");
    // The sandbox's own key is published as it was made.
    let mut w = world();
    w.vars = vec![
        ("SANDBOX", "true".into()),
        ("ALLOW_ANONYMOUS", "true".into()),
    ];
    w.head.method = "GET".into();
    w.head.url = "https://proxy.example/.well-known/jwks.json".into();
    w.key = KeyReply::Generated(generated());
    let r = run(&w);
    assert_eq!(
        r.body()["keys"][0]["kid"],
        generated().thumbprint().as_str()
    );
    // A broken key configuration publishes nothing.
    w.vars.push(("RECEIPT_SIGNING_KEY", "{}".into()));
    assert_eq!(run(&w).reason(), Some("receipt_key_invalid"));
}

#[test]
fn token_rules_at_the_door() {
    let now = (NOW_MS / 1000.0) as i64;
    let hmac = nik_hmac(SECRET.as_bytes(), NIK);
    let claims = |extra: &str| token(&format!(r#"{{"iat":{now},"exp":{}{extra}}}"#, now + 300));
    let cases = [
        (
            claims(&format!(r#","jti":"j","txn":"txn-1","nik_hmac":"{hmac}""#)),
            "token_audience",
        ),
        (
            claims(&format!(
                r#","aud":"someone-else","jti":"j","txn":"txn-1","nik_hmac":"{hmac}""#
            )),
            "token_audience",
        ),
        (
            claims(&format!(
                r#","aud":"dukcapil-facematch","txn":"txn-1","nik_hmac":"{hmac}""#
            )),
            "token_incomplete",
        ),
        (
            claims(&format!(
                r#","aud":"dukcapil-facematch","jti":"j","nik_hmac":"{hmac}""#
            )),
            "token_incomplete",
        ),
        (
            claims(r#","aud":"dukcapil-facematch","jti":"j","txn":"txn-1""#),
            "token_nik_unbound",
        ),
        (
            claims(&format!(
                r#","aud":"dukcapil-facematch","jti":"j","txn":"txn-1","nik_sha256":"{}""#,
                sha256_hex(NIK)
            )),
            "token_nik_unbound",
        ),
    ];
    for (t, reason) in cases {
        let mut w = world();
        w.head.authorization = Some(t);
        let r = run(&w);
        assert_eq!(r.reason(), Some(reason));
        assert!(!r.steps.contains(&"read".into()), "{reason}");
    }
    // REQUIRE_NIK_BINDING=false lets an unbound token through, with a warning on each line.
    let mut w = world();
    w.vars.push(("REQUIRE_NIK_BINDING", "false".into()));
    w.head.authorization = Some(claims(
        r#","aud":"dukcapil-facematch","jti":"j","txn":"txn-1""#,
    ));
    let r = run(&w);
    assert_eq!(r.answer.status, 200, "{}", r.answer.body);
    assert!(r.log["warnings"]
        .as_array()
        .unwrap()
        .contains(&"nik_binding_off".into()));
    // A NIK's budget is its own, whichever subject asks.
    let mut w = world();
    w.vars.retain(|(k, _)| *k != "TURNSTILE_SECRET");
    w.limits.nik_cap = 2;
    for (n, sub) in ["a", "b", "c"].iter().enumerate() {
        w.head.authorization = Some(bound_token(NIK, Some(sub)));
        let r = run(&w);
        let want = if n < 2 {
            None
        } else {
            Some("rate_limited_nik")
        };
        assert_eq!(r.reason(), want, "{sub}");
    }
    assert_eq!(run(&w).answer.header("retry-after"), Some("60"));
}

#[test]
fn every_check_says_what_it_does() {
    for check in ORDER {
        let what = check.what();
        assert!(
            what.starts_with("**") && what.ends_with('.'),
            "{check:?}: {what}"
        );
    }
    assert_eq!(MAX_SITEVERIFY_ANSWER, 65_536);
}

#[test]
fn a_body_of_exactly_the_cap_is_read_and_one_byte_more_is_not() {
    let mut w = world();
    let cap = BodyKind::Json.cap();
    w.body.resize(cap, b' ');
    w.head.content_length = Some(cap.to_string());
    let r = run(&w);
    assert_eq!(r.answer.status, 200, "{}", r.answer.body);
    w.body.push(b' ');
    w.head.content_length = None;
    let r = run(&w);
    assert_eq!(r.reason(), Some("body_too_large"));
}

/// The Turnstile and upstream calls, and the sandbox's simulated timeout, wait exactly the
/// configured (clamped) `UPSTREAM_TIMEOUT_MS`; `io.js` hands that number to the abort timer
/// (tests/proxy/io.test.mjs). Together they stand for "the timeout is the configured one",
/// which no clock in a test has to measure.
#[test]
fn every_wait_is_the_configured_timeout() {
    for (set, want) in [("750", 750), ("99", 100), ("60001", 60_000)] {
        let mut w = world();
        w.vars.push(("UPSTREAM_TIMEOUT_MS", set.into()));
        let r = run(&w);
        assert_eq!(r.answer.status, 200, "{}", r.answer.body);
        let waits: Vec<u32> = r.calls.iter().map(|c| c.timeout_ms).collect();
        assert_eq!(waits, [want, want], "UPSTREAM_TIMEOUT_MS={set}");
        w.upstream = Called::TimedOut;
        assert_eq!(run(&w).reason(), Some("upstream_timeout"));

        let nik = "3273010101900009"; // the sandbox's timeout serial
        let mut w = world();
        w.vars = vec![
            ("SANDBOX", "true".into()),
            ("PROXY_JWT_SECRET", SECRET.into()),
            ("UPSTREAM_TIMEOUT_MS", set.into()),
        ];
        w.head.origin = None;
        w.head.turnstile = None;
        w.key = KeyReply::Generated(generated());
        w.body = format!(r#"{{"id":"{nik}","image":"{}"}}"#, image()).into_bytes();
        w.head.content_length = Some(w.body.len().to_string());
        w.head.authorization = Some(bound_token(nik, None));
        let r = run(&w);
        let waits: Vec<&String> = r.steps.iter().filter(|s| s.starts_with("wait")).collect();
        assert_eq!(waits, [&format!("wait {want}")], "{:?}", r.steps);
        assert_eq!(r.reason(), Some("upstream_timeout"));
    }
}

// ---- the transaction ledger -------------------------------------------------------------

fn ledger_world() -> World {
    let mut w = world();
    w.ledger = Ledger::persistent();
    w.vars.retain(|(k, _)| *k != "TURNSTILE_SECRET");
    w
}

fn upstream_calls(r: &Run) -> usize {
    r.steps.iter().filter(|s| *s == "upstream").count()
}

#[test]
fn a_finished_transaction_is_replayed_with_its_receipt_and_no_upstream_call() {
    let w = ledger_world();
    let first = run(&w);
    assert_eq!(first.answer.status, 200, "{}", first.answer.body);
    assert_eq!(first.answer.header("idempotent-replayed"), None);
    assert_eq!(first.log["ledger"], "settled");
    assert_eq!(first.log["attempt"], 1);
    // A settle the ledger acknowledged is not logged as failed.
    assert_eq!(first.log["level"], "info", "{}", first.log);
    assert_eq!(
        first.log["warnings"],
        serde_json::Value::Null,
        "{}",
        first.log
    );
    let record = w.ledger.record().unwrap();
    assert_eq!((record.state, record.attempts), (ledger::State::Done, 1));
    assert_eq!(record.owner.as_deref(), Some("alice"));
    // It keeps the outcome, the score and the receipt: no NIK, image or token.
    let kept = serde_json::to_string(&record).unwrap();
    for secret in [NIK, &image(), w.head.authorization.as_deref().unwrap()] {
        assert!(!kept.contains(secret), "{kept}");
    }
    for _ in 0..3 {
        let again = run(&w);
        assert_eq!(upstream_calls(&again), 0, "{:?}", again.steps);
        assert!(!again.steps.contains(&"sign".into()));
        assert_eq!(again.answer.status, 200);
        assert_eq!(again.answer.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.body()["receipt"], first.body()["receipt"]);
        assert_eq!(
            again.body()["result"]["details"],
            first.body()["result"]["details"]
        );
        assert_eq!(again.log["ledger"], "replayed");
    }
}

#[test]
fn a_definitive_refusal_is_replayed_too() {
    let mut w = ledger_world();
    w.upstream = Called::Answer(200, fixture("200-nik-invalid"));
    let first = run(&w);
    assert_eq!(first.code(), Some(ErrorCode::NikInvalid));
    let again = run(&w);
    assert_eq!(upstream_calls(&again), 0);
    assert_eq!(again.code(), Some(ErrorCode::NikInvalid));
    assert_eq!(again.answer.status, first.answer.status);
    assert_eq!(again.body()["receipt"], first.body()["receipt"]);
    assert_eq!(again.answer.header("idempotent-replayed"), Some("true"));
}

#[test]
fn retryable_failures_free_the_transaction_until_the_attempts_run_out() {
    let mut w = ledger_world();
    for (upstream, code) in [
        (Called::TimedOut, ErrorCode::UpstreamTimeout),
        (
            Called::Answer(503, BUSY.as_bytes().to_vec()),
            ErrorCode::UpstreamBusy,
        ),
        (Called::Unreachable, ErrorCode::UpstreamError),
    ] {
        w.upstream = upstream;
        let r = run(&w);
        assert_eq!((upstream_calls(&r), r.code()), (1, Some(code)));
        assert_eq!(w.ledger.record().unwrap().state, ledger::State::New);
    }
    w.upstream = Called::Answer(200, MATCH.as_bytes().to_vec());
    let r = run(&w);
    assert_eq!(upstream_calls(&r), 0);
    assert_eq!(r.code(), Some(ErrorCode::TransactionAttemptsExhausted));
    assert_eq!(r.answer.status, 409);
    assert_eq!(r.answer.header("retry-after"), None);
    assert!(!ErrorCode::TransactionAttemptsExhausted.retryable());
}

#[test]
fn a_transaction_in_flight_answers_409_with_retry_after_and_calls_nothing() {
    let w = ledger_world();
    let claim = ledger::Request::Claim {
        owner: Some("alice".into()),
        nik_hmac: Some(nik_hmac(SECRET.as_bytes(), NIK)),
        lease_ms: 20_000,
        max_attempts: 3,
        ttl_s: 60,
    };
    w.ledger
        .ask("txn-1", &serde_json::to_string(&claim).unwrap());
    let r = run(&w);
    assert_eq!(upstream_calls(&r), 0);
    assert_eq!(r.code(), Some(ErrorCode::TransactionInProgress));
    assert_eq!(
        (r.answer.status, r.answer.header("retry-after")),
        (409, Some("1"))
    );
    assert!(ErrorCode::TransactionInProgress.retryable());
    // Once the lease runs out (the isolate died), the next try calls.
    if let Ledger::Working { now_ms, .. } = &w.ledger {
        now_ms.set(NOW_MS + 20_000.0);
    }
    let r = run(&w);
    assert_eq!((upstream_calls(&r), r.answer.status), (1, 200));
    assert_eq!(r.log["attempt"], 2);
}

#[test]
fn another_sub_or_nik_cannot_claim_the_transaction() {
    let mut w = ledger_world();
    assert_eq!(run(&w).answer.status, 200);
    for (nik, sub, reason) in [
        (NIK, Some("bob"), "transaction_owner"),
        (NIK, None, "transaction_owner"),
        (OTHER_NIK, Some("alice"), "transaction_nik"),
    ] {
        w.body = format!(r#"{{"id":"{nik}","image":"{}"}}"#, image()).into_bytes();
        w.head.content_length = Some(w.body.len().to_string());
        w.head.authorization = Some(bound_token(nik, sub));
        let r = run(&w);
        assert_eq!(r.reason(), Some(reason));
        assert_eq!((r.answer.status, upstream_calls(&r)), (403, 0));
        assert_eq!(r.code(), Some(ErrorCode::TransactionForbidden));
        assert!(r.body().get("receipt").is_none());
    }
}

#[test]
fn without_a_working_ledger_nothing_is_forwarded() {
    for (ledger, reason) in [
        (Ledger::Missing, "ledger_missing"),
        (Ledger::Failed, "ledger_failed"),
        (
            Ledger::Script(RefCell::new(["not json"].into())),
            "ledger_failed",
        ),
        (
            Ledger::Script(RefCell::new([r#""settled""#].into())),
            "ledger_failed",
        ),
        (
            Ledger::Script(RefCell::new([r#""unknown""#].into())),
            "ledger_failed",
        ),
    ] {
        let mut w = world();
        w.ledger = ledger;
        let r = run(&w);
        assert_eq!(r.reason(), Some(reason));
        assert_eq!((r.answer.status, upstream_calls(&r)), (503, 0));
        assert_eq!(r.code(), Some(ErrorCode::LedgerUnavailable));
        assert_eq!(r.answer.header("retry-after"), Some("2"));
    }
    // The sandbox goes through the ledger as well.
    let mut w = world();
    w.vars = vec![
        ("SANDBOX", "true".into()),
        ("PROXY_JWT_SECRET", SECRET.into()),
    ];
    w.head.origin = None;
    w.key = KeyReply::Generated(generated());
    w.ledger = Ledger::Missing;
    assert_eq!(run(&w).reason(), Some("ledger_missing"));
}

#[test]
fn an_outcome_in_hand_is_answered_whatever_the_settling_says() {
    let claimed = r#"{"claimed":{"attempt":1}}"#;
    // The ledger failing after the billed call: the verdict is answered, with a warning.
    for second in ["nonsense", r#""in_progress""#] {
        let mut w = world();
        w.ledger = Ledger::Script(RefCell::new([claimed, second].into()));
        let r = run(&w);
        assert_eq!(r.answer.status, 200, "{second}");
        assert!(r.body()["receipt"].is_string());
        assert!(r.log["warnings"]
            .to_string()
            .contains("ledger_settle_failed"));
    }
    // Another attempt finished first: its outcome and receipt are the answer.
    let mut w = world();
    w.ledger = Ledger::Script(RefCell::new(
        [
            claimed,
            r#"{"done":{"outcome":{"outcome":"no_match","score":12.5,"receipt":"x.y.z"}}}"#,
        ]
        .into(),
    ));
    let r = run(&w);
    assert_eq!(upstream_calls(&r), 1);
    assert_eq!(r.body()["receipt"], "x.y.z");
    assert_eq!(r.body()["result"]["details"]["match"], false);
    assert_eq!(r.body()["result"]["details"]["score"], 12.5);
    assert_eq!(r.answer.header("idempotent-replayed"), Some("true"));
}

/// A server token for the results endpoint.
fn reader(sub: Option<&str>, scope: Option<&str>) -> String {
    let now = (NOW_MS / 1000.0) as i64;
    let sub = sub.map_or(String::new(), |s| format!(r#","sub":"{s}""#));
    let scope = scope.map_or(String::new(), |s| format!(r#","scope":"{s}""#));
    token(&format!(
        r#"{{"iss":"bank","aud":"dukcapil-facematch","jti":"read-1","iat":{now},"exp":{}{sub}{scope}}}"#,
        now + 60
    ))
}

fn read(w: &mut World, path: &str, authorization: Option<String>) -> Run {
    let verify = w.head.clone();
    w.head = Head {
        method: "GET".into(),
        url: format!("https://proxy.example{path}"),
        origin: Some(ORIGIN.into()),
        authorization,
        client_ip: Some("203.0.113.5".into()),
        ..Head::default()
    };
    let r = run(w);
    w.head = verify;
    r
}

#[test]
fn the_results_endpoint_tells_the_backend_the_state_and_receipt() {
    let mut w = ledger_world();
    let alice = || Some(reader(Some("alice"), Some("transactions:read")));
    let r = read(&mut w, "/v1/transactions/txn-1", alice());
    assert_eq!(
        (r.answer.status, r.reason()),
        (404, Some("transaction_unknown"))
    );
    assert_eq!(r.code(), Some(ErrorCode::TransactionNotFound));
    let verified = run(&w);
    let r = read(&mut w, "/v1/transactions/txn-1", alice());
    assert_eq!(r.answer.status, 200, "{}", r.answer.body);
    assert_eq!(r.body()["state"], "done");
    assert_eq!(r.body()["receipt"], verified.body()["receipt"]);
    assert_eq!(
        r.steps.iter().filter(|s| s.starts_with("ledger")).count(),
        1
    );
    // Server to server: no CORS, even for an allowed origin.
    assert!(r
        .answer
        .headers
        .iter()
        .all(|(k, _)| !k.starts_with("access-control")));
    assert_eq!(r.log["path"], "/v1/transactions/{id}");
    let cases = [
        ("/v1/transactions/txn-1", None, 401, "token_missing"),
        // A browser's caller token, well signed, without the scope.
        (
            "/v1/transactions/txn-1",
            Some(bound_token(NIK, Some("alice"))),
            403,
            "token_scope",
        ),
        (
            "/v1/transactions/txn-1",
            Some(reader(Some("alice"), None)),
            403,
            "token_scope",
        ),
        (
            "/v1/transactions/txn-1",
            Some(reader(Some("bob"), Some("transactions:read"))),
            403,
            "transaction_owner",
        ),
        (
            "/v1/transactions/txn-1",
            Some(reader(None, Some("transactions:read"))),
            403,
            "transaction_owner",
        ),
        (
            "/v1/transactions/a%20b",
            alice(),
            400,
            "transaction_id_invalid",
        ),
        ("/v1/transactions/", alice(), 400, "transaction_id_invalid"),
        (
            "/v1/transactions/txn-2",
            alice(),
            404,
            "transaction_unknown",
        ),
    ];
    for (path, auth, status, reason) in cases {
        let r = read(&mut w, path, auth);
        assert_eq!(
            (r.answer.status, r.reason()),
            (status, Some(reason)),
            "{path}"
        );
        assert!(r
            .answer
            .headers
            .iter()
            .all(|(k, _)| !k.starts_with("access-control")));
        assert!(!r.steps.contains(&"upstream".into()));
    }
    let r = read(
        &mut w,
        "/v1/transactions/txn-1",
        Some(reader(Some("alice"), None)),
    );
    assert_eq!(r.code(), Some(ErrorCode::Forbidden));
    // Anonymous reads are refused even in an anonymous sandbox.
    w.vars = vec![
        ("SANDBOX", "true".into()),
        ("ALLOW_ANONYMOUS", "true".into()),
        ("PROXY_JWT_SECRET", SECRET.into()),
    ];
    let r = read(&mut w, "/v1/transactions/txn-1", None);
    assert_eq!((r.answer.status, r.reason()), (401, Some("token_missing")));
}
