//! The store boundary: one [`Store`] type over SQLite (embedded) or PostgreSQL (several nodes).
//!
//! Every query is written once, with `$1`-style placeholders that both SQLite and PostgreSQL
//! accept, and dispatched to the right pool by a small macro. Every instant is stored as BIGINT
//! unix seconds and every UUID as TEXT, so both backends hold identical values.
//!
//! The rule "at most one active key per API key" is enforced by the database itself, through a
//! partial unique index on `public_keys(api_key_id) WHERE open = 1`, so it holds under concurrent
//! uploads and across nodes sharing one PostgreSQL.
#![forbid(unsafe_code)]

mod error;
mod migrations;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use keygate_core::model::{ApiKey, Client, KeyRecord, Principal, UnixTime};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use uuid::Uuid;

use error::{is_foreign_key_violation, is_unique_violation};
pub use error::{InsertKeyError, StoreError};

/// How long a SQLite writer waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A handle on the database. Cheap to clone: it wraps a connection pool.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// SQLite has one writer at a time. Write transactions queue here, in order, instead of in
    /// SQLite's busy handler, whose sleep-and-retry makes the slowest waits long.
    sqlite_writer: std::sync::Arc<tokio::sync::Mutex<()>>,
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

/// A key to register, already parsed and validated by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    pub id: Uuid,
    pub api_key_id: Uuid,
    /// The canonical PEM.
    pub public_key_pem: String,
    /// SHA-256 of the SPKI DER, lowercase hex, colon separated. Unique across the store, forever.
    pub fingerprint_sha256: String,
    pub jwk_thumbprint: String,
    pub bits: u32,
    pub exponent: u64,
}

/// Runs `$body` with `$pool` bound to the concrete pool of the store's backend. The body is
/// expanded once per backend, so the same SQL and row types serve both.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            Backend::Sqlite($pool) => $body,
            Backend::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$tx` bound to a fresh write transaction. On SQLite the transaction is
/// `BEGIN IMMEDIATE`: it takes the write lock up front (waiting up to the busy timeout), so a
/// writer never fails with `SQLITE_BUSY` when upgrading from a read.
macro_rules! in_write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        match &$store.backend {
            Backend::Sqlite(pool) => {
                let _writer = $store.sqlite_writer.lock().await;
                #[allow(unused_mut)]
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                $body
            }
            Backend::Postgres(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin().await?;
                $body
            }
        }
    };
}

macro_rules! client_columns {
    ($t:literal) => {
        concat!(
            $t,
            ".id, ",
            $t,
            ".name, ",
            $t,
            ".alias, ",
            $t,
            ".created_at"
        )
    };
}

macro_rules! api_key_columns {
    ($t:literal) => {
        concat!(
            $t,
            ".id, ",
            $t,
            ".client_id, ",
            $t,
            ".alias, ",
            $t,
            ".api_key, ",
            $t,
            ".created_at"
        )
    };
}

macro_rules! key_columns {
    () => {
        "id, api_key_id, public_key_pem, fingerprint_sha256, jwk_thumbprint, bits, exponent, \
         issued_at, expires_at, revoked_at, revoke_reason"
    };
}

mod accounts;
mod gateway;
mod keys;
mod sessions;
pub use gateway::{Invalidations, SystemKeyRow, INVALIDATE_CHANNEL};
pub use sessions::{LoginAttempt, LoginAttemptKey};

type ClientRow = (String, String, String, i64);
type ApiKeyRow = (String, String, String, String, i64);
/// An API key's columns, then its client's, then one more column.
type ApiKeyClientRow<T> = (
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    i64,
    T,
);
type KeyRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

fn parse_uuid(text: &str, what: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("{what} is not a UUID")))
}

fn client_from_row((id, name, alias, created_at): ClientRow) -> Result<Client, StoreError> {
    Ok(Client {
        id: parse_uuid(&id, "clients.id")?,
        name,
        alias,
        created_at,
    })
}

fn api_key_from_row(
    (id, client_id, alias, api_key, created_at): ApiKeyRow,
) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: parse_uuid(&id, "api_keys.id")?,
        client_id: parse_uuid(&client_id, "api_keys.client_id")?,
        alias,
        api_key,
        created_at,
    })
}

fn api_key_client_from_row<T>(row: ApiKeyClientRow<T>) -> Result<(ApiKey, Client, T), StoreError> {
    let (a0, a1, a2, a3, a4, c0, c1, c2, c3, extra) = row;
    Ok((
        api_key_from_row((a0, a1, a2, a3, a4))?,
        client_from_row((c0, c1, c2, c3))?,
        extra,
    ))
}

fn key_from_row(row: KeyRow) -> Result<KeyRecord, StoreError> {
    let (
        id,
        api_key_id,
        public_key_pem,
        fingerprint_sha256,
        jwk_thumbprint,
        bits,
        exponent,
        issued_at,
        expires_at,
        revoked_at,
        revoke_reason,
    ) = row;
    Ok(KeyRecord {
        id: parse_uuid(&id, "public_keys.id")?,
        api_key_id: parse_uuid(&api_key_id, "public_keys.api_key_id")?,
        public_key_pem,
        fingerprint_sha256,
        jwk_thumbprint,
        bits: u32::try_from(bits)
            .map_err(|_| StoreError::Corrupt("public_keys.bits out of range".into()))?,
        exponent: u64::try_from(exponent)
            .map_err(|_| StoreError::Corrupt("public_keys.exponent out of range".into()))?,
        issued_at,
        expires_at,
        revoked_at,
        revoke_reason,
    })
}

fn count_to_u32(count: i64) -> u32 {
    u32::try_from(count.max(0)).unwrap_or(u32::MAX)
}

/// The scheme of a URL, for error messages only (never the rest: it may hold a password).
fn scheme_of(url: &str) -> String {
    match url.split_once(':') {
        Some((scheme, _))
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            scheme.to_owned()
        }
        _ => "(none)".to_owned(),
    }
}

/// Creates a missing SQLite database file with mode 0600 before SQLite opens it: SQLite gives
/// its `-wal` and `-shm` files the database file's mode, so none of the three is readable by
/// other users (issue 8). An existing file is left as the operator made it.
fn create_private_file(path: &std::path::Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.as_os_str() == ":memory:" {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Io {
            path: path.display().to_string(),
            source: e,
        }),
    }
}

impl Store {
    /// Opens the database named by `url` and applies the embedded migrations.
    ///
    /// Accepted: `sqlite://PATH` (relative to the working directory), `sqlite:///abs/path`,
    /// `postgres://...` and `postgresql://...`. Anything else is refused with
    /// [`StoreError::UnsupportedUrl`]. A SQLite file is created when missing and opened in WAL
    /// mode with `synchronous=FULL` (a commit is durable before it returns), foreign keys on and
    /// a 5 s busy timeout.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let backend = if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path.starts_with('?') {
                return Err(StoreError::UnsupportedUrl(
                    "sqlite (without a file path)".to_owned(),
                ));
            }
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            create_private_file(options.get_filename())?;
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?;
            Backend::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(scheme_of(url)));
        };
        let store = Store {
            backend,
            sqlite_writer: Default::default(),
        };
        store.migrate().await?;
        tracing::debug!(
            backend = store.backend_name(),
            "database ready, migrations applied"
        );
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(pool) => {
                migrations::migrator(migrations::SQLITE)
                    .await?
                    .run(pool)
                    .await?
            }
            Backend::Postgres(pool) => {
                migrations::migrator(migrations::POSTGRES)
                    .await?
                    .run(pool)
                    .await?
            }
        }
        Ok(())
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Readiness: the database answers and every embedded migration has been applied.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let expected = match self.backend {
            Backend::Sqlite(_) => migrations::SQLITE.len(),
            Backend::Postgres(_) => migrations::POSTGRES.len(),
        };
        let (applied,): (i64,) = on_pool!(self, |pool| {
            sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await?
        });
        if usize::try_from(applied).unwrap_or(0) < expected {
            return Err(StoreError::Corrupt(format!(
                "{applied} of {expected} migrations applied"
            )));
        }
        Ok(())
    }

    /// Closes every pooled connection; later calls fail.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}
