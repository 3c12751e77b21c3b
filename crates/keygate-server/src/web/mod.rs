//! The "API Certificate" web page (docs/design.md §8; choices in docs/web.md): server-rendered,
//! usable without JavaScript, in English, Greek and Spanish.
//!
//! - `handlers`: the routes, one file per job (login and logout, the page, upload, revoke,
//!   the staged successor, the self-check, key view); each takes [`session::WebSession`] and [`i18n::Lang`] as extractors and
//!   returns `Result<Response, WebError>`;
//! - `error`: [`WebError`], every way a page request fails;
//! - `layer`: the middleware around every route: language in; error page, error log and
//!   security headers out;
//! - `session`: keygate's cookies, CSRF tokens and the session extractor;
//! - `i18n`: Fluent catalogues, language negotiation, dates and refusal messages;
//! - `pages`: the askama templates and their view models.

mod error;
mod handlers;
pub mod i18n;
mod layer;
mod pages;
pub mod session;

use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::own_routes::OwnRoutes;
pub use error::WebError;
pub use layer::CONTENT_SECURITY_POLICY;

/// The page's routes, inside the web layer.
pub fn router() -> OwnRoutes {
    OwnRoutes::new()
        .route("/", get(handlers::page))
        .route("/login", get(handlers::login_form).post(handlers::login))
        .route("/logout", post(handlers::logout))
        .route("/upload", post(handlers::upload))
        .route("/revoke", get(handlers::revoke_form).post(handlers::revoke))
        .route("/successor", post(handlers::stage_successor))
        .route("/successor/withdraw", post(handlers::withdraw_successor))
        .route(
            "/successor/activate",
            get(handlers::activate_form).post(handlers::activate_successor),
        )
        .route(
            "/self-check",
            get(handlers::self_check_form).post(handlers::self_check),
        )
        .route(
            "/self-check/encryption",
            get(handlers::encryption_form).post(handlers::answer_encryption),
        )
        .route("/keys/{id}", get(handlers::view_key))
        .route("/static/keygate.css", get(css))
        .route("/static/copy.js", get(copy_js))
        .layer_with_state(|routes, state| {
            routes.layer(middleware::from_fn_with_state(
                state.clone(),
                layer::web_layer,
            ))
        })
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
