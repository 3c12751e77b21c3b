//! What every handler shares.

use std::sync::Arc;

use keygate_core::model::UnixTime;
use keygate_registry::{Registry, RegistrySettings};
use keygate_store::Store;

use crate::config::Settings;
use crate::gateway::Gateway;

/// The state of a node, cloned into every handler (each field is cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// The store, for what is not a registry rule (health, system keys, the gateway's tables).
    pub store: Store,
    /// The settings the node was started with; never changed while it runs.
    pub settings: Arc<Settings>,
    /// The registry service: every key-lifecycle and login rule, and the one clock
    /// (docs/architecture.md).
    pub registry: Registry,
    /// Routes, caches, replay guard and system keys of this node.
    pub gateway: Arc<Gateway>,
}

impl AppState {
    /// Now, from the one clock (the registry's): the core takes time as an argument.
    pub fn now(&self) -> UnixTime {
        self.registry.now()
    }
}

/// The settings of the registry's rules, from the server's configuration.
pub fn registry_settings(settings: &Settings) -> RegistrySettings {
    RegistrySettings {
        key_validity: settings.key_validity,
        rotation_overlap: settings.rotation_overlap,
        key_expiry_warning: settings.key_expiry_warning,
        allowed_key_bits: settings.allowed_key_bits.clone(),
        token_ttl: settings.token_ttl,
        login_max_failures_per_key: settings.login_max_failures_per_key,
        login_max_failures_per_address: settings.login_max_failures_per_address,
        login_failure_window: settings.login_failure_window,
        login_max_concurrent: settings.login_max_concurrent,
        login_queue_timeout: settings.login_queue_timeout,
        audit_retention: settings.audit_retention,
    }
}
