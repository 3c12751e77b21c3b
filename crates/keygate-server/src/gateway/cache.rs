//! The hot path's memory (docs/design.md §10): active keys cached parsed, bearer tokens cached with
//! their principal, both bounded, both invalidated on revoke, upload and logout — locally at
//! once, on other nodes through PostgreSQL `LISTEN/NOTIFY` (see `listen`). A change made by the
//! clock alone (a successor taking over at its predecessor's expiry, the end of a rotation's
//! overlap) needs no notification: a key entry is good only until the next such instant
//! (`KeyState::Active::until`) and is reloaded after it, on every node.
//!
//! Races: every invalidation bumps a generation counter; an entry loaded from the database is
//! kept only if no invalidation happened while it was being loaded (checked under the map's
//! lock), so a revoke that lands during a load can never leave the stale "active" entry behind.
//!
//! Trust: on PostgreSQL the caches are trusted only while the node is known to hear every
//! invalidation. While the listener is disconnected (or its heartbeat is not heard) nothing is
//! served from memory and nothing is kept; once LISTEN is back every entry is dropped and only
//! then is caching resumed, so a NOTIFY lost in between cannot leave a revoked key or a
//! logged-out session alive (docs/operations.md, "No stale key after an outage").

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use keygate_core::model::{Principal, UnixTime};
use keygate_registry::{CurrentKey, Invalidate, Registry, RegistryError};
use uuid::Uuid;

use super::key_state::{parse_key, previous_key};
pub use super::key_state::{CallerKeys, Fate, KeyState, PreviousKey};

/// A bounded map whose entries also age out after `max_age`.
struct Bounded<K, V> {
    map: RwLock<HashMap<K, (V, Instant)>>,
    capacity: usize,
    max_age: Duration,
}

impl<K: Eq + Hash + Clone, V: Clone> Bounded<K, V> {
    fn new(capacity: usize, max_age: Duration) -> Self {
        Bounded {
            map: RwLock::new(HashMap::new()),
            capacity,
            max_age,
        }
    }

    fn get(&self, key: &K) -> Option<V> {
        let map = self.map.read().ok()?;
        let (value, loaded) = map.get(key)?;
        (loaded.elapsed() < self.max_age).then(|| value.clone())
    }

    /// The entry however old (to reuse what it holds after a reload confirms it).
    fn get_any_age(&self, key: &K) -> Option<V> {
        let map = self.map.read().ok()?;
        map.get(key).map(|(value, _)| value.clone())
    }

    /// Inserts unless `keep` (evaluated under the map's lock) says the value is stale.
    fn insert_if(&self, key: K, value: V, keep: impl FnOnce() -> bool) {
        if let Ok(mut map) = self.map.write() {
            if !keep() {
                return;
            }
            if map.len() >= self.capacity && !map.contains_key(&key) {
                let max_age = self.max_age;
                map.retain(|_, (_, loaded)| loaded.elapsed() < max_age);
                if map.len() >= self.capacity {
                    // Still full of fresh entries: drop an arbitrary eighth (cheap, bounded).
                    let drop: Vec<K> = map.keys().take(self.capacity / 8 + 1).cloned().collect();
                    for k in drop {
                        map.remove(&k);
                    }
                }
            }
            map.insert(key, (value, Instant::now()));
        }
    }

    fn remove(&self, key: &K) {
        if let Ok(mut map) = self.map.write() {
            map.remove(key);
        }
    }

    fn clear(&self) {
        if let Ok(mut map) = self.map.write() {
            map.clear();
        }
    }
}

/// 64 lowercase hex digits → 32 bytes.
fn hex32(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// The key and session caches of one node.
pub struct Caches {
    keys: Bounded<Uuid, KeyState>,
    /// Keyed by the token's SHA-256 (raw bytes: no hex formatting on the hot path).
    sessions: Bounded<[u8; 32], (Principal, UnixTime)>,
    generation: AtomicU64,
    /// Whether the node hears every invalidation now (see the module's comment).
    trusted: AtomicBool,
}

impl Caches {
    /// `max_age` bounds staleness when no notification can arrive (e.g. `keygate admin`
    /// revoking on SQLite from another process). `trusted`: whether the caches may be used
    /// from the start (SQLite: one node, nothing to hear) or only once the invalidation
    /// listener has subscribed ([`Caches::resume`]).
    pub fn new(capacity: usize, max_age: Duration, trusted: bool) -> Caches {
        Caches {
            keys: Bounded::new(capacity, max_age),
            sessions: Bounded::new(capacity, max_age),
            generation: AtomicU64::new(0),
            trusted: AtomicBool::new(trusted),
        }
    }

    /// The node may have stopped hearing invalidations: serve nothing from memory, keep nothing.
    pub fn suspend(&self) {
        self.trusted.store(false, Ordering::SeqCst);
        self.clear();
    }

    /// LISTEN is established again: drop whatever was cached before (a notification may have
    /// been missed), then cache again. Loads that started before this are discarded by the
    /// generation check; loads after it read the database after LISTEN was back.
    pub fn resume(&self) {
        self.clear();
        self.trusted.store(true, Ordering::SeqCst);
    }

    /// Whether the caches are in use now.
    pub fn is_trusted(&self) -> bool {
        self.trusted.load(Ordering::SeqCst)
    }

    /// An entry loaded while at `generation` may be kept.
    fn still_valid(&self, generation: u64) -> bool {
        self.is_trusted() && self.generation.load(Ordering::SeqCst) == generation
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Forget the key state of `api_key_id` (after an upload or revoke, on this node or another).
    pub fn invalidate_key(&self, api_key_id: Uuid) {
        self.bump();
        self.keys.remove(&api_key_id);
    }

    /// `token_hash`: the lowercase hex SHA-256 the store keeps (`auth::token_hash`).
    pub fn invalidate_session(&self, token_hash: &str) {
        self.bump();
        match hex32(token_hash) {
            Some(key) => self.sessions.remove(&key),
            None => self.sessions.clear(),
        }
    }

    /// Forget everything (when invalidations from other nodes may have been missed).
    pub fn clear(&self) {
        self.bump();
        self.keys.clear();
        self.sessions.clear();
    }

    /// Applies a payload of the invalidation channel.
    pub fn apply(&self, payload: &str) {
        if let Some(id) = payload.strip_prefix("key:") {
            match Uuid::parse_str(id) {
                Ok(id) => self.invalidate_key(id),
                Err(_) => self.clear(),
            }
        } else if let Some(hash) = payload.strip_prefix("session:") {
            self.invalidate_session(hash);
        }
    }

    /// The principal of a bearer token, from memory or the registry's session lookup.
    pub async fn session(
        &self,
        registry: &Registry,
        token: &str,
        now: UnixTime,
    ) -> Result<Principal, RegistryError> {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        let cached = if self.is_trusted() {
            self.sessions.get(&key)
        } else {
            None
        };
        if let Some((principal, expires_at)) = cached {
            return if now < expires_at {
                Ok(principal)
            } else {
                Err(RegistryError::SessionUnknown)
            };
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let (principal, expires_at) = registry.session_at(token, now).await?;
        self.sessions
            .insert_if(key, (principal.clone(), expires_at), || {
                self.still_valid(generation)
            });
        Ok(principal)
    }

    /// The state of an API key's key, from memory or the registry (parsed once per load), by
    /// the registry's one definition of the active key ([`CurrentKey`]).
    pub async fn key_state(
        &self,
        registry: &Registry,
        api_key_id: Uuid,
        now: UnixTime,
    ) -> Result<KeyState, RegistryError> {
        if self.is_trusted() {
            if let Some(state) = self.keys.get(&api_key_id) {
                if state.holds_at(now) {
                    return Ok(state);
                }
            }
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let current = registry.current_key_at(api_key_id, now).await?;
        let until = current.next_change(now);
        let warn_from = current.expiry_warning_from(registry.expiry_warning_secs());
        let state = match current {
            CurrentKey::Never => KeyState::Required,
            CurrentKey::Revoked(key) => KeyState::Revoked(key.id),
            CurrentKey::Expired(key) => KeyState::Expired(key.id),
            CurrentKey::Active {
                key,
                retiring,
                previous,
                ..
            } => {
                // The same keys as before, aged out and confirmed: keep the parsed ones.
                let previous_state = self.keys.get_any_age(&api_key_id);
                KeyState::Active {
                    key: parse_key(&key, previous_state.as_ref())?,
                    retiring: match &retiring {
                        Some(record) => Some(parse_key(record, previous_state.as_ref())?),
                        None => None,
                    },
                    expires_at: key.expires_at,
                    until: until.unwrap_or(key.expires_at),
                    warn_from,
                    previous: match &previous {
                        Some(record) => Some(previous_key(record, now, previous_state.as_ref())?),
                        None => None,
                    },
                }
            }
        };
        self.keys
            .insert_if(api_key_id, state.clone(), || self.still_valid(generation));
        Ok(state)
    }
}

/// The registry tells this node's caches about uploads, revokes and logouts at once.
impl Invalidate for super::Gateway {
    fn key_changed(&self, api_key_id: Uuid) {
        self.caches.invalidate_key(api_key_id);
    }

    fn session_ended(&self, token_hash: &str) {
        self.caches.invalidate_session(token_hash);
    }
}
