//! Tests of the web page (DESIGN.md §8, issue 4): HTTP-level checks of CSRF, cookies, security
//! headers and refusals on both backends, and the whole scenario in a real headless Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The shared harness predates this binary; its lint findings are not this binary's to fix.
#[allow(clippy::field_reassign_with_default)]
#[path = "../api/helpers.rs"]
mod helpers;

mod chromium;
mod http;
mod web;
