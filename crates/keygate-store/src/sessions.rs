//! Login failures and sessions: both live in the database so every node sees them.

use keygate_core::audit::NewAuditEvent;
use keygate_core::model::{Principal, UnixTime};
use uuid::Uuid;

use crate::error::{is_foreign_key_violation, is_unique_violation};
use crate::rows::{api_key_client_from_row, count_to_u32, ApiKeyClientRow};
use crate::{Backend, Store, StoreError};

/// Who is trying to log in: the login identifier and the client address.
#[derive(Debug, Clone, Copy)]
pub struct LoginAttemptKey<'a> {
    /// The login identifier as the caller sent it; it may name no API key, and is counted all
    /// the same (the per-key limit).
    pub api_key_login: &'a str,
    /// The client's IP address as text, the caller's choice of peer or `X-Forwarded-For`
    /// (`trust_forwarded_for`); the per-address limit.
    pub address: &'a str,
}

/// The outcome of [`Store::begin_login_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttempt {
    /// A limit is reached; nothing was recorded.
    Refused,
    /// Recorded as a failure (its `seq`), until taken back. `locks` says which limits this
    /// attempt reaches if it fails: `(by identifier, by address)`, for the one `login.locked`
    /// event of a lockout (docs/design.md §11).
    Recorded(i64, (bool, bool)),
}

impl Store {
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

    /// Counts a login attempt before its password is checked (docs/decisions.md, "Login
    /// limits"): within one write transaction, the failures at or after `since` for this login
    /// identifier and for this address are counted and, when both are under their limits, the
    /// attempt is recorded as a failure. Concurrent attempts are serialized (SQLite: the one
    /// writer; PostgreSQL: transaction-scoped advisory locks on the identifier, then the
    /// address, so every node queues on the same locks), so they cannot pass the limits
    /// together. A successful attempt is taken back with [`Store::forget_login_attempt`].
    pub async fn begin_login_attempt(
        &self,
        attempt: &LoginAttemptKey<'_>,
        now: UnixTime,
        since: UnixTime,
        limits: (u32, u32),
    ) -> Result<LoginAttempt, StoreError> {
        let (max_by_key, max_by_address) = limits;
        // PostgreSQL runs READ COMMITTED: without the locks, two attempts would both count the
        // same failures. Two lock spaces (1: identifiers, 2: addresses), always taken in that
        // order, so two attempts never wait on each other crosswise.
        let locks: &[(&str, &str)] = match self.backend {
            Backend::Postgres(_) => &[
                (
                    "SELECT pg_advisory_xact_lock(1, hashtext($1))",
                    attempt.api_key_login,
                ),
                (
                    "SELECT pg_advisory_xact_lock(2, hashtext($1))",
                    attempt.address,
                ),
            ],
            Backend::Sqlite(_) => &[],
        };
        // The body's value is the macro's (see `in_write_tx`): `return` leaves the body only.
        let attempt = in_write_tx!(self, |tx| {
            for (sql, value) in locks {
                sqlx::query(sql).bind(*value).execute(&mut *tx).await?;
            }
            let (by_key, by_address): (i64, i64) = sqlx::query_as(
                "SELECT \
                   (SELECT COUNT(*) FROM login_failures \
                     WHERE api_key_login = $1 AND failed_at >= $3), \
                   (SELECT COUNT(*) FROM login_failures \
                     WHERE address = $2 AND failed_at >= $3)",
            )
            .bind(attempt.api_key_login)
            .bind(attempt.address)
            .bind(since)
            .fetch_one(&mut *tx)
            .await?;
            if count_to_u32(by_key) >= max_by_key || count_to_u32(by_address) >= max_by_address {
                tx.rollback().await?;
                return Ok(LoginAttempt::Refused);
            }
            let (seq,): (i64,) = sqlx::query_as(
                "INSERT INTO login_failures (api_key_login, address, failed_at) \
                 VALUES ($1, $2, $3) RETURNING seq",
            )
            .bind(attempt.api_key_login)
            .bind(attempt.address)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            // Attempts are serialized per identifier and per address, so one attempt only is
            // the one that reaches each limit.
            let locks = (
                count_to_u32(by_key).saturating_add(1) == max_by_key,
                count_to_u32(by_address).saturating_add(1) == max_by_address,
            );
            LoginAttempt::Recorded(seq, locks)
        });
        Ok(attempt)
    }

    /// Takes back an attempt recorded by [`Store::begin_login_attempt`]: its password was right,
    /// or it was never checked.
    pub async fn forget_login_attempt(&self, seq: i64) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM login_failures WHERE seq = $1")
                .bind(seq)
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

    /// Stores a session under the SHA-256 hash (hex) of its bearer token, appending `audit` in
    /// the same transaction.
    pub async fn create_session(
        &self,
        token_hash: &str,
        api_key_id: Uuid,
        now: UnixTime,
        expires_at: UnixTime,
        audit: &[NewAuditEvent],
    ) -> Result<(), StoreError> {
        let api_key = api_key_id.to_string();
        let result: Result<(), sqlx::Error> = in_write_tx!(self, |tx| {
            let inserted = sqlx::query(
                "INSERT INTO sessions (token_hash, api_key_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(&api_key)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await;
            commit_audited!(self, tx, inserted, audit, now)
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

    /// Ends a session (logout), appending `audit` in the same transaction when it existed.
    /// `true` when it existed.
    pub async fn delete_session(
        &self,
        token_hash: &str,
        now: UnixTime,
        audit: &[NewAuditEvent],
    ) -> Result<bool, StoreError> {
        let done = in_write_tx!(self, |tx| {
            let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done > 0 {
                append_audit!(self, tx, audit, now);
            }
            tx.commit().await?;
            done
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
}
