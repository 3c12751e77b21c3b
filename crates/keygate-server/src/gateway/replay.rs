//! Replay detection (docs/design.md §5): a `jti` is recorded before the request is forwarded.
//!
//! * One node (SQLite): in memory, exact, bounded — entries are dropped once their signature
//!   could no longer pass the `iat` window anyway, and a full table refuses new calls (429)
//!   rather than forget. Bounded per API key as well as in total, so one client flooding signed
//!   calls fills only its own share and every other client's calls go on (issue 8).
//! * Several nodes (PostgreSQL): `INSERT ... ON CONFLICT DO NOTHING` into the UNLOGGED table
//!   `seen_jtis` (unique `(api_key_id, jti)`), so the first node to record a `jti` wins and
//!   every other node sees it; a periodic purge deletes expired rows. Concurrent calls are
//!   recorded together (group commit, [`Batcher`]): a call waits for no timer — its `jti` goes
//!   out with the next statement, which leaves as soon as one of `BATCH_WORKERS` is free — so
//!   under load one round trip records many calls, and alone a call costs what it did.
//!
//! Memory (docs/gateway.md, "Replay detection"): an entry is the API key id, the first 16 bytes
//! of the SHA-256 of the `jti` (so a 128-character `jti` costs what a 16-character one does)
//! and its expiry: 40 bytes plus the hash table's control byte, at most about 100 bytes with
//! the table at its lowest load. At `MEMORY_CAPACITY` that is at most about 200 MB (measured by
//! `examples/replay_memory.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use aws_lc_rs::digest::{digest, SHA256};
use keygate_core::model::UnixTime;
use keygate_store::Store;
use uuid::Uuid;

/// Why a signed request's `jti` was not recorded (the HTTP layer answers each, `error.rs`).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The `jti` was seen before, within its window.
    #[error("this jti was already used")]
    Replayed,
    /// This API key holds its share of the in-memory table; retry after `retry_after` s.
    #[error("the replay table holds this API key's share; retry after {retry_after} s")]
    Full {
        /// Seconds for `Retry-After` (the table frees expired entries once a second).
        retry_after: u64,
    },
    /// The shared table (PostgreSQL) could not be written. Shared by every call of the batch
    /// the failure hit.
    #[error(transparent)]
    Store(Arc<keygate_store::StoreError>),
    /// The batch workers stopped (the node is shutting down).
    #[error("the replay record is stopping with the node")]
    Stopped,
    /// The in-memory table's lock was poisoned by a panic.
    #[error("replay table lock poisoned")]
    Poisoned,
}

/// Most `jti`s held in memory at once, over all API keys.
pub const MEMORY_CAPACITY: usize = 2_000_000;
/// Most `jti`s held for one API key: a quarter of the total, so at least four clients must
/// flood at once to fill the table (at the default 300 s window, one key may sustain about
/// 800 signed calls a second before its own calls are refused).
pub const PER_KEY_CAPACITY: usize = MEMORY_CAPACITY / 4;

/// The first 16 bytes of SHA-256(jti): 128 bits, so two different `jti`s never meet in
/// practice, and the entry's size does not depend on the `jti`'s length.
type JtiHash = [u8; 16];

fn jti_hash(jti: &str) -> JtiHash {
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest(&SHA256, jti.as_bytes()).as_ref()[..16]);
    out
}

/// Shards of the one-node table. A `jti`'s shard is picked by its hash, so each lock covers a
/// sixteenth of the entries: a resize or a purge holds up only that shard's calls, for a
/// sixteenth of the time the whole table would (BENCHMARKS.md, "Stop 19"), and calls on several
/// cores rarely meet on one lock. The limits are divided the same way (docs/gateway.md,
/// "Replay detection").
pub const SHARDS: usize = 16;

/// One shard, or (with [`MemoryTable::default`]) a whole table: each `(API key, jti)` seen and
/// until when it matters, and how many entries each API key holds.
pub struct MemoryTable {
    seen: HashMap<(Uuid, JtiHash), UnixTime>,
    per_key: HashMap<Uuid, usize>,
    /// When a full table was last swept, so a flood does not sweep on every call.
    last_sweep: Option<UnixTime>,
    /// Most entries held, all API keys together.
    capacity: usize,
    /// Most entries held for one API key.
    per_key_capacity: usize,
}

impl Default for MemoryTable {
    /// A whole table: [`MEMORY_CAPACITY`] and [`PER_KEY_CAPACITY`].
    fn default() -> Self {
        Self::with_limits(MEMORY_CAPACITY, PER_KEY_CAPACITY)
    }
}

impl MemoryTable {
    /// An empty table holding at most `capacity` entries, `per_key_capacity` for one API key.
    pub fn with_limits(capacity: usize, per_key_capacity: usize) -> Self {
        Self {
            seen: HashMap::new(),
            per_key: HashMap::new(),
            last_sweep: None,
            capacity,
            per_key_capacity,
        }
    }

    /// Records `jti` for `api_key_id`: `Ok(true)` when new, `Ok(false)` when seen, and
    /// `Err(retry_after)` when this key's share or the whole table is full of live entries.
    pub fn record(
        &mut self,
        api_key_id: Uuid,
        jti: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<bool, u64> {
        self.record_hashed(api_key_id, jti_hash(jti), now, expires_at)
    }

    fn record_hashed(
        &mut self,
        api_key_id: Uuid,
        hash: JtiHash,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<bool, u64> {
        let entry = (api_key_id, hash);
        if let Some(until) = self.seen.get(&entry) {
            if *until >= now {
                return Ok(false);
            }
        }
        let full = |t: &Self| {
            t.seen.len() >= t.capacity
                || t.per_key.get(&api_key_id).copied().unwrap_or(0) >= t.per_key_capacity
        };
        if full(self) {
            // Expired entries no longer count; sweep at most once a second.
            if self.last_sweep != Some(now) {
                self.purge(now);
                self.last_sweep = Some(now);
            }
            if full(self) {
                return Err(1);
            }
        }
        if self.seen.insert(entry, expires_at).is_none() {
            *self.per_key.entry(api_key_id).or_default() += 1;
        }
        Ok(true)
    }

    /// Whether `record` would find `jti` seen now; records nothing (the self-check).
    pub fn seen(&self, api_key_id: Uuid, jti: &str, now: UnixTime) -> bool {
        self.seen_hashed(api_key_id, jti_hash(jti), now)
    }

    fn seen_hashed(&self, api_key_id: Uuid, hash: JtiHash, now: UnixTime) -> bool {
        self.seen
            .get(&(api_key_id, hash))
            .is_some_and(|until| *until >= now)
    }

    /// Drops what expired before `now`.
    pub fn purge(&mut self, now: UnixTime) {
        let per_key = &mut self.per_key;
        self.seen.retain(|(key, _), until| {
            let live = *until >= now;
            if !live {
                if let Some(count) = per_key.get_mut(key) {
                    *count = count.saturating_sub(1);
                }
            }
            live
        });
        per_key.retain(|_, count| *count > 0);
    }

    /// `jti`s held now, all API keys together (expired ones until the next sweep).
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Does the table hold no `jti`?
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// The one-node table as [`SHARDS`] locked shards: the same answers as one [`MemoryTable`] (a
/// `jti` always falls in the same shard), each shard holding a sixteenth of the limits.
pub struct ShardedTable {
    /// Boxed: 16 maps with their locks are too large to sit in `ReplayGuard` beside `Batcher`.
    shards: Box<[Mutex<MemoryTable>; SHARDS]>,
}

impl Default for ShardedTable {
    fn default() -> Self {
        Self {
            shards: Box::new(std::array::from_fn(|_| {
                Mutex::new(MemoryTable::with_limits(
                    MEMORY_CAPACITY / SHARDS,
                    PER_KEY_CAPACITY / SHARDS,
                ))
            })),
        }
    }
}

impl ShardedTable {
    /// The shard of a `jti` and its hash. The shard is read off the hash's last byte (the map
    /// hashes the whole entry with its own keyed hasher, so the two do not interfere).
    fn shard(&self, jti: &str) -> Result<(MutexGuard<'_, MemoryTable>, JtiHash), ReplayError> {
        let hash = jti_hash(jti);
        let shard = &self.shards[usize::from(hash[15]) % SHARDS];
        Ok((shard.lock().map_err(|_| ReplayError::Poisoned)?, hash))
    }

    /// As [`MemoryTable::record`], within the `jti`'s shard.
    pub fn record(
        &self,
        api_key_id: Uuid,
        jti: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<bool, ReplayError> {
        let (mut shard, hash) = self.shard(jti)?;
        shard
            .record_hashed(api_key_id, hash, now, expires_at)
            .map_err(|retry_after| ReplayError::Full { retry_after })
    }

    /// As [`MemoryTable::seen`].
    pub fn seen(&self, api_key_id: Uuid, jti: &str, now: UnixTime) -> Result<bool, ReplayError> {
        let (shard, hash) = self.shard(jti)?;
        Ok(shard.seen_hashed(api_key_id, hash, now))
    }

    /// Drops what expired before `now`, one shard at a time (calls to the other shards go on).
    pub fn purge(&self, now: UnixTime) {
        for shard in self.shards.iter() {
            if let Ok(mut shard) = shard.lock() {
                shard.purge(now);
            }
        }
    }

    /// `jti`s held now, all shards together.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |t| t.len()))
            .sum()
    }

    /// Whether no shard holds a `jti`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where seen `jti`s are recorded: in this process for SQLite (one node), in the database for
/// PostgreSQL so that every node sharing it sees the same record.
pub enum ReplayGuard {
    /// One node: an in-memory table in shards, bounded per API key.
    Memory(ShardedTable),
    /// Several nodes: the store's shared table, written in batches.
    Shared(Batcher),
}

/// Statements in flight at once for one node: enough to keep the pool busy while the next
/// batch gathers, few enough to leave connections for everything else (the pool holds 10).
const BATCH_WORKERS: usize = 3;
/// Most `jti`s in one statement (a bound on its size, not a wait: a batch leaves with what is
/// there).
const MAX_BATCH: usize = 256;
/// Calls waiting for a batch at most; past that a call waits for room (bounded by
/// `database_timeout` like any database operation).
const QUEUE: usize = 4096;

/// One call waiting for its `jti` to be recorded.
struct Pending {
    api_key_id: Uuid,
    jti: String,
    expires_at: UnixTime,
    answer: tokio::sync::oneshot::Sender<Result<bool, Arc<keygate_store::StoreError>>>,
}

/// Group commit of `jti`s into the shared table: calls queue their `jti`; each of
/// `BATCH_WORKERS` takes everything queued (up to `MAX_BATCH`) and records it in one statement
/// ([`Store::record_jtis`]). The workers start with the first call (a runtime is there then)
/// and end when the gateway, and so the queue's sender, is dropped.
pub struct Batcher {
    store: Store,
    queue: OnceLock<tokio::sync::mpsc::Sender<Pending>>,
}

impl Batcher {
    fn new(store: &Store) -> Batcher {
        Batcher {
            store: store.clone(),
            queue: OnceLock::new(),
        }
    }

    fn queue(&self) -> &tokio::sync::mpsc::Sender<Pending> {
        self.queue.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::channel(QUEUE);
            let rx = Arc::new(tokio::sync::Mutex::new(rx));
            for _ in 0..BATCH_WORKERS {
                tokio::spawn(batch_worker(self.store.clone(), rx.clone()));
            }
            tx
        })
    }

    /// Records one `jti`: `true` when new. Waiting for a place in a batch and the batch's
    /// statement together take at most `database_timeout`.
    async fn record(
        &self,
        api_key_id: Uuid,
        jti: &str,
        expires_at: UnixTime,
    ) -> Result<bool, ReplayError> {
        let (answer, fresh) = tokio::sync::oneshot::channel();
        let pending = Pending {
            api_key_id,
            jti: jti.to_owned(),
            expires_at,
            answer,
        };
        let timeout = self.store.timeout();
        // A closed queue or a dropped answer means the workers stopped (the node shuts down).
        let waited = tokio::time::timeout(timeout, async {
            self.queue()
                .send(pending)
                .await
                .map_err(|_| ReplayError::Stopped)?;
            fresh
                .await
                .map_err(|_| ReplayError::Stopped)?
                .map_err(ReplayError::Store)
        })
        .await;
        waited.unwrap_or_else(|_| {
            Err(ReplayError::Store(Arc::new(
                keygate_store::StoreError::Timeout(timeout),
            )))
        })
    }
}

/// Takes what is queued, records it in one statement, answers each call; until the queue closes.
async fn batch_worker(
    store: Store,
    queue: Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Pending>>>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        {
            let mut queue = queue.lock().await;
            if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return;
            }
        }
        // A call that gave up (its `database_timeout` passed, its client went away) is not
        // forwarded, so its `jti` is not recorded: after an outage, a backlog of calls already
        // answered 503 would otherwise meet the database all at once.
        batch.retain(|pending| !pending.answer.is_closed());
        if batch.is_empty() {
            continue;
        }
        let entries: Vec<(Uuid, &str, UnixTime)> = batch
            .iter()
            .map(|p| (p.api_key_id, p.jti.as_str(), p.expires_at))
            .collect();
        let outcome = store.record_jtis(&entries).await;
        drop(entries);
        match outcome {
            Ok(fresh) => {
                for (pending, fresh) in batch.drain(..).zip(fresh) {
                    // A call that gave up (timeout, client gone) no longer listens.
                    let _ = pending.answer.send(Ok(fresh));
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for pending in batch.drain(..) {
                    let _ = pending.answer.send(Err(e.clone()));
                }
            }
        }
    }
}

impl ReplayGuard {
    /// The guard that fits the store: shared when the database is shared by nodes.
    pub fn for_store(store: &Store) -> ReplayGuard {
        if store.is_shared() {
            ReplayGuard::Shared(Batcher::new(store))
        } else {
            ReplayGuard::Memory(ShardedTable::default())
        }
    }

    /// Records `jti` until `expires_at`; `SignatureReplayed` when it was seen.
    pub async fn record(
        &self,
        api_key_id: Uuid,
        jti: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<(), ReplayError> {
        let fresh = match self {
            ReplayGuard::Shared(batcher) => batcher.record(api_key_id, jti, expires_at).await?,
            ReplayGuard::Memory(table) => table.record(api_key_id, jti, now, expires_at)?,
        };
        if fresh {
            Ok(())
        } else {
            Err(ReplayError::Replayed)
        }
    }

    /// Whether `jti` was recorded for `api_key_id`, as [`ReplayGuard::record`] would find it,
    /// without recording it (the self-check, docs/design.md §5).
    pub async fn seen(
        &self,
        api_key_id: Uuid,
        jti: &str,
        now: UnixTime,
    ) -> Result<bool, ReplayError> {
        match self {
            ReplayGuard::Shared(batcher) => batcher
                .store
                .jti_seen(api_key_id, jti)
                .await
                .map_err(|e| ReplayError::Store(Arc::new(e))),
            ReplayGuard::Memory(table) => table.seen(api_key_id, jti, now),
        }
    }

    /// Drops what expired before `now`.
    pub async fn purge(&self, store: &Store, now: UnixTime) {
        match self {
            ReplayGuard::Shared(_) => {
                if let Err(e) = store.purge_jtis(now).await {
                    tracing::warn!(error = %e, "purging seen jtis failed");
                }
            }
            ReplayGuard::Memory(table) => table.purge(now),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A queued call whose caller gave up before its batch was written is left out of the
    /// batch; the others in it are recorded and answered.
    #[tokio::test]
    async fn a_call_that_gave_up_is_not_recorded() {
        let dir = std::env::temp_dir().join(format!("kg-batcher-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("replay.db").display());
        let store = Store::connect(&url).await.unwrap();
        let batcher = Batcher::new(&store);
        let key = Uuid::new_v4();
        let far: UnixTime = 4_000_000_000;
        let pending = |jti: &str| {
            let (answer, fresh) = tokio::sync::oneshot::channel();
            let pending = Pending {
                api_key_id: key,
                jti: jti.to_owned(),
                expires_at: far,
                answer,
            };
            (pending, fresh)
        };
        // Both are queued before a worker runs (this runtime has one thread and nothing has
        // yielded), so they travel in one batch.
        let (gave_up, dropped) = pending("gave-up-000000001");
        drop(dropped);
        let (waits, fresh) = pending("waits-00000000001");
        let queue = batcher.queue();
        queue.send(gave_up).await.unwrap();
        queue.send(waits).await.unwrap();
        assert!(fresh.await.unwrap().unwrap(), "a new jti");
        assert!(store.jti_seen(key, "waits-00000000001").await.unwrap());
        assert!(!store.jti_seen(key, "gave-up-000000001").await.unwrap());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn exact_and_bounded_per_key() {
        let mut t = MemoryTable::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(t.record(a, "jti-0000000000001", 100, 200), Ok(true));
        assert!(t.seen(a, "jti-0000000000001", 150));
        assert!(!t.seen(b, "jti-0000000000001", 150) && !t.seen(a, "jti-0000000000001", 201));
        assert_eq!(t.record(a, "jti-0000000000001", 150, 200), Ok(false));
        assert_eq!(
            t.record(b, "jti-0000000000001", 150, 200),
            Ok(true),
            "per key"
        );
        // Expired entries no longer count as seen.
        assert_eq!(t.record(a, "jti-0000000000001", 201, 300), Ok(true));
        assert_eq!(t.len(), 2);

        // One key flooding fills only its own share: the next key is still served.
        let flood = Uuid::new_v4();
        for i in 0..PER_KEY_CAPACITY {
            assert_eq!(
                t.record(flood, &format!("flood-{i:012}"), 300, 900),
                Ok(true)
            );
        }
        assert_eq!(t.record(flood, "one-more-0000000", 300, 900), Err(1));
        assert_eq!(
            t.record(flood, "flood-000000000000", 300, 900),
            Ok(false),
            "still exact"
        );
        assert_eq!(t.record(a, "another-00000000", 300, 900), Ok(true));
        // Once its entries expire, the flooding key is served again.
        assert_eq!(t.record(flood, "one-more-0000000", 901, 1200), Ok(true));
        t.purge(1000);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn shards_answer_as_one_table_and_bound_a_key_close_to_its_share() {
        let t = ShardedTable::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(t.record(a, "jti-0000000000001", 100, 200).unwrap());
        assert!(t.seen(a, "jti-0000000000001", 150).unwrap());
        assert!(!t.record(a, "jti-0000000000001", 150, 200).unwrap());
        assert!(
            t.record(b, "jti-0000000000001", 150, 200).unwrap(),
            "per key"
        );
        assert!(
            t.record(a, "jti-0000000000001", 201, 300).unwrap(),
            "expired"
        );

        // A flooding key: each shard holds a sixteenth of its share and the jti hashes spread
        // evenly, so its first refusal comes close to the whole share, never past it.
        let flood = Uuid::new_v4();
        let mut accepted = 0;
        let refusal = loop {
            match t.record(flood, &format!("flood-{accepted:012}"), 300, 900) {
                Ok(true) => accepted += 1,
                other => break other,
            }
        };
        assert!(
            matches!(refusal, Err(ReplayError::Full { retry_after: 1 })),
            "{refusal:?}"
        );
        assert!(
            (PER_KEY_CAPACITY * 97 / 100..=PER_KEY_CAPACITY).contains(&accepted),
            "first refusal after {accepted}"
        );
        assert!(
            !t.record(flood, "flood-000000000000", 300, 900).unwrap(),
            "still exact"
        );
        assert!(
            t.record(a, "another-00000000", 300, 900).unwrap(),
            "others go on"
        );
        assert!(
            t.record(flood, "one-more-0000000", 901, 1200).unwrap(),
            "after expiry"
        );
        t.purge(1000);
        assert_eq!(t.len(), 1);
    }
}
