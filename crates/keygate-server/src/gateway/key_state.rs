//! What the gateway knows about an API key's keys (docs/design.md §2, §10): the active key,
//! a retiring one during a rotation's overlap, the newest key that is over, and until when
//! that holds. Cached per node by `cache`.

use std::sync::Arc;

use keygate_core::jose::{verify_jws_signature, ClientKey, SigAlg};
use keygate_core::model::{KeyRecord, UnixTime};
use keygate_core::public_key::{KeyPolicy, ValidPublicKey};
use keygate_registry::RegistryError;
use uuid::Uuid;

/// What the gateway needs to know about an API key's keys.
#[derive(Debug, Clone)]
pub enum KeyState {
    /// A key is active.
    Active {
        /// The parsed active key, for verifying signatures and encrypting answer fields.
        key: Arc<ClientKey>,
        /// The previous key while it is RETIRING (`rotation_overlap`): signed requests may
        /// still use it, and their answers are encrypted to it.
        retiring: Option<Arc<ClientKey>>,
        /// When the active key expires; past this the state is read as `Expired`.
        expires_at: UnixTime,
        /// When some key's status changes by the clock alone (the active key expires and a
        /// successor takes over, the retiring key is revoked): the entry is good until then and
        /// is reloaded after, so no node needs a notification for a change made by time.
        until: UnixTime,
        /// From this instant the answers carry `X-Keygate-Key-Expires` (the registry's rule:
        /// the last `key_expiry_warning`, no successor staged); `None`: never in this state.
        warn_from: Option<UnixTime>,
        /// The newest older key that is over, with the refusal a call signed by it gets
        /// (`public_key_revoked` or `public_key_expired`).
        previous: Option<Arc<PreviousKey>>,
    },
    /// No key was ever uploaded: 403 `public_key_required`.
    Required,
    /// The latest key (this id) has expired: 403 `public_key_expired`.
    Expired(Uuid),
    /// The latest key (this id) was revoked: 403 `public_key_revoked`.
    Revoked(Uuid),
}

/// Why a key that is over no longer signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Revoked (by its owner, or at the end of a rotation's overlap).
    Revoked,
    /// Expired.
    Expired,
}

impl Fate {
    /// The refusal of a call signed with such a key.
    pub fn refusal(self) -> RegistryError {
        match self {
            Fate::Revoked => RegistryError::PublicKeyRevoked,
            Fate::Expired => RegistryError::PublicKeyExpired,
        }
    }
}

/// The newest older key that is over, kept as its SubjectPublicKeyInfo only: it is parsed
/// only when a signature fails with the usable keys (to name the refusal), so a cache entry of
/// an API key that rotated holds no parsed key more than one that did not (docs/gateway.md,
/// "Hot path").
#[derive(Debug)]
pub struct PreviousKey {
    id: Uuid,
    spki_der: Box<[u8]>,
    /// Why it no longer signs.
    pub fate: Fate,
}

impl PreviousKey {
    /// The key's id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Whether `jws`'s signature verifies with this key (a `kid`, if any, naming it). Claims
    /// are not looked at: the call is refused either way.
    pub fn signed(&self, jws: &str, allowed_algs: &[SigAlg]) -> bool {
        ClientKey::from_spki_der(&self.spki_der, self.id)
            .is_ok_and(|key| verify_jws_signature(jws, &key, allowed_algs).is_ok())
    }
}

/// The keys a signed call may use: the active key first, then a retiring one; and the newest
/// key that is over, to name the refusal of a call still signed with it.
#[derive(Debug, Clone)]
pub struct CallerKeys {
    /// The active key (unsigned routes encrypt to it).
    pub active: Arc<ClientKey>,
    /// The previous key during a rotation's overlap.
    pub retiring: Option<Arc<ClientKey>>,
    /// The newest older key that is over, and why.
    pub previous: Option<Arc<PreviousKey>>,
}

impl KeyState {
    /// The keys usable at `now`, or the refusal of the call (the 403s).
    pub fn active(&self, now: UnixTime) -> Result<CallerKeys, RegistryError> {
        match self {
            KeyState::Active {
                key,
                retiring,
                expires_at,
                previous,
                ..
            } if now < *expires_at => Ok(CallerKeys {
                active: key.clone(),
                retiring: retiring.clone(),
                previous: previous.clone(),
            }),
            KeyState::Active { .. } | KeyState::Expired(_) => Err(RegistryError::PublicKeyExpired),
            KeyState::Required => Err(RegistryError::PublicKeyRequired),
            KeyState::Revoked(_) => Err(RegistryError::PublicKeyRevoked),
        }
    }

    /// The key a signed call counts against before its signature is checked (docs/design.md
    /// §5, "Usage"): the active key (or the one that has just expired), else the latest key
    /// that is over; none when no key was ever uploaded.
    pub fn usage_key(&self) -> Option<Uuid> {
        match self {
            KeyState::Active { key, .. } => Some(key.id()),
            KeyState::Expired(id) | KeyState::Revoked(id) => Some(*id),
            KeyState::Required => None,
        }
    }

    /// The active key's `expires_at` when answers at `now` announce it
    /// (`X-Keygate-Key-Expires`).
    pub fn expiry_warning(&self, now: UnixTime) -> Option<UnixTime> {
        match self {
            KeyState::Active {
                expires_at,
                warn_from: Some(from),
                ..
            } if now >= *from && now < *expires_at => Some(*expires_at),
            _ => None,
        }
    }

    /// Whether this state, loaded earlier, still holds at `now`.
    pub(super) fn holds_at(&self, now: UnixTime) -> bool {
        match self {
            KeyState::Active { until, .. } => now < *until,
            _ => true,
        }
    }

    /// The parsed key with this id, if this state holds it (to reuse it after a reload).
    fn parsed(&self, id: Uuid) -> Option<Arc<ClientKey>> {
        match self {
            KeyState::Active { key, retiring, .. } => [Some(key), retiring.as_ref()]
                .into_iter()
                .flatten()
                .find(|k| k.id() == id)
                .cloned(),
            _ => None,
        }
    }
}

/// A stored key parsed for the hot path (once per key: `previous` may already hold it).
pub(super) fn parse_key(
    record: &KeyRecord,
    previous: Option<&KeyState>,
) -> Result<Arc<ClientKey>, RegistryError> {
    if let Some(key) = previous.and_then(|state| state.parsed(record.id)) {
        return Ok(key);
    }
    let policy = KeyPolicy {
        allowed_bits: vec![record.bits],
    };
    let valid =
        ValidPublicKey::parse(&record.public_key_pem, &policy).map_err(RegistryError::internal)?;
    let key =
        ClientKey::from_spki_der(valid.spki_der(), record.id).map_err(RegistryError::internal)?;
    Ok(Arc::new(key))
}

/// The newest older key that is over, as a [`PreviousKey`] (reused from `state` when it holds
/// the same one).
pub(super) fn previous_key(
    record: &KeyRecord,
    now: UnixTime,
    state: Option<&KeyState>,
) -> Result<Arc<PreviousKey>, RegistryError> {
    if let Some(KeyState::Active {
        previous: Some(known),
        ..
    }) = state
    {
        if known.id == record.id {
            return Ok(known.clone());
        }
    }
    let policy = KeyPolicy {
        allowed_bits: vec![record.bits],
    };
    let valid =
        ValidPublicKey::parse(&record.public_key_pem, &policy).map_err(RegistryError::internal)?;
    let fate = if record.revoked_by(now).is_some() {
        Fate::Revoked
    } else {
        Fate::Expired
    };
    Ok(Arc::new(PreviousKey {
        id: record.id,
        spki_der: valid.spki_der().into(),
        fate,
    }))
}
