//! Small JS helpers: error construction, plain objects, today's date.

use dukcapil_core::date::CivilDate;
#[cfg(feature = "full")]
use dukcapil_core::{ErrorCode, Lang};
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/errors.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeError)]
    fn make_error(
        kind: u8,
        code: &str,
        message: &str,
        message_id: &str,
        details: &JsValue,
    ) -> JsValue;
}

/// Which JS error class to throw.
#[derive(Clone, Copy)]
pub enum Kind {
    Nik = 0,
    #[cfg(feature = "full")]
    Selfie = 1,
    #[cfg(feature = "full")]
    FaceMatch = 2,
}

/// A `NikError`/`SelfieError`/`FaceMatchError` with its English and Indonesian messages.
pub fn error(kind: Kind, code: &str, en: &str, id: &str, details: &JsValue) -> JsValue {
    make_error(kind as u8, code, en, id, details)
}

/// A `FaceMatchError` for a catalogue code with its catalogue messages.
#[cfg(feature = "full")]
pub fn face_match(code: ErrorCode, details: &JsValue) -> JsValue {
    error(
        Kind::FaceMatch,
        code.as_str(),
        code.message(Lang::En),
        code.message(Lang::Id),
        details,
    )
}

/// `obj[key] = value`; setting a key on a fresh plain object cannot fail.
pub fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value.into());
}

/// `obj[key]`, `undefined` when absent or when a getter throws.
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn opt_str(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_str)
}

/// Used only if the clock gives no date at all (an invalid `Date`).
const FALLBACK_DAY: CivilDate = match CivilDate::new(2026, 1, 1) {
    Some(d) => d,
    None => panic!("2026-01-01 exists"), // evaluated at compile time
};

/// The browser's current local date: the reference for a NIK's birth century.
pub fn today() -> CivilDate {
    let now = js_sys::Date::new_0();
    // An invalid Date gives NaN, which js-sys turns into 0: then the fallback applies.
    let year = u16::try_from(now.get_full_year()).unwrap_or(0);
    let month = u8::try_from(now.get_month().saturating_add(1)).unwrap_or(0);
    let day = u8::try_from(now.get_date()).unwrap_or(0);
    CivilDate::new(year, month, day).unwrap_or(FALLBACK_DAY)
}
