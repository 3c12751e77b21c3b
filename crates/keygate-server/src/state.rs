//! What every handler shares.

use std::sync::Arc;

use keygate_core::model::UnixTime;
use keygate_core::public_key::KeyPolicy;
use keygate_registry::Clock;
use keygate_store::Store;

use crate::config::Settings;
use crate::gateway::Gateway;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub key_policy: Arc<KeyPolicy>,
    /// An argon2id hash of a random password, verified against when a login names an unknown
    /// API key, so that answer costs the same time as a wrong password.
    pub dummy_password_hash: Arc<str>,
    /// Slots for argon2 password checks (`login_max_concurrent`), so a flood of logins holds
    /// a bounded amount of memory (`auth::login`).
    pub password_checks: Arc<tokio::sync::Semaphore>,
    /// Routes, caches, replay guard and system keys of this node.
    pub gateway: Arc<Gateway>,
    /// The one clock (docs/architecture.md): tests set it instead of sleeping.
    pub clock: Clock,
}

impl AppState {
    /// The clock, read in one place: the core takes time as an argument.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }
}
