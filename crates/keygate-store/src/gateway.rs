//! What the gateway needs from the database: the system keys, the shared `jti` record, and the
//! invalidation channel (PostgreSQL `LISTEN/NOTIFY`).

use keygate_core::audit::NewAuditEvent;
use keygate_core::model::UnixTime;
use sqlx::postgres::PgListener;
use uuid::Uuid;

use crate::error::is_unique_violation;
use crate::{Backend, Store, StoreError};

/// The PostgreSQL channel the triggers of `0002_gateway.sql` announce changes on. Payloads:
/// `key:<api_key_id>`, `session:<token_hash>`, `system_keys`; and [`WEBHOOK_EVENTS_PAYLOAD`],
/// sent by `append_audit!`.
pub const INVALIDATE_CHANNEL: &str = "keygate_invalidate";

/// The payload on [`INVALIDATE_CHANNEL`] when a transaction that appended an event a webhook
/// may want commits (docs/webhooks.md, "Delivery"): the listener then calls
/// [`Store::wake_webhooks`].
pub const WEBHOOK_EVENTS_PAYLOAD: &str = "webhook_events";

/// One stored system key. `sealed_private_key` is the AES-256-GCM sealed PKCS#8 (never plain).
#[derive(Clone, PartialEq, Eq)]
pub struct SystemKeyRow {
    /// The key's RFC 7638 thumbprint: its primary key, and the `kid` clients name when they
    /// encrypt a request field to it.
    pub kid: String,
    /// The PKCS#8 private key sealed with the master key (nonce, then ciphertext and tag), as
    /// `keygate_core::jose::seal_private_key` makes it; a node with another master key cannot
    /// open it.
    pub sealed_private_key: Vec<u8>,
    /// When the key was made (at first start or by a rotation).
    pub created_at: UnixTime,
    /// `None` for the current key; when it stopped being current otherwise.
    pub retired_at: Option<UnixTime>,
}

impl std::fmt::Debug for SystemKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemKeyRow")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// A subscription to [`INVALIDATE_CHANNEL`] (PostgreSQL only).
pub struct Invalidations {
    listener: PgListener,
}

impl Invalidations {
    /// The next payload. `Ok(None)` or an error means the connection is lost: notifications may
    /// have been missed, so the caller must stop trusting its caches and subscribe again.
    pub async fn recv(&mut self) -> Result<Option<String>, StoreError> {
        Ok(self
            .listener
            .try_recv()
            .await?
            .map(|n| n.payload().to_owned()))
    }
}

type SystemKeyDbRow = (String, Vec<u8>, i64, Option<i64>);

impl Store {
    /// `true` when several nodes may share this database (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Every system key, the current one first, then the retired ones, newest first.
    pub async fn system_keys(&self) -> Result<Vec<SystemKeyRow>, StoreError> {
        let rows: Vec<SystemKeyDbRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT kid, sealed_private_key, created_at, retired_at FROM system_keys \
                 ORDER BY current DESC, created_at DESC, kid",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(kid, sealed_private_key, created_at, retired_at)| SystemKeyRow {
                    kid,
                    sealed_private_key,
                    created_at,
                    retired_at,
                },
            )
            .collect())
    }

    /// Stores the first system key, appending `audit` in the same transaction. `false` when
    /// another node stored one first (reload then).
    pub async fn insert_first_system_key(
        &self,
        kid: &str,
        sealed: &[u8],
        now: UnixTime,
        audit: &[NewAuditEvent],
    ) -> Result<bool, StoreError> {
        let result: Result<(), sqlx::Error> = in_write_tx!(self, |tx| {
            let inserted = sqlx::query(
                "INSERT INTO system_keys (kid, sealed_private_key, created_at, retired_at, current) \
                 VALUES ($1, $2, $3, NULL, 1)",
            )
            .bind(kid)
            .bind(sealed)
            .bind(now)
            .execute(&mut *tx)
            .await;
            commit_audited!(self, tx, inserted, audit, now)
        });
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Makes `kid` the current system key; the previous current one is retired at `now`.
    /// Concurrent rotations (several nodes on one PostgreSQL) run one after the other, each
    /// retiring the key the one before it made. `audit` is appended in the same transaction.
    pub async fn rotate_system_key(
        &self,
        kid: &str,
        sealed: &[u8],
        now: UnixTime,
        audit: &[NewAuditEvent],
    ) -> Result<(), StoreError> {
        // PostgreSQL runs READ COMMITTED: a second rotation's UPDATE would not see the row the
        // first just inserted, and its INSERT would then break `system_keys_one_current`. A
        // transaction-scoped advisory lock (lock space 3; `sessions.rs` uses 1 and 2) queues
        // rotations, and each statement after it sees what the one before committed. SQLite's
        // one writer already queues them.
        let lock = match self.backend {
            Backend::Postgres(_) => Some("SELECT pg_advisory_xact_lock(3, 0)"),
            Backend::Sqlite(_) => None,
        };
        in_write_tx!(self, |tx| {
            if let Some(sql) = lock {
                sqlx::query(sql).execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE system_keys SET current = 0, retired_at = $1 WHERE current = 1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO system_keys (kid, sealed_private_key, created_at, retired_at, current) \
                 VALUES ($1, $2, $3, NULL, 1)",
            )
            .bind(kid)
            .bind(sealed)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            append_audit!(self, tx, audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records a batch of `(api_key_id, jti, expires_at)` in one statement: for each entry, in
    /// order, `true` when it was new and `false` when it was seen before — by an earlier batch,
    /// another node, or an earlier entry of this same batch (so two concurrent calls carrying
    /// one `jti` never both pass). PostgreSQL: one `INSERT … SELECT FROM UNNEST … ON CONFLICT DO
    /// NOTHING RETURNING`, so concurrent signed calls cost one round trip together
    /// (docs/gateway.md, "Replay detection"); SQLite: the entries one by one in one transaction.
    pub async fn record_jtis(
        &self,
        entries: &[(Uuid, &str, UnixTime)],
    ) -> Result<Vec<bool>, StoreError> {
        use std::collections::HashSet;
        // Duplicates inside the batch: only the first occurrence is sent; the others are
        // replays whatever the database says.
        let mut first = HashSet::with_capacity(entries.len());
        let unique: Vec<bool> = entries
            .iter()
            .map(|(id, jti, _)| first.insert((*id, *jti)))
            .collect();
        let sent: Vec<&(Uuid, &str, UnixTime)> = entries
            .iter()
            .zip(&unique)
            .filter_map(|(e, u)| u.then_some(e))
            .collect();
        let ids: Vec<String> = sent.iter().map(|(id, _, _)| id.to_string()).collect();
        let jtis: Vec<&str> = sent.iter().map(|(_, jti, _)| *jti).collect();
        let expiries: Vec<UnixTime> = sent.iter().map(|(_, _, at)| *at).collect();
        let inserted: HashSet<(String, String)> = match &self.backend {
            Backend::Postgres(pool) => {
                self.bounded(async {
                    let rows: Vec<(String, String)> = sqlx::query_as(
                        "INSERT INTO seen_jtis (api_key_id, jti, expires_at) \
                         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[]) \
                         ON CONFLICT DO NOTHING RETURNING api_key_id, jti",
                    )
                    .bind(&ids)
                    .bind(&jtis)
                    .bind(&expiries)
                    .fetch_all(pool)
                    .await?;
                    Ok(rows.into_iter().collect())
                })
                .await?
            }
            Backend::Sqlite(_) => in_write_tx!(self, |tx| {
                let mut new = HashSet::new();
                for ((id, jti), at) in ids.iter().zip(&jtis).zip(&expiries) {
                    let done = sqlx::query(
                        "INSERT INTO seen_jtis (api_key_id, jti, expires_at) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(id)
                    .bind(*jti)
                    .bind(*at)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 1 {
                        new.insert((id.clone(), (*jti).to_owned()));
                    }
                }
                tx.commit().await?;
                new
            }),
        };
        let mut sent_answers = ids
            .iter()
            .zip(&jtis)
            .map(|(id, jti)| inserted.contains(&(id.clone(), (*jti).to_owned())));
        Ok(unique
            .iter()
            .map(|u| *u && sent_answers.next().unwrap_or(false))
            .collect())
    }

    /// Whether `jti` is recorded for an API key, as [`Store::record_jtis`] would find it (an
    /// expired row not yet purged counts). Records nothing: the self-check asks this.
    pub async fn jti_seen(&self, api_key_id: Uuid, jti: &str) -> Result<bool, StoreError> {
        let api_key_id = api_key_id.to_string();
        let found: Option<(i64,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT expires_at FROM seen_jtis WHERE api_key_id = $1 AND jti = $2")
                .bind(&api_key_id)
                .bind(jti)
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    }

    /// Deletes `jti` records that expired before `now`; returns how many.
    pub async fn purge_jtis(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM seen_jtis WHERE expires_at < $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }

    /// Subscribes to [`INVALIDATE_CHANNEL`] on a connection of its own, within
    /// `database_timeout`; `None` on SQLite (one node: nothing to hear).
    ///
    /// The subscription never reconnects by itself: once [`Invalidations::recv`] reports the
    /// connection lost, the caller subscribes again and knows exactly when it is listening
    /// (docs/operations.md: caches are dropped after LISTEN is back, never before).
    pub async fn invalidations(&self) -> Result<Option<Invalidations>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(pool) => {
                self.bounded(async {
                    let mut listener = PgListener::connect_with(pool).await?;
                    listener.eager_reconnect(false);
                    listener.listen(INVALIDATE_CHANNEL).await?;
                    Ok(Some(Invalidations { listener }))
                })
                .await
            }
        }
    }

    /// Waits until an audit event a webhook may want ([`keygate_core::audit::WEBHOOK_EVENTS`])
    /// was appended (docs/webhooks.md, "Delivery"), so the relay need not wait for its poll.
    /// On SQLite `append_audit!` wakes it inside the appending transaction, which holds the one
    /// writer's lock until it has committed or rolled back: taking that lock here waits for the
    /// end, so the relay then reads the committed event. On PostgreSQL the wake comes from
    /// [`Store::wake_webhooks`], called when the commit's `NOTIFY` is heard (any node). A wake
    /// given while nobody waits is kept for the next wait; a spurious one only costs a pass.
    pub async fn webhook_events_appended(&self) {
        self.webhook_wake.notified().await;
        if let Backend::Sqlite(_) = self.backend {
            drop(self.sqlite_writer.lock().await);
        }
    }

    /// Wakes [`Store::webhook_events_appended`]: the listener calls it on hearing
    /// [`WEBHOOK_EVENTS_PAYLOAD`].
    pub fn wake_webhooks(&self) {
        self.webhook_wake.notify_one();
    }

    /// Sends `payload` on [`INVALIDATE_CHANNEL`] (PostgreSQL; nothing on SQLite). A node sends
    /// itself a heartbeat this way to learn that its subscription still hears.
    pub async fn notify(&self, payload: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(pool) => {
                self.bounded(async {
                    sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(INVALIDATE_CHANNEL)
                        .bind(payload)
                        .execute(pool)
                        .await?;
                    Ok(())
                })
                .await
            }
        }
    }
}
