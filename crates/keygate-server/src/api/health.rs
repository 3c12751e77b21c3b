use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::error::{ok, ApiError};
use crate::state::AppState;

pub async fn healthz() -> Response {
    ok(StatusCode::OK, json!({"status": "alive"}))
}

/// Ready when the database answers within `database_timeout` on the probe's own connection,
/// every migration is applied and (SQLite) the file can be written (docs/operations.md).
pub async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    let probed = state.store.ping().await;
    state.gateway.health.set_up(probed.is_ok());
    probed.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::NotReady(match e {
            keygate_store::StoreError::Unwritable { .. } => "the database cannot be written",
            _ => "the database is unreachable",
        })
    })?;
    Ok(ok(
        StatusCode::OK,
        json!({"status": "ready", "database": state.store.backend_name()}),
    ))
}
