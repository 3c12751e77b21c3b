//! Staged successors (docs/design.md §2, "Rotation"): stage, read, withdraw, activate, and the
//! rows the registry's one definition of the active key reads.
//!
//! The data model, in `public_keys` (migration `0003_successor`): a successor is a key row with
//! `staged = 1`, never open, `activates_at` = the active key's `expires_at` and `expires_at =
//! activates_at + key_validity`. Each row's status is a function of that row and *now*
//! (`KeyRecord::status`): it is PENDING before `activates_at` and ACTIVE from it, so it takes
//! over at the instant its predecessor expires with no job and no write. Everything that ends
//! the active key earlier (an activation, a revocation) moves the successor's two instants to
//! that moment in the same transaction. Every write runs under `lock_and_settle_keys!`, so one
//! API key's writes run one at a time on every node; the partial unique indexes (one open key,
//! one staged successor per API key) hold whatever happens.

use keygate_core::audit::NewAuditEvent;
use keygate_core::model::{KeyRecord, UnixTime};
use uuid::Uuid;

use crate::error::{is_foreign_key_violation, is_unique_violation};
use crate::rows::{key_from_row, KeyRow};
use crate::{Backend, InsertKeyError, KeyChange, NewKey, Store, StoreError};

/// What staging decided inside its transaction.
enum Staged {
    Stored,
    Reused,
    NoActiveKey,
    Exists,
}

impl Store {
    /// Stages `new` as the successor of the API key's active key, in one transaction: it will
    /// be active from the active key's `expires_at` (unless activated or its predecessor
    /// revoked earlier) for `validity_secs`.
    ///
    /// Refusals, the first that applies: [`InsertKeyError::Reused`] (the fingerprint was ever
    /// registered), [`InsertKeyError::NoActiveKey`], [`InsertKeyError::SuccessorExists`].
    /// `audit(&staged)` is appended in the same transaction when it is stored.
    pub async fn stage_successor(
        &self,
        new: NewKey,
        now: UnixTime,
        validity_secs: i64,
        audit: impl FnOnce(&KeyRecord) -> Vec<NewAuditEvent> + Send,
    ) -> Result<KeyRecord, InsertKeyError> {
        let exponent = i64::try_from(new.exponent)
            .map_err(|_| StoreError::OutOfRange("public key exponent"))?;
        let bits = i64::from(new.bits);
        let id = new.id.to_string();
        let api_key_id = new.api_key_id.to_string();

        let record = |activates_at: i64| KeyRecord {
            id: new.id,
            api_key_id: new.api_key_id,
            public_key_pem: new.public_key_pem.clone(),
            fingerprint_sha256: new.fingerprint_sha256.clone(),
            jwk_thumbprint: new.jwk_thumbprint.clone(),
            bits: new.bits,
            exponent: new.exponent,
            issued_at: now,
            activates_at,
            expires_at: activates_at.saturating_add(validity_secs),
            revoked_at: None,
            revoke_reason: None,
            withdrawn_at: None,
        };
        let outcome: Result<(Staged, i64), sqlx::Error> = in_write_tx!(self, |tx| {
            lock_and_settle_keys!(self, tx, &api_key_id, now);
            let seen = sqlx::query("SELECT 1 FROM public_keys WHERE fingerprint_sha256 = $1")
                .bind(&new.fingerprint_sha256)
                .fetch_optional(&mut *tx)
                .await?;
            let active: Option<(i64,)> = sqlx::query_as(
                "SELECT expires_at FROM public_keys WHERE api_key_id = $1 AND open = 1 \
                 AND revoked_at IS NULL AND expires_at > $2",
            )
            .bind(&api_key_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let staged =
                sqlx::query("SELECT 1 FROM public_keys WHERE api_key_id = $1 AND staged = 1")
                    .bind(&api_key_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            match (seen, active, staged) {
                (Some(_), _, _) => Ok((Staged::Reused, 0)),
                (None, None, _) => Ok((Staged::NoActiveKey, 0)),
                (None, Some(_), Some(_)) => Ok((Staged::Exists, 0)),
                (None, Some((activates_at,)), None) => {
                    let inserted = sqlx::query(
                        "INSERT INTO public_keys (id, api_key_id, public_key_pem, \
                           fingerprint_sha256, jwk_thumbprint, bits, exponent, issued_at, \
                           activates_at, expires_at, open, staged) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 1)",
                    )
                    .bind(&id)
                    .bind(&api_key_id)
                    .bind(&new.public_key_pem)
                    .bind(&new.fingerprint_sha256)
                    .bind(&new.jwk_thumbprint)
                    .bind(bits)
                    .bind(exponent)
                    .bind(now)
                    .bind(activates_at)
                    .bind(activates_at.saturating_add(validity_secs))
                    .execute(&mut *tx)
                    .await;
                    match inserted {
                        Ok(_) => {
                            let events = audit(&record(activates_at));
                            append_audit!(self, tx, &events, now);
                            tx.commit().await.map(|()| (Staged::Stored, activates_at))
                        }
                        // Dropping the transaction rolls it back.
                        Err(e) => Err(e),
                    }
                }
            }
        });

        match outcome {
            Ok((Staged::Stored, activates_at)) => Ok(record(activates_at)),
            Ok((Staged::Reused, _)) => Err(InsertKeyError::Reused),
            Ok((Staged::NoActiveKey, _)) => Err(InsertKeyError::NoActiveKey),
            Ok((Staged::Exists, _)) => Err(InsertKeyError::SuccessorExists),
            // Another API key registered the same key at the same moment (this API key's own
            // writes are queued by its lock), or the id was taken.
            Err(e) if is_unique_violation(&e) => {
                let fingerprint = on_pool!(self, |pool| {
                    sqlx::query("SELECT 1 FROM public_keys WHERE fingerprint_sha256 = $1")
                        .bind(&new.fingerprint_sha256)
                        .fetch_optional(pool)
                        .await?
                        .is_some()
                });
                if fingerprint {
                    Err(InsertKeyError::Reused)
                } else {
                    Err(StoreError::Conflict("public key id".into()).into())
                }
            }
            Err(e) if is_foreign_key_violation(&e) => {
                Err(StoreError::NotFound("api key".into()).into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The API key's staged successor while it is PENDING at `now`.
    pub async fn pending_successor(
        &self,
        api_key_id: Uuid,
        now: UnixTime,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let api_key_id = api_key_id.to_string();
        let row: Option<KeyRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                key_columns!(),
                " FROM public_keys WHERE api_key_id = $1 AND staged = 1",
                " AND withdrawn_at IS NULL AND activates_at > $2"
            ))
            .bind(&api_key_id)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        row.map(key_from_row).transpose()
    }

    /// Withdraws the API key's PENDING successor at `now` (it stays registered); `None` when
    /// there is none. `audit(&withdrawn)` is appended in the same transaction.
    pub async fn withdraw_successor(
        &self,
        api_key_id: Uuid,
        now: UnixTime,
        audit: impl FnOnce(&KeyRecord) -> Vec<NewAuditEvent> + Send,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let api_key_id = api_key_id.to_string();
        let row: Option<KeyRecord> = in_write_tx!(self, |tx| {
            lock_and_settle_keys!(self, tx, &api_key_id, now);
            let row: Option<KeyRow> = sqlx::query_as(concat!(
                "UPDATE public_keys SET staged = 0, withdrawn_at = $2",
                " WHERE api_key_id = $1 AND staged = 1 AND activates_at > $2",
                " RETURNING ",
                key_columns!()
            ))
            .bind(&api_key_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            match row.map(key_from_row).transpose()? {
                None => None,
                Some(withdrawn) => {
                    let events = audit(&withdrawn);
                    append_audit!(self, tx, &events, now);
                    tx.commit().await?;
                    Some(withdrawn)
                }
            }
        });
        Ok(row)
    }

    /// Activates the PENDING successor `successor_id` at `now`, in one transaction: a key still
    /// retiring from an earlier rotation is revoked at `now`; the active key is closed and
    /// retires until `now + overlap_secs`, cut at its own `expires_at` (at once for an overlap
    /// of zero), with `reason`; the successor is active from `now` for as long as it was staged
    /// for. Returns what changed: the activated key, the one it replaced (`ended`) and any key
    /// whose earlier overlap was cut short (`retired`); `None` when `successor_id` is not (or
    /// no longer) the API key's pending successor. `audit(&change)` is appended in the same
    /// transaction.
    pub async fn activate_successor(
        &self,
        api_key_id: Uuid,
        successor_id: Uuid,
        reason: &str,
        now: UnixTime,
        overlap_secs: i64,
        audit: impl FnOnce(&KeyChange) -> Vec<NewAuditEvent> + Send,
    ) -> Result<Option<KeyChange>, StoreError> {
        let api_key_id = api_key_id.to_string();
        let successor_id = successor_id.to_string();
        let retire_at = now.saturating_add(overlap_secs);
        let change: Option<KeyChange> = in_write_tx!(self, |tx| {
            lock_and_settle_keys!(self, tx, &api_key_id, now);
            let pending = sqlx::query(
                "SELECT 1 FROM public_keys WHERE api_key_id = $1 AND id = $2 AND staged = 1 \
                 AND activates_at > $3",
            )
            .bind(&api_key_id)
            .bind(&successor_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if pending.is_none() {
                None
            } else {
                let retired: Vec<KeyRow> = sqlx::query_as(concat!(
                    "UPDATE public_keys SET revoked_at = $2",
                    " WHERE api_key_id = $1 AND revoked_at > $2 RETURNING ",
                    key_columns!()
                ))
                .bind(&api_key_id)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
                let previous: Option<KeyRow> = sqlx::query_as(concat!(
                    "UPDATE public_keys SET open = 0, revoke_reason = $3,",
                    " revoked_at = CASE WHEN $4 < expires_at THEN $4 ELSE expires_at END",
                    " WHERE api_key_id = $1 AND open = 1 AND revoked_at IS NULL",
                    " AND expires_at > $2",
                    " RETURNING ",
                    key_columns!()
                ))
                .bind(&api_key_id)
                .bind(now)
                .bind(reason)
                .bind(retire_at)
                .fetch_optional(&mut *tx)
                .await?;
                let activated: KeyRow = sqlx::query_as(concat!(
                    "UPDATE public_keys SET staged = 0, open = 1, activates_at = $2,",
                    " expires_at = $2 + (expires_at - activates_at)",
                    " WHERE id = $1 RETURNING ",
                    key_columns!()
                ))
                .bind(&successor_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                let change = KeyChange {
                    ended: previous.map(key_from_row).transpose()?,
                    retired: retired
                        .into_iter()
                        .map(key_from_row)
                        .collect::<Result<_, _>>()?,
                    activated: Some(key_from_row(activated)?),
                };
                let events = audit(&change);
                append_audit!(self, tx, &events, now);
                tx.commit().await?;
                Some(change)
            }
        });
        Ok(change)
    }

    /// The rows that say where an API key stands: its newest three keys that were not
    /// withdrawn, newest first — at most a pending successor, the active key and a retiring
    /// one, or the latest key when none is active (docs/design.md §2). The registry's
    /// `CurrentKey::of` reads them.
    pub async fn current_keys(&self, api_key_id: Uuid) -> Result<Vec<KeyRecord>, StoreError> {
        let api_key_id = api_key_id.to_string();
        let rows: Vec<KeyRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                key_columns!(),
                " FROM public_keys WHERE api_key_id = $1 AND withdrawn_at IS NULL",
                " ORDER BY issued_at DESC, seq DESC LIMIT 3"
            ))
            .bind(&api_key_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(key_from_row).collect()
    }
}
