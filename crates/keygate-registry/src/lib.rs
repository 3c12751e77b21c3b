//! The registry service: the one owner of the key lifecycle and login rules
//! (docs/architecture.md). It sits between the pure core (`keygate-core`, no I/O, time passed
//! in) and the HTTP layer (`keygate-server`), which maps its errors to answers in one place.
#![forbid(unsafe_code)]

pub mod clock;

pub use clock::{Clock, ManualTime};
