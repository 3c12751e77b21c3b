//! Black-box tests of the JSON API: a real server on port 0, a real HTTP client, a fresh
//! database per test, every test on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit;
mod auth;
mod concurrency;
mod connections;
mod contention;
mod lifecycle;
mod login_floods;
mod operations;
mod refusals;
mod schemas;
mod secret_files;
mod self_check_schemas;
mod successor;
mod usage_schemas;
mod webhooks;
