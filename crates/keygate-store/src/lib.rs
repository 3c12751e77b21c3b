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
#![warn(missing_docs)]

mod error;
mod migrations;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use keygate_core::model::{ApiKey, Client, KeyRecord, Principal, UnixTime};
use sqlx::error::DatabaseError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::ConnectOptions;
use uuid::Uuid;

use error::{is_foreign_key_violation, is_unique_violation};
pub use error::{InsertKeyError, StoreError};

/// How long a SQLite writer waits for the write lock before giving up (and never longer than
/// `database_timeout`, which bounds every operation).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a start keeps trying to reach PostgreSQL (or `database_timeout`, if longer).
const START_BUDGET: Duration = Duration::from_secs(10);

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
}

/// What the store counts for `/metrics`.
#[derive(Default)]
struct Counters {
    waiting: AtomicI64,
    timeouts: AtomicU64,
    unavailable: AtomicU64,
}

/// A snapshot of the store's state for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    /// Connections open now in the main pool (the readiness probe's own connection is not
    /// counted).
    pub pool_size: u32,
    /// How many of those connections are idle now.
    pub pool_idle: u32,
    /// Operations waiting now for a connection or for their queries.
    pub waiting: i64,
    /// Operations that gave up after `database_timeout`, since start.
    pub timeouts: u64,
    /// Operations refused because the database was unreachable or unwritable (timeouts included).
    pub unavailable: u64,
}

/// Counts an operation as waiting while it is alive, however it ends (a timeout drops it).
struct Waiting<'a>(&'a AtomicI64);

impl<'a> Waiting<'a> {
    fn new(counter: &'a AtomicI64) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Waiting(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
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
    /// The key's id, chosen by the caller; it becomes the key's JWK `kid`. An id already stored
    /// is refused with `StoreError::Conflict("public key id")`.
    pub id: Uuid,
    /// The API key uploading it; one that does not exist is `StoreError::NotFound("api key")`.
    pub api_key_id: Uuid,
    /// The canonical PEM.
    pub public_key_pem: String,
    /// SHA-256 of the SPKI DER, lowercase hex, colon separated. Unique across the store, forever.
    pub fingerprint_sha256: String,
    /// RFC 7638 thumbprint, base64url, as
    /// [`ValidPublicKey::jwk_thumbprint`](keygate_core::public_key::ValidPublicKey::jwk_thumbprint)
    /// computes it.
    pub jwk_thumbprint: String,
    /// Modulus size in bits.
    pub bits: u32,
    /// Public exponent. Stored as BIGINT: one above `i64::MAX` is refused with
    /// [`StoreError::OutOfRange`] (the upload checks only ever pass 65537).
    pub exponent: u64,
}

/// Runs `$body` with `$pool` bound to the concrete pool of the store's backend. The body is
/// expanded once per backend, so the same SQL and row types serve both. The whole operation,
/// waiting for a connection included, is bounded by `database_timeout` (docs/operations.md):
/// inside the body `?` converts to [`StoreError`]; the macro's value is the body's value, and a
/// timeout or a failure leaves through the enclosing function's `?`.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        $store
            .bounded(async {
                Ok::<_, StoreError>(match &$store.backend {
                    Backend::Sqlite($pool) => $body,
                    Backend::Postgres($pool) => $body,
                })
            })
            .await?
    };
}

/// Runs `$body` with `$tx` bound to a fresh write transaction, bounded like [`on_pool`]. On
/// SQLite the transaction is `BEGIN IMMEDIATE`: it takes the write lock up front (waiting up to
/// the busy timeout), so a writer never fails with `SQLITE_BUSY` when upgrading from a read.
macro_rules! in_write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        $store
            .bounded(async {
                Ok::<_, StoreError>(match &$store.backend {
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
                })
            })
            .await?
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

/// Where a SQLite URL's file is: the path after `sqlite://`, without the query.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    (!path.is_empty()).then_some(path)
}

/// PostgreSQL's host, port and database, for messages (never the user or the password).
fn postgres_target(options: &PgConnectOptions) -> String {
    format!(
        "PostgreSQL at {}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default database)")
    )
}

/// SQLite's primary result code of a database error (`SQLITE_READONLY` is 8, whatever its
/// extended code).
fn sqlite_primary_code(error: &sqlx::Error) -> Option<i64> {
    match error {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<sqlx::sqlite::SqliteError>()
            .and_then(|e| e.code())
            .and_then(|code| code.parse::<i64>().ok())
            .map(|code| code & 0xff),
        _ => None,
    }
}

/// A pooled connection whose last transaction could not be rolled back (the ROLLBACK itself
/// failed: on SQLite an I/O error while the file was unwritable, on PostgreSQL a connection cut
/// mid-transaction) still counts itself in a transaction: SQLite would refuse every later
/// `BEGIN`, PostgreSQL would nest the next "transaction" as a savepoint of the stale one. The
/// pool closes such a connection and hands out another.
fn usable<C: sqlx::Connection>(conn: &C) -> bool {
    !conn.is_in_transaction()
}

const SQLITE_READONLY: i64 = 8;
const SQLITE_CANTOPEN: i64 = 14;
const SQLITE_PERM: i64 = 3;

impl Store {
    /// Opens the database named by `url` with the default `database_timeout`
    /// ([`DEFAULT_TIMEOUT`]); see [`Store::connect_with_timeout`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with_timeout(url, DEFAULT_TIMEOUT).await
    }

    /// Opens the database named by `url` and applies the embedded migrations. Every later
    /// operation waits at most `timeout` (`database_timeout`) for a connection and its queries,
    /// then fails with an error whose [`StoreError::is_unavailable`] is true.
    ///
    /// Accepted: `sqlite://PATH` (relative to the working directory), `sqlite:///abs/path`,
    /// `postgres://...` and `postgresql://...`. Anything else is refused with
    /// [`StoreError::UnsupportedUrl`]. A SQLite file is created when missing and opened in WAL
    /// mode with `synchronous=FULL` (a commit is durable before it returns), foreign keys on and
    /// a busy timeout; a SQLite database that cannot be written is refused here with
    /// [`StoreError::Unwritable`], never opened half-working.
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Store, StoreError> {
        let timeout = timeout.max(Duration::from_millis(1));
        let (backend, probe, target) = if url.starts_with("sqlite://") {
            let Some(path) = sqlite_path(url) else {
                return Err(StoreError::UnsupportedUrl(
                    "sqlite (without a file path)".to_owned(),
                ));
            };
            // Named absolute in messages: the operator may not know the working directory.
            let target = std::path::absolute(path)
                .map_or_else(|_| path.to_owned(), |p| p.display().to_string());
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT.min(timeout));
            create_private_file(options.get_filename())?;
            let open_error = |source: sqlx::Error| match sqlite_primary_code(&source) {
                Some(SQLITE_READONLY | SQLITE_PERM) => StoreError::Unwritable {
                    path: target.clone(),
                    cause: source.to_string(),
                },
                _ => StoreError::Open {
                    target: format!("the SQLite database {target}"),
                    source,
                },
            };
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(timeout)
                .before_acquire(|conn, _| Box::pin(async move { Ok(usable(conn)) }))
                .connect_with(options.clone())
                .await
                .map_err(open_error)?;
            let probe = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(timeout)
                .before_acquire(|conn, _| Box::pin(async move { Ok(usable(conn)) }))
                .connect_lazy_with(options);
            (Backend::Sqlite(pool), Backend::Sqlite(probe), target)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let target = postgres_target(&options);
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(timeout)
                .before_acquire(|conn, _| Box::pin(async move { Ok(usable(conn)) }))
                .connect_lazy_with(options.clone());
            // A start is not a request: a database that is slow to accept (a loaded host, a
            // server starting too) is given START_BUDGET before the start is refused.
            let started = std::time::Instant::now();
            loop {
                match pool.acquire().await {
                    Ok(_) => break,
                    Err(source) => {
                        let retry =
                            matches!(source, sqlx::Error::PoolTimedOut | sqlx::Error::Io(_))
                                && started.elapsed() + timeout < START_BUDGET.max(timeout);
                        if retry {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        }
                        // The pool says only that it timed out; one direct attempt tells why
                        // (refused, unknown database, authentication, ...).
                        let source = match source {
                            sqlx::Error::PoolTimedOut => {
                                match tokio::time::timeout(timeout, options.connect()).await {
                                    Ok(Err(cause)) => cause,
                                    _ => sqlx::Error::PoolTimedOut,
                                }
                            }
                            other => other,
                        };
                        return Err(StoreError::Open { target, source });
                    }
                }
            }
            // The probe's one connection is checked by the probe's own query.
            let probe = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(timeout)
                .test_before_acquire(false)
                .connect_lazy_with(options);
            (Backend::Postgres(pool), Backend::Postgres(probe), target)
        } else {
            return Err(StoreError::UnsupportedUrl(scheme_of(url)));
        };
        let store = Store {
            backend,
            probe,
            sqlite_writer: Default::default(),
            timeout,
            target: target.into(),
            stats: Default::default(),
        };
        store.migrate().await.map_err(|e| store.explain_open(e))?;
        // Migrations that are all applied already write nothing: try a write now, so a
        // read-only file is refused at start (docs/operations.md).
        store
            .check_writable()
            .await
            .map_err(|e| store.explain_open(e))?;
        tracing::debug!(
            backend = store.backend_name(),
            "database ready, migrations applied"
        );
        Ok(store)
    }

    /// A start-time failure, named: which database, and for SQLite whether it is unwritable.
    fn explain_open(&self, error: StoreError) -> StoreError {
        let source = match error {
            StoreError::Database(source) => source,
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(source)) => source,
            other => return other,
        };
        match (&self.backend, sqlite_primary_code(&source)) {
            (Backend::Sqlite(_), Some(SQLITE_READONLY | SQLITE_PERM | SQLITE_CANTOPEN)) => {
                StoreError::Unwritable {
                    path: self.target.to_string(),
                    cause: source.to_string(),
                }
            }
            (Backend::Sqlite(_), _) => StoreError::Open {
                target: format!("the SQLite database {}", self.target),
                source,
            },
            (Backend::Postgres(_), _) => StoreError::Open {
                target: self.target.to_string(),
                source,
            },
        }
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

    /// Runs one database operation within `database_timeout`: the wait for a connection, the
    /// queries and (SQLite) the wait for the write lock all count. An operation that gives up
    /// is dropped, which returns or closes its connection.
    async fn bounded<T>(
        &self,
        operation: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let _waiting = Waiting::new(&self.stats.waiting);
        let outcome = match tokio::time::timeout(self.timeout, operation).await {
            Ok(outcome) => outcome,
            Err(_) => {
                self.stats.timeouts.fetch_add(1, Ordering::Relaxed);
                Err(StoreError::Timeout(self.timeout))
            }
        };
        if let Err(e) = &outcome {
            if e.is_unavailable() {
                self.stats.unavailable.fetch_add(1, Ordering::Relaxed);
            }
        }
        outcome
    }

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

    /// The pool's and the operations' state now.
    pub fn stats(&self) -> StoreStats {
        let (size, idle) = match &self.backend {
            Backend::Sqlite(pool) => (pool.size(), pool.num_idle()),
            Backend::Postgres(pool) => (pool.size(), pool.num_idle()),
        };
        StoreStats {
            pool_size: size,
            pool_idle: u32::try_from(idle).unwrap_or(u32::MAX),
            waiting: self.stats.waiting.load(Ordering::Relaxed),
            timeouts: self.stats.timeouts.load(Ordering::Relaxed),
            unavailable: self.stats.unavailable.load(Ordering::Relaxed),
        }
    }

    /// Readiness, within `database_timeout`, on the probe's own connection: the database
    /// answers, every embedded migration has been applied, and (SQLite) the file can be written.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let expected = match self.backend {
            Backend::Sqlite(_) => migrations::SQLITE.len(),
            Backend::Postgres(_) => migrations::POSTGRES.len(),
        };
        let applied = self
            .bounded(async {
                let sql = "SELECT COUNT(*) FROM _sqlx_migrations WHERE success";
                let (applied,): (i64,) = match &self.probe {
                    Backend::Sqlite(pool) => sqlx::query_as(sql).fetch_one(pool).await?,
                    Backend::Postgres(pool) => sqlx::query_as(sql).fetch_one(pool).await?,
                };
                Ok(applied)
            })
            .await?;
        if usize::try_from(applied).unwrap_or(0) < expected {
            return Err(StoreError::Corrupt(format!(
                "{applied} of {expected} migrations applied"
            )));
        }
        self.check_writable().await
    }

    /// SQLite: can this node write its database? Two checks, neither of which changes
    /// anything: access(2) asks whether the files could be written (refused for an immutable file,
    /// a read-only mount, or a mode that forbids this user — even after start, when SQLite's
    /// already open descriptors would only fail at the next commit), and a write transaction
    /// sets the header's `user_version` to what it holds and rolls back (a connection SQLite
    /// opened read-only — `mode=ro`, or a file unwritable when it was opened — refuses it with
    /// `SQLITE_READONLY`). PostgreSQL: nothing to check (a read-only server refuses writes with
    /// its own error).
    async fn check_writable(&self) -> Result<(), StoreError> {
        let Backend::Sqlite(pool) = &self.probe else {
            return Ok(());
        };
        let unwritable = |cause: String| StoreError::Unwritable {
            path: self.target.to_string(),
            cause,
        };
        for suffix in ["", "-wal"] {
            let file = format!("{}{suffix}", self.target);
            // access(2), never open(2): closing any descriptor of the database file would drop
            // every POSIX lock this process holds on it (SQLite's own included), letting another
            // process (`keygate admin`) checkpoint and reset the WAL under this node's feet —
            // its reads then went stale for seconds. access(W_OK) still refuses an immutable
            // file (EPERM), a read-only mount (EROFS) and a mode that forbids this user.
            match rustix::fs::access(file.as_str(), rustix::fs::Access::WRITE_OK) {
                Ok(()) => {}
                // No WAL file (nothing written since the last checkpoint): nothing to check.
                Err(rustix::io::Errno::NOENT) if !suffix.is_empty() => {}
                Err(e) => {
                    let e = std::io::Error::from(e);
                    return Err(unwritable(format!("{file}: {e}")));
                }
            }
        }
        let outcome = self
            .bounded(async {
                let _writer = self.sqlite_writer.lock().await;
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let (version,): (i64,) = sqlx::query_as("PRAGMA user_version")
                    .fetch_one(&mut *tx)
                    .await?;
                // An integer read back from the database: nothing to quote.
                sqlx::query(&format!("PRAGMA user_version = {version}"))
                    .execute(&mut *tx)
                    .await?;
                tx.rollback().await?;
                Ok(())
            })
            .await;
        match outcome {
            Err(StoreError::Database(source))
                if matches!(
                    sqlite_primary_code(&source),
                    Some(SQLITE_READONLY | SQLITE_PERM)
                ) =>
            {
                Err(unwritable(source.to_string()))
            }
            other => other,
        }
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
