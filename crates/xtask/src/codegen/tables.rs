//! Markdown tables for the READMEs, from the catalogues they describe.

use dukcapil_core::{ErrorCode, Lang};
use dukcapil_proxy::logic::{
    pipeline::ORDER,
    refusal::Reason,
    sandbox::{sandbox_outcome, simulated_answer, SANDBOX_TABLE},
};
use std::fmt::Write as _;

/// Every code of the core catalogue, with its status, whether the upstream can cause it, and
/// its messages.
pub fn error_codes() -> String {
    let mut t = String::from(
        "| code | HTTP | retry helps | upstream can cause | English | Bahasa Indonesia |\n\
         |---|---:|:---:|:---:|---|---|\n",
    );
    let yes = |b: bool| if b { "yes" } else { "no" };
    for code in ErrorCode::ALL {
        let status = match code.http_status() {
            0 => "—".to_string(),
            s => s.to_string(),
        };
        let _ = writeln!(
            t,
            "| `{}` | {status} | {} | {} | {} | {} |",
            code.as_str(),
            yes(code.retryable()),
            yes(code.upstream()),
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
fn upstream_summary(answer: Option<(u16, &str)>) -> String {
    let Some((status, body)) = answer else {
        return "no answer".into();
    };
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
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
            upstream_summary(simulated_answer(case.outcome)),
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
        upstream_summary(simulated_answer(outcome))
    );
    t
}

/// The proxy's checks, in the order its pipeline runs them.
pub fn check_order() -> String {
    let mut t = String::new();
    for (i, check) in ORDER.iter().enumerate() {
        let _ = writeln!(t, "{}. {}", i + 1, check.what());
    }
    t
}

/// Every log reason: the codes it comes with, and when.
pub fn log_reasons() -> String {
    let mut t = String::from("| `reason` | `error.code` | when |\n|---|---|---|\n");
    for r in Reason::ALL {
        let codes: Vec<String> = r.codes().iter().map(|c| format!("`{c}`")).collect();
        let _ = writeln!(
            t,
            "| `{}` | {} | {} |",
            r.as_str(),
            codes.join(", "),
            r.when()
        );
    }
    t
}

/// The codes the proxy answers with, in catalogue order, each with the log reasons that
/// carry it: made from the reason catalogue, so no code can be answered and not listed.
pub fn proxy_error_codes() -> String {
    let mut t = String::from("| HTTP | `error.code` | log `reason` |\n|---:|---|---|\n");
    for &code in ErrorCode::ALL {
        let reasons: Vec<String> = Reason::ALL
            .iter()
            .filter(|r| r.codes().contains(&code))
            .map(|r| format!("`{}`", r.as_str()))
            .collect();
        if reasons.is_empty() {
            continue; // the browser module's own codes
        }
        let _ = writeln!(
            t,
            "| {} | `{}` | {} |",
            code.http_status(),
            code.as_str(),
            reasons.join(", ")
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(sandbox.contains("| any other | `3273010101904242` | 200 \"Face matched\" | 200, match true, score 87.5 |"));
        let proxy = proxy_error_codes();
        assert!(proxy.contains("| 403 | `ORIGIN_NOT_ALLOWED` | `origin_not_allowed` |"));
        assert!(proxy.contains("| 422 | `UPSTREAM_REJECTED` | `upstream_rejected` |"));
        assert!(!proxy.contains("`NETWORK`"));
        assert_eq!(rows(&log_reasons()), Reason::ALL.len());
        assert_eq!(check_order().lines().count(), ORDER.len());
        assert!(error_codes().contains("| `NIK_LENGTH` | 400 | no | no |"));
        assert!(error_codes().contains("| `UPSTREAM_REJECTED` | 422 | no | yes |"));
    }
}
