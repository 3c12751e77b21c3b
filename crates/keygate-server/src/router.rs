//! The router: keygate's own routes — the JSON API's and the web page's — composed once, with
//! the gateway as fallback. `front` reads the first path segments from the same
//! [`own_routes`], so the router and the front door's split cannot disagree.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::response::Response;
use axum::Router;

use crate::error::ApiError;
use crate::own_routes::OwnRoutes;
use crate::state::AppState;
use crate::telemetry;

/// Every route keygate serves itself: the JSON API and the web page.
pub fn own_routes() -> OwnRoutes {
    crate::api::router().merge(crate::web::router())
}

/// keygate's own routes ([`own_routes`]) with the gateway as their fallback.
///
/// The layers here apply to keygate's own routes only: the front door sends the gateway's
/// traffic past this router. A concern for every request (ids, spans, logs, metrics, limits)
/// goes in `front::Front` instead, which wraps both (docs/architecture.md).
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    own_routes()
        .into_router(&state)
        .fallback(gateway_fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(telemetry::label_route))
        .with_state(state)
}

/// A path under one of keygate's own first segments that no route of the router serves.
async fn gateway_fallback(State(state): State<AppState>, request: Request) -> Response {
    let now = state.now();
    state.gateway.handle(&state.registry, now, request).await
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
