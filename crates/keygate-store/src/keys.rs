//! The public-key lifecycle: one active key per API key, enforced by the database.

use keygate_core::audit::NewAuditEvent;
use keygate_core::model::{KeyRecord, UnixTime};
use uuid::Uuid;

use crate::error::{is_foreign_key_violation, is_unique_violation};
use crate::rows::{key_from_row, KeyRow};
use crate::{Backend, InsertKeyError, Store, StoreError};

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

/// What a revoke or a successor's activation changed, in its transaction: for the audit events
/// appended with it (docs/design.md §11) and the caller's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// The key that stopped being active: revoked, or retiring after an activation.
    pub ended: Option<KeyRecord>,
    /// Keys still retiring from an earlier rotation, revoked now (their overlap cut short).
    pub retired: Vec<KeyRecord>,
    /// The successor that became the active key.
    pub activated: Option<KeyRecord>,
}

impl Store {
    /// Registers `new` as the API key's active key, valid from `now` for `validity_secs`.
    ///
    /// In one transaction: the API key's open key is closed if it is revoked or expired (and a
    /// staged successor that took over is promoted, `lock_and_settle_keys!`); a key
    /// whose fingerprint was ever registered (by anyone) is refused with
    /// [`InsertKeyError::Reused`]; otherwise the key is inserted as the open one. If the API key
    /// still has an active key, the partial unique index refuses the insert and the answer is
    /// [`InsertKeyError::ActiveKeyExists`]. Unique violations are never reported as database
    /// errors: they are re-checked and mapped to `Reused` (which wins) or `ActiveKeyExists`.
    /// `audit` is appended in the same transaction when the key is stored.
    pub async fn insert_key(
        &self,
        new: NewKey,
        now: UnixTime,
        validity_secs: i64,
        audit: &[NewAuditEvent],
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
            activates_at: now,
            expires_at: now.saturating_add(validity_secs),
            revoked_at: None,
            revoke_reason: None,
            withdrawn_at: None,
        };
        let exponent = i64::try_from(record.exponent)
            .map_err(|_| StoreError::OutOfRange("public key exponent"))?;
        let bits = i64::from(record.bits);
        let id = record.id.to_string();
        let api_key_id = record.api_key_id.to_string();

        // `Ok(false)`: the fingerprint was registered before (nothing written).
        let outcome: Result<bool, sqlx::Error> = in_write_tx!(self, |tx| {
            // Write first: close this API key's open key if it is revoked or expired, and
            // promote a successor that has taken over since the last write.
            lock_and_settle_keys!(self, tx, &api_key_id, now);

            let seen = sqlx::query("SELECT 1 FROM public_keys WHERE fingerprint_sha256 = $1")
                .bind(&record.fingerprint_sha256)
                .fetch_optional(&mut *tx)
                .await?;
            if seen.is_some() {
                tx.rollback().await?;
                Ok(false)
            } else {
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
                    Ok(_) => {
                        append_audit!(self, tx, audit, now);
                        tx.commit().await.map(|()| true)
                    }
                    // Dropping the transaction rolls it back.
                    Err(e) => Err(e),
                }
            }
        });

        match outcome {
            Ok(true) => Ok(record),
            Ok(false) => Err(InsertKeyError::Reused),
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
            let found: Result<bool, InsertKeyError> = async {
                Ok(on_pool!(self, |pool| {
                    sqlx::query(sql)
                        .bind(value)
                        .fetch_optional(pool)
                        .await?
                        .is_some()
                }))
            }
            .await;
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
            Err(e) => return e,
        }
        match check("SELECT 1 FROM public_keys WHERE id = $1", id.to_owned()).await {
            Ok(true) => InsertKeyError::Store(StoreError::Conflict("public key id".into())),
            Ok(false) => InsertKeyError::ActiveKeyExists,
            Err(e) => e,
        }
    }

    /// The API key's active key: not withdrawn, not revoked (a retiring key's `revoked_at` is in
    /// the future but set), activated and not expired at `now`. The database's view;
    /// it agrees with the one definition every caller uses, the registry's `CurrentKey`
    /// (docs/architecture.md), which a registry test checks against this query.
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
                " FROM public_keys WHERE api_key_id = $1 AND withdrawn_at IS NULL",
                " AND revoked_at IS NULL AND COALESCE(activates_at, issued_at) <= $2",
                " AND expires_at > $2"
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

    /// Revokes the API key's currently ACTIVE key, in one transaction (docs/design.md §2,
    /// "Rotation"): the active key is revoked at `now` and closed; a retiring key is revoked at
    /// `now` too (its overlap ends; `reason`, when given, replaces its reason); a staged
    /// successor becomes the active key at `now`, valid for as long as it was staged for.
    /// `audit(&change)` is appended in the same transaction. `None` when there is no active key
    /// (never uploaded, already revoked, or expired).
    pub async fn revoke_active(
        &self,
        api_key_id: Uuid,
        reason: Option<&str>,
        now: UnixTime,
        audit: impl FnOnce(&KeyChange) -> Vec<NewAuditEvent> + Send,
    ) -> Result<Option<KeyChange>, StoreError> {
        let api_key_id = api_key_id.to_string();
        let change: Option<KeyChange> = in_write_tx!(self, |tx| {
            lock_and_settle_keys!(self, tx, &api_key_id, now);
            let row: Option<KeyRow> = sqlx::query_as(concat!(
                "UPDATE public_keys SET revoked_at = $3, revoke_reason = $2, open = 0",
                " WHERE api_key_id = $1 AND open = 1 AND revoked_at IS NULL AND expires_at > $3",
                " RETURNING ",
                key_columns!()
            ))
            .bind(&api_key_id)
            .bind(reason)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                None => None,
                Some(row) => {
                    let retired: Vec<KeyRow> = sqlx::query_as(concat!(
                        "UPDATE public_keys SET revoked_at = $3,",
                        " revoke_reason = COALESCE($2, revoke_reason)",
                        " WHERE api_key_id = $1 AND revoked_at > $3 RETURNING ",
                        key_columns!()
                    ))
                    .bind(&api_key_id)
                    .bind(reason)
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await?;
                    let activated: Option<KeyRow> = sqlx::query_as(concat!(
                        "UPDATE public_keys SET staged = 0, open = 1, activates_at = $2,",
                        " expires_at = $2 + (expires_at - activates_at)",
                        " WHERE api_key_id = $1 AND staged = 1 RETURNING ",
                        key_columns!()
                    ))
                    .bind(&api_key_id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let change = KeyChange {
                        ended: Some(key_from_row(row)?),
                        retired: retired
                            .into_iter()
                            .map(key_from_row)
                            .collect::<Result<_, _>>()?,
                        activated: activated.map(key_from_row).transpose()?,
                    };
                    let events = audit(&change);
                    append_audit!(self, tx, &events, now);
                    tx.commit().await?;
                    Some(change)
                }
            }
        });
        Ok(change)
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
