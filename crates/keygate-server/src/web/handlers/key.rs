//! One key in detail: `/keys/{id}`, only among the session's own keys.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use keygate_registry::RegistryError;
use uuid::Uuid;

use crate::state::AppState;
use crate::web::error::{render, WebError};
use crate::web::i18n::{Lang, Tr};
use crate::web::pages::{self, Chrome, KeyDetail, KeyPage};
use crate::web::session::WebSession;

/// `GET /keys/{id}`: the key's page; 404 for an id that is not one of the session's keys.
pub async fn view_key(
    State(state): State<AppState>,
    lang: Lang,
    session: WebSession,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = Uuid::parse_str(&id).map_err(|_| WebError::not_found())?;
    let record = match state.registry.key(session.principal.api_key.id, id).await {
        Ok(record) => record,
        Err(RegistryError::UnknownKey) => return Err(WebError::not_found()),
        Err(e) => return Err(e.into()),
    };
    let usage = state.registry.key_usage(record.id).await?;
    let t = Tr::new(lang);
    let now = state.now();
    let page = KeyPage {
        c: Chrome::new(lang, "key-title").logged_in(&session.principal, &session.csrf),
        k: KeyDetail {
            row: pages::row_view(t, &record, now, &usage),
            thumbprint: record.jwk_thumbprint.clone(),
            bits: record.bits,
            exponent: record.exponent,
            pem: record.public_key_pem.clone(),
        },
    };
    render(StatusCode::OK, &page)
}
