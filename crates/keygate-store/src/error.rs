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
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Applying the embedded migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
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
