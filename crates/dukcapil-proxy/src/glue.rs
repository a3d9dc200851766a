//! The Worker glue: reads the request, env and bindings, asks [`crate::logic`] what to do,
//! performs the I/O (body, rate limiter, fetch, timers) and writes the answer and log line.

use crate::logic::{
    answer::{self, Answer},
    auth::{self, Policy},
    body::{self, check_body, classify_content_type, BodyLimit, CheckedRequest},
    config::{Backend, Config, IP_RATE_LIMITER, SUBJECT_RATE_LIMITER},
    cors::{check_origin, origin_of, OriginCheck},
    jwt::{self, Claims, JwtError},
    log::{log_method, safe_id, LogLine},
    route::{route, Route},
    sandbox,
    time::today_in_indonesia,
    txn::validate_transaction_id,
    upstream::{self, Outcome, MAX_UPSTREAM_BODY},
};
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use dukcapil_core::ErrorCode;
use futures_util::{
    future::{select, Either},
    pin_mut, StreamExt,
};
use worker::{
    event, js_sys, AbortController, ByteStream, Context, Delay, Env, Fetch, Headers, Method,
    Request, RequestInit, RequestRedirect, Response, ResponseBuilder,
};

/// A refusal on its way to becoming an error answer.
struct Fail {
    code: ErrorCode,
    /// A precise message for the caller (never logged).
    message: Option<String>,
    reason: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
}

impl From<ErrorCode> for Fail {
    fn from(code: ErrorCode) -> Fail {
        Fail {
            code,
            message: None,
            reason: None,
            headers: Vec::new(),
        }
    }
}

impl Fail {
    fn because(code: ErrorCode, reason: &'static str) -> Fail {
        Fail {
            reason: Some(reason),
            ..Fail::from(code)
        }
    }

    fn unauthorized(e: JwtError) -> Fail {
        Fail {
            headers: vec![("www-authenticate", auth::challenge(Some(e)))],
            ..Fail::because(ErrorCode::Unauthorized, e.reason())
        }
    }
}

/// Per-request facts gathered along the way, for the answer headers and the log line.
struct Trace {
    request_id: String,
    transaction_id: Option<String>,
    upstream_ms: Option<f64>,
    log: LogLine,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

fn env_string(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string())
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let started = now_ms();
    let cfg = Config::from_lookup(|name| env_string(&env, name));
    let method = req.inner().method();
    let path = req.path();
    let url = req.inner().url();
    let origin = check_origin(
        header(&req, "origin").as_deref(),
        origin_of(&url),
        &cfg.allowed_origins,
    );
    let mut trace = Trace {
        request_id: uuid::Uuid::new_v4().to_string(),
        transaction_id: None,
        upstream_ms: None,
        log: LogLine {
            method: log_method(&method),
            path: Route::log_path(&path),
            origin: match origin {
                OriginCheck::Absent => "absent",
                OriginCheck::Allowed(_) => "allowed",
                OriginCheck::Denied => "denied",
            },
            sandbox: cfg.sandbox,
            warnings: cfg.warnings.clone(),
            ..LogLine::default()
        },
    };
    trace.log.request_id = trace.request_id.clone();

    let result = handle(req, &env, &cfg, &method, &path, &origin, &mut trace).await;
    let answer = match result {
        Ok(a) => a,
        Err(fail) => {
            trace.log.code = Some(fail.code.as_str());
            trace.log.reason = fail.reason;
            let txn = trace.transaction_id.as_deref().unwrap_or("");
            let mut a = answer::error(
                fail.code,
                fail.message.as_deref(),
                &trace.request_id,
                txn,
                cfg.sandbox,
            );
            a.headers.extend(fail.headers);
            a
        }
    };
    let total_ms = now_ms() - started;
    let answer = answer::finish(
        answer,
        &trace.request_id,
        trace.transaction_id.as_deref(),
        &origin,
        &answer::server_timing(trace.upstream_ms, total_ms),
    );
    trace.log.status = answer.status;
    trace.log.transaction_id = trace.transaction_id.clone();
    trace.log.upstream_ms = trace.upstream_ms;
    trace.log.total_ms = total_ms;
    worker::console_log!("{}", trace.log.to_json());
    into_response(answer)
}

fn into_response(a: Answer) -> worker::Result<Response> {
    let headers = Headers::new();
    for (k, v) in &a.headers {
        headers.append(k, v)?;
    }
    let builder = ResponseBuilder::new()
        .with_status(a.status)
        .with_headers(headers);
    Ok(if a.body.is_empty() {
        builder.empty()
    } else {
        builder.fixed(a.body.into_bytes())
    })
}

async fn handle(
    req: Request,
    env: &Env,
    cfg: &Config,
    method: &str,
    path: &str,
    origin: &OriginCheck,
    trace: &mut Trace,
) -> Result<Answer, Fail> {
    if *origin == OriginCheck::Denied {
        return Err(Fail::because(
            ErrorCode::OriginNotAllowed,
            "origin_not_allowed",
        ));
    }
    match route(method, path) {
        Route::NotFound => Err(ErrorCode::NotFound.into()),
        Route::MethodNotAllowed(allow) => Err(Fail {
            headers: vec![("allow", allow.to_string())],
            ..ErrorCode::MethodNotAllowed.into()
        }),
        Route::Preflight => Ok(answer::preflight(origin)),
        Route::Health => Ok(answer::health(cfg.ready())),
        Route::Verify => verify(req, env, cfg, trace).await,
    }
}

async fn verify(
    mut req: Request,
    env: &Env,
    cfg: &Config,
    trace: &mut Trace,
) -> Result<Answer, Fail> {
    let txn_header = header(&req, "transactionId");
    let txn = match validate_transaction_id(txn_header.as_deref()) {
        Ok(Some(t)) => t.to_string(),
        Ok(None) => uuid::Uuid::new_v4().to_string(),
        Err(code) => {
            // Answer with a fresh id rather than echo the invalid one.
            trace.transaction_id = Some(uuid::Uuid::new_v4().to_string());
            return Err(code.into());
        }
    };
    trace.transaction_id = Some(txn.clone());

    // Fail closed before reading anything.
    let backend = cfg
        .backend()
        .map_err(|code| Fail::because(code, "upstream_not_configured"))?;
    let policy = match auth::policy(cfg) {
        Some(p) if cfg.auth_ready() => p,
        _ => {
            return Err(Fail::because(
                ErrorCode::ProxyMisconfigured,
                "auth_not_configured",
            ))
        }
    };

    let ip = header(&req, "cf-connecting-ip").unwrap_or_else(|| "unknown".into());
    rate_limit(env, IP_RATE_LIMITER, format!("ip:{ip}"), trace).await?;

    // Auth, part one: everything but the NIK binding.
    let claims = authenticate(&req, cfg, policy, &txn, trace)?;
    if let Some(c) = &claims {
        let subject = c
            .sub
            .as_deref()
            .map(|s| format!("sub:{}", jwt::sha256_hex(s)))
            .or_else(|| c.nik_sha256.as_ref().map(|h| format!("nik:{h}")))
            .unwrap_or_else(|| format!("iat:{}:{}", c.iat, c.exp));
        rate_limit(env, SUBJECT_RATE_LIMITER, subject, trace).await?;
    }

    let kind = classify_content_type(header(&req, "content-type").as_deref())?;
    trace.log.body = Some(kind.log_name());
    let declared = header(&req, "content-length");
    body::check_content_length(declared.as_deref(), kind.cap())
        .map_err(|c| Fail::because(c, "declared_length"))?;
    let bytes = read_body(&mut req, kind.cap(), declared.as_deref()).await?;
    let today = today_in_indonesia(now_ms()).ok_or(ErrorCode::ProxyMisconfigured)?;
    let checked = check_body(&kind, &bytes, today).map_err(|r| Fail {
        message: Some(r.message),
        ..Fail::from(r.code)
    })?;
    drop(bytes);
    trace.log.nik = Some(checked.nik_masked.clone());

    // Auth, part two: the NIK binding.
    if let Some(c) = &claims {
        jwt::check_nik(c, &checked.nik).map_err(Fail::unauthorized)?;
    }
    if let Some(secret) = &cfg.turnstile_secret {
        turnstile(&req, cfg, secret, &ip, &trace.request_id.clone(), trace).await?;
    }

    let outcome = match backend {
        Backend::Sandbox => simulate(&checked, &txn, cfg, trace).await,
        Backend::Live {
            base_url,
            app_id,
            app_key,
        } => {
            let headers = upstream::upstream_headers(app_id, app_key, &txn);
            let body = checked.upstream_body;
            let url = Config::upstream_url(base_url);
            let started = now_ms();
            let result = call(
                &url,
                &headers,
                &body,
                cfg.upstream_timeout_ms,
                MAX_UPSTREAM_BODY,
            )
            .await;
            trace.upstream_ms = Some(now_ms() - started);
            match result {
                Ok((status, body)) => {
                    trace.log.upstream_status = Some(status);
                    upstream::interpret(status, &body)
                }
                Err(timed_out) => upstream::transport_failure(timed_out),
            }
        }
    };
    match outcome {
        Outcome::Verdict(result) => {
            trace.log.matched = Some(result.is_match);
            trace.log.upstream_request_id = result.request_id.as_deref().and_then(safe_id);
            Ok(answer::success(
                &result,
                &trace.request_id,
                &txn,
                cfg.sandbox,
                cfg.expose_s3_url,
            ))
        }
        Outcome::Failed {
            code,
            reason,
            upstream_request_id,
        } => {
            trace.log.upstream_request_id = upstream_request_id.as_deref().and_then(safe_id);
            Err(Fail::because(code, reason))
        }
    }
}

fn authenticate(
    req: &Request,
    cfg: &Config,
    policy: Policy,
    txn: &str,
    trace: &mut Trace,
) -> Result<Option<Claims>, Fail> {
    let authorization = header(req, "authorization");
    let verify = |secret: &str| -> Result<Claims, Fail> {
        let token = jwt::bearer_token(authorization.as_deref()).map_err(Fail::unauthorized)?;
        let now_s = (now_ms() / 1000.0).floor() as i64;
        let claims =
            jwt::verify_hs256(token, secret.as_bytes(), now_s).map_err(Fail::unauthorized)?;
        jwt::check_txn(&claims, txn).map_err(Fail::unauthorized)?;
        Ok(claims)
    };
    match (policy, &cfg.jwt_secret, &authorization) {
        (Policy::Jwt, Some(secret), _) => {
            trace.log.auth = Some("jwt");
            verify(secret).map(Some)
        }
        // Anonymous allowed, but a token that is sent must still be valid.
        (Policy::AnonymousAllowed, Some(secret), Some(_)) => {
            trace.log.auth = Some("jwt");
            verify(secret).map(Some)
        }
        (Policy::AnonymousAllowed, _, _) => {
            trace.log.auth = Some("anonymous");
            trace.log.warnings.push("anonymous_call");
            Ok(None)
        }
        (Policy::Jwt, None, _) => Err(Fail::because(
            ErrorCode::ProxyMisconfigured,
            "auth_not_configured",
        )),
    }
}

/// Warn once per isolate when a rate limiting binding is missing: requests then go
/// unlimited (the binding is configured in wrangler.toml, so this is a setup mistake).
static MISSING_LIMITER_WARNED: AtomicBool = AtomicBool::new(false);

async fn rate_limit(env: &Env, binding: &str, key: String, trace: &mut Trace) -> Result<(), Fail> {
    let limiter = match env.rate_limiter(binding) {
        Ok(l) => l,
        Err(_) => {
            if !MISSING_LIMITER_WARNED.swap(true, Ordering::Relaxed) {
                trace.log.warnings.push("rate_limiter_missing");
            }
            return Ok(());
        }
    };
    match limiter.limit(key).await {
        Ok(outcome) if outcome.success => Ok(()),
        Ok(_) => Err(Fail::because(
            ErrorCode::RateLimited,
            if binding == IP_RATE_LIMITER {
                "rate_limited_ip"
            } else {
                "rate_limited_subject"
            },
        )),
        Err(_) => {
            trace.log.warnings.push("rate_limiter_error");
            Ok(())
        }
    }
}

async fn read_body(req: &mut Request, cap: usize, declared: Option<&str>) -> Result<Vec<u8>, Fail> {
    let mut limit = BodyLimit::new(cap, declared);
    // A declared length within the cap frames the body (HTTP reads exactly that many bytes),
    // so read it in one go: chunk by chunk through wasm-bindgen cost several ms of CPU per
    // MB. Without one (chunked), stream under the cap.
    if declared
        .and_then(|d| d.trim().parse::<usize>().ok())
        .is_some_and(|n| n <= cap)
    {
        let bytes = req
            .bytes()
            .await
            .map_err(|_| Fail::because(ErrorCode::RequestInvalid, "body_read_failed"))?;
        limit
            .push(&bytes)
            .map_err(|c| Fail::because(c, "body_too_large"))?;
        return Ok(limit.into_bytes());
    }
    let Ok(mut stream) = req.stream() else {
        return Ok(Vec::new()); // no body at all: reported as missing fields
    };
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|_| Fail::because(ErrorCode::RequestInvalid, "body_read_failed"))?;
        limit
            .push(&chunk)
            .map_err(|c| Fail::because(c, "body_too_large"))?;
    }
    Ok(limit.into_bytes())
}

async fn read_capped(stream: &mut ByteStream, cap: usize) -> Result<Vec<u8>, ()> {
    let mut limit = BodyLimit::new(cap, None);
    while let Some(chunk) = stream.next().await {
        limit.push(&chunk.map_err(|_| ())?).map_err(|_| ())?;
    }
    Ok(limit.into_bytes())
}

/// POSTs `body` and reads the answer within `timeout_ms`. `Err(true)` is a timeout (the
/// request is aborted), `Err(false)` any other transport failure.
async fn call(
    url: &str,
    headers: &[(&str, String)],
    body: &[u8],
    timeout_ms: u32,
    max_answer: usize,
) -> Result<(u16, Vec<u8>), bool> {
    let h = Headers::new();
    for (k, v) in headers {
        h.set(k, v).map_err(|_| false)?;
    }
    let mut init = RequestInit::new();
    // Never follow a redirect: it would resend appId/appKey (or the Turnstile secret) to
    // wherever the answer points. A 3xx is an upstream error like any other.
    init.with_method(Method::Post)
        .with_headers(h)
        .with_redirect(RequestRedirect::Manual)
        // Bytes, not a JS string: no UTF-8 → UTF-16 conversion of megabytes of base64.
        .with_body(Some(js_sys::Uint8Array::from(body).into()));
    let request = Request::new_with_init(url, &init).map_err(|_| false)?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let work = async {
        let mut resp = Fetch::Request(request)
            .send_with_signal(&signal)
            .await
            .map_err(|_| false)?;
        let status = resp.status_code();
        let bytes = match resp.stream() {
            Ok(mut s) => read_capped(&mut s, max_answer).await.map_err(|_| false)?,
            Err(_) => Vec::new(),
        };
        Ok::<_, bool>((status, bytes))
    };
    let delay = Delay::from(Duration::from_millis(u64::from(timeout_ms)));
    pin_mut!(work);
    pin_mut!(delay);
    match select(work, delay).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => {
            controller.abort();
            Err(true)
        }
    }
}

async fn turnstile(
    req: &Request,
    cfg: &Config,
    secret: &str,
    ip: &str,
    idempotency_key: &str,
    trace: &mut Trace,
) -> Result<(), Fail> {
    let turnstile_fail = |reason| Fail {
        headers: vec![("www-authenticate", auth::challenge(None))],
        ..Fail::because(ErrorCode::Unauthorized, reason)
    };
    let token_header = header(req, auth::TURNSTILE_HEADER);
    let token = auth::turnstile_token(token_header.as_deref())
        .ok_or_else(|| turnstile_fail("turnstile_missing"))?;
    let url = cfg
        .turnstile_verify_url
        .as_deref()
        .ok_or_else(|| Fail::because(ErrorCode::ProxyMisconfigured, "turnstile_url"))?;
    let remote_ip = (ip != "unknown").then_some(ip);
    let body = auth::siteverify_body(secret, token, remote_ip, idempotency_key);
    let headers = [(
        "content-type",
        "application/x-www-form-urlencoded".to_string(),
    )];
    match call(
        url,
        &headers,
        body.as_bytes(),
        cfg.upstream_timeout_ms,
        64 * 1024,
    )
    .await
    {
        Ok((200, answer)) if auth::siteverify_success(&answer) => Ok(()),
        Ok(_) => Err(turnstile_fail("turnstile_rejected")),
        Err(_) => {
            trace.log.warnings.push("turnstile_unreachable");
            Err(Fail::because(
                ErrorCode::UpstreamError,
                "turnstile_unreachable",
            ))
        }
    }
}

/// The sandbox's simulated upstream, read exactly like a live answer.
async fn simulate(checked: &CheckedRequest, txn: &str, cfg: &Config, trace: &mut Trace) -> Outcome {
    let outcome = sandbox::sandbox_outcome(&checked.nik);
    let started = now_ms();
    let result = match sandbox::simulated_answer(outcome, txn) {
        Some((status, body)) => {
            trace.log.upstream_status = Some(status);
            upstream::interpret(status, body.as_bytes())
        }
        None => {
            Delay::from(Duration::from_millis(u64::from(cfg.upstream_timeout_ms))).await;
            upstream::transport_failure(true)
        }
    };
    trace.upstream_ms = Some(now_ms() - started);
    result
}
