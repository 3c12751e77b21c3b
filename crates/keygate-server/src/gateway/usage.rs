//! Per-key usage on the hot path (docs/design.md §5, "Usage"; docs/gateway.md, "Usage"): each
//! signed call is counted in this node's memory against one public key — accepted, or refused
//! with its slug — and the counts are added to the database in one batch every
//! `usage_flush_interval` and when the node stops. No request writes to the database.
//!
//! Cheap by construction: the map is split in [`SHARDS`] shards by the key's id, each behind its
//! own mutex held only for one hash-map update, so calls for different keys rarely meet on a
//! lock and calls for one key queue only for nanoseconds. Bounded: a flush takes each shard's map
//! whole (`std::mem::take`) and leaves an empty one, so the memory held is what one interval's
//! distinct keys cost — about a hundred bytes each (the id, the counts, the last instants; the
//! per-slug list is allocated only once a key is refused). A flush that fails puts its counts
//! back, added to whatever was counted meanwhile, so a database outage loses nothing and still
//! holds one entry per key.
//!
//! A std mutex per shard rather than a concurrent-map crate: draining must take a shard's
//! entries and leave it empty in one step, which a plain `HashMap` behind a lock does with
//! `mem::take` (docs/decisions.md, "Usage counts").

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use keygate_api::ErrorSlug;
use keygate_core::model::UnixTime;
use keygate_store::{Store, UsageDelta};
use uuid::Uuid;

/// Shards of the map: a power of two, more than the cores a node usually has.
pub const SHARDS: usize = 16;

/// What one key did since the last flush.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Signed calls accepted.
    pub accepted: u64,
    /// The last accepted call's instant.
    pub last_used_at: Option<UnixTime>,
    /// Refused calls by slug (a handful of slugs at most; empty, unallocated, for most keys).
    pub refusals: Vec<(ErrorSlug, u64)>,
    /// The last refusal.
    pub last_refusal: Option<(ErrorSlug, UnixTime)>,
}

impl Tally {
    /// Adds `other` (counted later or elsewhere) to this tally.
    fn merge(&mut self, other: Tally) {
        self.accepted = self.accepted.saturating_add(other.accepted);
        self.last_used_at = self.last_used_at.max(other.last_used_at);
        for (slug, n) in other.refusals {
            self.add_refusal(slug, n);
        }
        if let Some((slug, at)) = other.last_refusal {
            self.note_refusal(slug, at);
        }
    }

    fn add_refusal(&mut self, slug: ErrorSlug, n: u64) {
        match self.refusals.iter_mut().find(|(s, _)| *s == slug) {
            Some((_, count)) => *count = count.saturating_add(n),
            None => self.refusals.push((slug, n)),
        }
    }

    fn note_refusal(&mut self, slug: ErrorSlug, at: UnixTime) {
        if self.last_refusal.is_none_or(|(_, last)| at >= last) {
            self.last_refusal = Some((slug, at));
        }
    }

    /// The tally as the store adds it.
    fn delta(&self, key_id: Uuid) -> UsageDelta {
        UsageDelta {
            key_id,
            accepted: self.accepted,
            last_used_at: self.last_used_at,
            refusals: self
                .refusals
                .iter()
                .map(|(slug, n)| (slug.as_str(), *n))
                .collect(),
            last_refusal: self.last_refusal.map(|(slug, at)| (slug.as_str(), at)),
        }
    }
}

/// The node's usage counts since the last flush, by public key id.
pub struct UsageCounter {
    shards: Box<[Mutex<HashMap<Uuid, Tally>>]>,
    /// Whether the last flush failed (its warning is logged once per outage).
    failing: AtomicBool,
}

impl Default for UsageCounter {
    fn default() -> Self {
        UsageCounter::new()
    }
}

impl std::fmt::Debug for UsageCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageCounter").finish_non_exhaustive()
    }
}

impl UsageCounter {
    /// An empty counter.
    pub fn new() -> UsageCounter {
        UsageCounter {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            failing: AtomicBool::new(false),
        }
    }

    fn shard(&self, key_id: Uuid) -> MutexGuard<'_, HashMap<Uuid, Tally>> {
        // Key ids are random (UUID v4): their low bits spread keys evenly.
        let index = (key_id.as_u64_pair().1 as usize) % SHARDS;
        let shard = &self.shards[index];
        // A panic while holding the lock cannot leave a tally half-updated in a way that
        // matters (counts only); carry on with the map.
        shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A signed call with `key_id` was accepted at `now`.
    pub fn accepted(&self, key_id: Uuid, now: UnixTime) {
        let mut shard = self.shard(key_id);
        let tally = shard.entry(key_id).or_default();
        tally.accepted = tally.accepted.saturating_add(1);
        tally.last_used_at = tally.last_used_at.max(Some(now));
    }

    /// A signed call counted against `key_id` was refused with `slug` at `now`.
    pub fn refused(&self, key_id: Uuid, slug: ErrorSlug, now: UnixTime) {
        let mut shard = self.shard(key_id);
        let tally = shard.entry(key_id).or_default();
        tally.add_refusal(slug, 1);
        tally.note_refusal(slug, now);
    }

    /// Takes everything counted so far, leaving the counter empty (and its maps' memory freed).
    pub fn drain(&self) -> Vec<(Uuid, Tally)> {
        let mut out = Vec::new();
        for index in 0..self.shards.len() {
            let taken = {
                let mut shard = self.shards[index]
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                std::mem::take(&mut *shard)
            };
            out.extend(taken);
        }
        out
    }

    /// Puts back tallies a flush could not write, added to what was counted since.
    pub fn restore(&self, tallies: Vec<(Uuid, Tally)>) {
        for (key_id, tally) in tallies {
            self.shard(key_id).entry(key_id).or_default().merge(tally);
        }
    }

    /// Keys with counts not yet flushed.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |m| m.len()))
            .sum()
    }

    /// Whether nothing is waiting to be flushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds everything counted so far to the database in one transaction. On failure the counts
    /// are kept for the next flush, and a warning is logged once until a flush succeeds again.
    pub async fn flush(&self, store: &Store) {
        let tallies = self.drain();
        if tallies.is_empty() {
            return;
        }
        let batch: Vec<UsageDelta> = tallies.iter().map(|(id, t)| t.delta(*id)).collect();
        match store.record_usage(&batch).await {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(keys = batch.len(), "usage counts written again");
                }
            }
            Err(e) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "writing usage counts failed; kept for the next flush");
                }
                self.restore(tallies);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn counts_refusals_by_slug_and_keeps_the_latest_instants() {
        let counter = UsageCounter::new();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        counter.accepted(a, 100);
        counter.accepted(a, 90); // an older clock reading never moves last_used_at back
        counter.refused(a, ErrorSlug::SignatureStale, 101);
        counter.refused(a, ErrorSlug::SignatureStale, 102);
        counter.refused(a, ErrorSlug::SignatureInvalid, 99);
        counter.refused(b, ErrorSlug::PublicKeyRevoked, 50);
        assert_eq!(counter.len(), 2);

        let mut drained: HashMap<Uuid, Tally> = counter.drain().into_iter().collect();
        assert!(counter.is_empty(), "a drain empties the counter");
        let ta = drained.remove(&a).unwrap();
        assert_eq!(ta.accepted, 2);
        assert_eq!(ta.last_used_at, Some(100));
        assert_eq!(
            ta.refusals,
            vec![
                (ErrorSlug::SignatureStale, 2),
                (ErrorSlug::SignatureInvalid, 1)
            ]
        );
        assert_eq!(ta.last_refusal, Some((ErrorSlug::SignatureStale, 102)));
        let tb = drained.remove(&b).unwrap();
        assert_eq!((tb.accepted, tb.last_used_at), (0, None));
        assert_eq!(tb.last_refusal, Some((ErrorSlug::PublicKeyRevoked, 50)));

        let delta = ta.delta(a);
        assert_eq!(
            delta.refusals,
            vec![("signature_stale", 2), ("signature_invalid", 1)]
        );
        assert_eq!(delta.last_refusal, Some(("signature_stale", 102)));
    }

    #[test]
    fn restored_counts_add_to_what_was_counted_meanwhile() {
        let counter = UsageCounter::new();
        let a = Uuid::new_v4();
        counter.accepted(a, 10);
        counter.refused(a, ErrorSlug::SignatureReplayed, 11);
        let failed = counter.drain();
        counter.accepted(a, 20);
        counter.refused(a, ErrorSlug::SignatureReplayed, 5);
        counter.restore(failed);
        let all = counter.drain();
        assert_eq!(all.len(), 1);
        let t = &all[0].1;
        assert_eq!(t.accepted, 2);
        assert_eq!(t.last_used_at, Some(20));
        assert_eq!(t.refusals, vec![(ErrorSlug::SignatureReplayed, 2)]);
        assert_eq!(t.last_refusal, Some((ErrorSlug::SignatureReplayed, 11)));
    }

    /// Threads count while another drains over and over: every call is counted exactly once.
    #[test]
    fn concurrent_counting_and_draining_lose_nothing() {
        const THREADS: u64 = 8;
        const CALLS: u64 = 20_000;
        let counter = Arc::new(UsageCounter::new());
        let keys: Arc<Vec<Uuid>> = Arc::new((0..32).map(|_| Uuid::new_v4()).collect());
        let done = Arc::new(AtomicBool::new(false));
        let drainer = {
            let (counter, done) = (counter.clone(), done.clone());
            std::thread::spawn(move || {
                let mut seen: Vec<(Uuid, Tally)> = Vec::new();
                while !done.load(Ordering::SeqCst) {
                    seen.extend(counter.drain());
                    std::thread::yield_now();
                }
                seen
            })
        };
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (counter, keys) = (counter.clone(), keys.clone());
                std::thread::spawn(move || {
                    for i in 0..CALLS {
                        let key = keys[usize::try_from((i + t) % 32).unwrap()];
                        if i % 4 == 0 {
                            counter.refused(key, ErrorSlug::SignatureInvalid, 7);
                        } else {
                            counter.accepted(key, 7);
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let mut seen = drainer.join().unwrap();
        seen.extend(counter.drain());
        let accepted: u64 = seen.iter().map(|(_, t)| t.accepted).sum();
        let refused: u64 = seen
            .iter()
            .flat_map(|(_, t)| t.refusals.iter().map(|(_, n)| *n))
            .sum();
        assert_eq!(accepted, THREADS * CALLS * 3 / 4);
        assert_eq!(refused, THREADS * CALLS / 4);
        assert!(counter.is_empty());
    }
}
