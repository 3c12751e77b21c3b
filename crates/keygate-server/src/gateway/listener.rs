//! The node's view of its database (docs/operations.md): whether it answers, and — on
//! PostgreSQL — whether this node hears every cache invalidation. The same subscription hears
//! when an event a webhook may want was committed, and wakes the webhook relay.
//!
//! The invalidation listener subscribes on a connection of its own. When that connection is
//! lost, or when the node's own heartbeat (a NOTIFY it sends itself every 200 ms) has not been
//! heard for 600 ms, the caches are suspended (nothing served from memory, nothing kept), the
//! subscription is dropped and made again, and only once LISTEN is back are the caches cleared
//! and resumed. So a revoke acknowledged on another node is never missed for longer than that:
//! either this node hears it, or within 800 ms it is reading the database on every request —
//! even when only its listener's connection is silently cut.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use keygate_store::{Invalidations, Store, WEBHOOK_EVENTS_PAYLOAD};

use super::health::HEARTBEAT_PREFIX;
use super::Gateway;

/// How often the database is probed (for `/metrics`).
const PROBE: Duration = Duration::from_secs(1);
/// How often the heartbeat is sent, and how long it may go unheard: a revoke must reach every
/// node within 1 s (issue 9), so a silent listener must be noticed well within that.
const HEARTBEAT: Duration = Duration::from_millis(200);
const DEAF_AFTER: Duration = Duration::from_millis(600);
/// Longest wait between two attempts to subscribe again.
const MAX_RETRY: Duration = Duration::from_secs(1);

/// Starts the invalidation listener (PostgreSQL) and the database monitor. Both stop by
/// themselves once the gateway is dropped.
pub fn spawn(store: Store, gateway: &Arc<Gateway>) {
    if store.is_shared() {
        tokio::spawn(listen(store.clone(), Arc::downgrade(gateway)));
        tokio::spawn(heartbeat(store.clone(), Arc::downgrade(gateway)));
    }
    tokio::spawn(monitor(store, Arc::downgrade(gateway)));
}

/// Subscribes until it works, then applies every notification until the subscription is lost
/// or deaf; then again.
async fn listen(store: Store, weak: Weak<Gateway>) {
    let mut retry = Duration::from_millis(50);
    let mut lost_since: Option<Instant> = None;
    loop {
        {
            let Some(gw) = weak.upgrade() else { return };
            gw.health.listening.store(false, Ordering::Relaxed);
            gw.caches.suspend();
        }
        let mut listener: Invalidations = match store.invalidations().await {
            Ok(Some(listener)) => listener,
            Ok(None) => return,
            Err(e) if e.is_closed() => return,
            Err(e) => {
                if lost_since.is_none() {
                    tracing::warn!(error = %e, "cannot LISTEN for cache invalidations; caching is off until it can");
                    lost_since = Some(Instant::now());
                }
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(MAX_RETRY);
                continue;
            }
        };
        retry = Duration::from_millis(50);
        {
            let Some(gw) = weak.upgrade() else { return };
            gw.health.heard();
            // Order matters: LISTEN is established (above), then the caches are emptied and
            // trusted again; anything cached before may have missed a notification.
            gw.caches.resume();
            gw.health.listening.store(true, Ordering::Relaxed);
            if let Some(since) = lost_since.take() {
                tracing::info!(
                    after = ?since.elapsed(),
                    "listening for cache invalidations again; caches emptied"
                );
            }
            gw.reload_keyring(&store, gw.clock.now()).await;
        }
        loop {
            let deaf = {
                let Some(gw) = weak.upgrade() else { return };
                let health = gw.health.clone();
                let limit = DEAF_AFTER;
                // A wake-up left over from before this subscription is checked and ignored.
                async move {
                    loop {
                        health.deaf.notified().await;
                        if health.silent_for() > limit {
                            break;
                        }
                    }
                }
            };
            // `recv` is cancelled only when the heartbeat is not heard, and then the whole
            // subscription is dropped and made again, so no notification can be half-read.
            let message = tokio::select! {
                message = listener.recv() => message,
                () = deaf => {
                    tracing::warn!("cache invalidation listener does not hear its heartbeat; subscribing again");
                    lost_since = Some(Instant::now());
                    break;
                }
            };
            let Some(gw) = weak.upgrade() else { return };
            match message {
                Ok(Some(payload)) if payload == gw.health.heartbeat => gw.health.heard(),
                Ok(Some(payload)) if payload.starts_with(HEARTBEAT_PREFIX) => {}
                Ok(Some(payload)) if payload == "system_keys" => {
                    gw.reload_keyring(&store, gw.clock.now()).await
                }
                // An event a webhook may want was committed (on any node): wake this node's
                // relay now rather than at its next poll (docs/webhooks.md, "Delivery").
                Ok(Some(payload)) if payload == WEBHOOK_EVENTS_PAYLOAD => store.wake_webhooks(),
                Ok(Some(payload)) => gw.caches.apply(&payload),
                Ok(None) => {
                    tracing::warn!(
                        "cache invalidation listener lost its connection; subscribing again"
                    );
                    lost_since = Some(Instant::now());
                    break;
                }
                // The node is stopping: its pools were closed.
                Err(e) if e.is_closed() => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cache invalidation listener failed; subscribing again");
                    lost_since = Some(Instant::now());
                    break;
                }
            }
        }
        drop(listener);
    }
}

/// Every second: probe the database (for `/metrics`; `/readyz` probes by itself).
async fn monitor(store: Store, weak: Weak<Gateway>) {
    let mut tick = tokio::time::interval(PROBE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(gw) = weak.upgrade() else { return };
        let probed = store.ping().await;
        if probed.as_ref().is_err_and(|e| e.is_closed()) {
            return; // the node is stopping
        }
        if let Err(e) = &probed {
            if gw.health.is_up() {
                tracing::warn!(error = %e, "database probe failed");
            }
        }
        gw.health.set_up(probed.is_ok());
    }
}

/// PostgreSQL, while subscribed: wake the listener when its heartbeat has gone unheard for
/// `DEAF_AFTER`, and send the next one (never waiting longer than one interval for it).
async fn heartbeat(store: Store, weak: Weak<Gateway>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(gw) = weak.upgrade() else { return };
        if !gw.health.is_listening() {
            continue;
        }
        if gw.health.silent_for() > DEAF_AFTER {
            gw.health.deaf.notify_one();
        }
        let health = gw.health.clone();
        drop(gw);
        match tokio::time::timeout(HEARTBEAT, store.notify(&health.heartbeat)).await {
            Ok(Err(e)) if e.is_closed() => return, // the node is stopping
            Ok(Err(e)) => tracing::debug!(error = %e, "heartbeat not sent"),
            _ => {}
        }
    }
}
