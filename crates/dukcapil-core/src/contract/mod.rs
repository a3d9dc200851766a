//! The HyperVerge "Dukcapil with FaceMatch" contract, in three parts:
//!
//! - [`request`]: what a caller sends (`{"id", "image"}` and `transactionId`), how it is
//!   checked, and the body forwarded upstream.
//! - [`upstream`]: the vendor's answers. Its doc contradicts itself (see
//!   `docs/upstream-contract.md`), so reading is lenient on form and strict on meaning:
//!   anything that can't be read for sure is `UPSTREAM_ERROR`, never a silent verdict.
//! - [`envelope`]: our proxy's own answers, in the vendor's shape plus `error.code`, written
//!   by the proxy and read strictly by the browser client.

pub mod envelope;
pub mod request;
pub mod upstream;

/// The path of the upstream endpoint, which the proxy serves too.
pub const VERIFY_PATH: &str = "/v1/dukcapilWithFacematch";
/// The default upstream base URL ("API URL" in the doc; its curl example has a typo).
pub const DEFAULT_BASE_URL: &str = "https://ind-thomas.hyperverge.co";

/// A face-match verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchResult {
    pub is_match: bool,
    /// On HyperVerge's documented 0–100 scale, as the upstream gave it. A score between 0
    /// and 1 is kept as it is (never multiplied by 100): decide on `is_match`.
    pub score: f64,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub transaction_id: Option<String>,
    /// A link to the stored selfie: personal data, kept out of answers by default.
    pub s3_url: Option<String>,
}
