//! The page's routes: thin handlers over the registry service (`state.registry`), as the JSON
//! API's are.
//!
//! Each handler takes what it needs as extractors: [`WebSession`](super::session::WebSession)
//! (no session: see other `/login`), [`Lang`](super::i18n::Lang) (chosen by the web layer) and
//! its form; it returns `Result<Response, WebError>` and uses `?` for anything unexpected.

mod key;
mod login;
mod page;
mod revoke;
mod self_check;
mod successor;
mod upload;

use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

pub use key::view_key;
pub use login::{login, login_form, logout};
pub use page::page;
pub use revoke::{revoke, revoke_form};
pub use self_check::{answer_encryption, encryption_form, self_check, self_check_form};
pub use successor::{activate_form, activate_successor, stage_successor, withdraw_successor};
pub use upload::upload;

/// See other `location` (303: the browser follows with a GET).
fn redirect(location: &str) -> Response {
    Redirect::to(location).into_response()
}

/// A logged-in form that carries only its CSRF token.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    csrf: String,
}
