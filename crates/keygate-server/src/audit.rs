//! The node's audit sweep (docs/design.md §11): every `audit_sweep_interval`, the registry
//! records the time-driven key events that are due and prunes events older than
//! `audit_retention`. Every node runs it; the registry's append lock makes each event appear
//! once.

use crate::state::AppState;

/// Runs the sweep while the node serves (aborted with the server).
pub async fn sweep(state: AppState) {
    let mut tick = tokio::time::interval(state.settings.audit_sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        state.registry.audit_sweep().await;
    }
}
