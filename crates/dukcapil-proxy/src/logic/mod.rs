//! The proxy's decisions, with no I/O: routing, CORS, auth, body parsing, the sandbox,
//! upstream mapping, answer headers and the log line. The Worker glue feeds it plain values.

pub mod answer;
pub mod auth;
pub mod body;
pub mod config;
pub mod cors;
pub mod jwt;
pub mod log;
pub mod multipart;
pub mod route;
pub mod sandbox;
pub mod time;
pub mod txn;
pub mod upstream;

pub use sandbox::SANDBOX_TABLE;
