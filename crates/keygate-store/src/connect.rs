//! Opening a database: the URL's backend, the pools, the start-time retries, the migrations,
//! and start failures named by database (never the user or the password).

use std::str::FromStr;
use std::time::Duration;

use sqlx::error::DatabaseError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::ConnectOptions;

use crate::{migrations, Backend, Store, StoreError, DEFAULT_TIMEOUT};

/// How long a SQLite writer waits for the write lock before giving up (and never longer than
/// `database_timeout`, which bounds every operation).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a start keeps trying to reach PostgreSQL (or `database_timeout`, if longer).
const START_BUDGET: Duration = Duration::from_secs(10);

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
pub(crate) fn sqlite_primary_code(error: &sqlx::Error) -> Option<i64> {
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

/// SQLite opens a file it cannot write *read-only* without a word (its unix VFS falls back
/// from `O_RDWR`), and such a connection stays read-only after the file is fixed: pooled, it
/// would refuse writes forever. So a new connection must prove it can start a write
/// transaction (`BEGIN IMMEDIATE`, then rolled back: nothing written); one that cannot is
/// refused with `SQLITE_READONLY`, the operation answers 503, and the next attempt opens a new
/// connection (docs/operations.md, "SQLite cannot be written"). Not under the store's
/// writer mutex: a writer holding it may be the one waiting for this connection.
async fn refuse_read_only(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    conn.begin_with("BEGIN IMMEDIATE").await?.rollback().await
}

pub(crate) const SQLITE_READONLY: i64 = 8;
const SQLITE_CANTOPEN: i64 = 14;
pub(crate) const SQLITE_PERM: i64 = 3;

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
                .after_connect(|conn, _| Box::pin(refuse_read_only(conn)))
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
            // A wait for a lock (the audit append lock, a row another node is writing) ends
            // in the database too when `database_timeout` passes, with SQLSTATE 55P03 (503):
            // otherwise a request that gave up would keep its place in the lock's queue, and
            // its connection, until the lock came free (docs/operations.md).
            let options = PgConnectOptions::from_str(url)?
                .options([("lock_timeout", format!("{}ms", timeout.as_millis().max(1)))]);
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
            webhook_wake: Default::default(),
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
                // Nodes starting together queue on the migrator's lock while the first one
                // migrates, which may take longer than `database_timeout`: no lock_timeout here.
                let mut conn = pool.acquire().await?;
                sqlx::query("SET lock_timeout = 0")
                    .execute(&mut *conn)
                    .await?;
                migrations::migrator(migrations::POSTGRES)
                    .await?
                    .run(&mut *conn)
                    .await?;
                sqlx::query("RESET lock_timeout")
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok(())
    }
}
