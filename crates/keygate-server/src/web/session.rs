//! The web session (the bearer token of `auth::login`, in an `HttpOnly; SameSite=Strict`
//! cookie) and CSRF tokens.
//!
//! A form's CSRF token is HMAC-SHA256(key = the secret the browser holds in an HttpOnly cookie,
//! message = a fixed label). For logged-in forms that secret is the session token; for the login
//! form (login CSRF) it is a random pre-session secret in the `kg_login` cookie. Another site can
//! neither read the cookie nor compute the token, and a database dump (which holds only the
//! SHA-256 of session tokens) does not reveal it either.

use aws_lc_rs::hmac;
use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keygate_core::model::Principal;

use crate::auth::{authenticate_token, token_hash};
use crate::error::ApiError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "kg_session";
pub const LOGIN_COOKIE: &str = "kg_login";
pub const LANG_COOKIE: &str = "lang";
/// Every cookie keygate sets; the gateway strips them before forwarding (docs/gateway.md).
pub const OWN_COOKIES: [&str; 3] = [SESSION_COOKIE, LOGIN_COOKIE, LANG_COOKIE];

const CSRF_LABEL: &[u8] = b"keygate web csrf v1";

/// The value of a cookie of the request, if present.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value. `max_age` 0 deletes the cookie.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age: u64,
    http_only: bool,
    same_site: &str,
    secure: bool,
) -> Option<HeaderValue> {
    let mut text = format!("{name}={value}; Path=/; Max-Age={max_age}; SameSite={same_site}");
    if http_only {
        text.push_str("; HttpOnly");
    }
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).ok()
}

pub fn session_cookie(state: &AppState, token: &str, max_age: u64) -> Option<HeaderValue> {
    set_cookie(
        SESSION_COOKIE,
        token,
        max_age,
        true,
        "Strict",
        state.settings.cookie_secure,
    )
}

pub fn clear_session_cookie(state: &AppState) -> Option<HeaderValue> {
    set_cookie(
        SESSION_COOKIE,
        "",
        0,
        true,
        "Strict",
        state.settings.cookie_secure,
    )
}

/// The CSRF token bound to a browser secret (the session token, or the pre-login secret).
pub fn csrf_token(secret: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    URL_SAFE_NO_PAD.encode(hmac::sign(&key, CSRF_LABEL).as_ref())
}

/// Whether a submitted CSRF token matches the secret, in constant time.
pub fn csrf_ok(secret: &str, submitted: &str) -> bool {
    let Ok(tag) = URL_SAFE_NO_PAD.decode(submitted.trim()) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    !submitted.is_empty() && hmac::verify(&key, CSRF_LABEL, &tag).is_ok()
}

/// A logged-in browser.
pub struct WebSession {
    pub principal: Principal,
    pub token_hash: String,
    pub csrf: String,
    token: String,
}

impl WebSession {
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        csrf_ok(&self.token, submitted)
    }
}

/// The session of the request's cookie, if it names a live session.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<WebSession>, ApiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE).filter(|t| t.len() <= 512) else {
        return Ok(None);
    };
    match authenticate_token(state, token).await {
        Ok((principal, _)) => Ok(Some(WebSession {
            principal,
            token_hash: token_hash(token),
            csrf: csrf_token(token),
            token: token.to_string(),
        })),
        Err(ApiError::Unauthorized(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_bound_to_their_secret() {
        let token = csrf_token("secret-a");
        assert!(csrf_ok("secret-a", &token));
        assert!(!csrf_ok("secret-b", &token));
        assert!(!csrf_ok("secret-a", ""));
        assert!(!csrf_ok("secret-a", "not base64 !"));
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("lang=el; kg_session=abc"),
        );
        assert_eq!(cookie(&headers, "kg_session"), Some("abc"));
        assert_eq!(cookie(&headers, "lang"), Some("el"));
        assert_eq!(cookie(&headers, "kg_login"), None);
    }
}
