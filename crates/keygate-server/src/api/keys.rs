use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use keygate_api::{Envelope, KeyAnswer, KeyData, KeyTable, KeyViewData, RevokeBody, UploadBody};
use uuid::Uuid;

use super::json::{is_json, parse_json, read_body, ApiJson};
use super::view;
use crate::auth::Authenticated;
use crate::error::{ok, ApiError};
use crate::state::AppState;
use keygate_registry::RegistryError;

/// Upload the API key's public key; it becomes the active key for `key_validity`.
#[utoipa::path(
    post, path = "/clients/api_key/public_key", operation_id = "uploadPublicKey",
    tag = "public keys", security(("bearer" = [])),
    request_body = UploadBody,
    responses((status = 201, body = Envelope<KeyAnswer>, description = "Stored in canonical form"))
)]
pub async fn upload(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<UploadBody>,
) -> Result<Response, ApiError> {
    let record = state
        .registry
        .upload(&auth.principal, &body.public_key, &auth.origin)
        .await?;
    Ok(ok(
        StatusCode::CREATED,
        view::key_answer(&auth.principal, &record, state.now()),
    ))
}

/// The active key. Inside the last `key_expiry_warning` of its life with no successor staged,
/// the answer carries `X-Keygate-Key-Expires` like the gateway's.
#[utoipa::path(
    get, path = "/clients/api_key/public_key", operation_id = "currentPublicKey",
    tag = "public keys", security(("bearer" = [])),
    responses((status = 200, body = Envelope<KeyAnswer>, description = "The active key",
        headers(("X-Keygate-Key-Expires" = String,
            description = "The active key's expires_at (RFC 3339), inside key_expiry_warning \
                with no successor staged"))))
)]
pub async fn current(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Response, ApiError> {
    let now = state.now();
    let current = state
        .registry
        .current_key_at(auth.principal.api_key.id, now)
        .await?;
    let record = current.active().ok_or(ApiError::NoActiveKey)?;
    let mut response = ok(
        StatusCode::OK,
        view::key_answer(&auth.principal, record, now),
    );
    // The gateway's expiry warning, here too, so `keygate client status` can print it.
    let warning = state.registry.expiry_warning(&current, now);
    if let Some(value) = warning.and_then(crate::gateway::expiry_header) {
        response
            .headers_mut()
            .insert(crate::gateway::KEY_EXPIRES, value);
    }
    Ok(response)
}

/// Revoke the active key, at once, on every node. The body is optional; when there is one,
/// it is JSON.
#[utoipa::path(
    delete, path = "/clients/api_key/public_key", operation_id = "revokePublicKey",
    tag = "public keys", security(("bearer" = [])),
    request_body = Option<RevokeBody>,
    responses((status = 200, body = Envelope<KeyData>, description = "Revoked"))
)]
pub async fn revoke(
    State(state): State<AppState>,
    auth: Authenticated,
    req: Request,
) -> Result<Response, ApiError> {
    let json_type = is_json(req.headers());
    let bytes = read_body(req, &state).await?;
    let body: RevokeBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        RevokeBody::default()
    } else if !json_type {
        return Err(ApiError::UnsupportedMediaType);
    } else {
        parse_json(&bytes)?
    };
    let record = state
        .registry
        .revoke(
            auth.principal.api_key.id,
            body.reason.as_deref(),
            &auth.origin,
        )
        .await?;
    let key = view::key_row(&record, state.now());
    Ok(ok(StatusCode::OK, KeyData { key }))
}

/// The status table: every key of this API key, newest first, each with its usage (as of the
/// last flush, `usage_flush_interval`).
#[utoipa::path(
    get, path = "/clients/api_key/public_keys", operation_id = "listPublicKeys",
    tag = "public keys", security(("bearer" = [])),
    responses((status = 200, body = Envelope<KeyTable>, description = "The status table"))
)]
pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Response, ApiError> {
    let table = state.registry.key_table(auth.principal.api_key.id).await?;
    let keys = table
        .keys
        .iter()
        .map(|k| view::key_table_row(k, table.now, &table.usage_of(k.id)))
        .collect();
    Ok(ok(StatusCode::OK, KeyTable { keys }))
}

/// View one key.
#[utoipa::path(
    get, path = "/clients/api_key/public_keys/{id}", operation_id = "viewPublicKey",
    tag = "public keys", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The key's id")),
    responses((status = 200, body = Envelope<KeyViewData>, description = "The key"))
)]
pub async fn view(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // An id that is not a UUID names no key either.
    let id = Uuid::parse_str(&id).map_err(|_| RegistryError::UnknownKey)?;
    let record = state.registry.key(auth.principal.api_key.id, id).await?;
    let usage = state.registry.key_usage(record.id).await?;
    let key = view::key_view(&record, state.now(), &usage)?;
    Ok(ok(StatusCode::OK, KeyViewData { key }))
}
