//! The one structured log line per request. It carries identifiers, outcomes and timings,
//! and by construction no image, token, credential, full NIK or caller-chosen free text.

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct LogLine {
    pub level: &'static str,
    pub msg: &'static str,
    pub request_id: String,
    /// Validated (`[A-Za-z0-9._:-]`) or generated, with any NIK in it masked; an invalid
    /// header is never logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    pub method: &'static str,
    /// A known path, or `<other>`.
    pub path: &'static str,
    /// `absent`, `allowed` or `denied` (the header itself is caller text).
    pub origin: &'static str,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// `3201**********01`, from core's `mask_nik`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nik: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<bool>,
    /// The receipt's `jti`, to find the request a receipt came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_id: Option<String>,
    /// What the transaction ledger said last (`claimed`, `replayed`, `in_progress`, `settled`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<&'static str>,
    /// This request's upstream attempt for its transaction (from 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    pub sandbox: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<&'static str>,
    pub total_ms: f64,
    /// The Worker's wasm linear memory after this request (it never shrinks): the isolate's
    /// limit is 128 MB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wasm_memory_bytes: Option<u64>,
}

/// Methods are logged from a fixed list only.
pub fn log_method(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "OPTIONS" => "OPTIONS",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        _ => "<other>",
    }
}

/// Upstream request ids are opaque: logged only when they follow our id rule.
pub fn safe_upstream_id(id: Option<&str>) -> Option<String> {
    id.filter(|id| dukcapil_core::contract::request::is_safe_id(id))
        .map(str::to_owned)
}

impl LogLine {
    /// The JSON line; `level` follows the status and warnings.
    pub fn to_json(&mut self) -> String {
        self.level = if self.status >= 500 {
            "error"
        } else if !self.warnings.is_empty() {
            "warn"
        } else {
            "info"
        };
        self.msg = "dukcapil-proxy request";
        serde_json::to_string(self)
            .unwrap_or_else(|_| String::from(r#"{"level":"error","msg":"log line failed"}"#))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_logged_from_the_list_only() {
        for m in ["GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"] {
            assert_eq!(log_method(m), m);
        }
        for m in ["PROPFIND", "get", "", "POST "] {
            assert_eq!(log_method(m), "<other>", "{m:?}");
        }
    }

    #[test]
    fn line_shape() {
        let mut l = LogLine {
            request_id: "r".into(),
            method: log_method("POST"),
            path: "/v1/dukcapilWithFacematch",
            status: 200,
            nik: Some(dukcapil_core::nik::mask_nik("3273010101900001")),
            upstream_ms: Some(12.5),
            ..LogLine::default()
        };
        let v: serde_json::Value = serde_json::from_str(&l.to_json()).unwrap();
        assert_eq!(v["level"], "info");
        assert_eq!(v["nik"], "3273**********01");
        assert_eq!(v["upstream_ms"], 12.5);
        assert!(v.get("code").is_none());
        l.warnings.push("anonymous_calls_allowed");
        assert!(l.to_json().contains(r#""level":"warn""#));
        assert_eq!(log_method("BREW"), "<other>");
        assert_eq!(safe_upstream_id(Some("a b")), None);
        assert_eq!(safe_upstream_id(Some("hv-1")).as_deref(), Some("hv-1"));
    }
}
