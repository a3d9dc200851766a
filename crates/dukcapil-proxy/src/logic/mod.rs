//! The proxy's decisions, with no I/O: [`pipeline`] runs every check in order and asks the
//! Worker glue for the I/O it needs; the other modules are its parts (routing, CORS, auth,
//! body parsing, the sandbox, upstream mapping, receipts, answers, the log line).

pub mod answer;
pub mod auth;
pub mod body;
pub mod config;
pub mod cors;
pub mod jwt;
pub mod ledger;
pub mod log;
pub mod multipart;
pub mod params;
pub mod pipeline;
pub mod receipt;
pub mod refusal;
pub mod route;
pub mod sandbox;
pub mod time;
pub mod txn;
pub mod upstream;

pub use sandbox::SANDBOX_TABLE;
