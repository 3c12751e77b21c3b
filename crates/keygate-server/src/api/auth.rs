use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keygate_api::{Credentials, Envelope, LoginAnswer, LoginBody, LogoutAnswer};

use super::json::ApiJson;
use super::view;
use crate::auth::{client_address, Authenticated, PeerAddress};
use crate::error::{ok, ApiError};
use crate::state::AppState;

/// Log in with an API key and password.
#[utoipa::path(
    post, path = "/auth/login", operation_id = "login", tag = "auth",
    request_body = LoginBody,
    responses((status = 200, body = Envelope<LoginAnswer>,
        description = "Logged in; the token is also in the Authorization response header"))
)]
pub async fn login(
    State(state): State<AppState>,
    PeerAddress(peer): PeerAddress,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    // The input's shape is the registry's rule (`check_login_input`), mapped to 400 in
    // `error.rs`.
    let Credentials { api_key, password } = body.api_client;
    let address = client_address(&headers, peer, state.settings.trust_forwarded_for);
    let session = state.registry.login(&api_key, &password, address).await?;
    let value =
        HeaderValue::from_str(&format!("Bearer {}", session.token)).map_err(ApiError::internal)?;
    let mut response = ok(
        StatusCode::OK,
        view::login_answer(&session.principal, session.token, session.expires_in),
    );
    response.headers_mut().insert(header::AUTHORIZATION, value);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// End the session: the token stops working on every node.
#[utoipa::path(
    post, path = "/auth/logout", operation_id = "logout", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<LogoutAnswer>, description = "Logged out"))
)]
pub async fn logout(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    state
        .registry
        .logout(&auth.principal, &auth.token_hash, &auth.origin)
        .await?;
    Ok(ok(StatusCode::OK, LogoutAnswer { logged_out: true }))
}
