//! `parseNik` / `isValidNik`: `dukcapil_core::nik` with the browser's date as reference.

use crate::js::{self, Kind};
use dukcapil_core::{
    nik::{self, Region},
    Lang,
};
use js_sys::Object;
use wasm_bindgen::prelude::*;

fn region(r: &Region, with_moved: bool) -> Object {
    let o = Object::new();
    js::set(&o, "code", r.code.as_str());
    js::set(&o, "name", js::opt_str(r.name));
    if with_moved {
        js::set(&o, "movedTo", js::opt_str(r.moved_to.as_deref()));
    }
    o
}

/// Parses a NIK typed by a person; throws a `NikError` when it is not valid. With
/// `{ strictRegions: true }`, a regency code not in the bundled tables is refused too.
#[wasm_bindgen(js_name = parseNik, unchecked_return_type = "NikInfo")]
pub fn parse_nik(
    #[wasm_bindgen(unchecked_param_type = "string")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ParseNikOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let input = nik_text(&input)?;
    let parse = if strict_regions(&options)? {
        nik::parse_nik_strict
    } else {
        nik::parse_nik
    };
    let nik = parse(&input, js::today()).map_err(|e| {
        js::error(
            Kind::Nik,
            e.code().as_str(),
            &e.message(Lang::En),
            &e.message(Lang::Id),
            &JsValue::UNDEFINED,
        )
    })?;
    let o = Object::new();
    js::set(&o, "normalized", nik.normalized());
    js::set(&o, "province", region(&nik.province(), false));
    js::set(&o, "regency", region(&nik.regency(), true));
    js::set(&o, "district", region(&nik.district(), false));
    js::set(&o, "birthDate", nik.birth_date().to_string());
    js::set(&o, "sex", nik.sex().as_str());
    js::set(&o, "serial", nik.serial());
    js::set(&o, "masked", nik.masked());
    Ok(o.into())
}

/// Whether `input` is a valid NIK today.
#[wasm_bindgen(js_name = isValidNik)]
pub fn is_valid_nik(#[wasm_bindgen(unchecked_param_type = "string")] input: JsValue) -> bool {
    input
        .as_string()
        .is_some_and(|s| nik::is_valid_nik(&s, js::today()))
}

/// `options.strictRegions`; a TypeError for anything but `undefined` or `{ strictRegions? }`.
fn strict_regions(options: &JsValue) -> Result<bool, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(false);
    }
    let bad = || js_sys::TypeError::new("parseNik: options are `{ strictRegions?: boolean }`");
    if !options.is_object() {
        return Err(bad().into());
    }
    let keys = js_sys::Object::keys(options.unchecked_ref::<Object>());
    if keys
        .iter()
        .any(|k| k.as_string().as_deref() != Some("strictRegions"))
    {
        return Err(bad().into());
    }
    match js::get(options, "strictRegions") {
        v if v.is_undefined() => Ok(false),
        v => v.as_bool().ok_or_else(|| bad().into()),
    }
}

/// A NIK must come as text: 16 digits exceed what a JS number holds exactly.
pub(crate) fn nik_text(input: &JsValue) -> Result<String, JsValue> {
    if input.is_undefined() || input.is_null() {
        return Ok(String::new()); // reported as NIK_EMPTY
    }
    input
        .as_string()
        .ok_or_else(|| js_sys::TypeError::new("The NIK must be a string, not a number.").into())
}
