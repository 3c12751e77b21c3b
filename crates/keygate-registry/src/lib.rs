//! The registry service: the one owner of the key lifecycle and login rules
//! (docs/architecture.md). It sits between the pure core (`keygate-core`, no I/O, time passed
//! in) and the callers — the JSON API, the web page, the gateway and `keygate admin` — which
//! all go through [`Registry`]. It knows nothing of HTTP: it returns domain types and
//! [`RegistryError`], which the HTTP layer maps to statuses and texts in one place.
//!
//! - `keys`: upload, revoke, the one definition of "the active key" ([`CurrentKey`]), the status
//!   table and view key;
//! - `successor`: stage, read, withdraw and activate a successor (docs/design.md §2, "Rotation");
//! - `login`: login (limits, password-check slots, the dummy hash), logout, session lookup;
//! - `accounts`: clients, API keys and the demo client;
//! - `audit`: what each change appends to the audit trail, the time-driven events, retention,
//!   a client's trail and the chain's verification (docs/design.md §11);
//! - `checks`: the self-check's encryption challenges (single use, short-lived);
//! - `credentials`: argon2 hashing, secrets and token digests;
//! - `clock`: the one clock.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod accounts;
mod audit;
mod checks;
pub mod clock;
pub mod credentials;
mod error;
mod keys;
mod login;
mod successor;

use std::sync::Arc;
use std::time::Duration;

use keygate_core::model::UnixTime;
use keygate_core::public_key::KeyPolicy;
use keygate_store::Store;
use uuid::Uuid;

pub use accounts::{DemoClient, NewApiKey};
pub use audit::{ChainReport, MAX_AUDIT_PAGE};
pub use checks::{Challenge, CHALLENGES_PER_API_KEY, CHALLENGE_TTL_SECS};
pub use clock::{Clock, ManualTime};
pub use error::RegistryError;
pub use keys::{CurrentKey, KeyTable};
pub use login::{check_login_input, MalformedLogin, Session, MAX_API_KEY_LEN, MAX_PASSWORD_LEN};

/// The settings the registry's rules read (a subset of the server's configuration).
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// How long an uploaded key stays valid (`key_validity`); a successor's validity counts
    /// from its activation.
    pub key_validity: Duration,
    /// How long the previous key keeps being accepted after its successor is activated
    /// (`rotation_overlap`; zero: it is revoked at once).
    pub rotation_overlap: Duration,
    /// How long before the active key expires gateway answers announce it while no successor
    /// is staged (`key_expiry_warning`).
    pub key_expiry_warning: Duration,
    /// The RSA sizes an upload may have (`allowed_key_bits`).
    pub allowed_key_bits: Vec<u32>,
    /// How long a session lives (`token_ttl`).
    pub token_ttl: Duration,
    /// Failed logins counted per API key within the window (`login_max_failures_per_key`).
    pub login_max_failures_per_key: u32,
    /// Failed logins counted per address within the window (`login_max_failures_per_address`).
    pub login_max_failures_per_address: u32,
    /// The window failed logins are counted in (`login_failure_window`).
    pub login_failure_window: Duration,
    /// Password checks that may run at once (`login_max_concurrent`).
    pub login_max_concurrent: usize,
    /// How long a login waits for a password-check slot (`login_queue_timeout`).
    pub login_queue_timeout: Duration,
    /// How long audit events are kept (`audit_retention`, docs/audit.md).
    pub audit_retention: Duration,
}

/// Told when a key or a session changes, so a node's caches drop what they hold at once (other
/// nodes hear it from the database, docs/operations.md).
pub trait Invalidate: Send + Sync {
    /// The API key's key was uploaded or revoked.
    fn key_changed(&self, api_key_id: Uuid);
    /// The session with this token hash ended (logout).
    fn session_ended(&self, token_hash: &str);
}

/// For a registry with no caches to tell (`keygate admin`, tests).
struct NoCaches;

impl Invalidate for NoCaches {
    fn key_changed(&self, _: Uuid) {}
    fn session_ended(&self, _: &str) {}
}

/// The registry service: the store, the clock, the key policy and the settings the rules need.
/// Cheap to clone (everything is shared).
#[derive(Clone)]
pub struct Registry {
    store: Store,
    clock: Clock,
    settings: Arc<RegistrySettings>,
    key_policy: Arc<KeyPolicy>,
    /// Slots for argon2 password checks (`login_max_concurrent`), so a flood of logins holds a
    /// bounded amount of memory.
    password_checks: Arc<tokio::sync::Semaphore>,
    /// An argon2id hash of a random password, verified against when a login names an unknown
    /// API key, so that answer costs the same time as a wrong password. Made on first use.
    dummy_hash: Arc<tokio::sync::OnceCell<String>>,
    caches: Arc<dyn Invalidate>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("clock", &self.clock)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// A registry over `store`, reading *now* from `clock`.
    pub fn new(store: Store, clock: Clock, settings: RegistrySettings) -> Registry {
        let key_policy = KeyPolicy {
            allowed_bits: settings.allowed_key_bits.clone(),
        };
        Registry {
            store,
            clock,
            password_checks: Arc::new(tokio::sync::Semaphore::new(settings.login_max_concurrent)),
            settings: Arc::new(settings),
            key_policy: Arc::new(key_policy),
            dummy_hash: Arc::new(tokio::sync::OnceCell::new()),
            caches: Arc::new(NoCaches),
        }
    }

    /// The same registry, telling `caches` about every upload, revoke and logout.
    #[must_use]
    pub fn with_caches(mut self, caches: Arc<dyn Invalidate>) -> Registry {
        self.caches = caches;
        self
    }

    /// Now, from the one clock.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// The one clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The store underneath (for what is not a registry rule: health, system keys, gateway).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings the rules read.
    pub fn settings(&self) -> &RegistrySettings {
        &self.settings
    }

    /// The key policy uploads are checked against.
    pub fn key_policy(&self) -> &KeyPolicy {
        &self.key_policy
    }
}

impl Registry {
    /// `key_expiry_warning` in seconds.
    pub fn expiry_warning_secs(&self) -> i64 {
        secs(self.settings.key_expiry_warning)
    }
}

/// Seconds of a `Duration` as the store's signed time, saturating.
fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod test_support;
