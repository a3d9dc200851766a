//! Edge proxy in front of HyperVerge's Dukcapil-with-FaceMatch API, as a Cloudflare Worker.
//!
//! Every decision lives in [`logic`], plain Rust with no I/O that is tested natively. The
//! `glue` module (wasm32 only) just translates HTTP and bindings to and from it.
#![forbid(unsafe_code)]

pub mod logic;

#[cfg(target_arch = "wasm32")]
mod glue;
