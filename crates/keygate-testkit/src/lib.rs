//! keygate's one test kit (docs/architecture.md, "Tests"): every test binary of the workspace
//! takes its database, its running node and its openssl material from here.
//!
//! - [`db`]: a fresh, empty database per test on SQLite or PostgreSQL, and [`both_backends!`].
//! - [`pki`]: keys and certificates made the way a user makes them, with the `openssl` tool.
//! - [`files`]: files made unwritable for a test, even to root; secret files with a mode.
//! - [`process`]: the `keygate` binary run as a process (its tests keep the real clock).
//! - `app` (feature `app`): `spawn_app` — a real node on port 0 over a fresh database, with
//!   a manual clock whose hand (`TestApp::time`) a test moves instead of sleeping; API keys,
//!   key pairs and signatures; captured logs; a webhook receiver that verifies with the
//!   official Standard Webhooks package (`webhooks`).
//!
//! Without the `app` feature the kit depends on no keygate crate, so `keygate-store`'s own
//! tests use it without a second copy of the store in their build.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// A helper that cannot do its job fails the test that called it: panicking is its way to say so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod db;
pub mod files;
pub mod pki;
pub mod process;

#[cfg(feature = "app")]
pub mod app;
#[cfg(feature = "app")]
pub mod keys;
#[cfg(feature = "app")]
pub mod logs;
#[cfg(feature = "app")]
pub mod webhooks;

pub use db::{postgres_admin_url, Backend, TestDatabase};

/// The self-check's checks in the order every report lists them (docs/design.md §5,
/// "Self-check"), written out as the wire shows them: the witness the API, page and CLI tests
/// compare against.
pub const SELF_CHECK_ORDER: [&str; 12] = [
    "key_state",
    "jws",
    "alg",
    "kid",
    "signature",
    "iat",
    "exp",
    "jti",
    "htm",
    "htu",
    "body_sha256",
    "ath",
];
pub use files::{set_mode, write_secret_file, Immutable, Unwritable};
pub use pki::{genrsa, new_public_key, openssl, pubout, Pki};

#[cfg(feature = "app")]
pub use app::{
    database_text, metric, spawn_app, spawn_app_with, spawn_second_node, test_settings,
    Credentials, TestApp,
};
#[cfg(feature = "app")]
pub use keys::{new_jti, KeyPair};
#[cfg(feature = "app")]
pub use logs::{capture_logs, LogBuffer};
#[cfg(feature = "app")]
pub use webhooks::{Received, Receiver};

use std::path::PathBuf;
use std::time::Duration;

/// A new, empty directory `kg-<prefix>-<uuid>` under the temporary directory.
pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kg-{prefix}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

/// Wait until `f` returns true, checking every 100 ms, for at most `limit`.
pub async fn eventually(limit: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    loop {
        if f().await {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
