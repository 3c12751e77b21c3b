//! The webhook relay's state (docs/webhooks.md): the audit trail is the outbox, each webhook has
//! a cursor (the last event fanned out) and one delivery per (webhook, event). Every node runs
//! the relay: the fan-out holds the cursor's row lock, so each event gets one delivery per
//! webhook; a node takes due deliveries with a lease (PostgreSQL `FOR UPDATE SKIP LOCKED`, so
//! two nodes never take the same one), and only the lease's owner may record the outcome.

use keygate_core::audit::AuditEvent;
use keygate_core::model::UnixTime;
use uuid::Uuid;

use crate::audit::{audit_from_row, AuditRow};
use crate::{Backend, Store, StoreError};

/// A delivery a node has taken, with its lease, to attempt now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenDelivery {
    /// The delivery's id.
    pub id: Uuid,
    /// Attempts made before this one.
    pub attempts: u32,
    /// When its retry window began (its making, or the operator's `retry`).
    pub retry_from: UnixTime,
    /// The event, or `None` when `audit_retention` pruned it meanwhile.
    pub event: Option<AuditEvent>,
}

/// What came of an attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver took it.
    Delivered,
    /// It failed; try again at this instant.
    Retry {
        /// When the next attempt is due.
        next_attempt_at: UnixTime,
        /// Why it failed (a status or transport error).
        error: String,
    },
    /// It failed and its retry window is over.
    Dead {
        /// Why the last attempt failed.
        error: String,
    },
}

/// A dead delivery, for `keygate admin webhooks failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadDelivery {
    /// The delivery's id (what `keygate admin webhooks retry` takes).
    pub id: Uuid,
    /// The webhook's id (the SHA-256 of its URL, hex).
    pub webhook: String,
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the delivery was made.
    pub created_at: UnixTime,
    /// When it was last attempted.
    pub last_attempt_at: Option<UnixTime>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// How many events one fan-out reads at most (the relay calls again while there are more).
pub const FAN_OUT_BATCH: i64 = 500;

/// A taken delivery: id, attempts, retry_from, event_seq, event_id.
type TakenRow = (String, i64, i64, i64, String);
type DeadRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

/// Runs one statement, `$query` (a `sqlx::query(…)` with its binds), in a write transaction of
/// its own; the value is how many rows it changed.
macro_rules! write_one {
    ($store:expr, $query:expr) => {
        in_write_tx!($store, |tx| {
            let done = $query.execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            done
        })
    };
}

fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

fn uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("delivery id {text:?}")))
}

impl Store {
    /// Makes `webhook`'s cursor if it has none, at the newest audit event: a webhook gets the
    /// events from its first start on. Called at start, before the node serves, so no event of
    /// this run is missed.
    pub async fn init_webhook_cursor(&self, webhook: &str) -> Result<(), StoreError> {
        // `WHERE true`: SQLite's parser needs it before an upsert's ON CONFLICT.
        write_one!(
            self,
            sqlx::query(
                "INSERT INTO webhook_cursors (webhook, last_seq) \
                 SELECT $1, COALESCE(MAX(seq), 0) FROM audit_events WHERE true \
                 ON CONFLICT (webhook) DO NOTHING",
            )
            .bind(webhook)
        );
        Ok(())
    }

    /// Makes a pending delivery, due at `now`, for each event after `webhook`'s cursor whose
    /// type is in `events` (at most [`FAN_OUT_BATCH`] events read), and moves the cursor past
    /// them. Returns how many events were read (the caller calls again while that is the
    /// batch). Reads first without a write lock, so an idle relay takes none.
    pub async fn fan_out_webhook(
        &self,
        webhook: &str,
        events: &[&str],
        now: UnixTime,
    ) -> Result<usize, StoreError> {
        let behind: Option<(i64,)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT c.last_seq FROM webhook_cursors c WHERE c.webhook = $1 \
                 AND EXISTS (SELECT 1 FROM audit_events e WHERE e.seq > c.last_seq)",
            )
            .bind(webhook)
            .fetch_optional(pool)
            .await?
        });
        if behind.is_none() {
            return Ok(0);
        }
        // The cursor's row lock (SQLite: the one writer) makes fan-outs of one webhook run one
        // after the other on every node; the unique (webhook, event_id) is the backstop.
        let cursor_sql = match self.backend {
            Backend::Sqlite(_) => "SELECT last_seq FROM webhook_cursors WHERE webhook = $1",
            Backend::Postgres(_) => {
                "SELECT last_seq FROM webhook_cursors WHERE webhook = $1 FOR UPDATE"
            }
        };
        let read = in_write_tx!(self, |tx| {
            let cursor: Option<(i64,)> = sqlx::query_as(cursor_sql)
                .bind(webhook)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((last_seq,)) = cursor else {
                return Ok(0);
            };
            let batch: Vec<(i64, String, String)> = sqlx::query_as(
                "SELECT seq, id, event_type FROM audit_events WHERE seq > $1 \
                 ORDER BY seq LIMIT $2",
            )
            .bind(last_seq)
            .bind(FAN_OUT_BATCH)
            .fetch_all(&mut *tx)
            .await?;
            let Some(&(newest, _, _)) = batch.last() else {
                return Ok(0);
            };
            for (seq, event_id, event_type) in &batch {
                if !events.contains(&event_type.as_str()) {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO webhook_deliveries (id, webhook, event_id, event_seq, \
                     event_type, status, attempts, created_at, retry_from, next_attempt_at) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $6) \
                     ON CONFLICT (webhook, event_id) DO NOTHING",
                )
                .bind(Uuid::new_v4().to_string())
                .bind(webhook)
                .bind(event_id)
                .bind(seq)
                .bind(event_type)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE webhook_cursors SET last_seq = $2 WHERE webhook = $1")
                .bind(webhook)
                .bind(newest)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            batch.len()
        });
        Ok(read)
    }

    /// Takes up to `limit` of `webhook`'s pending deliveries due at `now` whose lease (if any)
    /// is over, leasing them to `owner` until `lease_until`, with their events. On PostgreSQL
    /// rows another node is taking are skipped (`FOR UPDATE SKIP LOCKED`), so each delivery
    /// goes to one node.
    pub async fn take_webhook_deliveries(
        &self,
        webhook: &str,
        now: UnixTime,
        lease_until: UnixTime,
        owner: Uuid,
        limit: i64,
    ) -> Result<Vec<TakenDelivery>, StoreError> {
        const DUE: &str = "webhook = $1 AND status = 'pending' AND next_attempt_at <= $2 \
                           AND (lease_until IS NULL OR lease_until <= $2)";
        let due: Option<(i64,)> = on_pool!(self, |pool| {
            sqlx::query_as(&format!(
                "SELECT next_attempt_at FROM webhook_deliveries WHERE {DUE} LIMIT 1"
            ))
            .bind(webhook)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        if due.is_none() {
            return Ok(Vec::new());
        }
        let lock = match self.backend {
            Backend::Sqlite(_) => "",
            Backend::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        };
        let take = format!(
            "UPDATE webhook_deliveries SET lease_owner = $3, lease_until = $4 WHERE id IN \
             (SELECT id FROM webhook_deliveries WHERE {DUE} \
              ORDER BY next_attempt_at, event_seq LIMIT $5{lock})"
        );
        let owner = owner.to_string();
        let (rows, events): (Vec<TakenRow>, Vec<AuditRow>) = in_write_tx!(self, |tx| {
            sqlx::query(&take)
                .bind(webhook)
                .bind(now)
                .bind(&owner)
                .bind(lease_until)
                .bind(limit)
                .execute(&mut *tx)
                .await?;
            let rows = sqlx::query_as(
                "SELECT id, attempts, retry_from, event_seq, event_id FROM webhook_deliveries \
                 WHERE lease_owner = $1 AND status = 'pending' ORDER BY event_seq",
            )
            .bind(&owner)
            .fetch_all(&mut *tx)
            .await?;
            let events = sqlx::query_as(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_events WHERE seq IN (SELECT event_seq FROM webhook_deliveries \
                 WHERE lease_owner = $1) ORDER BY seq"
            ))
            .bind(&owner)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            (rows, events)
        });
        let mut events: Vec<AuditEvent> = events.into_iter().map(audit_from_row).collect();
        rows.into_iter()
            .map(|(id, attempts, retry_from, seq, event_id)| {
                // No event with that seq and id: `audit_retention` pruned it.
                let event = events
                    .iter()
                    .position(|e| e.seq == seq && e.id == event_id)
                    .map(|at| events.swap_remove(at));
                Ok(TakenDelivery {
                    id: uuid(&id)?,
                    attempts: count(attempts),
                    retry_from,
                    event,
                })
            })
            .collect()
    }

    /// Records what came of `owner`'s attempt at delivery `id` at `now` and ends its lease.
    /// `false` when the lease was no longer `owner`'s (it ran out and another node took the
    /// delivery): nothing is changed.
    pub async fn finish_webhook_delivery(
        &self,
        id: Uuid,
        owner: Uuid,
        now: UnixTime,
        outcome: &DeliveryOutcome,
    ) -> Result<bool, StoreError> {
        let (status, next, error, delivered_at) = match outcome {
            DeliveryOutcome::Delivered => ("delivered", now, None, Some(now)),
            DeliveryOutcome::Retry {
                next_attempt_at,
                error,
            } => ("pending", *next_attempt_at, Some(error.as_str()), None),
            DeliveryOutcome::Dead { error } => ("dead", now, Some(error.as_str()), None),
        };
        let done = write_one!(
            self,
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, \
                 last_attempt_at = $4, next_attempt_at = $5, \
                 last_error = COALESCE($6, last_error), delivered_at = $7, \
                 lease_owner = NULL, lease_until = NULL \
                 WHERE id = $1 AND lease_owner = $2",
            )
            .bind(id.to_string())
            .bind(owner.to_string())
            .bind(status)
            .bind(now)
            .bind(next)
            .bind(error)
            .bind(delivered_at)
        );
        Ok(done == 1)
    }

    /// The dead deliveries, most recently attempted first, at most `limit`.
    pub async fn dead_webhook_deliveries(
        &self,
        limit: i64,
    ) -> Result<Vec<DeadDelivery>, StoreError> {
        let rows: Vec<DeadRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, webhook, event_id, event_type, attempts, created_at, \
                 last_attempt_at, last_error FROM webhook_deliveries WHERE status = 'dead' \
                 ORDER BY last_attempt_at DESC, id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|row| {
                Ok(DeadDelivery {
                    id: uuid(&row.0)?,
                    webhook: row.1,
                    event_id: row.2,
                    event_type: row.3,
                    attempts: count(row.4),
                    created_at: row.5,
                    last_attempt_at: row.6,
                    last_error: row.7,
                })
            })
            .collect()
    }

    /// Makes dead delivery `id` pending again, due at `now`, with a new retry window and its
    /// attempts counted from zero. `false` when no dead delivery has that id.
    pub async fn retry_webhook_delivery(
        &self,
        id: Uuid,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = write_one!(
            self,
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, \
                 retry_from = $2, next_attempt_at = $2, lease_owner = NULL, lease_until = NULL \
                 WHERE id = $1 AND status = 'dead'",
            )
            .bind(id.to_string())
            .bind(now)
        );
        Ok(done == 1)
    }

    /// Deletes deliveries delivered before `delivered_before` and dead ones last attempted
    /// before `dead_before`; returns how many.
    pub async fn purge_webhook_deliveries(
        &self,
        delivered_before: UnixTime,
        dead_before: UnixTime,
    ) -> Result<u64, StoreError> {
        Ok(write_one!(
            self,
            sqlx::query(
                "DELETE FROM webhook_deliveries WHERE \
                 (status = 'delivered' AND delivered_at < $1) \
                 OR (status = 'dead' AND last_attempt_at < $2)",
            )
            .bind(delivered_before)
            .bind(dead_before)
        ))
    }
}
