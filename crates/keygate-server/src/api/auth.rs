use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::json::ApiJson;
use crate::auth::{client_address, Authenticated, PeerAddress};
use crate::error::{ok, ApiError};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct LoginBody {
    api_client: Credentials,
}

#[derive(Deserialize)]
struct Credentials {
    api_key: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    PeerAddress(peer): PeerAddress,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let Credentials { api_key, password } = body.api_client;
    if api_key.is_empty() || password.is_empty() || api_key.len() > 256 || password.len() > 1024 {
        return Err(ApiError::InvalidRequest(
            "api_client.api_key and api_client.password must be non-empty (at most 256 and 1024 bytes)".into(),
        ));
    }
    // No API key holds one, and PostgreSQL text cannot hold NUL (issue 8).
    if api_key.chars().any(char::is_control) {
        return Err(ApiError::InvalidRequest(
            "api_client.api_key must not contain control characters".into(),
        ));
    }
    let address = client_address(&headers, peer, state.settings.trust_forwarded_for);
    let session = state.registry.login(&api_key, &password, address).await?;
    let p = &session.principal;
    let mut response = ok(
        StatusCode::OK,
        json!({
            "access_token": session.token,
            "token_type": "Bearer",
            "expires_in": session.expires_in,
            "client": {"id": p.client.id, "name": p.client.name, "alias": p.client.alias},
            "api_key": {"id": p.api_key.id, "alias": p.api_key.alias},
        }),
    );
    let value =
        HeaderValue::from_str(&format!("Bearer {}", session.token)).map_err(ApiError::internal)?;
    response.headers_mut().insert(header::AUTHORIZATION, value);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub async fn logout(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    state.registry.logout(&auth.token_hash).await?;
    Ok(ok(StatusCode::OK, json!({"logged_out": true})))
}
