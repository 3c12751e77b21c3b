//! The database's state as this node sees it (docs/operations.md): kept up to date by the
//! `listener`, read by `/metrics` and `/readyz`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The heartbeat payload's prefix (other nodes ignore payloads they do not know).
pub(super) const HEARTBEAT_PREFIX: &str = "heartbeat:";

/// What `/metrics` and `/readyz` report about the database.
pub struct DbHealth {
    /// The last probe's answer (the monitor's, or `/readyz`'s).
    pub(super) up: AtomicBool,
    /// The invalidation listener is subscribed and its heartbeat is heard.
    pub(super) listening: AtomicBool,
    /// The heartbeat payload of this node.
    pub(super) heartbeat: String,
    /// Milliseconds since `started` when this node last heard its own heartbeat.
    pub(super) heard_at_ms: AtomicU64,
    pub(super) started: Instant,
    /// Wakes the listener when the heartbeat has not been heard in time.
    pub(super) deaf: Notify,
}

impl DbHealth {
    /// A node's health at start: database up (until a query says otherwise), not yet listening.
    pub fn new() -> DbHealth {
        DbHealth {
            up: AtomicBool::new(true),
            listening: AtomicBool::new(false),
            heartbeat: format!("{HEARTBEAT_PREFIX}{}", uuid::Uuid::new_v4().simple()),
            heard_at_ms: AtomicU64::new(0),
            started: Instant::now(),
            deaf: Notify::new(),
        }
    }

    /// Was the database reachable and writable at the last check?
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Record the database's reachability; a change is logged once, not on every request.
    pub fn set_up(&self, up: bool) {
        let was = self.up.swap(up, Ordering::Relaxed);
        if was && !up {
            tracing::warn!("database unreachable or unwritable: requests that need it answer 503");
        } else if !was && up {
            tracing::info!("database reachable again");
        }
    }

    /// Is the invalidation listener subscribed and hearing its own heartbeat?
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(super) fn heard(&self) {
        self.heard_at_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    pub(super) fn silent_for(&self) -> Duration {
        Duration::from_millis(
            self.now_ms()
                .saturating_sub(self.heard_at_ms.load(Ordering::Relaxed)),
        )
    }
}

impl Default for DbHealth {
    fn default() -> Self {
        DbHealth::new()
    }
}
