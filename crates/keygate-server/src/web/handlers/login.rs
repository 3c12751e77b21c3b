//! Login and logout.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::{redirect, CsrfForm};
use crate::auth::{self, client_address, PeerAddress};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::error::{render, WebError};
use crate::web::i18n::{Lang, Tr};
use crate::web::pages::{Chrome, LoginPage};
use crate::web::session::{self, WebSession};
use keygate_registry::{MalformedLogin, RegistryError};

/// The login form's fields.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    csrf: String,
    api_key: String,
    password: String,
}

fn login_page(
    lang: Lang,
    secret: &str,
    api_key: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    render(
        status,
        &LoginPage {
            c: Chrome::new(lang, "login-title"),
            csrf: session::csrf_token(secret),
            api_key: api_key.to_string(),
            error,
        },
    )
}

/// `GET /login`: the form, with its pre-login CSRF secret (kept if the browser has one).
pub async fn login_form(
    State(state): State<AppState>,
    lang: Lang,
    logged_in: Option<WebSession>,
    jar: CookieJar,
) -> Result<Response, WebError> {
    if logged_in.is_some() {
        return Ok(redirect("/"));
    }
    let secret = match session::value(&jar, session::LOGIN_COOKIE) {
        Some(secret) => secret.to_string(),
        None => auth::random_secret(32)?,
    };
    let page = login_page(lang, &secret, "", None, StatusCode::OK)?;
    let jar = CookieJar::new().add(session::login_cookie(&state, &secret));
    Ok((jar, page).into_response())
}

/// `POST /login`: a session cookie and see other `/`, or the form again with the refusal.
pub async fn login(
    State(state): State<AppState>,
    lang: Lang,
    PeerAddress(peer): PeerAddress,
    headers: HeaderMap,
    jar: CookieJar,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.map_err(|_| WebError::bad_request("/login"))?;
    let secret = session::value(&jar, session::LOGIN_COOKIE)
        .filter(|secret| session::csrf_ok(secret, &form.csrf))
        .ok_or_else(|| WebError::csrf("/login"))?;
    let t = Tr::new(lang);
    // Trimmed here: a person pastes the key with a stray space or newline; the JSON API takes
    // what a program sends as it is. The shape rule itself is the registry's.
    let api_key = form.api_key.trim();
    let address = client_address(&headers, peer, state.settings.trust_forwarded_for);
    let login = state.registry.login(api_key, &form.password, address).await;
    if let Err(RegistryError::MalformedLogin(malformed)) = &login {
        // Empty or too long: said so, the key kept. A control character: just wrong, and
        // not echoed.
        let (message, shown) = match malformed {
            MalformedLogin::ControlCharacter => (t.error(&ApiError::InvalidCredentials), ""),
            _ => (t.msg("err-login-missing"), api_key),
        };
        return login_page(lang, secret, shown, Some(message), StatusCode::BAD_REQUEST);
    }
    match login.map_err(ApiError::from) {
        Ok(new_session) => {
            let cookie =
                session::session_cookie(&state, &new_session.token, new_session.expires_in);
            Ok((CookieJar::new().add(cookie), redirect("/")).into_response())
        }
        Err(
            e @ (ApiError::InvalidCredentials
            | ApiError::RateLimited { .. }
            | ApiError::LoginBusy { .. }),
        ) => {
            let (status, _, _) = e.parts();
            let mut response = login_page(lang, secret, api_key, Some(t.error(&e)), status)?;
            if let Some(retry_after) = e.retry_after() {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /logout`: the session ends everywhere; see other `/login`.
pub async fn logout(
    State(state): State<AppState>,
    session: WebSession,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, WebError> {
    let csrf = form.map(|Form(f)| f.csrf).unwrap_or_default();
    session.check_csrf(&csrf)?;
    state
        .registry
        .logout(&session.principal, &session.token_hash, &session.origin)
        .await?;
    let jar = CookieJar::new().add(session::clear_session_cookie(&state));
    Ok((jar, redirect("/login")).into_response())
}
