//! keygate's own public keys: `GET /system/public_key` and `GET /.well-known/jwks.json`.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keygate_api::{Envelope, JwkSet, SystemKey};

use super::view;
use crate::error::{ok, ApiError};
use crate::state::AppState;

/// keygate's own encryption key, for confidential request fields.
#[utoipa::path(
    get, path = "/system/public_key", operation_id = "systemPublicKey", tag = "system",
    responses((status = 200, body = Envelope<SystemKey>, description = "The current system key"))
)]
pub async fn public_key(State(state): State<AppState>) -> Result<Response, ApiError> {
    let ring = state.gateway.keyring();
    let key = &ring.current;
    let answer = SystemKey {
        kid: key.kid().to_owned(),
        public_key: key.public_pem(),
        jwk: view::jwk(key.jwk())?,
        algorithms: vec!["jwe".into(), "rsa-oaep-256".into()],
    };
    Ok(ok(StatusCode::OK, answer))
}

/// keygate's public keys as a bare JWK Set (no envelope): the current key first, then keys in
/// their grace period.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", operation_id = "jwks", tag = "system",
    responses((status = 200, body = JwkSet, description = "JWK Set",
        headers(("Cache-Control" = String, description = "max-age=300"))))
)]
pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let ring = state.gateway.keyring();
    let keys = ring
        .decrypting(state.now())
        .iter()
        .map(|k| view::jwk(k.jwk()))
        .collect::<Result<_, _>>()?;
    let mut response = Json(JwkSet { keys }).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    Ok(response)
}
