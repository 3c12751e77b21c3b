//! The staged successor (docs/design.md §2, "Rotation"): stage it (the upload form's code,
//! posted to `/successor`), withdraw it, or activate it now after a confirmation page.

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;

use super::page::{main_page, FormAt, Refusal};
use super::upload::receive_key;
use super::{redirect, CsrfForm};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::error::{render, WebError};
use crate::web::i18n::{Lang, Tr};
use crate::web::pages::{self, ActivatePage, Chrome};
use crate::web::session::WebSession;

/// `POST /successor`: the stage-successor form; see other `/?done=staged`, or the page with
/// the refusal beside that form.
pub async fn stage_successor(
    State(state): State<AppState>,
    lang: Lang,
    session: WebSession,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, WebError> {
    receive_key(&state, lang, &session, multipart, FormAt::Successor).await
}

/// `POST /successor/withdraw`: see other `/?done=withdrawn`, or the page with the refusal.
pub async fn withdraw_successor(
    State(state): State<AppState>,
    lang: Lang,
    session: WebSession,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, WebError> {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    session.check_csrf(&form.csrf)?;
    let withdrawn = state
        .registry
        .withdraw_successor(session.principal.api_key.id, &session.origin)
        .await;
    done_or_refused(&state, lang, &session, withdrawn, "/?done=withdrawn").await
}

/// `GET /successor/activate`: the confirmation, or see other `/` when no successor is staged.
pub async fn activate_form(
    State(state): State<AppState>,
    lang: Lang,
    session: WebSession,
) -> Result<Response, WebError> {
    let t = Tr::new(lang);
    let table = state
        .registry
        .key_table(session.principal.api_key.id)
        .await?;
    let current = table.current();
    let (Some(active), Some(successor)) = (current.active(), current.successor()) else {
        return Ok(redirect("/"));
    };
    let question = t.fmt(
        "activate-question",
        &[
            (
                "fingerprint",
                &pages::short_fingerprint(&successor.fingerprint_sha256),
            ),
            (
                "active",
                &pages::short_fingerprint(&active.fingerprint_sha256),
            ),
        ],
    );
    // What `Registry::activate_successor` will do to the active key, said before it is done.
    let consequence = match state
        .registry
        .retiring_until_if_activated(active, table.now)
    {
        None => t.msg("activate-consequence"),
        Some(until) => t.fmt(
            "activate-consequence-overlap",
            &[("when", &t.date_time(until))],
        ),
    };
    render(
        StatusCode::OK,
        &ActivatePage {
            c: Chrome::new(lang, "activate-title").logged_in(&session.principal, &session.csrf),
            csrf: session.csrf.clone(),
            question,
            consequence,
        },
    )
}

/// `POST /successor/activate`: see other `/?done=activated`, or the page with the refusal.
pub async fn activate_successor(
    State(state): State<AppState>,
    lang: Lang,
    session: WebSession,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, WebError> {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    session.check_csrf(&form.csrf)?;
    let activated = state
        .registry
        .activate_successor(session.principal.api_key.id, &session.origin)
        .await;
    done_or_refused(&state, lang, &session, activated, "/?done=activated").await
}

/// See other `done`, or the page with `no_successor` beside the stage-successor form.
async fn done_or_refused<T>(
    state: &AppState,
    lang: Lang,
    session: &WebSession,
    outcome: Result<T, keygate_registry::RegistryError>,
    done: &str,
) -> Result<Response, WebError> {
    match outcome.map_err(ApiError::from) {
        Ok(_) => Ok(redirect(done)),
        Err(error @ ApiError::NoSuccessor) => {
            let refusal = Refusal {
                at: FormAt::Successor,
                error,
                pasted: String::new(),
            };
            main_page(state, lang, session, None, Some(refusal)).await
        }
        Err(e) => Err(e.into()),
    }
}
