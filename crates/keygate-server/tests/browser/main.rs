//! Tests of the web page (docs/design.md §8, issue 4): HTTP-level checks of CSRF, cookies, security
//! headers and refusals on both backends, and the whole scenario in a real headless Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod activity;
mod chromium;
mod http;
mod rotation;
mod self_check;
mod statuses;
mod usage;
mod web;
