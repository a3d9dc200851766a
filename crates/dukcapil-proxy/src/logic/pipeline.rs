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
//! A new kind of I/O (claiming a transaction in a Durable Object, say) is a new [`Check`] in
//! [`ORDER`], a new [`Step`] and [`Reply`] pair, and new [`Reason`]s. The receipt is such a
//! check: the pipeline writes the claims, the glue signs them with WebCrypto, and the receipt
//! is a value of the finished request ([`Pipeline::receipt`]) that its answer carries.

use crate::logic::{
    answer::{self, Answer},
    auth::{self, Caller, Limiter, TokenRules},
    body::{
        check_body, check_content_length, classify_content_type, BodyKind, BodyLimit, UpstreamBody,
    },
    config::{Backend, Config, KeySource},
    cors::{check_origin, origin_of, OriginCheck},
    jwt,
    ledger::{self, Outcome, Refused, Settlement, Verdict},
    log::{log_method, safe_upstream_id, LogLine},
    receipt::{self, EcPublic},
    refusal::{Reason, Refusal},
    route::{path_of, route, transaction_in_path, Route},
    sandbox,
    time::today_in_indonesia,
    txn,
    upstream::{interpret, upstream_headers, MAX_UPSTREAM_BODY},
};
use dukcapil_core::{
    contract::{envelope::Meta, MatchResult},
    date::CivilDate,
    ErrorCode,
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
    /// A fresh UUID, the `jti` of this request's receipt (if it gets one).
    pub receipt_id: String,
    /// Unix time in milliseconds at the start of the request.
    pub now_ms: f64,
}

/// The checks of `POST /v1/dukcapilWithFacematch`, in the order they run. A request that
/// fails one is refused with its refusal and goes no further, so nothing after it is spent.
/// `/.well-known/jwks.json` is answered at [`Check::Route`]; `OPTIONS` and `/healthz` stop
/// after [`Check::Origin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Route,
    Origin,
    TransactionId,
    Configured,
    ReceiptKey,
    RateLimit,
    Token,
    ContentType,
    DeclaredLength,
    Body,
    NikBinding,
    NikRateLimit,
    Turnstile,
    Ledger,
    Upstream,
    Receipt,
    Settle,
}

/// The order. The proxy README's list is made from it (`cargo xtask codegen`).
pub const ORDER: &[Check] = &[
    Check::Route,
    Check::Origin,
    Check::TransactionId,
    Check::Configured,
    Check::ReceiptKey,
    Check::RateLimit,
    Check::Token,
    Check::ContentType,
    Check::DeclaredLength,
    Check::Body,
    Check::NikBinding,
    Check::NikRateLimit,
    Check::Turnstile,
    Check::Ledger,
    Check::Upstream,
    Check::Receipt,
    Check::Settle,
];

/// The checks of `GET /v1/transactions/{transactionId}` (the results endpoint), in order.
pub const READ_ORDER: &[Check] = &[
    Check::Route,
    Check::TransactionId,
    Check::Configured,
    Check::RateLimit,
    Check::Token,
    Check::Ledger,
];

impl Check {
    /// What the check does and why it sits where it does (for the README).
    pub const fn what(self) -> &'static str {
        match self {
            Check::Route => "**Route**: the exact path and method (`404`, `405`). `GET /.well-known/jwks.json` is answered here, to any origin.",
            Check::Origin => "**Origin**: a browser's `Origin` must be the Worker's own or in `ALLOWED_ORIGINS` (`403`). Preflights and `/healthz` are answered here.",
            Check::TransactionId => "**Transaction ID**: a `transactionId` header must follow the rule (`400`); without one the proxy makes a UUID.",
            Check::Configured => "**Configured**: upstream credentials (or the sandbox, without them), a JWT secret of 32+ bytes (or an anonymous sandbox), a receipt signing key outside the sandbox, a usable clock (`500`, fail closed).",
            Check::ReceiptKey => "**Receipt key**: the signing key is imported into WebCrypto (once per isolate; the sandbox without a key makes one), so a key WebCrypto refuses fails closed before anything is spent (`500`).",
            Check::RateLimit => "**Rate limit**: a caller with a valid token spends its subject's budget; a caller without one (anonymous, or a missing or bad token) spends its IP's (`429`). The token is checked first, without any I/O, only to pick the budget.",
            Check::Token => "**Token**: no valid token where one is needed (`401`), after its IP budget was spent, so junk from one address is throttled without touching token holders behind the same address.",
            Check::ContentType => "**Content type**: JSON (UTF-8) or multipart with a boundary (`415`, `400`).",
            Check::DeclaredLength => "**Declared length**: `content-length` within the cap (`413`), before any byte is read.",
            Check::Body => "**Body**: read under the cap (`413`), then the core's rules: fields, NIK, then image (`400`, `413`, `415`).",
            Check::NikBinding => "**NIK binding**: a token's `nik_hmac` must be this NIK's (`401`).",
            Check::NikRateLimit => "**NIK rate limit**: the NIK's own budget, keyed by its `nik_hmac`, bounds how often one person's face can be probed, whoever asks (`429`).",
            Check::Turnstile => "**Turnstile**, when on: checked last before the upstream, so an invalid request does not burn the one-time token (`401`, `502`).",
            Check::Ledger => "**Ledger**: the transaction's Durable Object decides, atomically, whether this request may call upstream: a finished transaction is answered from it with its receipt and `idempotent-replayed: true` and no call; one being called gets `409` with `Retry-After`; another `sub` or NIK gets `403`; after `MAX_UPSTREAM_ATTEMPTS` calls, `409`. Without a working ledger, `503` and nothing is forwarded (fail closed). Last before the upstream, so nothing invalid claims a transaction.",
            Check::Upstream => "**Upstream**: the one billed call (or the sandbox), whose answer becomes the verdict or a refusal.",
            Check::Receipt => "**Receipt**: a verdict or a definitive upstream refusal is signed (ES256, WebCrypto) into a receipt the answer carries; if signing fails, the outcome is not passed on unsigned (`500`).",
            Check::Settle => "**Settle**: the outcome and its receipt are stored in the ledger (the transaction is done), or a retryable failure frees it for the next try. If another attempt finished first, its outcome is the answer.",
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

/// The receipt key the glue must have ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRequest {
    /// Import this private JWK (P-256, for ES256 signatures).
    Import(String),
    /// Make a P-256 key pair (the sandbox without a configured key) and tell its public part.
    Generate,
}

/// What the glue must do next.
#[derive(Debug)]
pub enum Step {
    /// Have the receipt key ready (the glue keeps it for the isolate's life, so this is I/O
    /// once); reply [`Reply::Key`].
    LoadKey(KeyRequest),
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
    /// Sign `input` with the loaded key: ECDSA P-256 with SHA-256, the signature as `r || s`
    /// (64 bytes, IEEE P1363, as WebCrypto gives it); reply [`Reply::Signed`].
    Sign { input: String },
    /// Send `request` (JSON, a [`ledger::Request`]) to the ledger's Durable Object named
    /// `transaction_id`; reply [`Reply::Ledger`] with its answer.
    Ledger {
        transaction_id: String,
        request: String,
    },
    /// Done: take the answer and the log line from [`Pipeline::finish`].
    Finish,
}

/// What the ledger's Durable Object said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerReply<'a> {
    /// Its answer (JSON, a [`ledger::Verdict`]).
    Answered(&'a str),
    /// No such binding.
    Missing,
    /// The call failed (threw, or answered other than 200).
    Failed,
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

/// How loading the receipt key went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyReply {
    Imported,
    /// The public part of a generated key.
    Generated(EcPublic),
    Failed,
}

/// The result of a [`Step`].
#[derive(Debug, Clone, PartialEq)]
pub enum Reply<'a> {
    Key(KeyReply),
    Limit(LimitReply),
    Body(BodyReply<'a>),
    Staged,
    Called {
        reply: CallReply<'a>,
        ms: f64,
    },
    Waited {
        ms: f64,
    },
    /// The signature, or `None` when signing failed.
    Signed(Option<&'a [u8]>),
    Ledger(LedgerReply<'a>),
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
    /// `nik_hmac` of the body's NIK, when there is a JWT secret.
    nik_hmac: Option<String>,
    /// The public part of the key that signs receipts, once loaded.
    signer: Option<EcPublic>,
    /// The upstream's verdict or refusal.
    outcome: Option<Result<MatchResult, Refusal>>,
    /// The signed bytes of the receipt being made.
    signing_input: Option<String>,
    /// This request's receipt, once signed.
    receipt: Option<String>,
    upstream_request_id: Option<String>,
    /// The end, when it came before the upstream.
    end: Option<Result<Answer, Refusal>>,
    upstream_ms: Option<f64>,
    /// The ledger's attempt number, once this request claimed the transaction.
    attempt: Option<u32>,
    /// The answer comes from the ledger, not from this request's upstream call.
    replayed: bool,
    log: LogLine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    /// The key, for signing (`false`) or for the JWKS answer (`true`).
    Key {
        for_jwks: bool,
    },
    Limit(Limiter),
    Body,
    Staged,
    Siteverify,
    Upstream,
    Wait,
    Signature,
    Claim,
    Settle,
    Read,
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
            nik_hmac: None,
            signer: None,
            outcome: None,
            signing_input: None,
            receipt: None,
            upstream_request_id: None,
            end: None,
            upstream_ms: None,
            attempt: None,
            replayed: false,
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

    /// The checks of this request's route.
    fn order(&self) -> &'static [Check] {
        match self.route {
            Route::Transaction => READ_ORDER,
            _ => ORDER,
        }
    }

    fn advance(&mut self) -> Step {
        while let Some(&check) = self.order().get(self.at) {
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

    fn now_s(&self) -> i64 {
        (self.ctx.now_ms / 1000.0).floor() as i64
    }

    /// This request's receipt, once the pipeline has finished (issue 11's ledger keeps it with
    /// the answer).
    pub fn receipt(&self) -> Option<&str> {
        self.receipt.as_deref()
    }

    /// Asks for the receipt key.
    fn load_key(&mut self, for_jwks: bool) -> Flow {
        let request = match self.cfg.signing_key() {
            Ok(KeySource::Configured(key)) => KeyRequest::Import(key.private_jwk.clone()),
            Ok(KeySource::Ephemeral) => KeyRequest::Generate,
            Err(reason) => return Flow::Stop(reason.into()),
        };
        self.ask(Awaiting::Key { for_jwks }, Step::LoadKey(request))
    }

    /// The JWKS answer, with the current key's public part and the previous key's.
    fn jwks(&self) -> Flow {
        let (Some(current), Ok(keys)) = (&self.signer, &self.cfg.receipt_keys) else {
            return Flow::Stop(Reason::OutOfStep.into());
        };
        Flow::Answer(answer::jwks(receipt::jwks(current, keys.previous.as_ref())))
    }

    fn run(&mut self, check: Check) -> Flow {
        match check {
            Check::Route => match self.route {
                Route::NotFound => Flow::Stop(Reason::NotFound.into()),
                Route::MethodNotAllowed(_) => Flow::Stop(Reason::MethodNotAllowed.into()),
                Route::Jwks => self.load_key(true),
                _ => Flow::Next,
            },
            Check::TransactionId if self.route == Route::Transaction => {
                let path = transaction_in_path(path_of(&self.head.url));
                match txn::validate_transaction_id(path) {
                    Ok(Some(id)) => {
                        self.transaction_id = Some(id.to_string());
                        Flow::Next
                    }
                    _ => Flow::Stop(Reason::TransactionIdInvalid.into()),
                }
            }
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
                if let Err(reason) = self.cfg.check() {
                    return Flow::Stop(reason.into());
                }
                if self.today.is_none() {
                    return Flow::Stop(Reason::ClockUnusable.into());
                }
                Flow::Next
            }
            Check::ReceiptKey => self.load_key(false),
            Check::RateLimit => {
                let policy = match self.cfg.authorization() {
                    Ok(policy) => policy,
                    Err(reason) => return Flow::Stop(reason.into()),
                };
                let rules = TokenRules {
                    secret: self.cfg.jwt_secret.as_deref(),
                    audience: &self.cfg.token_audience,
                    require_nik: self.cfg.require_nik_binding,
                };
                let authorization = self.head.authorization.as_deref();
                let caller = match self.route {
                    Route::Transaction => auth::reader_token(&rules, authorization, self.now_s()),
                    _ => auth::identify(policy, &rules, authorization, self.txn(), self.now_s()),
                };
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
            Check::NikBinding => {
                let (Some(Caller::Token(claims)), Some(nik), Some(secret)) =
                    (&self.caller, &self.nik, &self.cfg.jwt_secret)
                else {
                    return Flow::Next;
                };
                match jwt::check_nik(claims, secret.as_bytes(), nik) {
                    Ok(()) => Flow::Next,
                    Err(reason) => Flow::Stop(reason.into()),
                }
            }
            Check::NikRateLimit => {
                let Some(nik) = &self.nik else {
                    return Flow::Stop(Reason::OutOfStep.into());
                };
                let key = auth::nik_key(self.nik_hmac.as_deref(), nik);
                let limiter = Limiter::Nik;
                self.ask(Awaiting::Limit(limiter), Step::RateLimit { limiter, key })
            }
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
            Check::Ledger => self.ask_ledger(),
            // A replayed answer was neither called for nor signed here.
            Check::Upstream | Check::Receipt | Check::Settle if self.replayed => Flow::Next,
            Check::Upstream => self.call_upstream(),
            Check::Receipt => self.sign_receipt(),
            Check::Settle => self.settle_outcome(),
        }
    }

    /// The owner a ledger record is kept for: the token's `sub`.
    fn owner(&self) -> Option<String> {
        self.caller
            .as_ref()
            .and_then(Caller::claims)
            .and_then(|c| c.sub.clone())
    }

    fn ledger_step(&mut self, awaiting: Awaiting, request: &ledger::Request) -> Flow {
        let Ok(request) = serde_json::to_string(request) else {
            return Flow::Stop(Reason::OutOfStep.into());
        };
        let step = Step::Ledger {
            transaction_id: self.txn().to_string(),
            request,
        };
        self.ask(awaiting, step)
    }

    /// Claims the transaction (a verification) or reads it (the results endpoint).
    fn ask_ledger(&mut self) -> Flow {
        let owner = self.owner();
        if self.route == Route::Transaction {
            return self.ledger_step(Awaiting::Read, &ledger::Request::Read { owner });
        }
        let request = ledger::Request::Claim {
            owner,
            nik_hmac: self.nik_hmac.clone(),
            lease_ms: ledger::lease_ms(self.cfg.upstream_timeout_ms),
            max_attempts: self.cfg.max_upstream_attempts,
            ttl_s: self.cfg.ledger_ttl_s,
        };
        self.ledger_step(Awaiting::Claim, &request)
    }

    /// Records how this request's attempt ended: done with its receipt, or free for a retry.
    fn settle_outcome(&mut self) -> Flow {
        let Some(attempt) = self.attempt else {
            return Flow::Stop(Reason::OutOfStep.into());
        };
        // Done when a receipt was signed: `sign_receipt` signs final outcomes only, so which
        // refusals are final is decided there, once.
        let done = match (&self.outcome, &self.receipt) {
            (Some(Ok(r)), Some(receipt)) => Some(Outcome {
                outcome: if r.is_match { "match" } else { "no_match" }.to_string(),
                score: Some(r.score),
                receipt: receipt.clone(),
            }),
            (Some(Err(refusal)), Some(receipt)) => Some(Outcome {
                outcome: refusal.code.as_str().to_string(),
                score: None,
                receipt: receipt.clone(),
            }),
            _ => None,
        };
        let result = done.map_or(Settlement::Retry, Settlement::Done);
        self.ledger_step(
            Awaiting::Settle,
            &ledger::Request::Settle { attempt, result },
        )
    }

    /// Answers with a finished transaction's stored outcome instead of calling upstream.
    fn replay(&mut self, stored: Outcome) {
        self.replayed = true;
        self.outcome = Some(match stored.outcome.as_str() {
            "match" | "no_match" => Ok(MatchResult {
                is_match: stored.outcome == "match",
                score: stored.score.unwrap_or(0.0),
                message: None,
                request_id: None,
                transaction_id: None,
                s3_url: None,
            }),
            code => Err(ErrorCode::from_code(code)
                .map_or_else(|| Reason::UpstreamRejected.into(), Refusal::upstream)),
        });
        self.receipt = Some(stored.receipt);
    }

    fn on_ledger(&mut self, awaiting: Awaiting, reply: LedgerReply<'_>) -> Flow {
        let verdict = match reply {
            LedgerReply::Answered(json) => serde_json::from_str::<Verdict>(json).ok(),
            LedgerReply::Missing | LedgerReply::Failed => None,
        };
        let Some(verdict) = verdict else {
            if awaiting == Awaiting::Settle {
                // The outcome is in hand and was billed: it is answered all the same. The
                // ledger frees the transaction when the lease runs out.
                self.warn("ledger_settle_failed");
                return Flow::Next;
            }
            return Flow::Stop(
                match reply {
                    LedgerReply::Missing => Reason::LedgerMissing,
                    _ => Reason::LedgerFailed,
                }
                .into(),
            );
        };
        self.log.ledger = Some(verdict.log_name());
        match (awaiting, verdict) {
            (Awaiting::Claim, Verdict::Claimed { attempt }) => {
                self.attempt = Some(attempt);
                self.log.attempt = Some(attempt);
                Flow::Next
            }
            (Awaiting::Claim | Awaiting::Settle, Verdict::Done { outcome }) => {
                self.replay(outcome);
                Flow::Next
            }
            (Awaiting::Claim, Verdict::InProgress) => {
                Flow::Stop(Reason::TransactionInProgress.into())
            }
            (Awaiting::Claim | Awaiting::Read, Verdict::Refused { why }) => Flow::Stop(
                match why {
                    Refused::Owner => Reason::TransactionOwner,
                    Refused::Nik => Reason::TransactionNik,
                    Refused::Exhausted => Reason::TransactionExhausted,
                }
                .into(),
            ),
            (Awaiting::Settle, Verdict::Settled) => Flow::Next,
            (Awaiting::Read, Verdict::Unknown) => Flow::Stop(Reason::TransactionUnknown.into()),
            (Awaiting::Read, Verdict::Found { state, outcome }) => Flow::Answer(
                answer::transaction(state, outcome.as_ref().map(|o| o.receipt.as_str())),
            ),
            (Awaiting::Settle, _) => {
                self.warn("ledger_settle_failed");
                Flow::Next
            }
            _ => Flow::Stop(Reason::LedgerFailed.into()),
        }
    }

    /// Asks for the receipt's signature when the outcome is a verdict or a definitive refusal.
    fn sign_receipt(&mut self) -> Flow {
        let (verdict, outcome) = match &self.outcome {
            Some(Ok(r)) => (
                Some((r.is_match, r.score)),
                if r.is_match { "match" } else { "no_match" },
            ),
            Some(Err(refusal)) if refusal.reason.receipted() => (None, refusal.code.as_str()),
            _ => return Flow::Next,
        };
        let Some(signer) = &self.signer else {
            return Flow::Stop(Reason::OutOfStep.into());
        };
        // Signed when the upstream's answer is in.
        let iat = ((self.ctx.now_ms + self.upstream_ms.unwrap_or(0.0)) / 1000.0).floor() as i64;
        let token = self.caller.as_ref().and_then(Caller::claims);
        let claims = receipt::Claims {
            iss: &self.cfg.receipt_issuer,
            sub: token.and_then(|t| t.sub.as_deref()),
            aud: token.and_then(|t| t.iss.as_deref()),
            jti: &self.ctx.receipt_id,
            iat,
            exp: iat + i64::from(self.cfg.receipt_ttl_s),
            txn: self.txn(),
            token_jti: token.and_then(|t| t.jti.as_deref()),
            nik_hmac: self.nik_hmac.as_deref(),
            outcome,
            is_match: verdict.map(|(m, _)| m),
            score: verdict.map(|(_, s)| s),
            hv_request_id: self.upstream_request_id.as_deref(),
            request_id: &self.ctx.request_id,
            sandbox: self.cfg.sandbox,
        };
        let input = receipt::signing_input(&signer.thumbprint(), &claims.to_json());
        self.signing_input = Some(input.clone());
        self.ask(Awaiting::Signature, Step::Sign { input })
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
        self.upstream_request_id = safe_upstream_id(upstream_id.as_deref());
        self.log.upstream_request_id = self.upstream_request_id.clone();
        if let Ok(result) = &outcome {
            self.log.matched = Some(result.is_match);
        }
        self.outcome = Some(outcome);
    }

    fn on_reply(&mut self, awaiting: Awaiting, reply: Reply<'_>) -> Flow {
        match (awaiting, reply) {
            (Awaiting::Key { for_jwks }, Reply::Key(key)) => {
                self.signer = match (key, self.cfg.signing_key()) {
                    (KeyReply::Imported, Ok(KeySource::Configured(k))) => Some(k.public.clone()),
                    (KeyReply::Generated(public), Ok(KeySource::Ephemeral)) => Some(public),
                    (KeyReply::Failed, _) => return Flow::Stop(Reason::ReceiptKeyInvalid.into()),
                    _ => return Flow::Stop(Reason::OutOfStep.into()),
                };
                if for_jwks {
                    self.jwks()
                } else {
                    Flow::Next
                }
            }
            (Awaiting::Signature, Reply::Signed(signature)) => {
                let jws = match (&self.signing_input, signature) {
                    (Some(input), Some(sig)) => receipt::assemble(input, sig),
                    _ => None,
                };
                match jws {
                    Some(jws) => {
                        self.log.receipt_id = Some(self.ctx.receipt_id.clone());
                        self.receipt = Some(jws);
                        Flow::Next
                    }
                    None => Flow::Stop(Reason::ReceiptSigningFailed.into()),
                }
            }
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
                CallReply::Answered { status: 200, body } => {
                    let own = origin_of(&self.head.url);
                    let allowed = |host: &str| {
                        own.into_iter()
                            .chain(self.cfg.allowed_origins.iter().map(String::as_str))
                            .any(|origin| auth::host_of(origin) == host)
                    };
                    let action = self.cfg.turnstile_action.as_deref();
                    match auth::siteverify_verdict(body, allowed, action) {
                        Ok(()) => Flow::Next,
                        Err(reason) => Flow::Stop(reason.into()),
                    }
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
            (
                awaiting @ (Awaiting::Claim | Awaiting::Settle | Awaiting::Read),
                Reply::Ledger(reply),
            ) => self.on_ledger(awaiting, reply),
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
                self.nik_hmac = self
                    .cfg
                    .jwt_secret
                    .as_ref()
                    .map(|secret| jwt::nik_hmac(secret.as_bytes(), &checked.nik));
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
        let mut answer = answer;
        if self.replayed {
            answer
                .headers
                .push((ledger::REPLAYED_HEADER, "true".to_string()));
        }
        // The results endpoint is server to server: no CORS headers, whoever asks, whatever
        // the method.
        let server_only = transaction_in_path(path_of(&self.head.url)).is_some();
        let origin = if server_only {
            &OriginCheck::Absent
        } else {
            &self.origin
        };
        let answer = answer::finish(
            answer,
            &self.ctx.request_id,
            self.transaction_id.as_deref(),
            origin,
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
            receipt: self.receipt.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests;
