//! The store's error types. None of them ever carries secret material: no passwords, password
//! hashes, token hashes or database URLs.

/// What can go wrong at the store boundary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL's scheme is not one keygate can use. Only the scheme is kept, never the
    /// URL (it may hold a password).
    #[error(
        "unsupported database URL scheme `{0}`: use sqlite://PATH (relative), \
         sqlite:///ABSOLUTE/PATH, postgres://... or postgresql://..."
    )]
    UnsupportedUrl(String),
    /// A uniqueness rule refused the write. The value names what already exists:
    /// `"client alias"`, `"api key alias"`, `"api key login"`, `"session"` or `"public key id"`.
    #[error("{0} already exists")]
    Conflict(String),
    /// A row the write refers to does not exist (e.g. `"client"` or `"api key"`).
    #[error("{0} not found")]
    NotFound(String),
    /// A value cannot be represented in the database (e.g. an exponent above `i64::MAX`).
    #[error("value out of range for the store: {0}")]
    OutOfRange(&'static str),
    /// A stored value could not be read back into a domain type.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database refused or failed the operation.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A database file could not be created or opened (the path is named; it holds no secret).
    #[error("cannot create the database file {path}: {source}")]
    Io {
        /// The file, as the database URL names it.
        path: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Applying the embedded migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// The operation did not finish within `database_timeout` (no connection in time, or the
    /// database did not answer).
    #[error("the database did not answer within {0:?} (database_timeout)")]
    Timeout(std::time::Duration),
    /// The database could not be opened at start. `target` names it: a SQLite path, or
    /// PostgreSQL's host, port and database (never the user or the password).
    #[error("cannot open {target}: {source}")]
    Open {
        /// What was being opened, for the message: `the SQLite database PATH` or
        /// `PostgreSQL at HOST:PORT/DATABASE`.
        target: String,
        /// Why: for PostgreSQL, after the pool timed out, the error of one direct attempt
        /// (refused, unknown database, authentication, ...).
        #[source]
        source: sqlx::Error,
    },
    /// The SQLite database file cannot be written.
    #[error(
        "the SQLite database {path} cannot be written ({cause}): make the file, its directory \
         and any {path}-wal / {path}-shm files writable by the user keygate runs as (and not \
         immutable: see lsattr), or set database_url to a writable place"
    )]
    Unwritable {
        /// The database file, as an absolute path.
        path: String,
        /// What SQLite or the operating system said.
        cause: String,
    },
}

impl StoreError {
    /// True when the store was closed (the node is stopping): background work ends quietly.
    pub fn is_closed(&self) -> bool {
        matches!(
            self,
            StoreError::Database(sqlx::Error::PoolClosed)
                | StoreError::Open {
                    source: sqlx::Error::PoolClosed,
                    ..
                }
        )
    }

    /// True when the database could not be reached, did not answer in time, or cannot be
    /// written: a condition of the service, not of the request, answered 503 and retried later
    /// (docs/operations.md).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Timeout(_) | StoreError::Unwritable { .. } => true,
            StoreError::Database(e) | StoreError::Open { source: e, .. } => is_unavailable(e),
            _ => false,
        }
    }
}

/// Connection-level failures (sqlx's own kinds; PostgreSQL SQLSTATE classes 08 "connection
/// exception", 53 "insufficient resources", 57P "operator intervention", 25006 "read only SQL
/// transaction" and 55P03 "lock not available" (a wait past `database_timeout`); SQLite BUSY,
/// LOCKED,
/// READONLY, IOERR, FULL, CANTOPEN) — never a constraint or a syntax error.
fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                matches!(
                    code.parse::<i64>().map(|c| c & 0xff),
                    Ok(5 | 6 | 8 | 10 | 13 | 14)
                )
            } else {
                // 25006: a read-only server (a standby, or default_transaction_read_only).
                // 55P03: a lock not granted within lock_timeout (= database_timeout).
                code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57P")
                    || code == "25006"
                    || code == "55P03"
            }
        }
        _ => false,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Database(error)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(error)
    }
}

/// Why a public key was not registered.
#[derive(Debug, thiserror::Error)]
pub enum InsertKeyError {
    /// A key with this fingerprint was registered before, by this or any other API key (even if
    /// it was revoked since). This refusal wins over [`InsertKeyError::ActiveKeyExists`].
    #[error("this public key has been registered before")]
    Reused,
    /// The API key already has an active key (not revoked, not expired).
    #[error("the API key already has an active public key")]
    ActiveKeyExists,
    /// Staging a successor: the API key has no active key to succeed.
    #[error("the API key has no active public key to succeed")]
    NoActiveKey,
    /// Staging a successor: the API key already has a staged successor.
    #[error("the API key already has a staged successor")]
    SuccessorExists,
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for InsertKeyError {
    fn from(error: sqlx::Error) -> Self {
        InsertKeyError::Store(StoreError::Database(error))
    }
}

pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}
