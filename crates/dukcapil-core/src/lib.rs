//! The shared, I/O-free core of dukcapil-facematch.
//!
//! The browser module and the edge proxy both build on this crate, so they agree to the
//! letter on what a valid NIK is, what an acceptable image is and how to read an upstream
//! answer. Nothing here touches a clock, the network or a file.
//!
//! ```
//! use dukcapil_core::{nik::parse_nik, date::CivilDate, Sex};
//!
//! let today = CivilDate::new(2026, 11, 26).unwrap();
//! let nik = parse_nik("3171 0245 0399 0001", today).unwrap();
//! assert_eq!(nik.normalized(), "3171024503990001");
//! assert_eq!(nik.birth_date().to_string(), "1999-03-05");
//! assert_eq!(nik.sex(), Sex::Female);
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "json")]
pub mod contract;
pub mod date;
pub mod error;
pub mod image;
#[cfg(feature = "json")]
pub mod json;
pub mod lang;
pub mod nik;
pub mod regions;

pub use error::ErrorCode;
pub use lang::Lang;
pub use nik::{Nik, NikError, Sex};
