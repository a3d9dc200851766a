//! The pipeline driven natively, with every I/O step answered from a scripted world.

use super::*;
use crate::logic::jwt::{sha256_hex, sign_hs256};
use dukcapil_core::{image::encode_base64, ErrorCode};
use std::{cell::RefCell, collections::HashMap};

const SECRET: &str = "test-secret-0123456789abcdef0123456789";
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

fn bound_token(nik: &str, sub: Option<&str>) -> String {
    let now = (NOW_MS / 1000.0) as i64;
    let sub = sub.map_or(String::new(), |s| format!(r#","sub":"{s}""#));
    token(&format!(
        r#"{{"iat":{now},"exp":{},"nik_sha256":"{}","txn":"txn-1"{sub}}}"#,
        now + 300,
        sha256_hex(nik)
    ))
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

/// Rate limiting bindings that count per key, `cap` per key.
struct Limits {
    cap: u32,
    counts: RefCell<HashMap<String, u32>>,
    missing: bool,
}

impl Limits {
    fn ask(&self, key: &str) -> LimitReply {
        if self.missing {
            return LimitReply::Missing { first: true };
        }
        let mut counts = self.counts.borrow_mut();
        let n = counts.entry(key.to_string()).or_insert(0);
        *n += 1;
        if *n > self.cap {
            LimitReply::Limited
        } else {
            LimitReply::Allowed
        }
    }
}

/// A request, the configuration and everything the outside world will answer.
struct World {
    vars: Vec<(&'static str, String)>,
    head: Head,
    body: Vec<u8>,
    limits: Limits,
    siteverify: Called,
    upstream: Called,
}

fn world() -> World {
    let body = format!(r#"{{"id":"{NIK}","image":"{}"}}"#, image()).into_bytes();
    World {
        vars: vec![
            ("HV_APP_ID", "app-id".into()),
            ("HV_APP_KEY", "app-key".into()),
            ("PROXY_JWT_SECRET", SECRET.into()),
            ("ALLOWED_ORIGINS", ORIGIN.into()),
            ("TURNSTILE_SECRET", "turnstile-secret".into()),
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
            counts: RefCell::default(),
            missing: false,
        },
        siteverify: Called::Answer(200, br#"{"success":true}"#.to_vec()),
        upstream: Called::Answer(200, MATCH.as_bytes().to_vec()),
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
}

impl Run {
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
        now_ms: NOW_MS,
    };
    let mut p = Pipeline::new(&cfg, w.head.clone(), ctx);
    let (mut steps, mut staged, mut calls) = (Vec::new(), None, Vec::new());
    let mut step = p.start();
    for _ in 0..ORDER.len() * 2 {
        step = match step {
            Step::RateLimit { limiter, key } => {
                steps.push(format!("limit {} {key}", limiter.binding()));
                p.resume(Reply::Limit(w.limits.ask(&key)))
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
            Step::Finish => break,
        };
    }
    let (answer, log) = p.finish(50.0, Some(1 << 20));
    Run {
        answer,
        log: serde_json::from_str(&log).unwrap(),
        steps,
        staged,
        calls,
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
            format!("limit SUBJECT_RATE_LIMITER sub:{}", sha256_hex("alice")),
            "read".into(),
            "stage".into(),
            "siteverify".into(),
            "upstream".into(),
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
    (Check::Turnstile, |w| w.head.turnstile = None),
    (Check::Upstream, |w| {
        w.upstream = Called::Answer(503, BUSY.as_bytes().to_vec())
    }),
];

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
        Reason::UpstreamNotConfigured | Reason::AuthNotConfigured | Reason::ClockUnusable => {
            Check::Configured
        }
        Reason::RateLimitedIp | Reason::RateLimitedSubject => Check::RateLimit,
        Reason::TokenNikMismatch => Check::NikBinding,
        Reason::TokenMissing
        | Reason::TokenMalformed
        | Reason::TokenAlgorithm
        | Reason::TokenSignature
        | Reason::TokenExpired
        | Reason::TokenNotYetValid
        | Reason::TokenLifetime
        | Reason::TokenTxnMismatch => Check::Token,
        Reason::ContentTypeUnsupported | Reason::ContentTypeInvalid => Check::ContentType,
        Reason::DeclaredTooLarge | Reason::DeclaredLengthInvalid => Check::DeclaredLength,
        Reason::BodyTooLarge
        | Reason::BodyReadFailed
        | Reason::BodyMalformed
        | Reason::NikRefused
        | Reason::ImageRefused => Check::Body,
        Reason::TurnstileMissing | Reason::TurnstileRejected | Reason::TurnstileUnreachable => {
            Check::Turnstile
        }
        Reason::UpstreamRefused
        | Reason::UpstreamRejected
        | Reason::UpstreamCredentialsRejected
        | Reason::UpstreamRateLimited
        | Reason::UpstreamBusy
        | Reason::UpstreamError
        | Reason::UpstreamAnswerTooLarge
        | Reason::UpstreamUnreachable
        | Reason::UpstreamTimeout => Check::Upstream,
        Reason::OutOfStep => panic!("out of step"),
    }
}

#[test]
fn each_check_refuses_on_its_own_and_nothing_after_it_runs() {
    assert_eq!(
        BREAKERS.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        ORDER,
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
        if *check != Check::Upstream {
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
        assert_eq!(r.steps, ["limit IP_RATE_LIMITER ip:198.51.100.7"]);
        // Refused either way; once the address's budget is spent, with 429.
        let want = if n < 3 { "token" } else { "rate_limited_ip" };
        assert!(
            r.reason().unwrap().starts_with(want),
            "{n}: {:?}",
            r.reason()
        );
    }
    for sub in ["alice", "bob", "carol"] {
        w.head.authorization = Some(bound_token(NIK, Some(sub)));
        let r = run(&w);
        assert_eq!(r.answer.status, 200, "{sub}: {}", r.answer.body);
        assert!(r.steps[0].starts_with("limit SUBJECT_RATE_LIMITER sub:"));
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
        ("HV_APP_ID", "a".into()),
        ("HV_APP_KEY", "k".into()),
        ("ALLOW_ANONYMOUS", "true".into()),
        ("PROXY_JWT_SECRET", SECRET.into()),
    ];
    w.head.authorization = None;
    w.head.origin = None;
    let r = run(&w);
    assert_eq!(r.answer.status, 200, "{}", r.answer.body);
    assert_eq!(r.steps[0], "limit IP_RATE_LIMITER ip:198.51.100.7");
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
    ];
    for (called, reason) in cases {
        let mut w = world();
        w.siteverify = called;
        let r = run(&w);
        assert_eq!(r.reason(), Some(reason));
        assert!(!r.steps.contains(&"upstream".into()));
    }
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

#[test]
fn the_sandbox_answers_from_the_vendors_own_answers() {
    let mut w = world();
    w.vars = vec![
        ("SANDBOX", "true".into()),
        ("PROXY_JWT_SECRET", SECRET.into()),
    ];
    w.head.origin = None;
    w.head.turnstile = None;
    let r = run(&w);
    assert_eq!(r.answer.status, 200);
    assert!(!r.steps.iter().any(|s| s == "stage" || s == "upstream"));
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
    assert_eq!(r.steps.last().map(String::as_str), Some("wait 15000"));
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
        r#"{{"iat":{},"exp":{},"txn":"kyc-{NIK}"}}"#,
        NOW_MS as i64 / 1000,
        NOW_MS as i64 / 1000 + 60
    )));
    let r = run(&w);
    assert_eq!(r.answer.status, 200, "{}", r.answer.body);
    let line = r.log.to_string();
    assert!(!line.contains(NIK), "{line}");
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
        _ => None,
    });
    let w = world();
    let ctx = Context {
        request_id: "r".into(),
        fresh_transaction_id: "t".into(),
        now_ms: NOW_MS,
    };
    let mut p = Pipeline::new(
        &cfg,
        Head {
            origin: None,
            ..w.head.clone()
        },
        ctx,
    );
    assert!(matches!(p.start(), Step::RateLimit { .. }));
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
