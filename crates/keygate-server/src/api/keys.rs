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

#[derive(Deserialize)]
pub struct UploadBody {
    public_key: String,
}

pub async fn upload(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<UploadBody>,
) -> Result<Response, ApiError> {
    let record = registry::upload(&state, &auth.principal, &body.public_key).await?;
    Ok(ok(
        StatusCode::CREATED,
        registry::key_envelope(&auth.principal, &record, state.now()),
    ))
}

pub async fn current(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Response, ApiError> {
    let now = state.now();
    let record = state
        .store
        .active_key(auth.principal.api_key.id, now)
        .await?
        .ok_or(ApiError::NoActiveKey)?;
    Ok(ok(
        StatusCode::OK,
        registry::key_envelope(&auth.principal, &record, now),
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
    let record = registry::revoke(&state, &auth.principal, body.reason.as_deref()).await?;
    Ok(ok(
        StatusCode::OK,
        json!({"key": registry::key_row(&record, state.now())}),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Response, ApiError> {
    let now = state.now();
    let keys = state.store.list_keys(auth.principal.api_key.id).await?;
    let rows: Vec<_> = keys.iter().map(|k| registry::key_row(k, now)).collect();
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
    const UNKNOWN: &str = "no key with this id belongs to this API key";
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound(UNKNOWN))?;
    let record = state
        .store
        .get_key(auth.principal.api_key.id, id)
        .await?
        .ok_or(ApiError::NotFound(UNKNOWN))?;
    Ok(ok(
        StatusCode::OK,
        json!({"key": registry::key_view(&record, state.now())?}),
    ))
}
