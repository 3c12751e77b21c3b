//! [`WebError`]: every way a page request fails, as one type handlers return with `?`.
//!
//! A handler knows neither the visitor's language nor where logs go, so `into_response` only
//! sets the status and leaves a note in the response's extensions; the web layer
//! (`super::layer`) renders the error page in the request's language from that note, and logs
//! an unexpected error there, once. Its cause is never sent.

use std::sync::Arc;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};

use super::i18n::Lang;
use super::pages;
use crate::error::ApiError;

/// Why a page request did not get its page.
#[derive(Debug)]
pub enum WebError {
    /// No live session: see other `/login`, deleting a stale session cookie on the way.
    LoginRequired {
        /// The deletion of the stale cookie, when the request carried one (boxed: a cookie
        /// is large, and every `Result` carries this type).
        clear: Option<Box<Cookie<'static>>>,
    },
    /// A refusal shown on the error page.
    Page {
        /// The answer's status.
        status: StatusCode,
        /// The Fluent id of the message.
        message_id: &'static str,
        /// Where the page's "back" link goes.
        back: &'static str,
    },
    /// Anything unexpected: the internal-error page (503 with `Retry-After` when the database
    /// cannot be reached, as on the JSON API: docs/operations.md), the cause only in the log.
    Internal(ApiError),
}

impl WebError {
    /// A form whose CSRF token is missing or wrong: 403.
    pub fn csrf(back: &'static str) -> WebError {
        WebError::page(StatusCode::FORBIDDEN, "err-csrf", back)
    }

    /// A request that cannot be read: 400.
    pub fn bad_request(back: &'static str) -> WebError {
        WebError::page(StatusCode::BAD_REQUEST, "err-invalid_request", back)
    }

    /// A key that is not there, or not the visitor's: 404.
    pub fn not_found() -> WebError {
        WebError::page(StatusCode::NOT_FOUND, "err-not_found", "/")
    }

    /// A refusal with its status and message.
    pub fn page(status: StatusCode, message_id: &'static str, back: &'static str) -> WebError {
        WebError::Page {
            status,
            message_id,
            back,
        }
    }
}

impl From<ApiError> for WebError {
    fn from(error: ApiError) -> WebError {
        WebError::Internal(error)
    }
}

impl From<keygate_registry::RegistryError> for WebError {
    fn from(error: keygate_registry::RegistryError) -> WebError {
        WebError::Internal(error.into())
    }
}

impl From<keygate_store::StoreError> for WebError {
    fn from(error: keygate_store::StoreError) -> WebError {
        WebError::Internal(error.into())
    }
}

/// The note `into_response` leaves for the web layer: which error page to render.
#[derive(Debug, Clone, Copy)]
pub(super) struct ErrorPageNote {
    pub message_id: &'static str,
    pub back: &'static str,
}

/// The unexpected error behind a response, for the web layer to log.
#[derive(Debug, Clone)]
pub(super) struct FailureNote(pub Arc<ApiError>);

impl FailureNote {
    /// Log the error once: an unreachable database is expected now and then (debug); anything
    /// else is a fault (error).
    pub fn log(&self) {
        match self.0.as_ref() {
            ApiError::ServiceUnavailable(cause) => {
                tracing::debug!(%cause, "database unavailable; answered 503");
            }
            ApiError::Internal(cause) => tracing::error!(%cause, "internal error"),
            other => tracing::error!(error = %other, "unexpected error on the web page"),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::LoginRequired { clear } => {
                let jar = clear
                    .into_iter()
                    .fold(CookieJar::new(), |jar, cookie| jar.add(*cookie));
                (jar, Redirect::to("/login")).into_response()
            }
            WebError::Page {
                status,
                message_id,
                back,
            } => noted(status, message_id, back),
            WebError::Internal(error) => {
                let unavailable = matches!(error, ApiError::ServiceUnavailable(_));
                let mut response = if unavailable {
                    noted(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "err-service_unavailable",
                        "/",
                    )
                } else {
                    noted(StatusCode::INTERNAL_SERVER_ERROR, "err-internal_error", "/")
                };
                if let Some(seconds) = error.retry_after().filter(|_| unavailable) {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                response
                    .extensions_mut()
                    .insert(FailureNote(Arc::new(error)));
                response
            }
        }
    }
}

/// A bodiless response with its status and the note of the error page to render.
fn noted(status: StatusCode, message_id: &'static str, back: &'static str) -> Response {
    let mut response = status.into_response();
    response
        .extensions_mut()
        .insert(ErrorPageNote { message_id, back });
    response
}

/// The error page of a note, in the request's language.
pub(super) fn error_page(lang: Lang, note: ErrorPageNote) -> Result<String, askama::Error> {
    let c = pages::Chrome::new(lang, "error-title");
    let heading = c.t.msg("error-title");
    let message = c.t.msg(note.message_id);
    pages::ErrorPage {
        c,
        heading,
        message,
        back_href: note.back,
    }
    .render()
}

/// A page with its status; a template that fails to render is an internal error.
pub fn render(status: StatusCode, template: &impl Template) -> Result<Response, WebError> {
    match template.render() {
        Ok(html) => Ok((status, Html(html)).into_response()),
        Err(e) => Err(WebError::Internal(ApiError::Internal(format!(
            "template rendering failed: {e}"
        )))),
    }
}
