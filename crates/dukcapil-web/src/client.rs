//! The FaceMatch client's checks and answer reading. Transport (fetch, timeout, abort) is in
//! `js/index.js`; the rules are `dukcapil_core::contract`, shared with the proxy.

use crate::js;
use dukcapil_core::{
    contract::{
        acceptable_endpoint,
        envelope::{answer_excerpt, read_answer, Expected},
        request::{validate_request, validate_transaction_id, RequestError},
        retry::{Failure, RetryPolicy},
    },
    ErrorCode, Lang,
};
use js_sys::Object;
use wasm_bindgen::prelude::*;

fn details(status: Option<u16>, retryable: bool) -> Object {
    let d = Object::new();
    js::set(&d, "status", status.map_or(JsValue::NULL, JsValue::from));
    js::set(&d, "retryable", retryable);
    d
}

/// How long `verify` waits before retry number `attempt` (from 0) after a failure with `code`
/// and `status` (0: no answer came) whose `Retry-After` was `retry_after_ms` (NaN: none), or
/// `undefined` for no retry. `names_transaction`: the request has a `transactionId`. `jitter`
/// is a random number in [0, 1). The rule is `dukcapil_core::contract::retry`.
#[wasm_bindgen(js_name = retryDelay)]
// Flat numbers cross into wasm for free; an options object would need marshalling code.
#[allow(clippy::too_many_arguments)]
pub fn retry_delay(
    code: &str,
    status: u16,
    retry_after_ms: f64,
    attempt: u32,
    retries: u32,
    base_ms: f64,
    names_transaction: bool,
    jitter: f64,
) -> Option<f64> {
    let failure = Failure {
        code: ErrorCode::from_code(code),
        status: (status != 0).then_some(status),
        retry_after_ms: (!retry_after_ms.is_nan()).then_some(retry_after_ms),
    };
    RetryPolicy::for_request(retries, base_ms, names_transaction).delay_ms(failure, attempt, jitter)
}

/// Checks what `verify` is about to send, exactly as the proxy will. Returns
/// `{ id, image }` (NIK normalized, image as raw base64) or throws a `FaceMatchError`.
#[wasm_bindgen(js_name = checkVerifyRequest, unchecked_return_type = "{ id: string; image: string }")]
pub fn check_verify_request(
    #[wasm_bindgen(unchecked_param_type = "string")] nik: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] image: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] transaction_id: JsValue,
) -> Result<JsValue, JsValue> {
    let nik = crate::nik::nik_text(&nik)?;
    let image = image.as_string().unwrap_or_default(); // absent → IMAGE_MISSING
    let valid = validate_request(&nik, &image, js::today()).map_err(|e| {
        let (en, id) = match &e {
            RequestError::Nik(n) => (n.message(Lang::En), n.message(Lang::Id)),
            RequestError::Image(c) => (c.message(Lang::En).into(), c.message(Lang::Id).into()),
        };
        let code = e.code();
        js::error(
            js::Kind::FaceMatch,
            code.as_str(),
            &en,
            &id,
            &details(None, false),
        )
    })?;
    if !transaction_id.is_undefined() {
        // Not a string (a number, say) is as invalid as a bad string.
        let checked = transaction_id
            .as_string()
            .map_or(Err(ErrorCode::TransactionIdInvalid), |t| {
                validate_transaction_id(&t)
            });
        if let Err(code) = checked {
            return Err(js::face_match(code, &details(None, false)));
        }
    }
    let o = Object::new();
    js::set(&o, "id", valid.nik.normalized());
    js::set(&o, "image", valid.image.base64_str());
    Ok(o.into())
}

/// Checks the `endpoint` a `FaceMatchClient` was given (`https:`, or `http:` on loopback; no
/// credentials, query or fragment: the rule the proxy applies to its own upstream URLs, plus
/// the last two) and returns `joined`, the verify URL the client made from it with the URL
/// API; else throws a `TypeError` saying what is wrong.
#[wasm_bindgen(js_name = verifyUrl)]
pub fn verify_url(endpoint: &str, joined: String) -> Result<String, JsValue> {
    match acceptable_endpoint(endpoint) {
        Ok(_) if !joined.is_empty() => Ok(joined),
        Ok(_) => Err(type_error("is not a valid URL")),
        Err(why) => Err(type_error(why)),
    }
}

fn type_error(why: &str) -> JsValue {
    js_sys::TypeError::new(&format!(
        "FaceMatchClient: `endpoint` (the proxy's base URL) {why}"
    ))
    .into()
}

/// Reads the proxy's answer to a request sent with `transaction_id`:
/// `{ match, score, message, requestId, transactionId, receipt, sandbox }`, or throws a
/// `FaceMatchError` (with the receipt of a definitive refusal). `too_large`: the body was
/// over the cap and not read.
#[wasm_bindgen(js_name = readVerifyResponse, unchecked_return_type = "VerifyResult")]
pub fn read_verify_response(
    status: u16,
    body: &[u8],
    transaction_id: Option<String>,
    allow_sandbox: bool,
    too_large: bool,
    url: &str,
) -> Result<JsValue, JsValue> {
    // Strictly our envelope, for this request: its `error.code` is trusted; anything else (a
    // platform or gateway page in front of the proxy) is read by its status alone.
    let expected = Expected {
        transaction_id: transaction_id.as_deref(),
        allow_sandbox,
        too_large,
    };
    match read_answer(status, body, &expected) {
        Ok(v) => {
            let r = v.result;
            let o = Object::new();
            js::set(&o, "match", r.is_match);
            js::set(&o, "score", r.score);
            js::set(&o, "message", js::opt_str(r.message.as_deref()));
            js::set(&o, "requestId", js::opt_str(r.request_id.as_deref()));
            js::set(
                &o,
                "transactionId",
                js::opt_str(r.transaction_id.as_deref()),
            );
            js::set(&o, "receipt", js::opt_str(v.receipt.as_deref()));
            js::set(&o, "sandbox", v.sandbox);
            Ok(o.into())
        }
        Err(f) => {
            let code = f.code;
            let d = details(Some(status), code.retryable());
            js::set(&d, "requestId", js::opt_str(f.request_id.as_deref()));
            js::set(
                &d,
                "transactionId",
                js::opt_str(f.transaction_id.as_deref()),
            );
            js::set(&d, "receipt", js::opt_str(f.receipt.as_deref()));
            js::set(&d, "url", url);
            // Not the proxy's envelope: what was wrong, and what came (PII-free), so that a
            // wrong path's 404 or a gateway's page can be told from the proxy's refusals.
            if let Some(reason) = f.reason {
                js::set(&d, "reason", reason);
                if !too_large {
                    js::set(
                        &d,
                        "bodyExcerpt",
                        js::opt_str(answer_excerpt(body).as_deref()),
                    );
                }
            }
            Err(js::face_match(code, &d))
        }
    }
}

/// A `FaceMatchError` for a failure found in JS (`NETWORK`, `TIMEOUT`, `ABORTED`,
/// `UNAUTHORIZED` when the token callback fails), with catalogue messages, the URL it was
/// about and, where JS knows more, the reason.
#[wasm_bindgen(js_name = faceMatchError, unchecked_return_type = "FaceMatchError")]
pub fn face_match_error(
    code: &str,
    #[wasm_bindgen(unchecked_param_type = "unknown")] cause: JsValue,
    url: Option<String>,
    reason: Option<String>,
) -> JsValue {
    let code = ErrorCode::from_code(code).unwrap_or(ErrorCode::Network);
    let d = details(None, code.retryable());
    js::set(&d, "cause", cause);
    js::set(&d, "url", js::opt_str(url.as_deref()));
    js::set(&d, "reason", js::opt_str(reason.as_deref()));
    js::face_match(code, &d)
}
