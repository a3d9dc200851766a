//! The Worker glue: it reads the request and the bindings, drives [`Pipeline`] and performs
//! the I/O each [`Step`] asks for, then sends the answer and writes the log line. It decides
//! nothing (see `crate::logic::pipeline`).
//!
//! It is written for CPU and memory, since both are billed per request and shared per
//! isolate: the caller's body is read once into JS, copied into wasm only while the
//! (synchronous) checks run, and the upstream body is made from the JS bytes, so the image
//! never leaves wasm memory again and no request holds wasm memory across an await.

use crate::logic::{
    auth::Limiter,
    body::{BodyLimit, UpstreamBody},
    config::Config,
    pipeline::{BodyReply, Call, CallReply, Context, Head, LimitReply, Pipeline, Reply, Step},
};
use core::sync::atomic::{AtomicBool, Ordering};
use std::{cell::RefCell, rc::Rc};
use worker::{
    event, js_sys,
    js_sys::Uint8Array,
    wasm_bindgen::{JsCast, JsValue},
    wasm_bindgen_futures::JsFuture,
    web_sys, Delay, Env, Headers, Request, Response, ResponseBuilder,
};

/// The configuration, read once per isolate (for as long as the same `env` comes back).
struct CachedConfig {
    env: JsValue,
    cfg: Rc<Config>,
}

thread_local! {
    static CONFIG: RefCell<Option<CachedConfig>> = const { RefCell::new(None) };
}

fn config(env: &Env) -> Rc<Config> {
    let env_value: &JsValue = env.as_ref();
    CONFIG.with(|cell| {
        let mut cached = cell.borrow_mut();
        if let Some(c) = cached
            .as_ref()
            .filter(|c| js_sys::Object::is(&c.env, env_value))
        {
            return c.cfg.clone();
        }
        let cfg = Rc::new(Config::from_lookup(|name| {
            env.var(name).ok().map(|v| v.to_string())
        }));
        *cached = Some(CachedConfig {
            env: env_value.clone(),
            cfg: cfg.clone(),
        });
        cfg
    })
}

fn read_head(req: &Request) -> Head {
    let headers = req.inner().headers();
    let get = |name: &str| headers.get(name).ok().flatten();
    Head {
        method: req.inner().method(),
        path: req.path(),
        origin: get("origin"),
        transaction_id: get("transactionId"),
        authorization: get("authorization"),
        content_type: get("content-type"),
        content_length: get("content-length"),
        client_ip: get("cf-connecting-ip"),
        turnstile: get(crate::logic::auth::TURNSTILE_HEADER),
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The size of the wasm linear memory, which never shrinks.
fn wasm_memory_bytes() -> u64 {
    (core::arch::wasm32::memory_size::<0>() as u64) * 65_536
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: worker::Context) -> worker::Result<Response> {
    let started = now_ms();
    let cfg = config(&env);
    let edge = req.inner();
    let ctx = Context {
        request_id: uuid::Uuid::new_v4().to_string(),
        fresh_transaction_id: uuid::Uuid::new_v4().to_string(),
        now_ms: started,
    };
    let mut pipeline = Pipeline::new(&cfg, read_head(&req), ctx);
    // The caller's body, and the upstream body made from it: JS values, outside wasm memory.
    let mut original: Option<Uint8Array> = None;
    let mut staged: Option<JsValue> = None;
    let mut step = pipeline.start();
    loop {
        step = match step {
            Step::RateLimit { limiter, key } => {
                let reply = rate_limit(&env, limiter, key).await;
                pipeline.resume(Reply::Limit(reply))
            }
            Step::ReadBody { declared, limit } => match read_body(edge, declared, limit).await {
                Ok(body) => {
                    // In wasm only for the checks, which run without awaiting anything.
                    let bytes = body.to_vec();
                    original = Some(body);
                    pipeline.resume(Reply::Body(BodyReply::Read(&bytes)))
                }
                Err(reply) => pipeline.resume(Reply::Body(reply)),
            },
            Step::StageBody(plan) => {
                staged = original.take().map(|o| stage(o, plan));
                pipeline.resume(Reply::Staged)
            }
            Step::Siteverify(call) => {
                let body = call.body.as_deref().map(JsValue::from);
                let (answer, ms) = post(&call, body).await;
                pipeline.resume(Reply::Called {
                    reply: answer.as_reply(),
                    ms,
                })
            }
            Step::CallUpstream(call) => {
                let (answer, ms) = post(&call, staged.take()).await;
                pipeline.resume(Reply::Called {
                    reply: answer.as_reply(),
                    ms,
                })
            }
            Step::Wait { ms } => {
                let t0 = now_ms();
                Delay::from(core::time::Duration::from_millis(u64::from(ms))).await;
                pipeline.resume(Reply::Waited { ms: now_ms() - t0 })
            }
            Step::Finish => break,
        };
    }
    let (answer, log_line) = pipeline.finish(now_ms() - started, Some(wasm_memory_bytes()));
    worker::console_log!("{log_line}");
    let headers = Headers::new();
    for (k, v) in &answer.headers {
        headers.append(k, v)?;
    }
    let builder = ResponseBuilder::new()
        .with_status(answer.status)
        .with_headers(headers);
    Ok(if answer.body.is_empty() {
        builder.empty()
    } else {
        builder.fixed(answer.body.into_bytes())
    })
}

/// Warn once per isolate when a rate limiting binding is missing.
static MISSING_LIMITER_SEEN: AtomicBool = AtomicBool::new(false);

async fn rate_limit(env: &Env, limiter: Limiter, key: String) -> LimitReply {
    let Ok(binding) = env.rate_limiter(limiter.binding()) else {
        let first = !MISSING_LIMITER_SEEN.swap(true, Ordering::Relaxed);
        return LimitReply::Missing { first };
    };
    match binding.limit(key).await {
        Ok(outcome) if outcome.success => LimitReply::Allowed,
        Ok(_) => LimitReply::Limited,
        Err(_) => LimitReply::Failed,
    }
}

/// The whole body as one JS byte array: in one call when its length is declared (HTTP then
/// reads exactly that many bytes), else chunk by chunk, each counted against the cap.
async fn read_body(
    req: &web_sys::Request,
    declared: Option<usize>,
    mut limit: BodyLimit,
) -> Result<Uint8Array, BodyReply<'static>> {
    if declared.is_some() {
        let promise = req.array_buffer().map_err(|_| BodyReply::Failed)?;
        let buffer = JsFuture::from(promise)
            .await
            .map_err(|_| BodyReply::Failed)?;
        return Ok(Uint8Array::new(&buffer));
    }
    let Some(stream) = req.body() else {
        return Ok(Uint8Array::new_with_length(0)); // no body: reported as missing fields
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let chunks = js_sys::Array::new();
    let mut total = 0u32;
    loop {
        let result = JsFuture::from(reader.read())
            .await
            .map_err(|_| BodyReply::Failed)?;
        let done = js_sys::Reflect::get(&result, &JsValue::from_str("done"))
            .map_err(|_| BodyReply::Failed)?;
        if done.is_truthy() {
            break;
        }
        let chunk: Uint8Array = js_sys::Reflect::get(&result, &JsValue::from_str("value"))
            .map_err(|_| BodyReply::Failed)?
            .dyn_into()
            .map_err(|_| BodyReply::Failed)?;
        if limit.admit(chunk.length() as usize).is_err() {
            let _ = reader.cancel();
            return Err(BodyReply::TooLarge);
        }
        total += chunk.length();
        chunks.push(&chunk);
    }
    let body = Uint8Array::new_with_length(total);
    let mut at = 0;
    for chunk in chunks.iter() {
        let chunk: Uint8Array = chunk.unchecked_into();
        body.set(&chunk, at);
        at += chunk.length();
    }
    Ok(body)
}

/// The upstream body, made from the caller's bytes as the pipeline describes.
fn stage(original: Uint8Array, plan: UpstreamBody) -> JsValue {
    match plan {
        UpstreamBody::Original => original.into(),
        UpstreamBody::Splice { head, image, tail } => {
            let (start, end) = (image.start as u32, image.end as u32);
            let body =
                Uint8Array::new_with_length(head.len() as u32 + (end - start) + tail.len() as u32);
            body.set(&Uint8Array::from(&head[..]), 0);
            body.set(&original.subarray(start, end), head.len() as u32);
            body.set(&Uint8Array::from(tail), head.len() as u32 + (end - start));
            body.into()
        }
        UpstreamBody::Built(bytes) => Uint8Array::from(&bytes[..]).into(),
    }
}

/// A call's end, owning what was read.
enum Answered {
    Bytes { status: u16, body: Vec<u8> },
    TooLarge,
    Unreachable,
    TimedOut,
}

impl Answered {
    fn as_reply(&self) -> CallReply<'_> {
        match self {
            Answered::Bytes { status, body } => CallReply::Answered {
                status: *status,
                body,
            },
            Answered::TooLarge => CallReply::TooLarge,
            Answered::Unreachable => CallReply::Unreachable,
            Answered::TimedOut => CallReply::TimedOut,
        }
    }
}

/// POSTs `body` to `call.url` and reads the answer, all within `call.timeout_ms` (one abort
/// signal covers the connection and the answer's body). Redirects are never followed: they
/// would resend appId/appKey (or the Turnstile secret) to wherever the answer points.
async fn post(call: &Call, body: Option<JsValue>) -> (Answered, f64) {
    let started = now_ms();
    let signal = web_sys::AbortSignal::timeout_with_u32(call.timeout_ms);
    let result = send(call, body, &signal).await;
    let answered = match result {
        Ok(a) => a,
        Err(()) if signal.aborted() => Answered::TimedOut,
        Err(()) => Answered::Unreachable,
    };
    (answered, now_ms() - started)
}

async fn send(
    call: &Call,
    body: Option<JsValue>,
    signal: &web_sys::AbortSignal,
) -> Result<Answered, ()> {
    let headers = web_sys::Headers::new().map_err(|_| ())?;
    for (k, v) in &call.headers {
        headers.set(k, v).map_err(|_| ())?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    init.set_signal(Some(signal));
    if let Some(body) = &body {
        init.set_body(body);
    }
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let response: web_sys::Response =
        JsFuture::from(global.fetch_with_str_and_init(&call.url, &init))
            .await
            .map_err(|_| ())?
            .unchecked_into();
    let status = response.status();
    let declared = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok());
    let mut limit = BodyLimit::new(call.max_answer);
    match declared {
        Some(n) if limit.admit(n).is_err() => {
            if let Some(b) = response.body() {
                let _ = b.cancel();
            }
            Ok(Answered::TooLarge)
        }
        Some(_) => {
            let buffer = JsFuture::from(response.array_buffer().map_err(|_| ())?)
                .await
                .map_err(|_| ())?;
            Ok(Answered::Bytes {
                status,
                body: Uint8Array::new(&buffer).to_vec(),
            })
        }
        None => read_capped(&response, status, limit).await,
    }
}

/// An answer of unknown length, read chunk by chunk under `limit`.
async fn read_capped(
    response: &web_sys::Response,
    status: u16,
    mut limit: BodyLimit,
) -> Result<Answered, ()> {
    let Some(stream) = response.body() else {
        return Ok(Answered::Bytes {
            status,
            body: Vec::new(),
        });
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let result = JsFuture::from(reader.read()).await.map_err(|_| ())?;
        let done = js_sys::Reflect::get(&result, &JsValue::from_str("done")).map_err(|_| ())?;
        if done.is_truthy() {
            return Ok(Answered::Bytes { status, body });
        }
        let chunk: Uint8Array = js_sys::Reflect::get(&result, &JsValue::from_str("value"))
            .map_err(|_| ())?
            .dyn_into()
            .map_err(|_| ())?;
        if limit.admit(chunk.length() as usize).is_err() {
            let _ = reader.cancel();
            return Ok(Answered::TooLarge);
        }
        body.extend_from_slice(&chunk.to_vec());
    }
}
