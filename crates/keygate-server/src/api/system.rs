//! keygate's own public keys: `GET /system/public_key` and `GET /.well-known/jwks.json`.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::ok;
use crate::state::AppState;

pub async fn public_key(State(state): State<AppState>) -> Response {
    let ring = state.gateway.keyring();
    let key = &ring.current;
    ok(
        StatusCode::OK,
        json!({
            "kid": key.kid(),
            "public_key": key.public_pem(),
            "jwk": key.jwk(),
            "algorithms": ["jwe", "rsa-oaep-256"],
        }),
    )
}

/// A bare JWK Set: the current key first, then keys in their grace period.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let ring = state.gateway.keyring();
    let keys: Vec<Value> = ring
        .decrypting(state.now())
        .iter()
        .map(|k| k.jwk())
        .collect();
    let mut response = Json(json!({ "keys": keys })).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    response
}
