//! Black-box tests of the store through its public API, each on SQLite and on PostgreSQL.
//!
//! One module per kind of record, as in `src/`; `support` holds the shared fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod audit;
mod checks;
mod connect;
mod gateway;
mod keys;
mod sessions;
mod successor;
mod support;
mod usage;
mod webhooks;
