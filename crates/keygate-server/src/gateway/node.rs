//! The gateway itself: its routes, caches, replay guard and system keys, and the key ring's
//! reload.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use keygate_core::jose::SignaturePolicy;
use keygate_registry::Clock;
use keygate_store::Store;

use super::cache::Caches;
use super::health::DbHealth;
use super::replay::ReplayGuard;
use super::routes::RouteTable;
use super::usage::UsageCounter;
use crate::system_key::{load_keyring, Keyring, MasterKey};

/// Entries in each cache (keys, sessions).
const CACHE_CAPACITY: usize = 100_000;

/// One node's gateway: routes, upstream client, caches, replay guard, system keys.
pub struct Gateway {
    /// The configured routes, compiled, with their upstream clients.
    pub routes: RouteTable,
    /// Key states and sessions by token, dropped on upload, revoke and logout.
    pub caches: Caches,
    /// The database's state as this node sees it (`/readyz`, `/metrics`).
    pub health: Arc<DbHealth>,
    /// Where each signature's `jti` is recorded before forwarding.
    pub replay: ReplayGuard,
    /// Signed calls counted per key since the last flush (docs/design.md §5, "Usage").
    pub usage: UsageCounter,
    /// `usage_flush_interval`: how often `usage` is added to the database.
    pub usage_flush_interval: Duration,
    keyring: RwLock<Arc<Keyring>>,
    master: MasterKey,
    grace_secs: i64,
    /// The signature checks' settings (`signature_max_skew`).
    pub policy: SignaturePolicy,
    pub(super) max_body: usize,
    pub(super) max_upstream_body: usize,
    /// keygate's own cookie names (the web page's), never forwarded either way.
    pub(super) own_cookies: &'static [&'static str],
    /// `trust_forwarded_for`: who called, for the upstream's `X-Forwarded-For`.
    pub(super) trust_forwarded: bool,
    /// The one clock, the registry's (docs/architecture.md), read by the background tasks.
    pub clock: Clock,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

/// What a gateway is made of, prepared by `Application::build`.
pub struct GatewayParts {
    /// The compiled routes.
    pub routes: RouteTable,
    /// The system keys loaded at start; a background task reloads them from the database every
    /// few seconds (another node may have rotated them).
    pub keyring: Keyring,
    /// Opens the stored (sealed) system keys each time the key ring is reloaded.
    pub master: MasterKey,
    /// `system_key_grace`: how long a rotated-out system key keeps decrypting.
    pub grace: Duration,
    /// `signature_max_skew`.
    pub max_skew: Duration,
    /// `max_body_bytes`: the largest request body forwarded.
    pub max_body: usize,
    /// `max_upstream_body_bytes`: the largest upstream answer read.
    pub max_upstream_body: usize,
    /// The web page's cookie names (`web::session::OWN_COOKIES`), passed in so that the gateway
    /// imports nothing of the web page.
    pub own_cookies: &'static [&'static str],
    /// `trust_forwarded_for`.
    pub trust_forwarded_for: bool,
    /// The registry's clock (docs/architecture.md, "One clock").
    pub clock: Clock,
    /// `usage_flush_interval`.
    pub usage_flush_interval: Duration,
}

impl Gateway {
    /// The gateway of a node on `store` (whose kind sets the caches' age limit).
    pub fn new(store: &Store, parts: GatewayParts) -> Result<Gateway, String> {
        // With PostgreSQL, NOTIFY invalidates at once; the age limit only covers a lost
        // connection. With SQLite the age limit (1 s) covers `keygate admin` run from another
        // process, which cannot reach this node's memory.
        let max_age = if store.is_shared() {
            Duration::from_secs(30)
        } else {
            Duration::from_secs(1)
        };
        Ok(Gateway {
            routes: parts.routes,
            // On PostgreSQL the caches are used only once the listener has subscribed.
            caches: Caches::new(CACHE_CAPACITY, max_age, !store.is_shared()),
            health: Arc::new(DbHealth::new()),
            replay: ReplayGuard::for_store(store),
            usage: UsageCounter::new(),
            usage_flush_interval: parts.usage_flush_interval,
            keyring: RwLock::new(Arc::new(parts.keyring)),
            master: parts.master,
            grace_secs: i64::try_from(parts.grace.as_secs()).unwrap_or(i64::MAX),
            policy: SignaturePolicy {
                max_skew_secs: i64::try_from(parts.max_skew.as_secs()).unwrap_or(300),
                ..SignaturePolicy::default()
            },
            max_body: parts.max_body,
            max_upstream_body: parts.max_upstream_body,
            own_cookies: parts.own_cookies,
            trust_forwarded: parts.trust_forwarded_for,
            clock: parts.clock,
        })
    }

    /// The system keys as this node holds them now.
    pub fn keyring(&self) -> Arc<Keyring> {
        match self.keyring.read() {
            Ok(ring) => ring.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the system keys (after a rotation by any node or by `keygate admin`).
    pub async fn reload_keyring(&self, store: &Store, now: i64) {
        match load_keyring(store, &self.master, now, self.grace_secs, None).await {
            Ok(ring) => {
                if let Ok(mut slot) = self.keyring.write() {
                    *slot = Arc::new(ring);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reloading the system keys failed; keeping the ones loaded")
            }
        }
    }
}
