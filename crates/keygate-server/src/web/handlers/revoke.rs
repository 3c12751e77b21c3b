//! Revoke: a confirmation page with an optional reason, then the revocation.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use super::redirect;
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::error::{render, WebError};
use crate::web::i18n::{Lang, Tr};
use crate::web::pages::{self, Chrome, RevokePage};
use crate::web::session::WebSession;

/// The confirmation form's fields.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    csrf: String,
    reason: String,
}

fn revoke_page(
    lang: Lang,
    session: &WebSession,
    question: String,
    reason: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    render(
        status,
        &RevokePage {
            c: Chrome::new(lang, "revoke-title").logged_in(&session.principal, &session.csrf),
            csrf: session.csrf.clone(),
            question,
            reason: reason.to_string(),
            error,
        },
    )
}

/// "Revoke the key … issued on …?", or `None` when there is no active key to revoke.
async fn revoke_question(
    state: &AppState,
    lang: Lang,
    session: &WebSession,
) -> Result<Option<String>, WebError> {
    let t = Tr::new(lang);
    let current = state
        .registry
        .current_key(session.principal.api_key.id)
        .await?;
    Ok(current.active().map(|k| {
        t.fmt(
            "revoke-question",
            &[
                (
                    "fingerprint",
                    &pages::short_fingerprint(&k.fingerprint_sha256),
                ),
                ("issued", &t.date(k.issued_at)),
            ],
        )
    }))
}

/// `GET /revoke`: the confirmation, or see other `/` when there is nothing to revoke.
pub async fn revoke_form(
    State(state): State<AppState>,
    lang: Lang,
    session: WebSession,
) -> Result<Response, WebError> {
    match revoke_question(&state, lang, &session).await? {
        Some(question) => revoke_page(lang, &session, question, "", None, StatusCode::OK),
        None => Ok(redirect("/")),
    }
}

/// `POST /revoke`: see other `/?done=revoked`, or the confirmation again with the refusal.
pub async fn revoke(
    State(state): State<AppState>,
    lang: Lang,
    session: WebSession,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Result<Response, WebError> {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    session.check_csrf(&form.csrf)?;
    let api_key_id = session.principal.api_key.id;
    let revoked = state
        .registry
        .revoke(api_key_id, Some(&form.reason), &session.origin)
        .await;
    match revoked.map_err(ApiError::from) {
        Ok(_) => Ok(redirect("/?done=revoked")),
        Err(ApiError::NoActiveKey) => Ok(redirect("/")),
        Err(ApiError::InvalidRequest(_)) => match revoke_question(&state, lang, &session).await? {
            Some(question) => {
                let message = Tr::new(lang).msg("err-reason-invalid");
                revoke_page(
                    lang,
                    &session,
                    question,
                    &form.reason,
                    Some(message),
                    StatusCode::BAD_REQUEST,
                )
            }
            None => Ok(redirect("/")),
        },
        Err(e) => Err(e.into()),
    }
}
