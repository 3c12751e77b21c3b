//! The audit trail (docs/design.md §11): appending to the hash chain, reading it back in chain
//! order (to verify) or newest first (to list), and pruning its oldest end.
//!
//! Events of a change are appended inside that change's write transaction with
//! `append_audit!` (macros.rs); [`Store::append_audit`] is for events that change nothing else
//! (an admin command, a refused login).

use keygate_core::audit::{AuditEvent, NewAuditEvent};
use keygate_core::model::UnixTime;
use uuid::Uuid;

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
