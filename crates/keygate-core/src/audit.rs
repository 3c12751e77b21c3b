//! The audit trail's vocabulary and its hash chain (docs/design.md §11, docs/audit.md): the one
//! list of event types, who acted, and how each event's SHA-256 covers its contents and its
//! predecessor's hash. Pure: the store assigns the order and writes, `keygate admin audit
//! verify` recomputes.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use uuid::Uuid;

use crate::model::UnixTime;

/// The hash a chain's first event names as its predecessor.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// Declares [`AuditEventType`] with its wire names, once.
macro_rules! event_types {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// What an audit event records. The names are part of the contract: webhooks subscribe
        /// by them, SIEM rules match them (docs/design.md §11).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum AuditEventType {
            $($(#[$doc])* $variant,)*
        }

        impl AuditEventType {
            /// Every event type, in the order of docs/design.md §11.
            pub const ALL: &'static [AuditEventType] = &[$(AuditEventType::$variant,)*];

            /// The event type's name, e.g. `key.uploaded`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditEventType::$variant => $name,)*
                }
            }

            /// The event type named `name`, if any.
            pub fn parse(name: &str) -> Option<AuditEventType> {
                match name {
                    $($name => Some(AuditEventType::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    /// A public key was uploaded and is the API key's active key.
    KeyUploaded = "key.uploaded",
    /// The active key was revoked (details: the reason, when given).
    KeyRevoked = "key.revoked",
    /// An active key without a staged successor entered the `key_expiry_warning` window.
    KeyExpiring = "key.expiring",
    /// A key reached the end of its validity.
    KeyExpired = "key.expired",
    /// A staged successor became the active key (activated, or by time or a revoke).
    KeySuccessorActivated = "key.successor_activated",
    /// A login limit was reached: the API key or the address is refused for the window.
    LoginLocked = "login.locked",
    /// A client was created.
    ClientCreated = "client.created",
    /// A client was changed by an operator.
    ClientUpdated = "client.updated",
    /// An API key was created.
    ApiKeyCreated = "api_key.created",
    /// An API key was changed by an operator.
    ApiKeyUpdated = "api_key.updated",
    /// A successor was staged (PENDING).
    KeySuccessorStaged = "key.successor_staged",
    /// A staged successor was withdrawn.
    KeySuccessorWithdrawn = "key.successor_withdrawn",
    /// The previous key's `rotation_overlap` ended: it is revoked (actor `keygate`).
    KeyRetired = "key.retired",
    /// A login opened a session.
    LoginSucceeded = "login.succeeded",
    /// A login was refused (wrong identifier or password).
    LoginFailed = "login.failed",
    /// A session was ended by its holder.
    Logout = "logout",
    /// keygate's first system key was made.
    SystemKeyCreated = "system_key.created",
    /// A new current system key was made; the previous one retires.
    SystemKeyRotated = "system_key.rotated",
    /// A `keygate admin` command was run (details: the command and its non-secret arguments).
    AdminCommand = "admin.command",
    /// Events were pruned by `audit_retention`; details hold the last pruned event's seq and
    /// hash, so the rest stays verifiable.
    AuditCheckpoint = "audit.checkpoint",
}

/// The event types a webhook may ask for (docs/design.md §12). The store wakes the webhook
/// relay when it appends one of these (docs/webhooks.md, "Delivery").
pub const WEBHOOK_EVENTS: [AuditEventType; 6] = [
    AuditEventType::KeyUploaded,
    AuditEventType::KeyRevoked,
    AuditEventType::KeyExpiring,
    AuditEventType::KeyExpired,
    AuditEventType::KeySuccessorActivated,
    AuditEventType::LoginLocked,
];

impl fmt::Display for AuditEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditEventType {
    type Err = UnknownEventType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuditEventType::parse(s).ok_or(UnknownEventType)
    }
}

/// A name that is not one of [`AuditEventType::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an audit event type")]
pub struct UnknownEventType;

/// Who caused an event (docs/design.md §11, "Actors"). Stored as text: `api_key:<uuid>`,
/// `operator:<OS user>`, `keygate`, `anonymous`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A client, through the JSON API or the web page, by its API key's id. For a login event,
    /// the API key the identifier names (a failed login's claim, not a proof).
    ApiKey(Uuid),
    /// An operator running `keygate admin`, by operating-system user name.
    Operator(String),
    /// keygate itself: what time did (expiry, the end of an overlap) and what it does at start.
    Keygate,
    /// A login whose identifier names no API key.
    Anonymous,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::ApiKey(id) => write!(f, "api_key:{id}"),
            Actor::Operator(user) => write!(f, "operator:{user}"),
            Actor::Keygate => f.write_str("keygate"),
            Actor::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// Who acted and from where: what every audited registry call is given by its surface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Who.
    pub actor: Actor,
    /// The client's address (the TCP peer, or the forwarded address where trusted); `None` for
    /// the CLI and for time-driven events.
    pub source: Option<String>,
}

impl Origin {
    /// keygate itself, from nowhere (time-driven events).
    pub fn keygate() -> Origin {
        Origin {
            actor: Actor::Keygate,
            source: None,
        }
    }

    /// An API key, from `source`.
    pub fn api_key(id: Uuid, source: Option<String>) -> Origin {
        Origin {
            actor: Actor::ApiKey(id),
            source,
        }
    }

    /// An operator at the command line.
    pub fn operator(user: impl Into<String>) -> Origin {
        Origin {
            actor: Actor::Operator(user.into()),
            source: None,
        }
    }
}

/// An event to append: the store gives it its place in the chain (seq, id, time, hashes).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    /// What happened.
    pub event_type: AuditEventType,
    /// The client it concerns.
    pub client_id: Option<Uuid>,
    /// The API key it concerns.
    pub api_key_id: Option<Uuid>,
    /// The public key it concerns.
    pub key_id: Option<Uuid>,
    /// Who, as text ([`Actor`]'s form).
    pub actor: String,
    /// From where.
    pub source: Option<String>,
    /// A JSON object. Never a secret: callers put ids, reasons, instants and names only.
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl NewAuditEvent {
    /// An event of `event_type` by `origin`, concerning nothing yet, with no details.
    pub fn new(event_type: AuditEventType, origin: &Origin) -> NewAuditEvent {
        NewAuditEvent {
            event_type,
            client_id: None,
            api_key_id: None,
            key_id: None,
            actor: origin.actor.to_string(),
            source: origin.source.clone(),
            details: serde_json::Map::new(),
        }
    }

    /// The same event, concerning this client.
    #[must_use]
    pub fn client(mut self, id: Uuid) -> Self {
        self.client_id = Some(id);
        self
    }

    /// The same event, concerning this API key (and its client).
    #[must_use]
    pub fn api_key(mut self, client_id: Uuid, api_key_id: Uuid) -> Self {
        self.client_id = Some(client_id);
        self.api_key_id = Some(api_key_id);
        self
    }

    /// The same event, concerning this public key.
    #[must_use]
    pub fn key(mut self, id: Uuid) -> Self {
        self.key_id = Some(id);
        self
    }

    /// The same event with one more detail.
    #[must_use]
    pub fn detail(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(name.to_owned(), value.into());
        self
    }

    /// The details as the JSON text that is stored and hashed.
    pub fn details_text(&self) -> String {
        serde_json::Value::Object(self.details.clone()).to_string()
    }
}

/// One stored event, as read back. Text fields are kept as stored (not parsed), so a changed
/// row is still read and [`AuditEvent::computed_hash`] shows the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Its place in the chain: the previous event's seq + 1.
    pub seq: i64,
    /// Its id, as stored (a UUID).
    pub id: String,
    /// When it was appended.
    pub at: UnixTime,
    /// Its type's name ([`AuditEventType::as_str`]).
    pub event_type: String,
    /// The client it concerns, as stored.
    pub client_id: Option<String>,
    /// The API key it concerns, as stored.
    pub api_key_id: Option<String>,
    /// The public key it concerns, as stored.
    pub key_id: Option<String>,
    /// Who ([`Actor`]'s text).
    pub actor: String,
    /// From where.
    pub source: Option<String>,
    /// JSON text.
    pub details: String,
    /// The previous event's hash ([`GENESIS_HASH`] for the first).
    pub prev_hash: Vec<u8>,
    /// SHA-256 over this event's fields and `prev_hash` ([`AuditEvent::computed_hash`]).
    pub hash: Vec<u8>,
}

impl AuditEvent {
    /// `new` sealed as the chain's event `seq` after the event whose hash is `prev_hash`.
    pub fn seal(
        new: &NewAuditEvent,
        seq: i64,
        id: Uuid,
        at: UnixTime,
        prev_hash: &[u8],
    ) -> AuditEvent {
        let mut event = AuditEvent {
            seq,
            id: id.to_string(),
            at,
            event_type: new.event_type.as_str().to_owned(),
            client_id: new.client_id.map(|id| id.to_string()),
            api_key_id: new.api_key_id.map(|id| id.to_string()),
            key_id: new.key_id.map(|id| id.to_string()),
            actor: new.actor.clone(),
            source: new.source.clone(),
            details: new.details_text(),
            prev_hash: prev_hash.to_vec(),
            hash: Vec::new(),
        };
        event.hash = event.computed_hash().to_vec();
        event
    }

    /// The event's type, when the stored name is one.
    pub fn kind(&self) -> Option<AuditEventType> {
        AuditEventType::parse(&self.event_type)
    }

    /// SHA-256 of a fixed label, then every field in a fixed order, each length-prefixed (an
    /// absent field is one zero byte, a present one a one byte and its length), then
    /// `prev_hash`: no two different events encode the same (docs/audit.md, "The chain").
    pub fn computed_hash(&self) -> [u8; 32] {
        fn text(out: &mut Vec<u8>, value: &str) {
            out.extend_from_slice(&(value.len() as u64).to_be_bytes());
            out.extend_from_slice(value.as_bytes());
        }
        fn optional(out: &mut Vec<u8>, value: Option<&str>) {
            match value {
                None => out.push(0),
                Some(v) => {
                    out.push(1);
                    text(out, v);
                }
            }
        }
        let mut out = Vec::with_capacity(256 + self.details.len());
        text(&mut out, "keygate-audit-v1");
        out.extend_from_slice(&self.seq.to_be_bytes());
        text(&mut out, &self.id);
        out.extend_from_slice(&self.at.to_be_bytes());
        text(&mut out, &self.event_type);
        optional(&mut out, self.client_id.as_deref());
        optional(&mut out, self.api_key_id.as_deref());
        optional(&mut out, self.key_id.as_deref());
        text(&mut out, &self.actor);
        optional(&mut out, self.source.as_deref());
        text(&mut out, &self.details);
        out.extend_from_slice(&(self.prev_hash.len() as u64).to_be_bytes());
        out.extend_from_slice(&self.prev_hash);
        let mut hash = [0u8; 32];
        hash.copy_from_slice(digest::digest(&digest::SHA256, &out).as_ref());
        hash
    }
}

/// Where a chain is broken: the first event that does not fit (docs/audit.md, "Verifying").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The event's stored hash is not the hash of its contents: it was changed (or inserted
    /// with a made-up hash).
    Changed {
        /// Its seq.
        seq: i64,
        /// Its id, as stored.
        id: String,
    },
    /// The event does not name its predecessor's hash: it was inserted, or its predecessor
    /// was changed and given a new hash.
    Unlinked {
        /// Its seq.
        seq: i64,
        /// Its id, as stored.
        id: String,
    },
    /// Events are missing before this one: `first..=last` were removed.
    Removed {
        /// The first missing seq.
        first: i64,
        /// The last missing seq.
        last: i64,
        /// The event after the gap.
        next_seq: i64,
    },
    /// The event comes before the newest checkpoint's pruned range ends: it was inserted.
    BeforeCheckpoint {
        /// Its seq.
        seq: i64,
        /// Its id, as stored.
        id: String,
    },
    /// A checkpoint's details do not say which event it follows.
    BadCheckpoint {
        /// The checkpoint's seq.
        seq: i64,
    },
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainBreak::Changed { seq, id } => write!(
                f,
                "event #{seq} ({id}) was changed or inserted: its hash does not match its contents"
            ),
            ChainBreak::Unlinked { seq, id } => write!(
                f,
                "event #{seq} ({id}) does not follow event #{}: it was inserted, or the event \
                 before it was changed",
                seq - 1
            ),
            ChainBreak::Removed {
                first,
                last,
                next_seq,
            } if first == last => write!(
                f,
                "event #{first} was removed (the chain goes on at event #{next_seq})"
            ),
            ChainBreak::Removed {
                first,
                last,
                next_seq,
            } => write!(
                f,
                "events #{first} to #{last} were removed (the chain goes on at event #{next_seq})"
            ),
            ChainBreak::BeforeCheckpoint { seq, id } => write!(
                f,
                "event #{seq} ({id}) was inserted: the newest checkpoint says events up to it \
                 were pruned"
            ),
            ChainBreak::BadCheckpoint { seq } => write!(
                f,
                "checkpoint event #{seq} was changed: its details do not name the last pruned event"
            ),
        }
    }
}

/// The details of an `audit.checkpoint` event: the last pruned event's seq and hash (hex).
pub fn checkpoint_details(pruned_through_seq: i64, last_pruned_hash: &[u8]) -> NewAuditEvent {
    let hex: String = last_pruned_hash
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    NewAuditEvent::new(AuditEventType::AuditCheckpoint, &Origin::keygate())
        .detail("pruned_through_seq", pruned_through_seq)
        .detail("last_pruned_hash", hex)
}

/// What a checkpoint event anchors: `(pruned_through_seq, last_pruned_hash)`.
pub fn checkpoint_anchor(checkpoint: &AuditEvent) -> Result<(i64, Vec<u8>), ChainBreak> {
    let bad = || ChainBreak::BadCheckpoint {
        seq: checkpoint.seq,
    };
    let details: serde_json::Value =
        serde_json::from_str(&checkpoint.details).map_err(|_| bad())?;
    let seq = details["pruned_through_seq"].as_i64().ok_or_else(bad)?;
    let hex = details["last_pruned_hash"].as_str().ok_or_else(bad)?;
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let hash = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    Ok((seq, hash))
}

/// Walks a chain in seq order, one event at a time, and stops at the first break. Starts at
/// the genesis, or after the newest checkpoint's last pruned event.
#[derive(Debug, Clone)]
pub struct ChainWalk {
    prev_seq: i64,
    prev_hash: Vec<u8>,
    /// Events checked so far.
    pub checked: u64,
}

impl ChainWalk {
    /// A walk of a chain whose newest checkpoint is `checkpoint` (none: it starts at seq 1).
    pub fn new(checkpoint: Option<&AuditEvent>) -> Result<ChainWalk, ChainBreak> {
        let (prev_seq, prev_hash) = match checkpoint {
            Some(c) => checkpoint_anchor(c)?,
            None => (0, GENESIS_HASH.to_vec()),
        };
        Ok(ChainWalk {
            prev_seq,
            prev_hash,
            checked: 0,
        })
    }

    /// Checks the next event (events must come in seq order).
    pub fn next(&mut self, event: &AuditEvent) -> Result<(), ChainBreak> {
        let expected = self.prev_seq.saturating_add(1);
        if event.seq < expected {
            return Err(ChainBreak::BeforeCheckpoint {
                seq: event.seq,
                id: event.id.clone(),
            });
        }
        if event.seq > expected {
            return Err(ChainBreak::Removed {
                first: expected,
                last: event.seq - 1,
                next_seq: event.seq,
            });
        }
        if event.computed_hash().as_slice() != event.hash.as_slice() {
            return Err(ChainBreak::Changed {
                seq: event.seq,
                id: event.id.clone(),
            });
        }
        if event.prev_hash != self.prev_hash {
            return Err(ChainBreak::Unlinked {
                seq: event.seq,
                id: event.id.clone(),
            });
        }
        self.prev_seq = event.seq;
        self.prev_hash.clone_from(&event.hash);
        self.checked += 1;
        Ok(())
    }

    /// The last event checked: `(seq, hash)` (the anchor itself before any).
    pub fn head(&self) -> (i64, &[u8]) {
        (self.prev_seq, &self.prev_hash)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_round_trips_by_its_name() {
        assert_eq!(AuditEventType::ALL.len(), 20);
        for t in AuditEventType::ALL {
            assert_eq!(AuditEventType::parse(t.as_str()), Some(*t));
            assert_eq!(t.as_str().parse::<AuditEventType>(), Ok(*t));
        }
        assert_eq!(AuditEventType::parse("key.deleted"), None);
    }

    #[test]
    fn actors_as_text() {
        let id = Uuid::nil();
        assert_eq!(
            Actor::ApiKey(id).to_string(),
            "api_key:00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(Actor::Operator("ops".into()).to_string(), "operator:ops");
        assert_eq!(Actor::Keygate.to_string(), "keygate");
    }

    #[test]
    fn the_hash_covers_every_field_and_the_predecessor() {
        let new = NewAuditEvent::new(AuditEventType::KeyRevoked, &Origin::keygate())
            .api_key(Uuid::new_v4(), Uuid::new_v4())
            .key(Uuid::new_v4())
            .detail("reason", "lost");
        let first = AuditEvent::seal(&new, 1, Uuid::new_v4(), 100, &GENESIS_HASH);
        assert_eq!(first.hash, first.computed_hash().to_vec());
        let second = AuditEvent::seal(&new, 2, Uuid::new_v4(), 100, &first.hash);
        assert_ne!(first.hash, second.hash);

        let changes: Vec<fn(&mut AuditEvent)> = vec![
            |e| e.seq += 1,
            |e| e.id.push('x'),
            |e| e.at += 1,
            |e| e.event_type = "key.expired".into(),
            |e| e.client_id = None,
            |e| e.api_key_id = None,
            |e| e.key_id = None,
            |e| e.actor = "keygate ".into(),
            |e| e.source = Some(String::new()),
            |e| e.details = "{}".into(),
            |e| e.prev_hash[0] ^= 1,
        ];
        for change in changes {
            let mut changed = second.clone();
            change(&mut changed);
            assert_ne!(changed.computed_hash().to_vec(), second.hash);
        }
    }

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH.to_vec();
        (1..=n)
            .map(|seq| {
                let new = NewAuditEvent::new(AuditEventType::AdminCommand, &Origin::operator("o"))
                    .detail("n", seq);
                let e = AuditEvent::seal(&new, seq, Uuid::new_v4(), 10 * seq, &prev);
                prev.clone_from(&e.hash);
                e
            })
            .collect()
    }

    fn walk(events: &[AuditEvent], checkpoint: Option<&AuditEvent>) -> Result<u64, ChainBreak> {
        let mut w = ChainWalk::new(checkpoint)?;
        for e in events {
            w.next(e)?;
        }
        Ok(w.checked)
    }

    #[test]
    fn a_walk_names_the_first_event_changed_removed_or_inserted() {
        let events = chain(5);
        assert_eq!(walk(&events, None), Ok(5));

        let mut changed = events.clone();
        changed[2].details = r#"{"n":99}"#.into();
        assert!(matches!(
            walk(&changed, None),
            Err(ChainBreak::Changed { seq: 3, .. })
        ));

        // Changed and re-hashed: the next event no longer follows it.
        changed[2].hash = changed[2].computed_hash().to_vec();
        assert!(matches!(
            walk(&changed, None),
            Err(ChainBreak::Unlinked { seq: 4, .. })
        ));

        let mut removed = events.clone();
        removed.remove(1);
        let err = walk(&removed, None).unwrap_err();
        assert_eq!(
            err,
            ChainBreak::Removed {
                first: 2,
                last: 2,
                next_seq: 3
            }
        );
        assert_eq!(
            err.to_string(),
            "event #2 was removed (the chain goes on at event #3)"
        );

        let mut head_removed = events.clone();
        head_removed.remove(0);
        assert!(matches!(
            walk(&head_removed, None),
            Err(ChainBreak::Removed { first: 1, .. })
        ));
    }

    #[test]
    fn a_pruned_chain_verifies_from_its_checkpoint() {
        let mut events = chain(4);
        let checkpoint = AuditEvent::seal(
            &checkpoint_details(2, &events[1].hash),
            5,
            Uuid::new_v4(),
            100,
            &events[3].hash,
        );
        events.push(checkpoint.clone());
        let kept = &events[2..];
        assert_eq!(walk(kept, Some(&checkpoint)), Ok(3));
        // One more removed from the head than the checkpoint accounts for.
        assert!(matches!(
            walk(&events[3..], Some(&checkpoint)),
            Err(ChainBreak::Removed {
                first: 3,
                last: 3,
                ..
            })
        ));
        let mut forged = checkpoint.clone();
        forged.details = "{}".into();
        assert!(matches!(
            ChainWalk::new(Some(&forged)),
            Err(ChainBreak::BadCheckpoint { seq: 5 })
        ));
    }
}
