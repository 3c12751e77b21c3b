//! The store boundary: one [`Store`] type over SQLite (embedded) or PostgreSQL (several nodes).
//!
//! Every query is written once, with `$1`-style placeholders that both SQLite and PostgreSQL
//! accept, and dispatched to the right pool by a small macro. Every instant is stored as BIGINT
//! unix seconds and every UUID as TEXT, so both backends hold identical values.
//!
//! The rule "at most one active key per API key" is enforced by the database itself, through a
//! partial unique index on `public_keys(api_key_id) WHERE open = 1`, so it holds under concurrent
//! uploads and across nodes sharing one PostgreSQL.
//!
//! Where things live: `connect` opens a database (backend choice, pools, migrations); `health`
//! bounds and counts every operation and answers readiness; `macros` dispatches a query to the
//! backend's pool; `rows` maps rows to model types; `accounts`, `keys` (with `successor`, the
//! staged successor of docs/design.md §2), `sessions`, `gateway`, `checks` (the self-check's
//! challenges), `audit` (the hash-chained audit trail, docs/design.md §11), `usage` (per-key
//! usage counts) and `webhooks` (the webhook relay's cursors and deliveries) hold the queries,
//! one module per kind of record.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// First: the macros are in scope only in the modules declared after them.
#[macro_use]
mod macros;

mod accounts;
mod audit;
mod checks;
mod connect;
mod error;
mod gateway;
mod health;
mod keys;
mod migrations;
mod rows;
mod sessions;
mod successor;
mod usage;
mod webhooks;

use std::fmt;
use std::time::Duration;

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

use health::Counters;

pub use audit::{AuditFilter, DueKeyEvent};
pub use checks::ChallengeTaken;
pub use error::{InsertKeyError, StoreError};
pub use gateway::{Invalidations, SystemKeyRow, INVALIDATE_CHANNEL, WEBHOOK_EVENTS_PAYLOAD};
pub use health::StoreStats;
pub use keys::{KeyChange, NewKey};
pub use sessions::{LoginAttempt, LoginAttemptKey};
pub use usage::UsageDelta;
pub use webhooks::{DeadDelivery, DeliveryOutcome, TakenDelivery, FAN_OUT_BATCH};

/// `database_timeout` when the caller does not choose one (`keygate admin`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A handle on the database. Cheap to clone: it wraps a connection pool.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// A second, one-connection pool for readiness probes only, so `/readyz` never queues behind
    /// the requests that are waiting for the main pool (docs/operations.md).
    probe: Backend,
    /// SQLite has one writer at a time. Write transactions queue here, in order, instead of in
    /// SQLite's busy handler, whose sleep-and-retry makes the slowest waits long.
    sqlite_writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// `database_timeout`: the longest any operation waits, for a connection and its queries.
    timeout: Duration,
    /// Where the database is, for messages: a SQLite path, or PostgreSQL's host, port and
    /// database name (never the user or the password).
    target: std::sync::Arc<str>,
    stats: std::sync::Arc<Counters>,
    /// Wakes this process's webhook relay when an event a webhook may want was appended
    /// ([`Store::webhook_events_appended`]).
    webhook_wake: std::sync::Arc<tokio::sync::Notify>,
}

#[derive(Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .finish()
    }
}

impl Store {
    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// `database_timeout`.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Closes every pooled connection; later calls fail.
    pub async fn close(&self) {
        for backend in [&self.backend, &self.probe] {
            match backend {
                Backend::Sqlite(pool) => pool.close().await,
                Backend::Postgres(pool) => pool.close().await,
            }
        }
    }
}
