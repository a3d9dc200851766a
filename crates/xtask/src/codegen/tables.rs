//! Markdown tables for the READMEs, from the catalogues they describe.

use dukcapil_core::{ErrorCode, Lang};
use dukcapil_proxy::logic::sandbox::{sandbox_outcome, simulated_answer, SANDBOX_TABLE};
use std::fmt::Write as _;

/// Every code of the core catalogue, with its status and messages.
pub fn error_codes() -> String {
    let mut t = String::from(
        "| code | HTTP | retry helps | English | Bahasa Indonesia |\n|---|---:|:---:|---|---|\n",
    );
    for code in ErrorCode::ALL {
        let status = match code.http_status() {
            0 => "—".to_string(),
            s => s.to_string(),
        };
        let _ = writeln!(
            t,
            "| `{}` | {status} | {} | {} | {} |",
            code.as_str(),
            if code.retryable() { "yes" } else { "no" },
            code.message(Lang::En),
            code.message(Lang::Id)
        );
    }
    t
}

pub fn selfie_error_codes() -> String {
    use dukcapil_selfie::SelfieError;
    let mut t = String::from("| code | English | Bahasa Indonesia |\n|---|---|---|\n");
    for e in SelfieError::ALL {
        let _ = writeln!(
            t,
            "| `{}` | {} | {} |",
            e.code(),
            e.message(Lang::En),
            e.message(Lang::Id)
        );
    }
    t
}

/// A NIK that is valid and ends in `serial`.
fn example_nik(serial: &str) -> String {
    format!("327301010190{serial}")
}

/// What the simulated upstream sends, read from the answer itself: its status and the
/// vendor's message (and `INVALID_REQUEST` for the failures it reports with HTTP 200).
fn upstream_summary(answer: Option<(u16, String)>) -> String {
    let Some((status, body)) = answer else {
        return "no answer".into();
    };
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let result = &json["result"];
    let message = result["message"]
        .as_str()
        .or_else(|| json["message"].as_str())
        .unwrap_or("");
    match result["status"].as_str() {
        Some(s) => format!("{status} `{s}` \"{message}\""),
        None => format!("{status} \"{message}\""),
    }
}

/// The sandbox's serials, from the proxy's `SANDBOX_TABLE` and its simulated answers.
pub fn sandbox() -> String {
    let mut t = String::from(
        "| NIK serial (last 4 digits) | Example NIK | Simulated upstream | Proxy answer |\n\
         |---|---|---|---|\n",
    );
    for case in SANDBOX_TABLE {
        let _ = writeln!(
            t,
            "| `{}` | `{}` | {} | {} |",
            case.serial,
            example_nik(case.serial),
            upstream_summary(simulated_answer(case.outcome, "t")),
            case.answer
        );
    }
    let other = example_nik("4242");
    let outcome = sandbox_outcome(&other);
    let answer = SANDBOX_TABLE
        .iter()
        .find(|c| c.outcome == outcome)
        .map_or("", |c| c.answer);
    let _ = writeln!(
        t,
        "| any other | `{other}` | {} | {answer} |",
        upstream_summary(simulated_answer(outcome, "t"))
    );
    t
}

/// When the proxy answers with a code. `None`: the code never comes from the proxy (the
/// browser module makes it). A new catalogue code must be added here; until it is, the table
/// says so and the test below fails.
fn proxy_answers_when(code: ErrorCode) -> Result<Option<&'static str>, ErrorCode> {
    use ErrorCode as C;
    Ok(Some(match code {
        C::RequestInvalid => "bad JSON or multipart, unknown or duplicate fields, wrong types, an unreadable `content-length`",
        C::NikEmpty | C::NikLength | C::NikNotDigits | C::NikProvince | C::NikRegency
        | C::NikDistrict | C::NikBirthDate | C::NikSerial => code.message(Lang::En),
        C::ImageMissing => "no image",
        C::ImageBase64 => "the image is not canonical standard base64",
        C::ImageTooLarge => "the decoded image is over 2,000,000 bytes (also from upstream)",
        C::ImageType => "not a JPEG, PNG or PDF by its magic bytes (also from upstream)",
        C::TransactionIdInvalid => "`transactionId` is not 1–128 characters of `[A-Za-z0-9._:-]`",
        C::PayloadTooLarge => "the declared `content-length` or the bytes actually read exceed the cap (JSON: base64 of 2,000,000 bytes plus 1/16; multipart: 2,000,000 bytes plus 16 KiB)",
        C::UnsupportedMediaType => "not `application/json` (UTF-8) or `multipart/form-data`",
        C::MethodNotAllowed => "a known path with another method (with `allow`)",
        C::NotFound => "any other path",
        C::OriginNotAllowed => "an `Origin` that is neither the Worker's own nor in `ALLOWED_ORIGINS`, or `null`",
        C::Unauthorized => "a missing, invalid or wrongly bound JWT, or a failed Turnstile check",
        C::RateLimited => "a rate-limiting binding said no (with `retry-after`)",
        C::NikInvalid | C::FaceNotDetected | C::MultipleFaces => "the upstream's verdict on the request",
        C::ProxyUpstreamCredentials => "upstream 401/403: the caller sees a generic message, and the log's `reason` is `upstream_credentials_rejected`",
        C::ProxyMisconfigured => "fail closed: no credentials without `SANDBOX=true`, no JWT secret without `ALLOW_ANONYMOUS=true`, or an unusable `HV_BASE_URL`",
        C::UpstreamRateLimited => "upstream 429 (with `retry-after`)",
        C::UpstreamBusy => "upstream 503",
        C::UpstreamTimeout => "no complete upstream answer within `UPSTREAM_TIMEOUT_MS`",
        C::UpstreamError => "upstream 3xx (redirects are never followed: they would resend `appId` and `appKey` elsewhere), 5xx, unreadable or implausible JSON, a body over 256 KiB, a connection failure; also Turnstile unreachable",
        // The browser's own, and the contract reader's name for an upstream 401, which the
        // proxy answers as PROXY_UPSTREAM_CREDENTIALS.
        C::Network | C::Timeout | C::Aborted | C::BadRequest | C::UpstreamUnauthorized => {
            return Ok(None)
        }
        other => return Err(other),
    }))
}

/// The codes the proxy answers with, in catalogue order.
pub fn proxy_error_codes() -> String {
    let mut t = String::from("| HTTP | `error.code` | When |\n|---:|---|---|\n");
    for &code in ErrorCode::ALL {
        let when = match proxy_answers_when(code) {
            Ok(None) => continue,
            Ok(Some(when)) => when,
            Err(_) => "**not described yet: add it to `crates/xtask/src/codegen/tables.rs`**",
        };
        let _ = writeln!(
            t,
            "| {} | `{}` | {when} |",
            code.http_status(),
            code.as_str()
        );
    }
    t
}

/// The selfie quality gate's confusion table on its calibration set, which is built from
/// the committed fixtures (the same set `dukcapil-selfie`'s `gate` test checks).
pub fn quality_gate() -> String {
    use dukcapil_selfie::calibration::{confusion_table, evaluate, samples, Fixtures};
    let fixtures = Fixtures {
        astronaut_png: include_bytes!("../../../../tests/fixtures/astronaut.png"),
        frame_png: include_bytes!("../../../../tests/fixtures/frame_1080.png"),
        photo_jpg: include_bytes!("../../../../tests/fixtures/photo_12mp.jpg"),
    };
    let checks = dukcapil_selfie::QualityChecks::default();
    match samples(&fixtures).and_then(|set| evaluate(&set, &checks)) {
        Ok(outcomes) => confusion_table(&outcomes),
        Err(e) => format!("(the calibration set could not be built: {e})\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_described_or_left_to_the_browser() {
        for &code in ErrorCode::ALL {
            if let Err(c) = proxy_answers_when(code) {
                panic!("{c}: say in codegen/tables.rs when the proxy answers with it");
            }
        }
    }

    #[test]
    fn tables_have_a_row_per_entry() {
        let rows = |t: &str| t.lines().count() - 2;
        assert_eq!(rows(&error_codes()), ErrorCode::ALL.len());
        assert_eq!(
            rows(&selfie_error_codes()),
            dukcapil_selfie::SelfieError::ALL.len()
        );
        let sandbox = sandbox();
        assert_eq!(rows(&sandbox), SANDBOX_TABLE.len() + 1);
        assert!(sandbox.contains(
            "| `0003` | `3273010101900003` | 200 `INVALID_REQUEST` \"input image detect face fail\" | 422 FACE_NOT_DETECTED |"
        ));
        assert!(sandbox.contains("| `0009` | `3273010101900009` | no answer |"));
        assert!(sandbox.contains("| any other | `3273010101904242` | 200 \"Face matched\" | 200, match true, score 97.5 |"));
        let proxy = proxy_error_codes();
        assert!(proxy.contains("| 403 | `ORIGIN_NOT_ALLOWED` |"));
        assert!(!proxy.contains("`NETWORK`"));
    }
}
