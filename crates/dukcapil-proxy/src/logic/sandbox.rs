//! Sandbox mode (`SANDBOX=true`): real validation and auth, then a deterministic simulated
//! upstream chosen by the NIK's serial (its last four digits), like payment test cards.
//!
//! The simulated answers are the vendor's own documented answers (string `score`/`match`,
//! HTTP-200 failures), the shared fixtures in `tests/fixtures/upstream/` compiled in, so they go
//! through exactly the same reading as live answers.

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
        answer: "200, match true, score 87.5",
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

macro_rules! vendor_answer {
    ($status:literal, $name:literal) => {
        (
            $status,
            include_str!(concat!(
                "../../../../tests/fixtures/upstream/",
                stringify!($status),
                "-",
                $name,
                ".json"
            )),
        )
    };
}

/// The simulated upstream answer (status, body), or `None` for a timeout.
pub fn simulated_answer(outcome: SandboxOutcome) -> Option<(u16, &'static str)> {
    Some(match outcome {
        SandboxOutcome::Match => vendor_answer!(200, "match"),
        SandboxOutcome::NoMatch => vendor_answer!(200, "nomatch"),
        SandboxOutcome::FaceNotDetected => vendor_answer!(200, "face-fail"),
        SandboxOutcome::NikInvalid => vendor_answer!(200, "nik-invalid"),
        SandboxOutcome::ImageTooLarge => vendor_answer!(200, "too-large"),
        SandboxOutcome::MultipleFaces => vendor_answer!(423, "multiple-faces"),
        SandboxOutcome::UpstreamBusy => vendor_answer!(503, "busy"),
        SandboxOutcome::RateLimited => vendor_answer!(429, "rate-limited"),
        SandboxOutcome::Credentials => vendor_answer!(401, "unauthorized"),
        SandboxOutcome::Timeout => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::upstream::interpret;

    #[test]
    fn every_row_produces_its_documented_answer() {
        for case in SANDBOX_TABLE {
            let nik = format!("327301010190{}", case.serial);
            assert_eq!(sandbox_outcome(&nik), case.outcome);
            let Some((status, body)) = simulated_answer(case.outcome) else {
                assert_eq!(case.outcome, SandboxOutcome::Timeout);
                continue;
            };
            let got = match interpret(status, body.as_bytes()).0 {
                Ok(v) => format!("200, match {}, score {}", v.is_match, v.score),
                Err(r) => format!("{} {}", r.code.http_status(), r.code.as_str()),
            };
            assert_eq!(got, case.answer, "serial {}", case.serial);
        }
        assert_eq!(sandbox_outcome("3273010101909999"), SandboxOutcome::Match);
        assert_eq!(sandbox_outcome(""), SandboxOutcome::Match);
    }
}
