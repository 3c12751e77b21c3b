//! The audit trail (docs/design.md §11): appending to the hash chain, reading it back in chain
//! order (to verify) or newest first (to list), and pruning its oldest end.
//!
//! Events of a change are appended inside that change's write transaction with
//! `append_audit!` (macros.rs); [`Store::append_audit`] is for events that change nothing else
//! (an admin command, a refused login).

use keygate_core::audit::{AuditEvent, AuditEventType, NewAuditEvent};
use keygate_core::model::{KeyRecord, UnixTime};
use uuid::Uuid;

use crate::rows::{key_from_row, parse_uuid};
use crate::{Backend, Store, StoreError};

/// A stored event's columns, in `audit_columns!` order.
pub(crate) type AuditRow = (
    i64,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    String,
    Vec<u8>,
    Vec<u8>,
);

pub(crate) fn audit_from_row(row: AuditRow) -> AuditEvent {
    let (
        seq,
        id,
        at,
        event_type,
        client_id,
        api_key_id,
        key_id,
        actor,
        source,
        details,
        prev_hash,
        hash,
    ) = row;
    AuditEvent {
        seq,
        id,
        at,
        event_type,
        client_id,
        api_key_id,
        key_id,
        actor,
        source,
        details,
        prev_hash,
        hash,
    }
}

/// Which events [`Store::list_audit`] gives, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only events concerning this client.
    pub client_id: Option<Uuid>,
    /// Only events concerning this API key.
    pub api_key_id: Option<Uuid>,
    /// Only events appended at or after this instant.
    pub since: Option<UnixTime>,
    /// Only events before this one in the chain (the cursor of the previous page).
    pub before_seq: Option<i64>,
}

impl Store {
    /// Appends `events` to the chain in a write transaction of their own, at `now`.
    pub async fn append_audit(
        &self,
        events: &[NewAuditEvent],
        now: UnixTime,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let appended = in_write_tx!(self, |tx| {
            let appended = append_audit!(self, tx, events, now);
            tx.commit().await?;
            appended
        });
        Ok(appended)
    }

    /// Up to `limit` events after `after_seq`, in chain order (to walk the whole chain).
    pub async fn audit_chain_page(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let rows: Vec<AuditRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"
            ))
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(audit_from_row).collect())
    }

    /// Up to `limit` events matching `filter`, newest first (highest seq first).
    pub async fn list_audit(
        &self,
        filter: &AuditFilter,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let client_id = filter.client_id.map(|id| id.to_string());
        let api_key_id = filter.api_key_id.map(|id| id.to_string());
        let rows: Vec<AuditRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_events",
                " WHERE ($1 IS NULL OR client_id = $1) AND ($2 IS NULL OR api_key_id = $2)",
                " AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR seq < $4)",
                " ORDER BY seq DESC LIMIT $5"
            ))
            .bind(&client_id)
            .bind(&api_key_id)
            .bind(filter.since)
            .bind(filter.before_seq)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(audit_from_row).collect())
    }
}

/// `key_columns!()` of the key `k`, beside a join on `api_keys` (whose `id` would be ambiguous).
const KEY_COLUMNS: &str = "k.id, k.api_key_id, k.public_key_pem, k.fingerprint_sha256, \
    k.jwk_thumbprint, k.bits, k.exponent, k.issued_at, COALESCE(k.activates_at, k.issued_at), \
    k.expires_at, k.revoked_at, k.revoke_reason, k.withdrawn_at";

/// A key's columns, its client's id and the instant of its change.
type DueRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
    String,
    i64,
);

/// A key whose standing changed by the clock alone, found by [`Store::time_events_due`]: the
/// registry's sweep appends one event for each, once (docs/design.md §11, "Time-driven events").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueKeyEvent {
    /// `key.expiring`, `key.expired`, `key.retired` or `key.successor_activated`.
    pub event_type: AuditEventType,
    /// The key.
    pub key: KeyRecord,
    /// Its API key's client.
    pub client_id: Uuid,
    /// When the change happened (or the window began, for `key.expiring`).
    pub since: UnixTime,
}

impl Store {
    /// The keys whose time-driven event is due at `now` and not in the trail yet
    /// (docs/design.md §11): an active key with no staged successor inside its last
    /// `warning_secs` (`key.expiring`); a key that expired without being revoked
    /// (`key.expired`); a retiring key whose overlap ended, i.e. a revoked key with no
    /// `key.revoked` event (`key.retired`); a staged successor that took over by time
    /// (`key.successor_activated`). Only changes since the trail's oldest event count, so keys
    /// that changed before the trail began (or whose events were pruned) are not found again.
    /// A read: [`Store::append_audit_once`] checks again under the append lock.
    pub async fn time_events_due(
        &self,
        now: UnixTime,
        warning_secs: i64,
    ) -> Result<Vec<DueKeyEvent>, StoreError> {
        // One query per kind: (event type, the instant, the condition). `k` is the key, `$1`
        // now, `$2` the start of the trail, `$3` the warning window.
        const KINDS: [(AuditEventType, &str, &str); 4] = [
            (
                AuditEventType::KeyExpiring,
                "k.expires_at - $3",
                "k.withdrawn_at IS NULL AND k.revoked_at IS NULL \
                 AND COALESCE(k.activates_at, k.issued_at) <= $1 AND k.expires_at > $1 \
                 AND k.expires_at - $3 <= $1 AND NOT EXISTS (SELECT 1 FROM public_keys s \
                   WHERE s.api_key_id = k.api_key_id AND s.staged = 1 \
                   AND s.withdrawn_at IS NULL AND s.activates_at > $1)",
            ),
            (
                AuditEventType::KeyExpired,
                "k.expires_at",
                "k.withdrawn_at IS NULL AND k.revoked_at IS NULL AND k.expires_at <= $1 \
                 AND k.expires_at >= $2",
            ),
            (
                AuditEventType::KeyRetired,
                "k.revoked_at",
                "k.revoked_at IS NOT NULL AND k.revoked_at <= $1 AND k.revoked_at >= $2 \
                 AND NOT EXISTS (SELECT 1 FROM audit_events r \
                   WHERE r.key_id = k.id AND r.event_type = 'key.revoked')",
            ),
            (
                AuditEventType::KeySuccessorActivated,
                "k.activates_at",
                "k.withdrawn_at IS NULL AND k.activates_at IS NOT NULL \
                 AND k.activates_at > k.issued_at AND k.activates_at <= $1 \
                 AND k.activates_at >= $2",
            ),
        ];
        let (start,): (Option<i64>,) = on_pool!(self, |pool| {
            sqlx::query_as("SELECT MIN(at) FROM audit_events")
                .fetch_one(pool)
                .await?
        });
        let start = start.unwrap_or(now);
        let mut due = Vec::new();
        for (event_type, instant, condition) in KINDS {
            let sql = format!(
                "SELECT {}, a.client_id, {instant} FROM public_keys k \
                 JOIN api_keys a ON a.id = k.api_key_id WHERE {condition} \
                 AND NOT EXISTS (SELECT 1 FROM audit_events e \
                   WHERE e.key_id = k.id AND e.event_type = '{}') \
                 ORDER BY k.seq",
                KEY_COLUMNS,
                event_type.as_str()
            );
            let rows: Vec<DueRow> = on_pool!(self, |pool| {
                sqlx::query_as(&sql)
                    .bind(now)
                    .bind(start)
                    .bind(warning_secs)
                    .fetch_all(pool)
                    .await?
            });
            for row in rows {
                let (k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12, client_id, since) = row;
                due.push(DueKeyEvent {
                    event_type,
                    key: key_from_row((k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12))?,
                    client_id: parse_uuid(&client_id, "api_keys.client_id")?,
                    since,
                });
            }
        }
        Ok(due)
    }

    /// Appends each of `events` whose `(key_id, event_type)` is not in the trail yet, in one
    /// transaction under the append lock, so several nodes' sweeps record each change once.
    pub async fn append_audit_once(
        &self,
        events: &[NewAuditEvent],
        now: UnixTime,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let appended = in_write_tx!(self, |tx| {
            if let Backend::Postgres(_) = self.backend {
                sqlx::query("SELECT pg_advisory_xact_lock(5, 0)")
                    .execute(&mut *tx)
                    .await?;
            }
            let mut fresh = Vec::with_capacity(events.len());
            for event in events {
                let seen =
                    sqlx::query("SELECT 1 FROM audit_events WHERE key_id = $1 AND event_type = $2")
                        .bind(event.key_id.map(|id| id.to_string()))
                        .bind(event.event_type.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                if seen.is_none() {
                    fresh.push(event.clone());
                }
            }
            let appended = append_audit!(self, tx, &fresh, now);
            tx.commit().await?;
            appended
        });
        Ok(appended)
    }

    /// Prunes the oldest events: everything up to the newest event appended before `before`,
    /// in one transaction under the append lock, after appending `checkpoint(seq, hash)` (the
    /// last pruned event's) so the rest stays verifiable (docs/audit.md, "Retention"). `None`
    /// when nothing is that old.
    pub async fn prune_audit(
        &self,
        before: UnixTime,
        now: UnixTime,
        checkpoint: impl FnOnce(i64, &[u8]) -> NewAuditEvent + Send,
    ) -> Result<Option<(u64, AuditEvent)>, StoreError> {
        let pruned = in_write_tx!(self, |tx| {
            if let Backend::Postgres(_) = self.backend {
                sqlx::query("SELECT pg_advisory_xact_lock(5, 0)")
                    .execute(&mut *tx)
                    .await?;
            }
            let last: Option<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT seq, hash FROM audit_events WHERE at < $1 ORDER BY seq DESC LIMIT 1",
            )
            .bind(before)
            .fetch_optional(&mut *tx)
            .await?;
            match last {
                None => None,
                Some((seq, hash)) => {
                    let event = checkpoint(seq, &hash);
                    let mut appended = append_audit!(self, tx, std::slice::from_ref(&event), now);
                    let deleted = sqlx::query("DELETE FROM audit_events WHERE seq <= $1")
                        .bind(seq)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    appended.pop().map(|checkpoint| (deleted, checkpoint))
                }
            }
        });
        Ok(pruned)
    }

    /// The newest `audit.checkpoint` event (the anchor of a pruned chain), if any.
    pub async fn latest_audit_checkpoint(&self) -> Result<Option<AuditEvent>, StoreError> {
        let row: Option<AuditRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_events WHERE event_type = 'audit.checkpoint'",
                " ORDER BY seq DESC LIMIT 1"
            ))
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(audit_from_row))
    }
}
