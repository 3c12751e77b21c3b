//! The staged successor (docs/design.md §2, "Rotation"; §4): stage, read, withdraw, activate.
//! Thin handlers over the registry, which owns every rule.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use keygate_api::{Envelope, KeyAnswer, KeyData, UploadBody};

use super::json::ApiJson;
use super::view;
use crate::auth::Authenticated;
use crate::error::{ok, ApiError};
use crate::state::AppState;

/// Stage the active key's successor: every upload rule applies; it is `PENDING` until the
/// active key expires or is revoked, or until it is activated, and valid for `key_validity`
/// from then.
#[utoipa::path(
    put, path = "/clients/api_key/public_key/successor", operation_id = "stageSuccessor",
    tag = "public keys", security(("bearer" = [])),
    request_body = UploadBody,
    responses((status = 201, body = Envelope<KeyAnswer>, description = "Staged, PENDING"))
)]
pub async fn stage(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<UploadBody>,
) -> Result<Response, ApiError> {
    let record = state
        .registry
        .stage_successor(&auth.principal, &body.public_key, &auth.origin)
        .await?;
    Ok(ok(
        StatusCode::CREATED,
        view::key_answer(&auth.principal, &record, state.now()),
    ))
}

/// The staged successor, while it is `PENDING`.
#[utoipa::path(
    get, path = "/clients/api_key/public_key/successor", operation_id = "currentSuccessor",
    tag = "public keys", security(("bearer" = [])),
    responses((status = 200, body = Envelope<KeyAnswer>, description = "The pending successor"))
)]
pub async fn current(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Response, ApiError> {
    let record = state.registry.successor(auth.principal.api_key.id).await?;
    Ok(ok(
        StatusCode::OK,
        view::key_answer(&auth.principal, &record, state.now()),
    ))
}

/// Withdraw the staged successor: `WITHDRAWN`, still registered, so it can never be registered
/// again.
#[utoipa::path(
    delete, path = "/clients/api_key/public_key/successor", operation_id = "withdrawSuccessor",
    tag = "public keys", security(("bearer" = [])),
    responses((status = 200, body = Envelope<KeyData>, description = "Withdrawn"))
)]
pub async fn withdraw(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Response, ApiError> {
    let record = state
        .registry
        .withdraw_successor(auth.principal.api_key.id, &auth.origin)
        .await?;
    let key = view::key_row(&record, state.now());
    Ok(ok(StatusCode::OK, KeyData { key }))
}

/// Activate the staged successor now. The key it replaces is `RETIRING` for `rotation_overlap`
/// (signed calls may still use it), then `REVOKED`; with no overlap, `REVOKED` at once.
#[utoipa::path(
    post, path = "/clients/api_key/public_key/successor/activate",
    operation_id = "activateSuccessor",
    tag = "public keys", security(("bearer" = [])),
    responses((status = 200, body = Envelope<KeyAnswer>, description = "The new active key"))
)]
pub async fn activate(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Response, ApiError> {
    let record = state
        .registry
        .activate_successor(auth.principal.api_key.id, &auth.origin)
        .await?;
    Ok(ok(
        StatusCode::OK,
        view::key_answer(&auth.principal, &record, state.now()),
    ))
}
