//! The gateway's background work, stopped by itself once the gateway is dropped.

use std::sync::{Arc, Weak};
use std::time::Duration;

use keygate_store::Store;

use super::{listener, Gateway};

/// Starts the node's background work: the invalidation listener (PostgreSQL) and the database
/// monitor (see `listener`), the replay purge, the key ring refresh and the usage flush. It
/// stops by itself once the gateway is dropped.
pub fn spawn_background(store: Store, gateway: &Arc<Gateway>) {
    listener::spawn(store.clone(), gateway);
    // Periodic work: purge old jtis, refresh the system keys, write the usage counts.
    let weak: Weak<Gateway> = Arc::downgrade(gateway);
    tokio::spawn(async move {
        let mut purge = tokio::time::interval(Duration::from_secs(10));
        let mut refresh = tokio::time::interval(Duration::from_secs(5));
        let flush_every = weak
            .upgrade()
            .map_or(Duration::from_secs(5), |gw| gw.usage_flush_interval);
        let mut flush = tokio::time::interval(flush_every);
        // A flush that took long (a slow database) is not followed by a burst of catch-ups.
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = purge.tick() => {
                    let Some(gw) = weak.upgrade() else { break };
                    gw.replay.purge(&store, gw.clock.now()).await;
                }
                _ = refresh.tick() => {
                    let Some(gw) = weak.upgrade() else { break };
                    gw.reload_keyring(&store, gw.clock.now()).await;
                }
                _ = flush.tick() => {
                    let Some(gw) = weak.upgrade() else { break };
                    gw.usage.flush(&store).await;
                }
            }
        }
    });
}
