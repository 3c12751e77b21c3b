//! What every operation is bounded by and counted in: `database_timeout`, the counters behind
//! `/metrics`, and the readiness probe behind `/readyz` (docs/operations.md).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::connect::{sqlite_primary_code, SQLITE_PERM, SQLITE_READONLY};
use crate::{migrations, Backend, Store, StoreError};

/// What the store counts for `/metrics`.
#[derive(Default)]
pub(crate) struct Counters {
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

impl Store {
    /// Runs one database operation within `database_timeout`: the wait for a connection, the
    /// queries and (SQLite) the wait for the write lock all count. An operation that gives up
    /// is dropped, which returns or closes its connection.
    pub(crate) async fn bounded<T>(
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
    pub(crate) async fn check_writable(&self) -> Result<(), StoreError> {
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
}
