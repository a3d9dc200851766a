//! One request's way through the proxy, as a state machine the Worker glue drives.
//!
//! Every decision is here: the order of the checks ([`ORDER`]), who may pass, which budget a
//! caller spends, and which refusal and log reason come back. The glue only performs the I/O a
//! [`Step`] asks for (ask a rate limiter, read the body, call siteverify or the upstream, wait)
//! and hands the result back as a [`Reply`]:
//!
//! ```text
//! let mut step = pipeline.start();
//! loop {
//!     step = match step {
//!         Step::RateLimit { .. } => pipeline.resume(Reply::Limit(/* ask the binding */)),
//!         /* … one arm per step … */
//!         Step::Finish => break,
//!     };
//! }
//! let (answer, log_line) = pipeline.finish(total_ms, wasm_memory_bytes);
//! ```
//!
//! A new kind of I/O (signing a receipt, claiming a transaction in a Durable Object) is a new
//! [`Check`] in [`ORDER`], a new [`Step`] and [`Reply`] pair, and new [`Reason`]s.

use crate::logic::{
    answer::{self, Answer},
    auth::{self, Caller, Limiter},
    body::{
        check_body, check_content_length, classify_content_type, BodyKind, BodyLimit, UpstreamBody,
    },
    config::{Backend, Config},
    cors::{check_origin, origin_of, OriginCheck},
    jwt,
    log::{log_method, safe_upstream_id, LogLine},
    refusal::{Reason, Refusal},
    route::{path_of, route, Route},
    sandbox,
    time::today_in_indonesia,
    txn,
    upstream::{interpret, upstream_headers, MAX_UPSTREAM_BODY},
};
use dukcapil_core::{
    contract::{envelope::Meta, MatchResult},
    date::CivilDate,
};

/// The largest siteverify answer read.
pub const MAX_SITEVERIFY_ANSWER: usize = 64 * 1024;

/// The request's method, URL and the headers the proxy reads, as the glue found them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    /// The whole request URL, as the runtime gives it.
    pub url: String,
    pub origin: Option<String>,
    pub transaction_id: Option<String>,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub content_length: Option<String>,
    /// `CF-Connecting-IP`.
    pub client_ip: Option<String>,
    /// `cf-turnstile-response`.
    pub turnstile: Option<String>,
}

/// What the runtime supplies per request.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// A fresh UUID for `x-request-id` and `metaData.requestId`.
    pub request_id: String,
    /// A fresh UUID, used when the caller sends no valid `transactionId`.
    pub fresh_transaction_id: String,
    /// Unix time in milliseconds at the start of the request.
    pub now_ms: f64,
}

/// The checks of `POST /v1/dukcapilWithFacematch`, in the order they run. A request that
/// fails one is refused with its refusal and goes no further, so nothing after it is spent.
/// `OPTIONS` and `/healthz` stop after [`Check::Origin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Route,
    Origin,
    TransactionId,
    Configured,
    RateLimit,
    Token,
    ContentType,
    DeclaredLength,
    Body,
    NikBinding,
    Turnstile,
    Upstream,
}

/// The order. The proxy README's list is made from it (`cargo xtask codegen`).
pub const ORDER: &[Check] = &[
    Check::Route,
    Check::Origin,
    Check::TransactionId,
    Check::Configured,
    Check::RateLimit,
    Check::Token,
    Check::ContentType,
    Check::DeclaredLength,
    Check::Body,
    Check::NikBinding,
    Check::Turnstile,
    Check::Upstream,
];

impl Check {
    /// What the check does and why it sits where it does (for the README).
    pub const fn what(self) -> &'static str {
        match self {
            Check::Route => "**Route**: the exact path and method (`404`, `405`).",
            Check::Origin => "**Origin**: a browser's `Origin` must be the Worker's own or in `ALLOWED_ORIGINS` (`403`). Preflights and `/healthz` are answered here.",
            Check::TransactionId => "**Transaction ID**: a `transactionId` header must follow the rule (`400`); without one the proxy makes a UUID.",
            Check::Configured => "**Configured**: upstream credentials (or the sandbox), a way to authorise callers, a usable clock (`500`, fail closed).",
            Check::RateLimit => "**Rate limit**: a caller with a valid token spends its subject's budget; a caller without one (anonymous, or a missing or bad token) spends its IP's (`429`). The token is checked first, without any I/O, only to pick the budget.",
            Check::Token => "**Token**: no valid token where one is needed (`401`), after its IP budget was spent, so junk from one address is throttled without touching token holders behind the same address.",
            Check::ContentType => "**Content type**: JSON (UTF-8) or multipart with a boundary (`415`, `400`).",
            Check::DeclaredLength => "**Declared length**: `content-length` within the cap (`413`), before any byte is read.",
            Check::Body => "**Body**: read under the cap (`413`), then the core's rules: fields, NIK, then image (`400`, `413`, `415`).",
            Check::NikBinding => "**NIK binding**: a token's `nik_sha256` must be this NIK's (`401`).",
            Check::Turnstile => "**Turnstile**, when on: checked last before the upstream, so an invalid request does not burn the one-time token (`401`, `502`).",
            Check::Upstream => "**Upstream**: the one billed call (or the sandbox), whose answer becomes the verdict or a refusal.",
        }
    }
}

/// A POST the glue makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    /// The body, or `None` for the body staged by [`Step::StageBody`].
    pub body: Option<String>,
    /// Abort the call, answer included, after this long.
    pub timeout_ms: u32,
    /// Read at most this many bytes of the answer.
    pub max_answer: usize,
}

/// What the glue must do next.
#[derive(Debug)]
pub enum Step {
    /// Ask the rate limiting binding about `key`; reply [`Reply::Limit`].
    RateLimit { limiter: Limiter, key: String },
    /// Read the body: in one piece when its length is `declared` (already within the cap),
    /// else streamed and counted by `limit`. Reply [`Reply::Body`].
    ReadBody {
        declared: Option<usize>,
        limit: BodyLimit,
    },
    /// Make the upstream body from the caller's body as described, keep it for the upstream
    /// call (outside wasm memory, so requests that wait on I/O do not each hold a copy there),
    /// and reply [`Reply::Staged`].
    StageBody(UpstreamBody),
    /// POST to Turnstile's siteverify; reply [`Reply::Called`].
    Siteverify(Call),
    /// POST the staged body upstream; reply [`Reply::Called`].
    CallUpstream(Call),
    /// Wait this long (the sandbox's hanging upstream); reply [`Reply::Waited`].
    Wait { ms: u32 },
    /// Done: take the answer and the log line from [`Pipeline::finish`].
    Finish,
}

/// What a rate limiting binding said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitReply {
    Allowed,
    Limited,
    /// The binding is missing. `first` on the isolate's first request that found so.
    Missing {
        first: bool,
    },
    /// The binding failed.
    Failed,
}

/// How reading the body went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyReply<'a> {
    /// The whole body (empty when there was none).
    Read(&'a [u8]),
    /// [`BodyLimit`] refused a chunk.
    TooLarge,
    /// The stream broke off.
    Failed,
}

/// How a call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallReply<'a> {
    Answered {
        status: u16,
        body: &'a [u8],
    },
    /// The answer was longer than `max_answer`.
    TooLarge,
    Unreachable,
    TimedOut,
}

/// The result of a [`Step`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reply<'a> {
    Limit(LimitReply),
    Body(BodyReply<'a>),
    Staged,
    Called { reply: CallReply<'a>, ms: f64 },
    Waited { ms: f64 },
}

/// What a check decided.
enum Flow {
    Next,
    Ask(Step),
    Stop(Refusal),
    /// A complete answer other than a verification (preflight, health).
    Answer(Answer),
}

/// One request's state.
pub struct Pipeline<'c> {
    cfg: &'c Config,
    head: Head,
    ctx: Context,
    today: Option<CivilDate>,
    route: Route,
    origin: OriginCheck,
    /// Set once the transaction ID check ran.
    transaction_id: Option<String>,
    /// Index into [`ORDER`] of the running check.
    at: usize,
    /// What the running check is waiting for.
    awaiting: Option<Awaiting>,
    caller: Option<Caller>,
    kind: Option<BodyKind>,
    declared: Option<usize>,
    nik: Option<String>,
    /// The upstream's verdict or refusal.
    outcome: Option<Result<MatchResult, Refusal>>,
    /// The end, when it came before the upstream.
    end: Option<Result<Answer, Refusal>>,
    upstream_ms: Option<f64>,
    log: LogLine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    Limit(Limiter),
    Body,
    Staged,
    Siteverify,
    Upstream,
    Wait,
}

impl<'c> Pipeline<'c> {
    pub fn new(cfg: &'c Config, head: Head, ctx: Context) -> Pipeline<'c> {
        let origin = check_origin(
            head.origin.as_deref(),
            origin_of(&head.url),
            &cfg.allowed_origins,
        );
        let path = path_of(&head.url);
        let log = LogLine {
            request_id: ctx.request_id.clone(),
            method: log_method(&head.method),
            path: Route::log_path(path),
            origin: origin.log_name(),
            sandbox: cfg.sandbox,
            warnings: cfg.warnings.clone(),
            ..LogLine::default()
        };
        Pipeline {
            today: today_in_indonesia(ctx.now_ms),
            route: route(&head.method, path),
            cfg,
            head,
            ctx,
            origin,
            transaction_id: None,
            at: 0,
            awaiting: None,
            caller: None,
            kind: None,
            declared: None,
            nik: None,
            outcome: None,
            end: None,
            upstream_ms: None,
            log,
        }
    }

    /// The first step.
    pub fn start(&mut self) -> Step {
        self.advance()
    }

    /// The next step, given the result of the last one.
    pub fn resume(&mut self, reply: Reply<'_>) -> Step {
        let Some(awaiting) = self.awaiting.take() else {
            return self.settle(Flow::Stop(Reason::OutOfStep.into()));
        };
        let flow = self.on_reply(awaiting, reply);
        self.settle(flow)
    }

    fn settle(&mut self, flow: Flow) -> Step {
        match flow {
            Flow::Next => {
                self.at += 1;
                self.advance()
            }
            Flow::Ask(step) => step,
            Flow::Stop(refusal) => {
                self.end = Some(Err(refusal));
                Step::Finish
            }
            Flow::Answer(answer) => {
                self.end = Some(Ok(answer));
                Step::Finish
            }
        }
    }

    fn advance(&mut self) -> Step {
        while let Some(&check) = ORDER.get(self.at) {
            match self.run(check) {
                Flow::Next => self.at += 1,
                other => return self.settle(other),
            }
        }
        Step::Finish
    }

    fn ask(&mut self, awaiting: Awaiting, step: Step) -> Flow {
        self.awaiting = Some(awaiting);
        Flow::Ask(step)
    }

    fn warn(&mut self, warning: &'static str) {
        self.log.warnings.push(warning);
    }

    /// The transaction ID once known (the caller's, or a fresh one).
    fn txn(&self) -> &str {
        self.transaction_id.as_deref().unwrap_or("")
    }

    fn run(&mut self, check: Check) -> Flow {
        match check {
            Check::Route => match self.route {
                Route::NotFound => Flow::Stop(Reason::NotFound.into()),
                Route::MethodNotAllowed(_) => Flow::Stop(Reason::MethodNotAllowed.into()),
                _ => Flow::Next,
            },
            Check::Origin => match (&self.origin, self.route) {
                (OriginCheck::Denied, _) => Flow::Stop(Reason::OriginNotAllowed.into()),
                (_, Route::Preflight) => Flow::Answer(answer::preflight(&self.origin)),
                (_, Route::Health) => Flow::Answer(answer::health(self.cfg.ready())),
                _ => Flow::Next,
            },
            Check::TransactionId => {
                match txn::validate_transaction_id(self.head.transaction_id.as_deref()) {
                    Ok(id) => {
                        let id = id.unwrap_or(&self.ctx.fresh_transaction_id).to_string();
                        self.transaction_id = Some(id);
                        Flow::Next
                    }
                    Err(_) => {
                        // Answer with a fresh id rather than echo the invalid one.
                        self.transaction_id = Some(self.ctx.fresh_transaction_id.clone());
                        Flow::Stop(Reason::TransactionIdInvalid.into())
                    }
                }
            }
            Check::Configured => {
                if let Err(reason) = self.cfg.backend().and(self.cfg.authorization()) {
                    return Flow::Stop(reason.into());
                }
                if self.today.is_none() {
                    return Flow::Stop(Reason::ClockUnusable.into());
                }
                Flow::Next
            }
            Check::RateLimit => {
                let Ok(policy) = self.cfg.authorization() else {
                    return Flow::Stop(Reason::AuthNotConfigured.into());
                };
                let now_s = (self.ctx.now_ms / 1000.0).floor() as i64;
                let caller = auth::identify(
                    policy,
                    self.cfg.jwt_secret.as_deref(),
                    self.head.authorization.as_deref(),
                    self.txn(),
                    now_s,
                );
                let (limiter, key) = auth::budget(&caller, self.head.client_ip.as_deref());
                self.log.auth = Some(caller.log_name());
                self.caller = Some(caller);
                self.ask(Awaiting::Limit(limiter), Step::RateLimit { limiter, key })
            }
            Check::Token => match &self.caller {
                Some(Caller::Token(_)) => Flow::Next,
                Some(Caller::Anonymous) => {
                    self.warn("anonymous_call");
                    Flow::Next
                }
                Some(Caller::Rejected(reason)) => Flow::Stop((*reason).into()),
                None => Flow::Stop(Reason::OutOfStep.into()),
            },
            Check::ContentType => match classify_content_type(self.head.content_type.as_deref()) {
                Ok(kind) => {
                    self.log.body = Some(kind.log_name());
                    self.kind = Some(kind);
                    Flow::Next
                }
                Err(refusal) => Flow::Stop(refusal),
            },
            Check::DeclaredLength => {
                let cap = self.kind.as_ref().map_or(0, BodyKind::cap);
                match check_content_length(self.head.content_length.as_deref(), cap) {
                    Ok(declared) => {
                        self.declared = declared;
                        Flow::Next
                    }
                    Err(refusal) => Flow::Stop(refusal),
                }
            }
            Check::Body => {
                let cap = self.kind.as_ref().map_or(0, BodyKind::cap);
                let step = Step::ReadBody {
                    declared: self.declared,
                    limit: BodyLimit::new(cap),
                };
                self.ask(Awaiting::Body, step)
            }
            Check::NikBinding => match (&self.caller, &self.nik) {
                (Some(Caller::Token(claims)), Some(nik)) => match jwt::check_nik(claims, nik) {
                    Ok(()) => Flow::Next,
                    Err(reason) => Flow::Stop(reason.into()),
                },
                _ => Flow::Next,
            },
            Check::Turnstile => {
                let Some(secret) = &self.cfg.turnstile_secret else {
                    return Flow::Next;
                };
                let Some(token) = auth::turnstile_token(self.head.turnstile.as_deref()) else {
                    return Flow::Stop(Reason::TurnstileMissing.into());
                };
                let Some(url) = self.cfg.turnstile_verify_url.clone() else {
                    return Flow::Stop(Reason::AuthNotConfigured.into());
                };
                let body = auth::siteverify_body(
                    secret,
                    token,
                    self.head.client_ip.as_deref(),
                    &self.ctx.request_id,
                );
                let call = Call {
                    url,
                    headers: vec![(
                        "content-type",
                        "application/x-www-form-urlencoded".to_string(),
                    )],
                    body: Some(body),
                    timeout_ms: self.cfg.upstream_timeout_ms,
                    max_answer: MAX_SITEVERIFY_ANSWER,
                };
                self.ask(Awaiting::Siteverify, Step::Siteverify(call))
            }
            Check::Upstream => self.call_upstream(),
        }
    }

    fn call_upstream(&mut self) -> Flow {
        let Ok(backend) = self.cfg.backend() else {
            return Flow::Stop(Reason::UpstreamNotConfigured.into());
        };
        match backend {
            Backend::Sandbox => {
                let nik = self.nik.as_deref().unwrap_or("");
                match sandbox::simulated_answer(sandbox::sandbox_outcome(nik)) {
                    Some((status, body)) => {
                        self.upstream_ms = Some(0.0);
                        self.read_upstream_answer(status, body.as_bytes());
                        Flow::Next
                    }
                    None => {
                        let ms = self.cfg.upstream_timeout_ms;
                        self.ask(Awaiting::Wait, Step::Wait { ms })
                    }
                }
            }
            Backend::Live {
                base_url,
                app_id,
                app_key,
            } => {
                let call = Call {
                    url: Config::upstream_url(base_url),
                    headers: upstream_headers(app_id, app_key, self.txn()),
                    body: None,
                    timeout_ms: self.cfg.upstream_timeout_ms,
                    max_answer: MAX_UPSTREAM_BODY,
                };
                self.ask(Awaiting::Upstream, Step::CallUpstream(call))
            }
        }
    }

    fn read_upstream_answer(&mut self, status: u16, body: &[u8]) {
        self.log.upstream_status = Some(status);
        let (outcome, upstream_id) = interpret(status, body);
        self.log.upstream_request_id = safe_upstream_id(upstream_id.as_deref());
        if let Ok(result) = &outcome {
            self.log.matched = Some(result.is_match);
        }
        self.outcome = Some(outcome);
    }

    fn on_reply(&mut self, awaiting: Awaiting, reply: Reply<'_>) -> Flow {
        match (awaiting, reply) {
            (Awaiting::Limit(limiter), Reply::Limit(limit)) => match limit {
                LimitReply::Allowed => Flow::Next,
                LimitReply::Limited => Flow::Stop(limiter.reason().into()),
                LimitReply::Missing { first } => {
                    // Unenforced rather than closed: both bindings are declared in
                    // wrangler.toml, so a missing one is a deployment mistake, and the token
                    // remains the real gate.
                    if first {
                        self.warn("rate_limiter_missing");
                    }
                    Flow::Next
                }
                LimitReply::Failed => {
                    self.warn("rate_limiter_error");
                    Flow::Next
                }
            },
            (Awaiting::Body, Reply::Body(body)) => match body {
                BodyReply::Read(bytes) => self.check_body(bytes),
                BodyReply::TooLarge => Flow::Stop(Reason::BodyTooLarge.into()),
                BodyReply::Failed => Flow::Stop(Reason::BodyReadFailed.into()),
            },
            (Awaiting::Staged, Reply::Staged) => Flow::Next,
            (Awaiting::Siteverify, Reply::Called { reply, .. }) => match reply {
                CallReply::Answered { status: 200, body } if auth::siteverify_success(body) => {
                    Flow::Next
                }
                CallReply::Answered { .. } | CallReply::TooLarge => {
                    Flow::Stop(Reason::TurnstileRejected.into())
                }
                CallReply::Unreachable | CallReply::TimedOut => {
                    self.warn("turnstile_unreachable");
                    Flow::Stop(Reason::TurnstileUnreachable.into())
                }
            },
            (Awaiting::Upstream, Reply::Called { reply, ms }) => {
                self.upstream_ms = Some(ms);
                let failed = match reply {
                    CallReply::Answered { status, body } => {
                        self.read_upstream_answer(status, body);
                        return Flow::Next;
                    }
                    CallReply::TooLarge => Reason::UpstreamAnswerTooLarge,
                    CallReply::Unreachable => Reason::UpstreamUnreachable,
                    CallReply::TimedOut => Reason::UpstreamTimeout,
                };
                self.outcome = Some(Err(failed.into()));
                Flow::Next
            }
            (Awaiting::Wait, Reply::Waited { ms }) => {
                self.upstream_ms = Some(ms);
                self.outcome = Some(Err(Reason::UpstreamTimeout.into()));
                Flow::Next
            }
            // The glue answered a different step than the one asked.
            _ => Flow::Stop(Reason::OutOfStep.into()),
        }
    }

    fn check_body(&mut self, bytes: &[u8]) -> Flow {
        let (Some(kind), Some(today)) = (&self.kind, self.today) else {
            return Flow::Stop(Reason::OutOfStep.into());
        };
        if bytes.len() > kind.cap() {
            return Flow::Stop(Reason::BodyTooLarge.into());
        }
        match check_body(kind, bytes, today) {
            Ok(checked) => {
                self.log.nik = Some(checked.nik_masked);
                self.nik = Some(checked.nik);
                if self.cfg.sandbox {
                    // The simulated upstream needs no body.
                    return Flow::Next;
                }
                self.ask(Awaiting::Staged, Step::StageBody(checked.upstream))
            }
            Err(refusal) => Flow::Stop(refusal),
        }
    }

    /// The answer and the log line (JSON). `total_ms` is the request's wall time so far.
    pub fn finish(&mut self, total_ms: f64, wasm_memory_bytes: Option<u64>) -> (Answer, String) {
        let end = match self.end.take() {
            Some(end) => end,
            None => match self.outcome.take() {
                Some(Ok(result)) => Ok(answer::success(
                    &result,
                    &self.meta(),
                    self.cfg.expose_s3_url,
                )),
                Some(Err(refusal)) => Err(refusal),
                None => Err(Reason::OutOfStep.into()),
            },
        };
        let answer = match end {
            Ok(answer) => answer,
            Err(refusal) => {
                self.log.code = Some(refusal.code.as_str());
                self.log.reason = Some(refusal.reason.as_str());
                let allow = match self.route {
                    Route::MethodNotAllowed(allow) => Some(allow),
                    _ => None,
                };
                answer::refused(&refusal, &self.meta(), allow)
            }
        };
        let answer = answer::finish(
            answer,
            &self.ctx.request_id,
            self.transaction_id.as_deref(),
            &self.origin,
            &answer::server_timing(self.upstream_ms, total_ms),
        );
        // Without a clock, NIKs are looked for as if it were the year 9999: more is masked.
        let today = self.today.or(CivilDate::new(9999, 12, 31));
        self.log.status = answer.status;
        self.log.transaction_id = match (&self.transaction_id, today) {
            (Some(t), Some(today)) => Some(txn::log_form(t, today)),
            (Some(t), None) => Some("*".repeat(t.len())),
            (None, _) => None,
        };
        self.log.upstream_ms = self.upstream_ms;
        self.log.total_ms = total_ms;
        self.log.wasm_memory_bytes = wasm_memory_bytes;
        (answer, self.log.to_json())
    }

    fn meta(&self) -> Meta<'_> {
        Meta {
            request_id: &self.ctx.request_id,
            transaction_id: self.txn(),
            sandbox: self.cfg.sandbox,
        }
    }
}

#[cfg(test)]
mod tests;
