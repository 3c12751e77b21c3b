//! The "API Certificate" web page of DESIGN.md §8: server-rendered, usable without JavaScript,
//! in English, Greek and Spanish.
//!
//! - `handlers`: the routes (login, the page, upload, revoke, key view, logout);
//! - `session`: the session cookie and CSRF tokens;
//! - `i18n`: Fluent catalogs, language choice, dates and refusal messages;
//! - `pages`: the askama templates and their view models.

mod handlers;
pub mod i18n;
mod pages;
pub mod session;

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::own_routes::OwnRoutes;
use crate::state::AppState;
use i18n::Lang;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> OwnRoutes {
    OwnRoutes::new()
        .route("/", get(handlers::page))
        .route("/login", get(handlers::login_form).post(handlers::login))
        .route("/logout", post(handlers::logout))
        .route("/upload", post(handlers::upload))
        .route("/revoke", get(handlers::revoke_form).post(handlers::revoke))
        .route("/keys/{id}", get(handlers::view_key))
        .route("/static/keygate.css", get(css))
        .route("/static/copy.js", get(copy_js))
        .layer_with_state(|routes, state| {
            routes.layer(middleware::from_fn_with_state(state.clone(), web_layer))
        })
}

/// The language of a request: `?lang=`, else the `lang` cookie, else `Accept-Language`, else English.
fn choose_lang(request: &Request) -> (Lang, bool) {
    let from_query = request
        .uri()
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|pair| pair.strip_prefix("lang="))
        .find_map(Lang::parse);
    if let Some(lang) = from_query {
        return (lang, true);
    }
    let headers = request.headers();
    let lang = session::cookie(headers, session::LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or(Lang::En);
    (lang, false)
}

/// Language choice in, security headers out, on every web response.
async fn web_layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let (lang, chosen) = choose_lang(&request);
    let secure = state.settings.cookie_secure;
    request.extensions_mut().insert(lang);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if chosen {
        let one_year = 365 * 24 * 3600;
        if let Some(cookie) = session::set_cookie(
            session::LANG_COOKIE,
            lang.code(),
            one_year,
            true,
            "Lax",
            secure,
        ) {
            headers.append(header::SET_COOKIE, cookie);
        }
    }
    let fixed: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Render a template with a status, or a plain 500 if rendering itself fails.
fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(cause = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// An error page in the request's language.
fn error_page(
    lang: Lang,
    status: StatusCode,
    message_id: &str,
    back_href: &'static str,
) -> Response {
    let c = pages::Chrome::new(lang, "error-title");
    let heading = c.t.msg("error-title");
    let message = c.t.msg(message_id);
    render(
        status,
        &pages::ErrorPage {
            c,
            heading,
            message,
            back_href,
        },
    )
}

/// An unexpected error: logged once, shown without detail. A database that cannot be reached
/// is answered 503 with `Retry-After`, as on the JSON API (docs/operations.md).
fn internal(lang: Lang, error: ApiError) -> Response {
    if let ApiError::ServiceUnavailable(cause) = &error {
        tracing::debug!(%cause, "database unavailable; answered 503");
        let mut response = error_page(
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            "err-service_unavailable",
            "/",
        );
        if let Some(seconds) = error.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return response;
    }
    if let ApiError::Internal(cause) = &error {
        tracing::error!(%cause, "internal error");
    } else {
        tracing::error!(error = %error, "unexpected error on the web page");
    }
    error_page(
        lang,
        StatusCode::INTERNAL_SERVER_ERROR,
        "err-internal_error",
        "/",
    )
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/keygate.css"),
    )
}

async fn copy_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../static/copy.js"),
    )
}
