//! Staged successors (docs/design.md §2, "Rotation"): a client stages its next key while the
//! active one is in use; it takes over at the active key's expiry or revocation with no job,
//! or at once when activated. With `rotation_overlap` the previous key keeps being accepted
//! (RETIRING) for a while after an activation.
//!
//! The data model is explained in `keygate-store`'s `successor` module: every status stays a
//! function of one row and *now*, and the store keeps exactly one key ACTIVE at any instant.

use keygate_core::audit::{AuditEventType, Origin};
use keygate_core::model::{KeyRecord, Principal, UnixTime};
use uuid::Uuid;

use crate::audit::{change_events, key_event};
use crate::{secs, CurrentKey, Registry, RegistryError};

impl Registry {
    /// Stage the successor of the API key's active key. Every upload check of docs/design.md §3
    /// applies (a staged key counts as registered, so it can never be registered again, even
    /// once withdrawn). It becomes ACTIVE when the active key expires or is revoked, or when
    /// [`Registry::activate_successor`] is called, and is valid for `key_validity` from then.
    ///
    /// # Errors
    /// [`RegistryError::KeyRejected`], [`RegistryError::PublicKeyReused`],
    /// [`RegistryError::NoActiveKeyToSucceed`], [`RegistryError::SuccessorExists`], or a store
    /// failure.
    pub async fn stage_successor(
        &self,
        principal: &Principal,
        pasted: &str,
        origin: &Origin,
    ) -> Result<KeyRecord, RegistryError> {
        let api_key_id = principal.api_key.id;
        let new = self.checked_key(api_key_id, pasted)?;
        let validity = secs(self.settings.key_validity);
        let client_id = principal.client.id;
        let staged = |k: &KeyRecord| {
            vec![key_event(
                AuditEventType::KeySuccessorStaged,
                origin,
                client_id,
                k.id,
                k.api_key_id,
            )
            .detail("fingerprint_sha256", k.fingerprint_sha256.as_str())
            .detail("activates_at", k.activates_at)]
        };
        match self
            .store
            .stage_successor(new, self.now(), validity, staged)
            .await
        {
            Ok(record) => {
                self.caches.key_changed(api_key_id);
                tracing::info!(%api_key_id, key_id = %record.id, "successor staged");
                Ok(record)
            }
            Err(refused) => Err(refused.into()),
        }
    }

    /// The active key's `expires_at` when its expiry is to be announced at `now`: inside the
    /// last `key_expiry_warning` of its life with no successor staged (docs/design.md §2). The
    /// gateway's answers carry it as `X-Keygate-Key-Expires`.
    pub fn expiry_warning(&self, current: &CurrentKey, now: UnixTime) -> Option<UnixTime> {
        let from = current.expiry_warning_from(self.expiry_warning_secs())?;
        let expires_at = current.active()?.expires_at;
        (now >= from && now < expires_at).then_some(expires_at)
    }

    /// Until when `active` stays accepted (RETIRING) if its successor is activated at `now`:
    /// `now + rotation_overlap`, cut at its own expiry, as [`Registry::activate_successor`]
    /// does; `None` when it is revoked at once (no overlap). For a confirmation page to say
    /// what an activation will do before it is done.
    pub fn retiring_until_if_activated(
        &self,
        active: &KeyRecord,
        now: UnixTime,
    ) -> Option<UnixTime> {
        let overlap = secs(self.settings.rotation_overlap);
        (overlap > 0).then(|| now.saturating_add(overlap).min(active.expires_at))
    }

    /// The API key's successor while it is PENDING.
    ///
    /// # Errors
    /// [`RegistryError::NoSuccessor`], or a store failure.
    pub async fn successor(&self, api_key_id: Uuid) -> Result<KeyRecord, RegistryError> {
        self.store
            .pending_successor(api_key_id, self.now())
            .await?
            .ok_or(RegistryError::NoSuccessor)
    }

    /// Withdraw the API key's PENDING successor: WITHDRAWN from now, still registered.
    ///
    /// # Errors
    /// [`RegistryError::NoSuccessor`], or a store failure.
    pub async fn withdraw_successor(
        &self,
        api_key_id: Uuid,
        origin: &Origin,
    ) -> Result<KeyRecord, RegistryError> {
        let client_id = self.client_of(api_key_id).await?;
        let withdrawn = |k: &KeyRecord| {
            vec![key_event(
                AuditEventType::KeySuccessorWithdrawn,
                origin,
                client_id,
                k.id,
                k.api_key_id,
            )]
        };
        let record = self
            .store
            .withdraw_successor(api_key_id, self.now(), withdrawn)
            .await?
            .ok_or(RegistryError::NoSuccessor)?;
        self.caches.key_changed(api_key_id);
        tracing::info!(%api_key_id, key_id = %record.id, "successor withdrawn");
        Ok(record)
    }

    /// Activate the API key's PENDING successor now. The key it replaces is RETIRING until
    /// `now + rotation_overlap` (never past its own expiry), then REVOKED with that instant
    /// and a reason naming its successor; with no overlap it is revoked at once. A key still
    /// retiring from an earlier rotation is revoked now. Returns the new active key.
    ///
    /// # Errors
    /// [`RegistryError::NoSuccessor`], or a store failure.
    pub async fn activate_successor(
        &self,
        api_key_id: Uuid,
        origin: &Origin,
    ) -> Result<KeyRecord, RegistryError> {
        let successor = self.successor(api_key_id).await?;
        let client_id = self.client_of(api_key_id).await?;
        let reason = format!("replaced by its successor {}", successor.id);
        let overlap = secs(self.settings.rotation_overlap);
        let now = self.now();
        let change = self
            .store
            .activate_successor(api_key_id, successor.id, &reason, now, overlap, |change| {
                change_events(
                    change,
                    AuditEventType::KeySuccessorActivated,
                    origin,
                    client_id,
                    now,
                )
            })
            .await?
            // Withdrawn, or activated by its predecessor's end, since it was read.
            .ok_or(RegistryError::NoSuccessor)?;
        let (activated, previous) = (
            change.activated.ok_or(RegistryError::NoSuccessor)?,
            change.ended,
        );
        self.caches.key_changed(api_key_id);
        tracing::info!(
            %api_key_id,
            key_id = %activated.id,
            previous = ?previous.as_ref().map(|k| k.id),
            "successor activated"
        );
        Ok(activated)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::time::Duration;

    use keygate_core::model::KeyStatus;

    use crate::test_support::{public_key_pem, registry, registry_with, settings};
    use crate::{CurrentKey, RegistryError};

    #[tokio::test]
    async fn a_successor_takes_over_at_the_instant_the_active_key_expires() {
        let (registry, hand, principal, _guard) = registry().await;
        let id = principal.api_key.id;
        assert!(matches!(
            registry
                .stage_successor(&principal, &public_key_pem(0), &crate::test_support::ops())
                .await,
            Err(RegistryError::NoActiveKeyToSucceed)
        ));
        let first = registry
            .upload(&principal, &public_key_pem(0), &crate::test_support::ops())
            .await
            .unwrap();
        hand.advance(600);
        assert_eq!(
            registry.retiring_until_if_activated(&first, registry.now()),
            None,
            "no overlap: revoked at once"
        );
        let next = registry
            .stage_successor(&principal, &public_key_pem(1), &crate::test_support::ops())
            .await
            .unwrap();
        assert_eq!(next.status(registry.now()), KeyStatus::Pending);
        assert_eq!(next.activates_at, first.expires_at);
        assert_eq!(next.expires_at, first.expires_at + 3600);
        assert!(matches!(
            registry
                .stage_successor(&principal, &public_key_pem(2), &crate::test_support::ops())
                .await,
            Err(RegistryError::SuccessorExists)
        ));
        // The same key again, staged or uploaded: registered once.
        assert!(matches!(
            registry
                .stage_successor(
                    &principal,
                    &next.public_key_pem,
                    &crate::test_support::ops()
                )
                .await,
            Err(RegistryError::PublicKeyReused)
        ));
        let current = registry.current_key(id).await.unwrap();
        assert_eq!(current.active(), Some(&first));
        assert_eq!(current.successor(), Some(&next));
        assert_eq!(current.next_change(registry.now()), Some(first.expires_at));
        assert_eq!(current.expiry_warning_from(60), None);

        // One second before expiry, then at it: exactly one ACTIVE, with no write between.
        hand.advance(first.expires_at - registry.now() - 1);
        assert_eq!(registry.active_key(id).await.unwrap(), first);
        hand.advance(1);
        assert_eq!(registry.active_key(id).await.unwrap(), next);
        let table = registry.key_table(id).await.unwrap();
        let statuses: Vec<_> = table.rows().map(|(_, s)| s).collect();
        assert_eq!(statuses, [KeyStatus::Active, KeyStatus::Expired]);
        assert!(matches!(
            registry.successor(id).await,
            Err(RegistryError::NoSuccessor)
        ));
        // The store's SQL agrees, and the next write settles the flags: an upload is refused
        // while the successor is active.
        let sql = registry
            .store()
            .active_key(id, registry.now())
            .await
            .unwrap();
        assert_eq!(sql, Some(next.clone()));
        assert!(matches!(
            registry
                .upload(&principal, &public_key_pem(3), &crate::test_support::ops())
                .await,
            Err(RegistryError::ActiveKeyExists)
        ));
        let revoked = registry
            .revoke(id, None, &crate::test_support::ops())
            .await
            .unwrap();
        assert_eq!(revoked.id, next.id);
    }

    #[tokio::test]
    async fn revoking_the_active_key_activates_the_successor_at_once() {
        let (registry, hand, principal, _guard) = registry().await;
        let id = principal.api_key.id;
        let first = registry
            .upload(&principal, &public_key_pem(0), &crate::test_support::ops())
            .await
            .unwrap();
        let next = registry
            .stage_successor(&principal, &public_key_pem(1), &crate::test_support::ops())
            .await
            .unwrap();
        hand.advance(100);
        registry
            .revoke(id, Some("laptop lost"), &crate::test_support::ops())
            .await
            .unwrap();
        let now = registry.now();
        let active = registry.active_key(id).await.unwrap();
        assert_eq!(active.id, next.id);
        assert_eq!((active.activates_at, active.expires_at), (now, now + 3600));
        let old = registry.key(id, first.id).await.unwrap();
        assert_eq!(old.status(now), KeyStatus::Revoked);
        assert_eq!(old.revoke_reason.as_deref(), Some("laptop lost"));
    }

    #[tokio::test]
    async fn withdraw_and_activate() {
        let mut with_overlap = settings();
        with_overlap.rotation_overlap = Duration::from_secs(60);
        let (registry, hand, principal, _, _guard) = registry_with(with_overlap).await;
        let id = principal.api_key.id;
        assert!(matches!(
            registry
                .withdraw_successor(id, &crate::test_support::ops())
                .await,
            Err(RegistryError::NoSuccessor)
        ));
        let first = registry
            .upload(&principal, &public_key_pem(0), &crate::test_support::ops())
            .await
            .unwrap();
        let staged = registry
            .stage_successor(&principal, &public_key_pem(1), &crate::test_support::ops())
            .await
            .unwrap();
        let withdrawn = registry
            .withdraw_successor(id, &crate::test_support::ops())
            .await
            .unwrap();
        assert_eq!(withdrawn.status(registry.now()), KeyStatus::Withdrawn);
        // Still registered: it can never come back.
        assert!(matches!(
            registry
                .stage_successor(
                    &principal,
                    &staged.public_key_pem,
                    &crate::test_support::ops()
                )
                .await,
            Err(RegistryError::PublicKeyReused)
        ));
        assert!(matches!(
            registry
                .activate_successor(id, &crate::test_support::ops())
                .await,
            Err(RegistryError::NoSuccessor)
        ));
        let next = registry
            .stage_successor(&principal, &public_key_pem(2), &crate::test_support::ops())
            .await
            .unwrap();
        hand.advance(10);
        let t = registry.now();
        assert_eq!(
            registry.retiring_until_if_activated(&first, t),
            Some(t + 60)
        );
        assert_eq!(
            registry.retiring_until_if_activated(&first, first.expires_at - 30),
            Some(first.expires_at),
            "never past its own expiry"
        );
        let activated = registry
            .activate_successor(id, &crate::test_support::ops())
            .await
            .unwrap();
        assert_eq!((activated.id, activated.activates_at), (next.id, t));
        assert_eq!(activated.expires_at, t + 3600);
        let current = registry.current_key(id).await.unwrap();
        let retiring = current.retiring().unwrap().clone();
        assert_eq!(retiring.id, first.id);
        assert_eq!(retiring.retires_at(t), Some(t + 60));
        assert_eq!(current.next_change(t), Some(t + 60));
        assert_eq!(current.expiry_warning_from(60), Some(t + 3600 - 60));
        // After the overlap: revoked at its end, naming the successor.
        hand.advance(60);
        let old = registry.key(id, first.id).await.unwrap();
        assert_eq!(old.status(registry.now()), KeyStatus::Revoked);
        assert_eq!(old.revoked_by(registry.now()), Some(t + 60));
        assert!(old.revoke_reason.unwrap().contains(&next.id.to_string()));
        let current = registry.current_key(id).await.unwrap();
        assert!(current.retiring().is_none());
        // The replaced key is the newest that is over: a call signed with it is told why.
        assert_eq!(current.previous().map(|k| k.id), Some(first.id));
    }

    #[tokio::test]
    async fn revoking_during_the_overlap_revokes_the_retiring_key_at_once() {
        let mut with_overlap = settings();
        with_overlap.rotation_overlap = Duration::from_secs(600);
        let (registry, hand, principal, _, _guard) = registry_with(with_overlap).await;
        let id = principal.api_key.id;
        let first = registry
            .upload(&principal, &public_key_pem(0), &crate::test_support::ops())
            .await
            .unwrap();
        registry
            .stage_successor(&principal, &public_key_pem(1), &crate::test_support::ops())
            .await
            .unwrap();
        registry
            .activate_successor(id, &crate::test_support::ops())
            .await
            .unwrap();
        hand.advance(5);
        registry
            .revoke(id, None, &crate::test_support::ops())
            .await
            .unwrap();
        let now = registry.now();
        let old = registry.key(id, first.id).await.unwrap();
        assert_eq!(old.status(now), KeyStatus::Revoked);
        assert_eq!(old.revoked_by(now), Some(now));
        assert!(matches!(
            registry.current_key(id).await.unwrap(),
            CurrentKey::Revoked(_)
        ));
    }
}
