//! The JSON API (docs/architecture.md): thin handlers over `auth` and `registry`, answering
//! with the wire types of `keygate-api` (built in `view`); `/openapi.json` is derived from both.

mod audit;
mod auth;
mod check;
mod health;
pub mod json;
mod keys;
mod openapi;
mod successor;
mod system;
pub(crate) mod view;

use axum::routing::{get, post, put};

use crate::own_routes::OwnRoutes;

/// The JSON API's routes (login, keys, system key, health, metrics, OpenAPI), without state;
/// `crate::router` merges them with the web page's.
pub fn router() -> OwnRoutes {
    OwnRoutes::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route(
            "/clients/api_key/public_key",
            post(keys::upload).get(keys::current).delete(keys::revoke),
        )
        .route(
            "/clients/api_key/public_key/successor",
            put(successor::stage)
                .get(successor::current)
                .delete(successor::withdraw),
        )
        .route(
            "/clients/api_key/public_key/successor/activate",
            post(successor::activate),
        )
        .route(
            "/clients/api_key/public_key/check",
            post(check::check_signature),
        )
        .route(
            "/clients/api_key/public_key/check/encryption",
            get(check::new_challenge).post(check::answer_challenge),
        )
        .route("/clients/api_key/public_keys", get(keys::list))
        .route("/clients/api_key/audit", get(audit::trail))
        .route("/clients/api_key/public_keys/{id}", get(keys::view))
        .route("/system/public_key", get(system::public_key))
        .route("/.well-known/jwks.json", get(system::jwks))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(crate::telemetry::metrics_endpoint))
        .route("/openapi.json", get(openapi::openapi))
}
