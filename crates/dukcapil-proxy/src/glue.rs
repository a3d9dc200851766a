//! The Worker glue: it reads the request and the bindings, drives [`Pipeline`] and performs
//! the I/O each [`Step`] asks for, then sends the answer and writes the log line. It decides
//! nothing (see `crate::logic::pipeline`).
//!
//! It is written for CPU and memory, since both are billed per request and shared per
//! isolate. The caller's body is read once into JS, copied into wasm only while the
//! (synchronous) checks run, and the upstream body is made from the JS bytes, so the image
//! never leaves wasm memory again and no request holds wasm memory across an await. The I/O
//! itself is in `io.js`: one call from wasm per step, rather than a crossing per header,
//! promise and setter.
//!
//! Receipts are signed by the runtime's WebCrypto: the key is imported (or, in a sandbox
//! without one, made) once per isolate and kept here.

mod ledger;

use crate::logic::{
    answer::Answer,
    auth::{Limiter, TURNSTILE_HEADER},
    body::UpstreamBody,
    config::Config,
    pipeline::{
        BodyReply, Call, CallReply, Context, Head, KeyReply, KeyRequest, LedgerReply, LimitReply,
        Pipeline, Reply, Step,
    },
    receipt::EcPublic,
};
use core::sync::atomic::{AtomicBool, Ordering};
use std::{cell::RefCell, rc::Rc};
use worker::{
    event, js_sys,
    js_sys::Uint8Array,
    wasm_bindgen::{self, prelude::wasm_bindgen, JsCast, JsValue},
    wasm_bindgen_futures::JsFuture,
    web_sys, Delay, Env,
};

#[wasm_bindgen(module = "/src/io.js")]
extern "C" {
    fn ids() -> String;
    fn limit(env: &Env, name: &str, key: &str) -> js_sys::Promise;
    fn head(request: &web_sys::Request, names: Vec<JsValue>) -> String;
    #[wasm_bindgen(js_name = readBody)]
    fn read_body(request: &web_sys::Request, declared: Option<u32>, cap: u32) -> js_sys::Promise;
    fn post(
        url: &str,
        headers_json: &str,
        body: &JsValue,
        timeout_ms: u32,
        max_answer: u32,
    ) -> js_sys::Promise;
    pub(crate) fn respond(status: u16, headers_json: &str, body: &str) -> web_sys::Response;
    #[wasm_bindgen(js_name = releaseBody)]
    fn release_body(body: &Uint8Array);
    fn splice(body: &Uint8Array, head: &[u8], start: u32, end: u32, tail: &[u8]) -> Uint8Array;
    #[wasm_bindgen(js_name = loadKey)]
    fn load_key(private_jwk: Option<String>) -> js_sys::Promise;
    fn sign(key: &JsValue, input: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = askLedger)]
    fn ask_ledger(env: &Env, binding: &str, name: &str, request: &str) -> js_sys::Promise;
}

/// The caller's body, read by `io.js` into a pooled buffer: handed back when dropped, which is
/// after the upstream call has copied it, or when the request ends.
struct Body(Uint8Array);

impl Drop for Body {
    fn drop(&mut self) {
        release_body(&self.0);
    }
}

/// The configuration, read once per isolate (for as long as the same `env` comes back).
struct CachedConfig {
    env: JsValue,
    cfg: Rc<Config>,
}

/// The receipt key as WebCrypto holds it, for the isolate's life.
struct LoadedKey {
    request: KeyRequest,
    key: JsValue,
    public: Option<EcPublic>,
}

thread_local! {
    static CONFIG: RefCell<Option<CachedConfig>> = const { RefCell::new(None) };
    static KEY: RefCell<Option<Rc<LoadedKey>>> = const { RefCell::new(None) };
}

/// The key the pipeline asks for: from the isolate's cache, else imported (or generated)
/// through `io.js`, once.
async fn receipt_key(request: KeyRequest) -> Option<Rc<LoadedKey>> {
    let cached = KEY.with(|k| k.borrow().clone());
    if let Some(loaded) = cached.filter(|l| l.request == request) {
        return Some(loaded);
    }
    let jwk = match &request {
        KeyRequest::Import(jwk) => Some(jwk.clone()),
        KeyRequest::Generate => None,
    };
    let answer = JsFuture::from(load_key(jwk)).await.ok()?;
    let parts: js_sys::Array = answer.dyn_into().ok()?;
    let public = match (parts.get(1).as_string(), parts.get(2).as_string()) {
        (Some(x), Some(y)) => Some(EcPublic { x, y }),
        _ => None,
    };
    let loaded = Rc::new(LoadedKey {
        request,
        key: parts.get(0),
        public,
    });
    KEY.with(|k| *k.borrow_mut() = Some(loaded.clone()));
    Some(loaded)
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

/// The headers [`Head`] holds, in its order.
const HEAD_HEADERS: [&str; 7] = [
    "origin",
    "transactionId",
    "authorization",
    "content-type",
    "content-length",
    "cf-connecting-ip",
    TURNSTILE_HEADER,
];

fn read_head(req: &web_sys::Request) -> Head {
    let names = HEAD_HEADERS.iter().map(|n| JsValue::from_str(n)).collect();
    let json = head(req, names);
    let values: Vec<Option<String>> = serde_json::from_str(&json).unwrap_or_default();
    let mut v = values.into_iter();
    let mut next = || v.next().flatten();
    Head {
        method: next().unwrap_or_default(),
        url: next().unwrap_or_default(),
        origin: next(),
        transaction_id: next(),
        authorization: next(),
        content_type: next(),
        content_length: next(),
        client_ip: next(),
        turnstile: next(),
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The size of the wasm linear memory, which never shrinks.
fn wasm_memory_bytes() -> u64 {
    (core::arch::wasm32::memory_size::<0>() as u64) * 65_536
}

// The raw `web_sys` request and response: `worker::Request` would parse `request.cf` (a JSON
// blob, on every request) and the URL, neither of which the proxy uses.
#[event(fetch)]
async fn fetch(
    req: web_sys::Request,
    env: Env,
    _ctx: worker::Context,
) -> worker::Result<web_sys::Response> {
    let started = now_ms();
    let cfg = config(&env);
    let ids = ids();
    let mut ids = ids.split(' ');
    let mut next_id = || ids.next().unwrap_or_default().to_string();
    let ctx = Context {
        request_id: next_id(),
        fresh_transaction_id: next_id(),
        receipt_id: next_id(),
        now_ms: started,
    };
    let mut pipeline = Pipeline::new(&cfg, read_head(&req), ctx);
    // The caller's body, and the upstream body made from it: JS values, outside wasm memory.
    let mut original: Option<Body> = None;
    let mut staged = JsValue::UNDEFINED;
    let mut key: Option<Rc<LoadedKey>> = None;
    let mut step = pipeline.start();
    loop {
        step = match step {
            Step::LoadKey(request) => {
                key = receipt_key(request).await;
                let reply = match &key {
                    Some(k) => match &k.public {
                        Some(public) => KeyReply::Generated(public.clone()),
                        None => KeyReply::Imported,
                    },
                    None => KeyReply::Failed,
                };
                pipeline.resume(Reply::Key(reply))
            }
            Step::Sign { input } => {
                let signature = match &key {
                    Some(k) => JsFuture::from(sign(&k.key, &input))
                        .await
                        .ok()
                        .and_then(|s| s.dyn_into::<Uint8Array>().ok())
                        .map(|s| s.to_vec()),
                    None => None,
                };
                pipeline.resume(Reply::Signed(signature.as_deref()))
            }
            Step::RateLimit { limiter, key } => {
                let reply = rate_limit(&env, limiter, key).await;
                pipeline.resume(Reply::Limit(reply))
            }
            Step::ReadBody { declared, limit } => {
                let declared = declared.map(|n| n as u32);
                let read = JsFuture::from(read_body(&req, declared, limit.cap() as u32)).await;
                match read.map(JsCast::dyn_into::<Uint8Array>) {
                    Ok(Ok(body)) => {
                        // In wasm only for the checks, which run without awaiting anything.
                        let bytes = body.to_vec();
                        original = Some(Body(body));
                        pipeline.resume(Reply::Body(BodyReply::Read(&bytes)))
                    }
                    Ok(Err(outcome)) if outcome.as_string().as_deref() == Some("too_large") => {
                        pipeline.resume(Reply::Body(BodyReply::TooLarge))
                    }
                    _ => pipeline.resume(Reply::Body(BodyReply::Failed)),
                }
            }
            Step::StageBody(plan) => {
                if let Some(o) = &original {
                    staged = stage(&o.0, plan);
                }
                pipeline.resume(Reply::Staged)
            }
            Step::Siteverify(call) => {
                let body = JsValue::from(call.body.as_deref().unwrap_or(""));
                let answer = call_out(&call, &body).await;
                pipeline.resume(answer.reply())
            }
            Step::CallUpstream(call) => {
                let body = core::mem::replace(&mut staged, JsValue::UNDEFINED);
                let answer = call_out(&call, &body).await;
                drop(body);
                original = None; // copied by the upstream call: the buffer can serve the next body
                pipeline.resume(answer.reply())
            }
            Step::Wait { ms } => {
                let t0 = now_ms();
                Delay::from(core::time::Duration::from_millis(u64::from(ms))).await;
                pipeline.resume(Reply::Waited { ms: now_ms() - t0 })
            }
            Step::Ledger {
                transaction_id,
                request,
            } => {
                let binding = crate::logic::ledger::LEDGER_BINDING;
                let answer = JsFuture::from(ask_ledger(&env, binding, &transaction_id, &request))
                    .await
                    .ok()
                    .and_then(|a| a.as_string());
                // The answer is JSON; `io.js`'s own outcomes are bare words.
                let reply = match answer.as_deref() {
                    Some("missing") => LedgerReply::Missing,
                    None | Some("failed") => LedgerReply::Failed,
                    Some(json) => LedgerReply::Answered(json),
                };
                pipeline.resume(Reply::Ledger(reply))
            }
            Step::Finish => break,
        };
    }
    let (answer, log_line) = pipeline.finish(now_ms() - started, Some(wasm_memory_bytes()));
    worker::console_log!("{log_line}");
    Ok(response(&answer))
}

fn response(answer: &Answer) -> web_sys::Response {
    let headers: Vec<[&str; 2]> = answer
        .headers
        .iter()
        .map(|(k, v)| [*k, v.as_str()])
        .collect();
    let headers_json = serde_json::to_string(&headers).unwrap_or_else(|_| "[]".into());
    respond(answer.status, &headers_json, &answer.body)
}

/// Warn once per isolate and binding when a rate limiting binding is missing.
static MISSING_LIMITER_SEEN: [AtomicBool; 3] = [const { AtomicBool::new(false) }; 3];

async fn rate_limit(env: &Env, limiter: Limiter, key: String) -> LimitReply {
    let answer = JsFuture::from(limit(env, limiter.binding(), &key)).await;
    let seen = &MISSING_LIMITER_SEEN[Limiter::ALL.iter().position(|l| *l == limiter).unwrap_or(0)];
    match answer.ok().and_then(|a| a.as_string()).as_deref() {
        Some("allowed") => LimitReply::Allowed,
        Some("limited") => LimitReply::Limited,
        Some("missing") => LimitReply::Missing {
            first: !seen.swap(true, Ordering::Relaxed),
        },
        _ => LimitReply::Failed,
    }
}

/// The upstream body, made from the caller's bytes as the pipeline describes.
fn stage(original: &Uint8Array, plan: UpstreamBody) -> JsValue {
    match plan {
        UpstreamBody::Original => original.clone().into(),
        UpstreamBody::Splice { head, image, tail } => {
            splice(original, &head, image.start as u32, image.end as u32, tail).into()
        }
        UpstreamBody::Built(bytes) => Uint8Array::from(&bytes[..]).into(),
    }
}

/// A call's end, owning what was read.
struct Answered {
    outcome: Outcome,
    ms: f64,
}

enum Outcome {
    Bytes { status: u16, body: Vec<u8> },
    TooLarge,
    Unreachable,
    TimedOut,
}

impl Answered {
    fn reply(&self) -> Reply<'_> {
        let reply = match &self.outcome {
            Outcome::Bytes { status, body } => CallReply::Answered {
                status: *status,
                body,
            },
            Outcome::TooLarge => CallReply::TooLarge,
            Outcome::Unreachable => CallReply::Unreachable,
            Outcome::TimedOut => CallReply::TimedOut,
        };
        Reply::Called { reply, ms: self.ms }
    }
}

/// One POST through `io.js`'s `post`.
async fn call_out(call: &Call, body: &JsValue) -> Answered {
    let headers: Vec<[&str; 2]> = call.headers.iter().map(|(k, v)| [*k, v.as_str()]).collect();
    let headers_json = serde_json::to_string(&headers).unwrap_or_else(|_| "[]".into());
    let promise = post(
        &call.url,
        &headers_json,
        body,
        call.timeout_ms,
        call.max_answer as u32,
    );
    let Ok(result) = JsFuture::from(promise).await else {
        return Answered {
            outcome: Outcome::Unreachable,
            ms: 0.0,
        };
    };
    let result: js_sys::Array = result.unchecked_into();
    let ms = result.get(2).as_f64().unwrap_or(0.0);
    let first = result.get(0);
    let outcome = match first.as_f64() {
        Some(status) => Outcome::Bytes {
            status: status as u16,
            body: result
                .get(1)
                .dyn_into::<Uint8Array>()
                .map(|b| b.to_vec())
                .unwrap_or_default(),
        },
        None => match first.as_string().as_deref() {
            Some("too_large") => Outcome::TooLarge,
            Some("timeout") => Outcome::TimedOut,
            _ => Outcome::Unreachable,
        },
    };
    Answered { outcome, ms }
}
