//! The browser face of dukcapil-facematch: translates between JS values and the plain crates
//! (`dukcapil-core` for NIKs, requests and answers; `dukcapil-selfie` for pixels). No rules
//! live here. The npm entry (`js/index.js`) wraps these raw exports. Without the `full`
//! feature, only the NIK exports: the small module of `dukcapil-facematch/nik` (`js/nik.js`).
//!
//! Nothing here logs: NIKs and images are personal data.

#[cfg(feature = "full")]
mod client;
mod js;
mod nik;
#[cfg(feature = "full")]
mod selfie;
#[cfg(feature = "full")]
mod stages;

#[cfg(feature = "full")]
pub use client::{check_verify_request, face_match_error, read_verify_response, verify_url};
pub use nik::{is_valid_nik, parse_nik};
#[cfg(feature = "full")]
pub use selfie::prepare_selfie;

// Types for the raw glue's declarations; the public ones live in the package's index.d.ts.
#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const TS_IMPORTS: &str = r#"
import type { NikInfo, ParseNikOptions, VerifyResult, PreparedSelfie, PrepareSelfieOptions, SelfieSource, FaceMatchError } from "./index.js";
"#;
