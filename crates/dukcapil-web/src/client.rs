//! The FaceMatch client's checks and answer reading. Transport (fetch, timeout, abort) is in
//! `js/index.js`; the rules are `dukcapil_core::contract`, shared with the proxy.

use crate::js;
use dukcapil_core::{
    contract::{
        envelope::read_envelope,
        request::{validate_request, validate_transaction_id, RequestError},
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

/// Reads the proxy's answer: `{ match, score, message, requestId, transactionId }`, or
/// throws a `FaceMatchError`.
#[wasm_bindgen(js_name = readVerifyResponse, unchecked_return_type = "VerifyResult")]
pub fn read_verify_response(status: u16, body: &[u8]) -> Result<JsValue, JsValue> {
    // Strictly our envelope: its `error.code` is trusted; anything else (a platform or
    // gateway page in front of the proxy) is read by its status alone.
    match read_envelope(status, body) {
        Ok(r) => {
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
            Err(js::face_match(code, &d))
        }
    }
}

/// A `FaceMatchError` for a failure found in JS (`NETWORK`, `TIMEOUT`, `ABORTED`,
/// `UNAUTHORIZED` when the token callback fails), with catalogue messages.
#[wasm_bindgen(js_name = faceMatchError, unchecked_return_type = "FaceMatchError")]
pub fn face_match_error(
    code: &str,
    #[wasm_bindgen(unchecked_param_type = "unknown")] cause: JsValue,
) -> JsValue {
    let code = ErrorCode::from_code(code).unwrap_or(ErrorCode::Network);
    let d = details(None, code.retryable());
    js::set(&d, "cause", cause);
    js::face_match(code, &d)
}
