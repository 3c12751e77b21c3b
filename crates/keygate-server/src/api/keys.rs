use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::json::{is_json, parse_json, read_body, ApiJson};
use crate::auth::Authenticated;
use crate::error::{ok, ApiError};
use crate::registry;
use crate::state::AppState;
use keygate_registry::RegistryError;

#[derive(Deserialize)]
pub struct UploadBody {
    public_key: String,
}

pub async fn upload(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<UploadBody>,
) -> Result<Response, ApiError> {
    let record = state
        .registry
        .upload(&auth.principal, &body.public_key)
        .await?;
    Ok(ok(
        StatusCode::CREATED,
        registry::key_envelope(&auth.principal, &record, state.now()),
    ))
}

pub async fn current(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Response, ApiError> {
    let record = state.registry.active_key(auth.principal.api_key.id).await?;
    Ok(ok(
        StatusCode::OK,
        registry::key_envelope(&auth.principal, &record, state.now()),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    reason: Option<String>,
}

/// The body is optional; when there is one, it is JSON.
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
        .revoke(auth.principal.api_key.id, body.reason.as_deref())
        .await?;
    Ok(ok(
        StatusCode::OK,
        json!({"key": registry::key_row(&record, state.now())}),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Response, ApiError> {
    let table = state.registry.key_table(auth.principal.api_key.id).await?;
    let rows: Vec<_> = table
        .keys
        .iter()
        .map(|k| registry::key_row(k, table.now))
        .collect();
    #[derive(serde::Serialize)]
    struct Table<'a> {
        keys: Vec<registry::KeyRow<'a>>,
    }
    Ok(ok(StatusCode::OK, Table { keys: rows }))
}

pub async fn view(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // An id that is not a UUID names no key either.
    let id = Uuid::parse_str(&id).map_err(|_| RegistryError::UnknownKey)?;
    let record = state.registry.key(auth.principal.api_key.id, id).await?;
    Ok(ok(
        StatusCode::OK,
        json!({"key": registry::key_view(&record, state.now())?}),
    ))
}
