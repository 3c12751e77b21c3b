//! The web session (the bearer token of `auth::login`, in an `HttpOnly; SameSite=Strict`
//! cookie), keygate's cookies, CSRF tokens, and the [`WebSession`] extractor.
//!
//! A form's CSRF token is HMAC-SHA256(key = the secret the browser holds in an HttpOnly cookie,
//! message = a fixed label). For logged-in forms that secret is the session token; for the login
//! form (login CSRF) it is a random pre-session secret in the `kg_login` cookie. Another site can
//! neither read the cookie nor compute the token, and a database dump (which holds only the
//! SHA-256 of session tokens) does not reveal it either.
//!
//! Every cookie is read from and written to an `axum_extra` [`CookieJar`]; the builders below are
//! the one place that sets their attributes.

use aws_lc_rs::hmac;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cookie::time::Duration;
use keygate_core::model::Principal;

use super::error::WebError;
use crate::auth::{authenticate_token, token_hash};
use crate::error::ApiError;
use crate::state::AppState;

/// The session token's cookie.
pub const SESSION_COOKIE: &str = "kg_session";
/// The pre-login CSRF secret's cookie.
pub const LOGIN_COOKIE: &str = "kg_login";
/// The chosen language's cookie.
pub const LANG_COOKIE: &str = "lang";
/// Every cookie keygate sets; the gateway strips them before forwarding (docs/gateway.md).
pub const OWN_COOKIES: [&str; 3] = [SESSION_COOKIE, LOGIN_COOKIE, LANG_COOKIE];

/// How long the pre-login CSRF secret lives.
const LOGIN_COOKIE_AGE: u64 = 12 * 3600;
/// How long a chosen language is remembered.
const LANG_COOKIE_AGE: u64 = 365 * 24 * 3600;
/// No session token is longer; a longer cookie is not looked up.
const MAX_TOKEN_LEN: usize = 512;

const CSRF_LABEL: &[u8] = b"keygate web csrf v1";

/// Removes from the request every cookie of ours whose name it carries more than once. A
/// browser sends two cookies of one name when another origin sharing the domain (a sibling
/// subdomain, or a plain-HTTP man in the middle) has set one beside ours ("cookie tossing");
/// which one a reader would pick is then the attacker's choice, e.g. logging the visitor into
/// the attacker's session. Neither is used: the visitor logs in again, and the login form gets
/// a fresh secret (docs/web.md, "Cookies sent twice"). Other cookies pass untouched.
pub fn drop_ambiguous_cookies(headers: &mut HeaderMap) {
    let pairs: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(|pair| pair.trim().to_owned())
        .filter(|pair| !pair.is_empty())
        .collect();
    let name = |pair: &str| pair.split('=').next().unwrap_or("").trim().to_owned();
    let ambiguous: Vec<&str> = OWN_COOKIES
        .into_iter()
        .filter(|own| pairs.iter().filter(|p| name(p) == *own).count() > 1)
        .collect();
    if ambiguous.is_empty() {
        return;
    }
    tracing::info!(
        cookies = ?ambiguous,
        "a request carried one of keygate's cookies twice (set by another site of the domain?); neither was used"
    );
    let kept: Vec<&str> = pairs
        .iter()
        .filter(|p| !ambiguous.contains(&name(p).as_str()))
        .map(String::as_str)
        .collect();
    headers.remove(header::COOKIE);
    if let Ok(value) = HeaderValue::from_str(&kept.join("; ")) {
        if !kept.is_empty() {
            headers.insert(header::COOKIE, value);
        }
    }
}

/// The non-empty value of a cookie of the request.
pub fn value<'a>(jar: &'a CookieJar, name: &str) -> Option<&'a str> {
    jar.get(name).map(Cookie::value).filter(|v| !v.is_empty())
}

/// A cookie of ours: `Path=/`, `HttpOnly`, `Secure` when `cookie_secure` is set. `max_age` 0
/// deletes it.
fn own_cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age: u64,
    same_site: SameSite,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .max_age(Duration::seconds(
            i64::try_from(max_age).unwrap_or(i64::MAX),
        ))
        .same_site(same_site)
        .http_only(true)
        .secure(state.settings.cookie_secure)
        .build()
}

/// The session cookie, `SameSite=Strict`, living as long as the session.
pub fn session_cookie(state: &AppState, token: &str, max_age: u64) -> Cookie<'static> {
    own_cookie(
        state,
        SESSION_COOKIE,
        token.to_string(),
        max_age,
        SameSite::Strict,
    )
}

/// The session cookie's deletion (same attributes, `Max-Age=0`).
pub fn clear_session_cookie(state: &AppState) -> Cookie<'static> {
    own_cookie(state, SESSION_COOKIE, String::new(), 0, SameSite::Strict)
}

/// The pre-login CSRF secret's cookie.
pub fn login_cookie(state: &AppState, secret: &str) -> Cookie<'static> {
    own_cookie(
        state,
        LOGIN_COOKIE,
        secret.to_string(),
        LOGIN_COOKIE_AGE,
        SameSite::Strict,
    )
}

/// The `lang` cookie: `Lax`, so a link from elsewhere still opens in the chosen language.
pub fn lang_cookie(state: &AppState, code: &'static str) -> Cookie<'static> {
    own_cookie(
        state,
        LANG_COOKIE,
        code.to_string(),
        LANG_COOKIE_AGE,
        SameSite::Lax,
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

/// A logged-in browser. As an extractor it sends a visitor without a live session to `/login`
/// (clearing a stale cookie on the way); as `Option<WebSession>` it lets the visitor through.
pub struct WebSession {
    /// Who the session speaks for.
    pub principal: Principal,
    /// The stored form of the token, for logout.
    pub token_hash: String,
    /// The token the page's forms carry.
    pub csrf: String,
    /// Who acts (the API key) and from where, for the audit trail.
    pub origin: keygate_core::audit::Origin,
    token: String,
}

impl WebSession {
    /// Whether a submitted form's token belongs to this session.
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        csrf_ok(&self.token, submitted)
    }

    /// A form's token checked: `Err` is the 403 page, its "back" link to the page.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        if self.csrf_ok(submitted) {
            Ok(())
        } else {
            Err(WebError::csrf("/"))
        }
    }
}

/// The session of the request's cookie, if it names a live session.
pub async fn current(
    state: &AppState,
    jar: &CookieJar,
    source: String,
) -> Result<Option<WebSession>, ApiError> {
    let Some(token) = value(jar, SESSION_COOKIE).filter(|t| t.len() <= MAX_TOKEN_LEN) else {
        return Ok(None);
    };
    match authenticate_token(state, token).await {
        Ok((principal, _)) => Ok(Some(WebSession {
            origin: keygate_core::audit::Origin::api_key(principal.api_key.id, Some(source)),
            principal,
            token_hash: token_hash(token),
            csrf: csrf_token(token),
            token: token.to_string(),
        })),
        Err(ApiError::Unauthorized(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

impl FromRequestParts<AppState> for WebSession {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let jar = CookieJar::from_headers(&parts.headers);
        match current(state, &jar, crate::auth::request_source(parts, state)).await? {
            Some(session) => Ok(session),
            None => {
                let stale = value(&jar, SESSION_COOKIE).is_some();
                Err(WebError::LoginRequired {
                    clear: stale.then(|| Box::new(clear_session_cookie(state))),
                })
            }
        }
    }
}

impl OptionalFromRequestParts<AppState> for WebSession {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, WebError> {
        let jar = CookieJar::from_headers(&parts.headers);
        Ok(current(state, &jar, crate::auth::request_source(parts, state)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_of_ours_sent_twice_is_not_used() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("kg_session=mine; other=1; lang=el"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("kg_session=tossed; theirs=2"),
        );
        drop_ambiguous_cookies(&mut headers);
        let jar = CookieJar::from_headers(&headers);
        assert_eq!(value(&jar, "kg_session"), None);
        assert_eq!(value(&jar, "lang"), Some("el"));
        assert_eq!(value(&jar, "other"), Some("1"));
        assert_eq!(value(&jar, "theirs"), Some("2"));

        // Once each: nothing changes.
        let mut once = HeaderMap::new();
        once.insert(
            header::COOKIE,
            HeaderValue::from_static("kg_session=mine; lang=el"),
        );
        let before = once.clone();
        drop_ambiguous_cookies(&mut once);
        assert_eq!(once, before);
    }

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
            HeaderValue::from_static("lang=el; kg_session=abc; kg_login="),
        );
        let jar = CookieJar::from_headers(&headers);
        assert_eq!(value(&jar, "kg_session"), Some("abc"));
        assert_eq!(value(&jar, "lang"), Some("el"));
        assert_eq!(value(&jar, "kg_login"), None);
    }
}
