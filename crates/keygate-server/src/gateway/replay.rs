//! Replay detection (DESIGN §5): a `jti` is recorded before the request is forwarded.
//!
//! * One node (SQLite): in memory, exact, bounded — entries are dropped once their signature
//!   could no longer pass the `iat` window anyway, and a full table refuses new calls (429)
//!   rather than forget.
//! * Several nodes (PostgreSQL): one `INSERT ... ON CONFLICT DO NOTHING` into the UNLOGGED
//!   table `seen_jtis` (unique `(api_key_id, jti)`), so the first node to record a `jti` wins
//!   and every other node sees it; a periodic purge deletes expired rows.

use std::collections::HashMap;
use std::sync::Mutex;

use keygate_core::model::UnixTime;
use keygate_store::Store;
use uuid::Uuid;

use crate::error::ApiError;

/// Most `jti`s held in memory at once (about 100 MB at worst).
const MEMORY_CAPACITY: usize = 1_000_000;

pub enum ReplayGuard {
    Memory(Mutex<HashMap<(Uuid, String), UnixTime>>),
    Shared,
}

impl ReplayGuard {
    pub fn for_store(store: &Store) -> ReplayGuard {
        if store.is_shared() {
            ReplayGuard::Shared
        } else {
            ReplayGuard::Memory(Mutex::new(HashMap::new()))
        }
    }

    /// Records `jti` until `expires_at`; `SignatureReplayed` when it was seen.
    pub async fn record(
        &self,
        store: &Store,
        api_key_id: Uuid,
        jti: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<(), ApiError> {
        let fresh = match self {
            ReplayGuard::Shared => store.record_jti(api_key_id, jti, expires_at).await?,
            ReplayGuard::Memory(map) => {
                let mut map = map
                    .lock()
                    .map_err(|_| ApiError::internal("replay table lock poisoned"))?;
                let key = (api_key_id, jti.to_owned());
                match map.get(&key) {
                    Some(until) if *until >= now => false,
                    _ => {
                        if map.len() >= MEMORY_CAPACITY {
                            map.retain(|_, until| *until >= now);
                            if map.len() >= MEMORY_CAPACITY {
                                return Err(ApiError::RateLimited { retry_after: 1 });
                            }
                        }
                        map.insert(key, expires_at);
                        true
                    }
                }
            }
        };
        if fresh {
            Ok(())
        } else {
            Err(ApiError::SignatureReplayed)
        }
    }

    /// Drops what expired before `now`.
    pub async fn purge(&self, store: &Store, now: UnixTime) {
        match self {
            ReplayGuard::Shared => {
                if let Err(e) = store.purge_jtis(now).await {
                    tracing::warn!(error = %e, "purging seen jtis failed");
                }
            }
            ReplayGuard::Memory(map) => {
                if let Ok(mut map) = map.lock() {
                    map.retain(|_, until| *until >= now);
                }
            }
        }
    }
}
