//! The audit trail's rules (docs/design.md §11, docs/audit.md): what each change appends, the
//! time-driven events and retention (the sweep), a client's own trail, the operator's list and
//! the chain's verification. The events of a change are appended by the store inside the
//! change's own write transaction; this module says what they hold.

use keygate_core::audit::{
    checkpoint_details, AuditEvent, AuditEventType, ChainBreak, ChainWalk, NewAuditEvent, Origin,
};
use keygate_core::model::UnixTime;
use keygate_store::{AuditFilter, KeyChange};
use uuid::Uuid;

use crate::{secs, Registry, RegistryError};

/// The most events one page of a trail holds (`?limit=`, `audit list`).
pub const MAX_AUDIT_PAGE: u32 = 500;

/// Events read per round trip while verifying.
const VERIFY_PAGE: u32 = 1000;

/// An event about one public key of an API key.
pub(crate) fn key_event(
    event_type: AuditEventType,
    origin: &Origin,
    client_id: Uuid,
    key_id: Uuid,
    api_key_id: Uuid,
) -> NewAuditEvent {
    NewAuditEvent::new(event_type, origin)
        .api_key(client_id, api_key_id)
        .key(key_id)
}

/// The events of a revoke (`primary` = `key.revoked`) or of a successor's activation
/// (`key.successor_activated`), from what the store changed: the key that ended, any retiring
/// key whose overlap was cut short (`key.retired`), the successor that took over. After an
/// activation with no overlap the previous key is revoked at once: `key.retired` now; with an
/// overlap the sweep records it when the overlap ends.
pub(crate) fn change_events(
    change: &KeyChange,
    primary: AuditEventType,
    origin: &Origin,
    client_id: Uuid,
    now: UnixTime,
) -> Vec<NewAuditEvent> {
    let event = |t, key: &keygate_core::model::KeyRecord| {
        key_event(t, origin, client_id, key.id, key.api_key_id)
    };
    let mut events = Vec::new();
    if let Some(ended) = &change.ended {
        let reason = ended.revoke_reason.clone();
        if primary == AuditEventType::KeyRevoked {
            events.push(event(AuditEventType::KeyRevoked, ended).detail("reason", reason));
        } else if ended.revoked_at.is_some_and(|at| at <= now) {
            events.push(event(AuditEventType::KeyRetired, ended).detail("reason", reason));
        }
    }
    for retired in &change.retired {
        events.push(
            event(AuditEventType::KeyRetired, retired)
                .detail("reason", retired.revoke_reason.clone()),
        );
    }
    if let Some(activated) = &change.activated {
        let mut e = event(AuditEventType::KeySuccessorActivated, activated)
            .detail("expires_at", activated.expires_at);
        if let Some(ended) = &change.ended {
            e = e
                .detail("previous_key_id", ended.id.to_string())
                .detail("previous_retiring_until", ended.revoked_at);
        }
        events.push(e);
    }
    events
}

/// What walking the whole chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Events checked (up to the break, if any).
    pub checked: u64,
    /// The last good event's seq and hash: note them to notice later a removal at the end,
    /// which no chain can show by itself (docs/audit.md).
    pub head: (i64, Vec<u8>),
    /// The first event that does not fit, if any.
    pub broken: Option<ChainBreak>,
}

impl Registry {
    /// The client an API key belongs to.
    ///
    /// # Errors
    /// [`RegistryError::UnknownApiKey`], or a store failure.
    pub(crate) async fn client_of(&self, api_key_id: Uuid) -> Result<Uuid, RegistryError> {
        self.store
            .find_api_key(api_key_id)
            .await?
            .map(|(_, client)| client.id)
            .ok_or(RegistryError::UnknownApiKey(api_key_id))
    }

    /// Appends events that change nothing else (an admin command, a system key made at start),
    /// in a transaction of their own.
    ///
    /// # Errors
    /// A store failure.
    pub async fn record(&self, events: &[NewAuditEvent]) -> Result<(), RegistryError> {
        self.store.append_audit(events, self.now()).await?;
        Ok(())
    }

    /// `admin.command`: `command` (e.g. `api-key create`) and its non-secret arguments, by an
    /// operator.
    ///
    /// # Errors
    /// A store failure.
    pub async fn record_admin_command(
        &self,
        origin: &Origin,
        command: &str,
        arguments: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), RegistryError> {
        let event = NewAuditEvent::new(AuditEventType::AdminCommand, origin)
            .detail("command", command)
            .detail("arguments", arguments);
        self.record(&[event]).await
    }

    /// One page of an API key's own trail, newest first: up to `limit` (1 to
    /// [`MAX_AUDIT_PAGE`] + 1: a caller asks one more than a page to tell whether another
    /// follows) events before the event `before_seq` (the previous page's cursor).
    ///
    /// # Errors
    /// A store failure.
    pub async fn api_key_trail(
        &self,
        api_key_id: Uuid,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, RegistryError> {
        let filter = AuditFilter {
            api_key_id: Some(api_key_id),
            before_seq,
            ..AuditFilter::default()
        };
        Ok(self
            .store
            .list_audit(&filter, limit.clamp(1, MAX_AUDIT_PAGE + 1))
            .await?)
    }

    /// Events matching `filter`, newest first, up to `limit` (the operator's `audit list`).
    ///
    /// # Errors
    /// A store failure.
    pub async fn audit_events(
        &self,
        filter: &AuditFilter,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, RegistryError> {
        Ok(self.store.list_audit(filter, limit).await?)
    }

    /// Walks the whole chain in order from the genesis, or from the newest checkpoint's last
    /// pruned event, and reports the first event changed, removed or inserted
    /// (docs/audit.md, "Verifying").
    ///
    /// # Errors
    /// A store failure.
    pub async fn verify_audit(&self) -> Result<ChainReport, RegistryError> {
        let checkpoint = self.store.latest_audit_checkpoint().await?;
        let mut walk = match ChainWalk::new(checkpoint.as_ref()) {
            Ok(walk) => walk,
            Err(broken) => {
                return Ok(ChainReport {
                    checked: 0,
                    head: (0, Vec::new()),
                    broken: Some(broken),
                })
            }
        };
        let mut after = i64::MIN;
        loop {
            let page = self.store.audit_chain_page(after, VERIFY_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for event in &page {
                if let Err(broken) = walk.next(event) {
                    let (seq, hash) = walk.head();
                    return Ok(ChainReport {
                        checked: walk.checked,
                        head: (seq, hash.to_vec()),
                        broken: Some(broken),
                    });
                }
            }
        }
        let (seq, hash) = walk.head();
        Ok(ChainReport {
            checked: walk.checked,
            head: (seq, hash.to_vec()),
            broken: None,
        })
    }

    /// The periodic audit work of a node (docs/design.md §11): records the time-driven key
    /// events that are due (each once, whichever node finds it first), then prunes events
    /// older than `audit_retention` behind a checkpoint. Failures are logged and retried at the
    /// next run. Returns the events appended.
    pub async fn audit_sweep(&self) -> Vec<AuditEvent> {
        let now = self.now();
        let mut appended = Vec::new();
        match self
            .store
            .time_events_due(now, self.expiry_warning_secs())
            .await
        {
            Ok(due) if !due.is_empty() => {
                let keygate = Origin::keygate();
                let events: Vec<NewAuditEvent> = due
                    .iter()
                    .map(|d| {
                        let at = match d.event_type {
                            AuditEventType::KeyExpiring => "expires_at",
                            AuditEventType::KeyExpired => "expired_at",
                            AuditEventType::KeyRetired => "retired_at",
                            _ => "activated_at",
                        };
                        let instant = match d.event_type {
                            AuditEventType::KeyExpiring => d.key.expires_at,
                            _ => d.since,
                        };
                        key_event(
                            d.event_type,
                            &keygate,
                            d.client_id,
                            d.key.id,
                            d.key.api_key_id,
                        )
                        .detail(at, instant)
                    })
                    .collect();
                match self.store.append_audit_once(&events, now).await {
                    Ok(done) => appended.extend(done),
                    Err(e) => {
                        tracing::warn!(error = %e, "recording time-driven audit events failed")
                    }
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "finding time-driven audit events failed"),
        }
        let before = now.saturating_sub(secs(self.settings.audit_retention));
        match self
            .store
            .prune_audit(before, now, checkpoint_details)
            .await
        {
            Ok(Some((pruned, checkpoint))) => {
                tracing::info!(pruned, checkpoint = checkpoint.seq, "audit events pruned");
                appended.push(checkpoint);
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "pruning audit events failed"),
        }
        appended
    }
}
