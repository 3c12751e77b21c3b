use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use keygate_api::{Envelope, Liveness, Readiness};

use crate::error::{ok, ApiError};
use crate::state::AppState;

/// Liveness: the process answers.
#[utoipa::path(
    get, path = "/healthz", operation_id = "healthz", tag = "operations",
    responses((status = 200, body = Envelope<Liveness>, description = "Alive"))
)]
pub async fn healthz() -> Response {
    let status = "alive".into();
    ok(StatusCode::OK, Liveness { status })
}

/// Ready when the database answers within `database_timeout` on the probe's own connection,
/// every migration is applied and (SQLite) the file can be written (docs/operations.md).
#[utoipa::path(
    get, path = "/readyz", operation_id = "readyz", tag = "operations",
    responses((status = 200, body = Envelope<Readiness>,
        description = "Ready: the database is reachable, migrated and (SQLite) writable"))
)]
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
    let ready = Readiness {
        status: "ready".into(),
        database: state.store.backend_name().into(),
    };
    Ok(ok(StatusCode::OK, ready))
}
