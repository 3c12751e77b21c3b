//! The public-key lifecycle (docs/decisions.md): upload, revoke, the one definition of "the
//! active key", the status table and view key. Staged successors are in `successor`.
//!
//! One active key per API key: the store enforces it with a partial unique index and answers
//! the refusals (`InsertKeyError`); this module turns them into [`RegistryError`]s and keeps
//! the caches in step.

use std::collections::HashMap;

use keygate_core::audit::{AuditEventType, Origin};
use keygate_core::model::{KeyRecord, KeyStatus, KeyUsage, Principal, RevokeReason, UnixTime};
use keygate_core::public_key::ValidPublicKey;
use keygate_store::{InsertKeyError, NewKey};

/// The store's refusals of a new key (upload or staged successor), as the registry's: one
/// mapping for both ways in.
impl From<InsertKeyError> for RegistryError {
    fn from(refused: InsertKeyError) -> Self {
        match refused {
            InsertKeyError::Reused => RegistryError::PublicKeyReused,
            InsertKeyError::ActiveKeyExists => RegistryError::ActiveKeyExists,
            InsertKeyError::NoActiveKey => RegistryError::NoActiveKeyToSucceed,
            InsertKeyError::SuccessorExists => RegistryError::SuccessorExists,
            InsertKeyError::Store(e) => e.into(),
        }
    }
}
use uuid::Uuid;

use crate::audit::{change_events, key_event};
use crate::{secs, Registry, RegistryError};

/// Where an API key stands at a moment: its active key (with the key retiring beside it and
/// its staged successor), or, without one, its latest key.
///
/// This is the one definition of "the active key", used by the API, the web page, the gateway
/// cache and `keygate admin`: **the API key's one key whose status at *now* is ACTIVE**
/// (`KeyRecord::status`, docs/design.md §2). The store keeps at most one key active at any
/// instant (one open key, one staged successor whose activation is the active key's end), so
/// the first ACTIVE row is the only one. Without an active key the refusal follows the latest
/// key that was not withdrawn and is not pending.
// Built once per lookup and never held in bulk (the gateway caches its own parsed form), so the
// size of the active variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CurrentKey {
    /// No key was ever uploaded.
    Never,
    /// A key is active.
    Active {
        /// The active key: signed requests are checked against it, answers encrypted to it.
        key: KeyRecord,
        /// The previous key during `rotation_overlap`: signed requests may still use it.
        retiring: Option<KeyRecord>,
        /// The staged successor, PENDING until `key` ends.
        successor: Option<KeyRecord>,
        /// The newest older key that is over (REVOKED or EXPIRED), if any: a call still signed
        /// with it is refused with its fate (`public_key_revoked` after a rotation's overlap)
        /// rather than as a bad signature.
        previous: Option<KeyRecord>,
    },
    /// The latest key has expired.
    Expired(KeyRecord),
    /// The latest key was revoked.
    Revoked(KeyRecord),
}

impl CurrentKey {
    /// Where an API key stands at `now`, from its keys newest first (the store's
    /// `current_keys`, or a whole status table; withdrawn keys are skipped).
    pub fn of(keys: impl IntoIterator<Item = KeyRecord>, now: UnixTime) -> CurrentKey {
        let (mut key, mut retiring, mut successor) = (None, None, None);
        let (mut latest, mut previous) = (None, None);
        for record in keys {
            match record.status(now) {
                KeyStatus::Withdrawn => continue,
                KeyStatus::Active => {
                    key.get_or_insert(record.clone());
                }
                KeyStatus::Retiring => {
                    retiring.get_or_insert(record.clone());
                }
                KeyStatus::Pending => {
                    successor.get_or_insert(record);
                    continue;
                }
                KeyStatus::Expired | KeyStatus::Revoked => {
                    if key.is_some() && previous.is_none() {
                        previous = Some(record.clone());
                    }
                }
            }
            latest.get_or_insert(record);
        }
        match (key, latest) {
            (Some(key), _) => CurrentKey::Active {
                key,
                retiring,
                successor,
                previous,
            },
            (None, None) => CurrentKey::Never,
            (None, Some(latest)) => match latest.status(now) {
                KeyStatus::Expired => CurrentKey::Expired(latest),
                // Revoked, or (with no active key beside it) a retiring key on its way out.
                _ => CurrentKey::Revoked(latest),
            },
        }
    }

    /// The active key, if there is one.
    pub fn active(&self) -> Option<&KeyRecord> {
        match self {
            CurrentKey::Active { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The key retiring beside the active one, if any.
    pub fn retiring(&self) -> Option<&KeyRecord> {
        match self {
            CurrentKey::Active { retiring, .. } => retiring.as_ref(),
            _ => None,
        }
    }

    /// The newest older key that is over, beside an active key (see [`CurrentKey::Active`]).
    pub fn previous(&self) -> Option<&KeyRecord> {
        match self {
            CurrentKey::Active { previous, .. } => previous.as_ref(),
            _ => None,
        }
    }

    /// The staged successor of the active key, if any.
    pub fn successor(&self) -> Option<&KeyRecord> {
        match self {
            CurrentKey::Active { successor, .. } => successor.as_ref(),
            _ => None,
        }
    }

    /// The active key, or else the latest key whatever its status.
    pub fn newest(&self) -> Option<&KeyRecord> {
        match self {
            CurrentKey::Never => None,
            CurrentKey::Active { key, .. } => Some(key),
            CurrentKey::Expired(r) | CurrentKey::Revoked(r) => Some(r),
        }
    }

    /// The next instant after `now` at which this standing changes by the clock alone (the
    /// active key expires and its successor takes over, the retiring key is revoked); a cache
    /// of it is good until then. `None`: only a write changes it.
    pub fn next_change(&self, now: UnixTime) -> Option<UnixTime> {
        match self {
            CurrentKey::Active {
                key,
                retiring,
                successor,
                ..
            } => [Some(key), retiring.as_ref(), successor.as_ref()]
                .into_iter()
                .flatten()
                .filter_map(|k| k.next_change(now))
                .min(),
            _ => None,
        }
    }

    /// When the active key's expiry is announced (`X-Keygate-Key-Expires`, docs/design.md §2):
    /// from `expires_at - window_secs`, and only while no successor is staged. `None`: no
    /// warning is due in this standing.
    pub fn expiry_warning_from(&self, window_secs: i64) -> Option<UnixTime> {
        match self {
            CurrentKey::Active {
                key,
                successor: None,
                ..
            } => Some(key.expires_at.saturating_sub(window_secs)),
            _ => None,
        }
    }

    /// The active key, or the refusal of a call that needs one (the gateway's 403s).
    ///
    /// # Errors
    /// [`RegistryError::PublicKeyRequired`], [`RegistryError::PublicKeyExpired`] or
    /// [`RegistryError::PublicKeyRevoked`].
    pub fn require_active(self) -> Result<KeyRecord, RegistryError> {
        match self {
            CurrentKey::Active { key, .. } => Ok(key),
            CurrentKey::Never => Err(RegistryError::PublicKeyRequired),
            CurrentKey::Expired(_) => Err(RegistryError::PublicKeyExpired),
            CurrentKey::Revoked(_) => Err(RegistryError::PublicKeyRevoked),
        }
    }
}

/// The status table of one API key: every key, newest first, and where the API key stands.
#[derive(Debug, Clone)]
pub struct KeyTable {
    /// Every key, newest first (ties broken by insertion order).
    pub keys: Vec<KeyRecord>,
    /// The moment the statuses are read at.
    pub now: UnixTime,
    /// What the gateway counted for each key that was used (docs/design.md §5, "Usage").
    pub usage: HashMap<Uuid, KeyUsage>,
}

impl KeyTable {
    /// Where the API key stands (the one definition, applied to the table).
    pub fn current(&self) -> CurrentKey {
        CurrentKey::of(self.keys.iter().cloned(), self.now)
    }

    /// The usage of one key of the table (all zero when it was never used).
    pub fn usage_of(&self, key_id: Uuid) -> KeyUsage {
        self.usage.get(&key_id).cloned().unwrap_or_default()
    }

    /// Each key with its status at the table's moment.
    pub fn rows(&self) -> impl Iterator<Item = (&KeyRecord, KeyStatus)> {
        self.keys.iter().map(|k| (k, k.status(self.now)))
    }
}

impl Registry {
    /// Every check of docs/design.md §3 that needs no database (rows 1–5), for an upload and a
    /// staged successor alike; the key to store when they pass.
    pub(crate) fn checked_key(
        &self,
        api_key_id: Uuid,
        pasted: &str,
    ) -> Result<NewKey, RegistryError> {
        // Only the slug is logged: the pasted text may be a private key.
        let key = ValidPublicKey::parse(pasted, &self.key_policy).inspect_err(|rejection| {
            tracing::info!(%api_key_id, error = rejection.slug(), "public key refused");
        })?;
        Ok(NewKey {
            id: Uuid::new_v4(),
            api_key_id,
            public_key_pem: key.canonical_pem().to_string(),
            fingerprint_sha256: key.fingerprint_sha256(),
            jwk_thumbprint: key.jwk_thumbprint(),
            bits: key.bits(),
            exponent: key.exponent(),
        })
    }

    /// Parse, check and store an uploaded key as the API key's active key. Nothing is stored
    /// unless every check passes.
    ///
    /// # Errors
    /// [`RegistryError::KeyRejected`], [`RegistryError::PublicKeyReused`],
    /// [`RegistryError::ActiveKeyExists`], or a store failure.
    pub async fn upload(
        &self,
        principal: &Principal,
        pasted: &str,
        origin: &Origin,
    ) -> Result<KeyRecord, RegistryError> {
        let api_key_id = principal.api_key.id;
        let new = self.checked_key(api_key_id, pasted)?;
        let validity = secs(self.settings.key_validity);
        let now = self.now();
        let event = key_event(
            AuditEventType::KeyUploaded,
            origin,
            principal.client.id,
            new.id,
            api_key_id,
        )
        .detail("fingerprint_sha256", new.fingerprint_sha256.as_str())
        .detail("expires_at", now.saturating_add(validity));
        match self.store.insert_key(new, now, validity, &[event]).await {
            Ok(record) => {
                self.caches.key_changed(api_key_id);
                tracing::info!(%api_key_id, key_id = %record.id, "public key uploaded");
                Ok(record)
            }
            Err(refused) => Err(refused.into()),
        }
    }

    /// Revoke the API key's active key, with an optional reason checked by the one reason rule
    /// ([`RevokeReason`]) — for the API, the web page and `keygate admin` alike. A key retiring
    /// beside it is revoked at once too, and a staged successor becomes active now
    /// (docs/design.md §2, "Rotation").
    ///
    /// # Errors
    /// [`RegistryError::InvalidRevokeReason`], [`RegistryError::NoActiveKey`], or a store
    /// failure.
    pub async fn revoke(
        &self,
        api_key_id: Uuid,
        reason: Option<&str>,
        origin: &Origin,
    ) -> Result<KeyRecord, RegistryError> {
        let reason = RevokeReason::parse(reason)?;
        let client_id = self.client_of(api_key_id).await?;
        let now = self.now();
        // One atomic statement revokes only a key that is active at `now`.
        let change = self
            .store
            .revoke_active(
                api_key_id,
                reason.as_ref().map(RevokeReason::as_str),
                now,
                |change| change_events(change, AuditEventType::KeyRevoked, origin, client_id, now),
            )
            .await?
            .ok_or(RegistryError::NoActiveKey)?;
        let record = change.ended.ok_or(RegistryError::NoActiveKey)?;
        self.caches.key_changed(api_key_id);
        tracing::info!(%api_key_id, key_id = %record.id, "public key revoked");
        Ok(record)
    }

    /// Where the API key stands now (see [`CurrentKey`]).
    ///
    /// # Errors
    /// A store failure.
    pub async fn current_key(&self, api_key_id: Uuid) -> Result<CurrentKey, RegistryError> {
        self.current_key_at(api_key_id, self.now()).await
    }

    /// Where the API key stands at `now` (the gateway reads *now* once per request).
    ///
    /// # Errors
    /// A store failure.
    pub async fn current_key_at(
        &self,
        api_key_id: Uuid,
        now: UnixTime,
    ) -> Result<CurrentKey, RegistryError> {
        let keys = self.store.current_keys(api_key_id).await?;
        Ok(CurrentKey::of(keys, now))
    }

    /// The API key's active key ("current key").
    ///
    /// # Errors
    /// [`RegistryError::NoActiveKey`], or a store failure.
    pub async fn active_key(&self, api_key_id: Uuid) -> Result<KeyRecord, RegistryError> {
        match self.current_key(api_key_id).await? {
            CurrentKey::Active { key, .. } => Ok(key),
            _ => Err(RegistryError::NoActiveKey),
        }
    }

    /// The status table: every key of the API key, newest first, read at now.
    ///
    /// # Errors
    /// A store failure.
    pub async fn key_table(&self, api_key_id: Uuid) -> Result<KeyTable, RegistryError> {
        let keys = self.store.list_keys(api_key_id).await?;
        let usage = self.store.usage_of_api_key(api_key_id).await?;
        Ok(KeyTable {
            keys,
            now: self.now(),
            usage,
        })
    }

    /// One key of the API key ("view key"); another API key's key is unknown.
    ///
    /// # Errors
    /// [`RegistryError::UnknownKey`], or a store failure.
    pub async fn key(&self, api_key_id: Uuid, key_id: Uuid) -> Result<KeyRecord, RegistryError> {
        self.store
            .get_key(api_key_id, key_id)
            .await?
            .ok_or(RegistryError::UnknownKey)
    }

    /// What the gateway counted for one key ("view key"), as of the last flush; all zero when
    /// it was never used. The caller has found the key among the API key's own ([`Registry::key`]).
    ///
    /// # Errors
    /// A store failure.
    pub async fn key_usage(&self, key_id: Uuid) -> Result<KeyUsage, RegistryError> {
        Ok(self.store.usage_of_key(key_id).await?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::test_support::{public_key_pem, registry};

    #[tokio::test]
    async fn the_active_key_is_the_newest_while_it_is_active() {
        let (registry, hand, principal, _guard) = registry().await;
        let id = principal.api_key.id;
        assert_eq!(registry.current_key(id).await.unwrap(), CurrentKey::Never);
        assert!(matches!(
            registry.active_key(id).await,
            Err(RegistryError::NoActiveKey)
        ));

        let first = registry
            .upload(&principal, &public_key_pem(0), &crate::test_support::ops())
            .await
            .unwrap();
        let active = |key: &KeyRecord| CurrentKey::Active {
            key: key.clone(),
            retiring: None,
            successor: None,
            previous: None,
        };
        assert_eq!(registry.current_key(id).await.unwrap(), active(&first));
        assert_eq!(registry.active_key(id).await.unwrap(), first);
        assert!(matches!(
            registry
                .upload(&principal, &public_key_pem(1), &crate::test_support::ops())
                .await,
            Err(RegistryError::ActiveKeyExists)
        ));

        // Expiry is read from the one clock: no sleeping.
        hand.advance(3600);
        let current = registry.current_key(id).await.unwrap();
        assert_eq!(current, CurrentKey::Expired(first.clone()));
        assert!(matches!(
            current.require_active(),
            Err(RegistryError::PublicKeyExpired)
        ));
        let table = registry.key_table(id).await.unwrap();
        assert_eq!(table.current(), CurrentKey::Expired(first.clone()));

        let second = registry
            .upload(&principal, &public_key_pem(1), &crate::test_support::ops())
            .await
            .unwrap();
        assert_eq!(registry.active_key(id).await.unwrap(), second);
        let table = registry.key_table(id).await.unwrap();
        assert_eq!(table.current().active(), Some(&second));
        let statuses: Vec<_> = table.rows().map(|(_, s)| s).collect();
        assert_eq!(statuses, [KeyStatus::Active, KeyStatus::Expired]);
        // The store's SQL view of "active" agrees with the one definition, before and after a
        // revoke.
        let sql = registry
            .store()
            .active_key(id, registry.now())
            .await
            .unwrap();
        assert_eq!(sql, Some(second.clone()));
        registry
            .revoke(id, None, &crate::test_support::ops())
            .await
            .unwrap();
        let sql = registry
            .store()
            .active_key(id, registry.now())
            .await
            .unwrap();
        assert_eq!(sql, None);
        assert!(registry.current_key(id).await.unwrap().active().is_none());
        assert_eq!(registry.key(id, first.id).await.unwrap(), first);
        assert!(matches!(
            registry.key(Uuid::new_v4(), first.id).await,
            Err(RegistryError::UnknownKey)
        ));
    }

    #[tokio::test]
    async fn revoke_checks_the_reason_and_needs_an_active_key() {
        let (registry, _hand, principal, _guard) = registry().await;
        let id = principal.api_key.id;
        assert!(matches!(
            registry.revoke(id, None, &crate::test_support::ops()).await,
            Err(RegistryError::NoActiveKey)
        ));
        let pem = public_key_pem(0);
        let key = registry
            .upload(&principal, &pem, &crate::test_support::ops())
            .await
            .unwrap();
        assert!(matches!(
            registry
                .revoke(id, Some(&"x".repeat(501)), &crate::test_support::ops())
                .await,
            Err(RegistryError::InvalidRevokeReason(_))
        ));
        let revoked = registry
            .revoke(id, Some("  rotating "), &crate::test_support::ops())
            .await
            .unwrap();
        assert_eq!(revoked.id, key.id);
        assert_eq!(revoked.revoke_reason.as_deref(), Some("rotating"));
        assert!(matches!(
            registry.current_key(id).await.unwrap().require_active(),
            Err(RegistryError::PublicKeyRevoked)
        ));
        // A key is registered once, even after it was revoked.
        assert!(matches!(
            registry
                .upload(&principal, &pem, &crate::test_support::ops())
                .await,
            Err(RegistryError::PublicKeyReused)
        ));
        assert!(matches!(
            registry
                .upload(&principal, "not a key", &crate::test_support::ops())
                .await,
            Err(RegistryError::KeyRejected(_))
        ));
    }
}
