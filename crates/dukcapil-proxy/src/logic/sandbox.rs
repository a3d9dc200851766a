//! Sandbox mode (`SANDBOX=true`): real validation and auth, then a deterministic simulated
//! upstream chosen by the NIK's serial (its last four digits), like payment test cards.
//!
//! The simulated answers use the vendor's own shapes (string `score`/`match`, HTTP-200
//! failures), so they go through exactly the same reading as live answers.

/// What the simulated upstream does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxOutcome {
    Match,
    NoMatch,
    FaceNotDetected,
    NikInvalid,
    ImageTooLarge,
    MultipleFaces,
    UpstreamBusy,
    RateLimited,
    /// No answer: the proxy waits `UPSTREAM_TIMEOUT_MS`, then answers 504.
    Timeout,
    Credentials,
}

/// One row of the sandbox table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxCase {
    /// The NIK's last four digits.
    pub serial: &'static str,
    pub outcome: SandboxOutcome,
    /// The proxy's answer: HTTP status and `error.code` (or the verdict).
    pub answer: &'static str,
}

/// Serials that trigger each outcome; every other serial is a match.
pub const SANDBOX_TABLE: &[SandboxCase] = &[
    SandboxCase {
        serial: "0001",
        outcome: SandboxOutcome::Match,
        answer: "200, match true, score 97.5",
    },
    SandboxCase {
        serial: "0002",
        outcome: SandboxOutcome::NoMatch,
        answer: "200, match false, score 12.25",
    },
    SandboxCase {
        serial: "0003",
        outcome: SandboxOutcome::FaceNotDetected,
        answer: "422 FACE_NOT_DETECTED",
    },
    SandboxCase {
        serial: "0004",
        outcome: SandboxOutcome::NikInvalid,
        answer: "422 NIK_INVALID",
    },
    SandboxCase {
        serial: "0005",
        outcome: SandboxOutcome::ImageTooLarge,
        answer: "413 IMAGE_TOO_LARGE",
    },
    SandboxCase {
        serial: "0006",
        outcome: SandboxOutcome::MultipleFaces,
        answer: "422 MULTIPLE_FACES",
    },
    SandboxCase {
        serial: "0007",
        outcome: SandboxOutcome::UpstreamBusy,
        answer: "503 UPSTREAM_BUSY",
    },
    SandboxCase {
        serial: "0008",
        outcome: SandboxOutcome::RateLimited,
        answer: "429 UPSTREAM_RATE_LIMITED",
    },
    SandboxCase {
        serial: "0009",
        outcome: SandboxOutcome::Timeout,
        answer: "504 UPSTREAM_TIMEOUT after UPSTREAM_TIMEOUT_MS",
    },
    SandboxCase {
        serial: "0010",
        outcome: SandboxOutcome::Credentials,
        answer: "502 PROXY_UPSTREAM_CREDENTIALS",
    },
];

/// The outcome for a normalised NIK.
pub fn sandbox_outcome(nik: &str) -> SandboxOutcome {
    let serial = nik.get(nik.len().saturating_sub(4)..).unwrap_or("");
    SANDBOX_TABLE
        .iter()
        .find(|c| c.serial == serial)
        .map_or(SandboxOutcome::Match, |c| c.outcome)
}

/// The simulated upstream answer (status, body), or `None` for a timeout.
pub fn simulated_answer(outcome: SandboxOutcome, transaction_id: &str) -> Option<(u16, String)> {
    let meta = serde_json::json!({ "requestId": "sandbox", "transactionId": transaction_id });
    let invalid = |message: &str| {
        serde_json::json!({
            "status": "success", "statusCode": "200",
            "result": { "status": "INVALID_REQUEST", "message": message },
            "metaData": meta,
        })
    };
    let error = |status: u16, message: &str| serde_json::json!({ "message": message, "statusCode": status, "status": "failure", "metaData": meta });
    let verdict = |is_match: bool, score: &str| {
        serde_json::json!({
            "status": "success", "statusCode": "200",
            "result": {
                "message": if is_match { "Face matched" } else { "Face not matched" },
                "details": { "score": score, "match": if is_match { "true" } else { "false" } },
                "s3Url": "https://sandbox.invalid/selfie.jpg",
            },
            "metaData": meta,
        })
    };
    let (status, body) = match outcome {
        SandboxOutcome::Match => (200, verdict(true, "97.5")),
        SandboxOutcome::NoMatch => (200, verdict(false, "12.25")),
        SandboxOutcome::FaceNotDetected => (200, invalid("input image detect face fail")),
        SandboxOutcome::NikInvalid => (200, invalid("nik format is not valid")),
        SandboxOutcome::ImageTooLarge => (200, invalid("image larger than 2M")),
        SandboxOutcome::MultipleFaces => (423, error(423, "Multiple faces detected")),
        SandboxOutcome::UpstreamBusy => (503, error(503, "DEPENDENCY SERVER BUSY")),
        SandboxOutcome::RateLimited => (429, error(429, "Requests rate limit exceeded")),
        SandboxOutcome::Credentials => (401, error(401, "Missing/Invalid credentials")),
        SandboxOutcome::Timeout => return None,
    };
    Some((status, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::upstream::{interpret, Outcome};

    #[test]
    fn every_row_produces_its_documented_answer() {
        for case in SANDBOX_TABLE {
            let nik = format!("327301010190{}", case.serial);
            assert_eq!(sandbox_outcome(&nik), case.outcome);
            let Some((status, body)) = simulated_answer(case.outcome, "t") else {
                assert_eq!(case.outcome, SandboxOutcome::Timeout);
                continue;
            };
            let got = match interpret(status, body.as_bytes()) {
                Outcome::Verdict(v) => format!("200, match {}, score {}", v.is_match, v.score),
                Outcome::Failed { code, .. } => format!("{} {}", code.http_status(), code.as_str()),
            };
            assert_eq!(got, case.answer, "serial {}", case.serial);
        }
        assert_eq!(sandbox_outcome("3273010101909999"), SandboxOutcome::Match);
        assert_eq!(sandbox_outcome(""), SandboxOutcome::Match);
    }
}
