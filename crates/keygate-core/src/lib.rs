//! keygate's domain: no I/O, no clock, no async. Time is always an argument.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod jose;
pub mod model;
pub mod public_key;
pub mod target;
