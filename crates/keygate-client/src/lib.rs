//! What a client of keygate needs: log in, manage the public key, sign requests, decrypt fields.
//! The `keygate client` commands, the tests and the benchmarks all go through this crate.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod crypto;
pub mod http;
pub mod tls;

/// The JSON API's wire types, which [`http::Reply::answer`] reads answers into.
pub use keygate_api as api;
