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

mod gateway;
pub use gateway::{Invalidations, SystemKeyRow, INVALIDATE_CHANNEL};

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

    // ----- clients -------------------------------------------------------------------------

    /// Creates a client. A duplicate alias gives `StoreError::Conflict("client alias")`.
    pub async fn create_client(
        &self,
        name: &str,
        alias: &str,
        now: UnixTime,
    ) -> Result<Client, StoreError> {
        let client = Client {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            alias: alias.to_owned(),
            created_at: now,
        };
        let id = client.id.to_string();
        let result = on_pool!(self, |pool| {
            sqlx::query("INSERT INTO clients (id, name, alias, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&id)
                .bind(name)
                .bind(alias)
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        });
        match result {
            Ok(_) => Ok(client),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict("client alias".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Every client, by alias.
    pub async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows: Vec<ClientRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                client_columns!("c"),
                " FROM clients c ORDER BY c.alias"
            ))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(client_from_row).collect()
    }

    /// The client whose id or alias is `alias_or_id` (an id match wins).
    pub async fn find_client(&self, alias_or_id: &str) -> Result<Option<Client>, StoreError> {
        let row: Option<ClientRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                client_columns!("c"),
                " FROM clients c WHERE c.id = $1 OR c.alias = $1",
                " ORDER BY CASE WHEN c.id = $1 THEN 0 ELSE 1 END LIMIT 1"
            ))
            .bind(alias_or_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(client_from_row).transpose()
    }

    // ----- API keys ------------------------------------------------------------------------

    /// Creates an API key for a client. A duplicate alias within the client gives
    /// `Conflict("api key alias")`, a login identifier already in use gives
    /// `Conflict("api key login")`, an unknown client `NotFound("client")`.
    pub async fn create_api_key(
        &self,
        client_id: Uuid,
        alias: &str,
        api_key_login: &str,
        password_hash: &str,
        now: UnixTime,
    ) -> Result<ApiKey, StoreError> {
        let api_key = ApiKey {
            id: Uuid::new_v4(),
            client_id,
            alias: alias.to_owned(),
            api_key: api_key_login.to_owned(),
            created_at: now,
        };
        let id = api_key.id.to_string();
        let client = client_id.to_string();
        let result = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO api_keys (id, client_id, alias, api_key, password_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&id)
            .bind(&client)
            .bind(alias)
            .bind(api_key_login)
            .bind(password_hash)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        });
        match result {
            Ok(_) => Ok(api_key),
            Err(e) if is_unique_violation(&e) => {
                let login_taken = on_pool!(self, |pool| {
                    sqlx::query("SELECT 1 FROM api_keys WHERE api_key = $1")
                        .bind(api_key_login)
                        .fetch_optional(pool)
                        .await?
                        .is_some()
                });
                Err(StoreError::Conflict(
                    if login_taken {
                        "api key login"
                    } else {
                        "api key alias"
                    }
                    .into(),
                ))
            }
            Err(e) if is_foreign_key_violation(&e) => Err(StoreError::NotFound("client".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// A client's API keys, by alias.
    pub async fn list_api_keys(&self, client_id: Uuid) -> Result<Vec<ApiKey>, StoreError> {
        let client = client_id.to_string();
        let rows: Vec<ApiKeyRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                api_key_columns!("a"),
                " FROM api_keys a WHERE a.client_id = $1 ORDER BY a.alias"
            ))
            .bind(&client)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(api_key_from_row).collect()
    }

    /// For login: the API key with this login identifier, its client and its password hash.
    pub async fn find_login(
        &self,
        api_key_login: &str,
    ) -> Result<Option<(ApiKey, Client, String)>, StoreError> {
        let row: Option<ApiKeyClientRow<String>> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                api_key_columns!("a"),
                ", ",
                client_columns!("c"),
                ", a.password_hash FROM api_keys a JOIN clients c ON c.id = a.client_id",
                " WHERE a.api_key = $1"
            ))
            .bind(api_key_login)
            .fetch_optional(pool)
            .await?
        });
        row.map(api_key_client_from_row).transpose()
    }

    /// The API key with this id, and its client.
    pub async fn find_api_key(&self, id: Uuid) -> Result<Option<(ApiKey, Client)>, StoreError> {
        let id = id.to_string();
        let row: Option<ApiKeyClientRow<i64>> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                api_key_columns!("a"),
                ", ",
                client_columns!("c"),
                ", a.created_at FROM api_keys a JOIN clients c ON c.id = a.client_id",
                " WHERE a.id = $1"
            ))
            .bind(&id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row
            .map(api_key_client_from_row)
            .transpose()?
            .map(|(api_key, client, _)| (api_key, client)))
    }

    // ----- login failures --------------------------------------------------------------------

    /// Records one failed login attempt for a login identifier from a client address.
    pub async fn record_login_failure(
        &self,
        api_key_login: &str,
        address: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO login_failures (api_key_login, address, failed_at) \
                 VALUES ($1, $2, $3)",
            )
            .bind(api_key_login)
            .bind(address)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Failed attempts at or after `since`: `(for this login identifier, from this address)`.
    pub async fn count_login_failures(
        &self,
        api_key_login: &str,
        address: &str,
        since: UnixTime,
    ) -> Result<(u32, u32), StoreError> {
        let (by_key, by_address): (i64, i64) = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT \
                   (SELECT COUNT(*) FROM login_failures \
                     WHERE api_key_login = $1 AND failed_at >= $3), \
                   (SELECT COUNT(*) FROM login_failures \
                     WHERE address = $2 AND failed_at >= $3)",
            )
            .bind(api_key_login)
            .bind(address)
            .bind(since)
            .fetch_one(pool)
            .await?
        });
        Ok((count_to_u32(by_key), count_to_u32(by_address)))
    }

    /// Deletes failed attempts older than `before`; returns how many.
    pub async fn purge_login_failures(&self, before: UnixTime) -> Result<u64, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM login_failures WHERE failed_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }

    // ----- sessions --------------------------------------------------------------------------

    /// Stores a session under the SHA-256 hash (hex) of its bearer token.
    pub async fn create_session(
        &self,
        token_hash: &str,
        api_key_id: Uuid,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let api_key = api_key_id.to_string();
        let result = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO sessions (token_hash, api_key_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(&api_key)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        });
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict("session".into())),
            Err(e) if is_foreign_key_violation(&e) => Err(StoreError::NotFound("api key".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// The principal of an unexpired session, and when it expires. Expired (at or after
    /// `expires_at`) or unknown → `None`.
    pub async fn find_session(
        &self,
        token_hash: &str,
        now: UnixTime,
    ) -> Result<Option<(Principal, UnixTime)>, StoreError> {
        let row: Option<ApiKeyClientRow<i64>> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                api_key_columns!("a"),
                ", ",
                client_columns!("c"),
                ", s.expires_at FROM sessions s",
                " JOIN api_keys a ON a.id = s.api_key_id",
                " JOIN clients c ON c.id = a.client_id",
                " WHERE s.token_hash = $1 AND s.expires_at > $2"
            ))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(row
            .map(api_key_client_from_row)
            .transpose()?
            .map(|(api_key, client, expires_at)| (Principal { client, api_key }, expires_at)))
    }

    /// Ends a session (logout). `true` when it existed.
    pub async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Deletes sessions expired at `now`; returns how many.
    pub async fn purge_expired_sessions(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }

    // ----- public keys -----------------------------------------------------------------------

    /// Registers `new` as the API key's active key, valid from `now` for `validity_secs`.
    ///
    /// In one transaction: the API key's open key is closed if it is revoked or expired; a key
    /// whose fingerprint was ever registered (by anyone) is refused with
    /// [`InsertKeyError::Reused`]; otherwise the key is inserted as the open one. If the API key
    /// still has an active key, the partial unique index refuses the insert and the answer is
    /// [`InsertKeyError::ActiveKeyExists`]. Unique violations are never reported as database
    /// errors: they are re-checked and mapped to `Reused` (which wins) or `ActiveKeyExists`.
    pub async fn insert_key(
        &self,
        new: NewKey,
        now: UnixTime,
        validity_secs: i64,
    ) -> Result<KeyRecord, InsertKeyError> {
        let record = KeyRecord {
            id: new.id,
            api_key_id: new.api_key_id,
            public_key_pem: new.public_key_pem,
            fingerprint_sha256: new.fingerprint_sha256,
            jwk_thumbprint: new.jwk_thumbprint,
            bits: new.bits,
            exponent: new.exponent,
            issued_at: now,
            expires_at: now.saturating_add(validity_secs),
            revoked_at: None,
            revoke_reason: None,
        };
        let exponent = i64::try_from(record.exponent)
            .map_err(|_| StoreError::OutOfRange("public key exponent"))?;
        let bits = i64::from(record.bits);
        let id = record.id.to_string();
        let api_key_id = record.api_key_id.to_string();

        let outcome: Result<(), sqlx::Error> = in_write_tx!(self, |tx| {
            // Write first: close this API key's open key if it is revoked or expired.
            sqlx::query(
                "UPDATE public_keys SET open = 0 \
                 WHERE api_key_id = $1 AND open = 1 \
                   AND (revoked_at IS NOT NULL OR expires_at <= $2)",
            )
            .bind(&api_key_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();

            let seen = sqlx::query("SELECT 1 FROM public_keys WHERE fingerprint_sha256 = $1")
                .bind(&record.fingerprint_sha256)
                .fetch_optional(&mut *tx)
                .await?;
            if seen.is_some() {
                tx.rollback().await?;
                return Err(InsertKeyError::Reused);
            }

            let inserted = sqlx::query(
                "INSERT INTO public_keys (id, api_key_id, public_key_pem, fingerprint_sha256, \
                   jwk_thumbprint, bits, exponent, issued_at, expires_at, open) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)",
            )
            .bind(&id)
            .bind(&api_key_id)
            .bind(&record.public_key_pem)
            .bind(&record.fingerprint_sha256)
            .bind(&record.jwk_thumbprint)
            .bind(bits)
            .bind(exponent)
            .bind(record.issued_at)
            .bind(record.expires_at)
            .execute(&mut *tx)
            .await
            .map(|done| done.rows_affected());
            match inserted {
                Ok(_) => tx.commit().await,
                // Dropping the transaction rolls it back.
                Err(e) => Err(e),
            }
        });

        match outcome {
            Ok(()) => Ok(record),
            Err(e) if is_unique_violation(&e) => Err(self.explain_key_conflict(&record, &id).await),
            Err(e) if is_foreign_key_violation(&e) => {
                Err(StoreError::NotFound("api key".into()).into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// After a unique violation on `public_keys` (a concurrent writer won): which rule refused.
    async fn explain_key_conflict(&self, record: &KeyRecord, id: &str) -> InsertKeyError {
        let check = |sql: &'static str, value: String| async move {
            let found: Result<bool, sqlx::Error> = on_pool!(self, |pool| {
                sqlx::query(sql)
                    .bind(value)
                    .fetch_optional(pool)
                    .await
                    .map(|row| row.is_some())
            });
            found
        };
        match check(
            "SELECT 1 FROM public_keys WHERE fingerprint_sha256 = $1",
            record.fingerprint_sha256.clone(),
        )
        .await
        {
            Ok(true) => return InsertKeyError::Reused,
            Ok(false) => {}
            Err(e) => return e.into(),
        }
        match check("SELECT 1 FROM public_keys WHERE id = $1", id.to_owned()).await {
            Ok(true) => InsertKeyError::Store(StoreError::Conflict("public key id".into())),
            Ok(false) => InsertKeyError::ActiveKeyExists,
            Err(e) => e.into(),
        }
    }

    /// The API key's active key: open, not revoked, not expired at `now`.
    pub async fn active_key(
        &self,
        api_key_id: Uuid,
        now: UnixTime,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let api_key_id = api_key_id.to_string();
        let row: Option<KeyRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                key_columns!(),
                " FROM public_keys WHERE api_key_id = $1 AND open = 1",
                " AND revoked_at IS NULL AND expires_at > $2"
            ))
            .bind(&api_key_id)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        row.map(key_from_row).transpose()
    }

    /// The API key's newest key, whatever its status (`None`: never uploaded).
    pub async fn latest_key(&self, api_key_id: Uuid) -> Result<Option<KeyRecord>, StoreError> {
        let api_key_id = api_key_id.to_string();
        let row: Option<KeyRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                key_columns!(),
                " FROM public_keys WHERE api_key_id = $1",
                " ORDER BY issued_at DESC, seq DESC LIMIT 1"
            ))
            .bind(&api_key_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(key_from_row).transpose()
    }

    /// Revokes the API key's currently ACTIVE key (one atomic statement). `None` when there is
    /// no active key (never uploaded, already revoked, or expired).
    pub async fn revoke_active(
        &self,
        api_key_id: Uuid,
        reason: Option<&str>,
        now: UnixTime,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let api_key_id = api_key_id.to_string();
        let row: Option<KeyRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "UPDATE public_keys SET revoked_at = $3, revoke_reason = $2, open = 0",
                " WHERE api_key_id = $1 AND open = 1 AND revoked_at IS NULL AND expires_at > $3",
                " RETURNING ",
                key_columns!()
            ))
            .bind(&api_key_id)
            .bind(reason)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        row.map(key_from_row).transpose()
    }

    /// The operator's revocation: the same rule as [`Store::revoke_active`].
    pub async fn admin_revoke_active(
        &self,
        api_key_id: Uuid,
        reason: Option<&str>,
        now: UnixTime,
    ) -> Result<Option<KeyRecord>, StoreError> {
        self.revoke_active(api_key_id, reason, now).await
    }

    /// Every key of the API key, newest first (ties broken by insertion order, newest first).
    pub async fn list_keys(&self, api_key_id: Uuid) -> Result<Vec<KeyRecord>, StoreError> {
        let api_key_id = api_key_id.to_string();
        let rows: Vec<KeyRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                key_columns!(),
                " FROM public_keys WHERE api_key_id = $1",
                " ORDER BY issued_at DESC, seq DESC"
            ))
            .bind(&api_key_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(key_from_row).collect()
    }

    /// One key of this API key; another API key's key is `None`.
    pub async fn get_key(
        &self,
        api_key_id: Uuid,
        key_id: Uuid,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let api_key_id = api_key_id.to_string();
        let key_id = key_id.to_string();
        let row: Option<KeyRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                key_columns!(),
                " FROM public_keys WHERE api_key_id = $1 AND id = $2"
            ))
            .bind(&api_key_id)
            .bind(&key_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(key_from_row).transpose()
    }
}
