//! The shared, I/O-free core of dukcapil-facematch.
//!
//! The browser module and the edge proxy both build on this crate, so they agree to the
//! letter on what a valid NIK is, what an acceptable image is and how to read an upstream
//! answer. Nothing here touches a clock, the network or a file.
//!
#![forbid(unsafe_code)]

extern crate alloc;

#[cfg(any())]
pub mod contract;
pub mod date;
pub mod error;
pub mod image;
pub mod lang;
// pub mod nik;
// pub mod regions;

pub use lang::Lang;
pub use error::ErrorCode;
// pub use nik::{Nik, NikError, Sex};
