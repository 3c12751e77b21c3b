use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::error::{ok, ApiError};
use crate::state::AppState;

pub async fn healthz() -> Response {
    ok(StatusCode::OK, json!({"status": "alive"}))
}

/// Ready when the database answers; migrations ran before the listener opened.
pub async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::NotReady("the database is unreachable")
    })?;
    Ok(ok(
        StatusCode::OK,
        json!({"status": "ready", "database": state.store.backend_name()}),
    ))
}
