//! The web layer, around every page route: the language in, the error page, the one log line
//! of an unexpected error and the security headers out.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use super::error::{error_page, ErrorPageNote, FailureNote};
use super::i18n::Lang;
use super::session;
use crate::state::AppState;

/// The policy of every page: own scripts, styles and images only; no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The language of a request: `?lang=`, else the `lang` cookie, else `Accept-Language`, else
/// English; `true` when `?lang=` chose it (and the cookie is to remember it).
fn choose_lang(parts: &Parts) -> (Lang, bool) {
    let from_query = parts
        .uri
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|pair| pair.strip_prefix("lang="))
        .find_map(Lang::parse);
    if let Some(lang) = from_query {
        return (lang, true);
    }
    let jar = CookieJar::from_headers(&parts.headers);
    let lang = session::value(&jar, session::LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| {
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or(Lang::En);
    (lang, false)
}

/// Handlers take the request's language as an argument; the web layer has chosen it.
impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Lang, Self::Rejection> {
        Ok(match parts.extensions.get::<Lang>() {
            Some(lang) => *lang,
            None => choose_lang(parts).0,
        })
    }
}

/// Language choice in; error page, error log and security headers out, on every web response.
pub async fn web_layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    session::drop_ambiguous_cookies(&mut parts.headers);
    let (lang, chosen) = choose_lang(&parts);
    parts.extensions.insert(lang);
    let mut response = finish_error(lang, next.run(Request::from_parts(parts, body)).await);
    if chosen {
        let jar = CookieJar::new().add(session::lang_cookie(&state, lang.code()));
        response = (jar, response).into_response();
    }
    let fixed: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    let headers = response.headers_mut();
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A `WebError`'s response finished: its cause logged (once, here), its error page rendered
/// in the request's language. Any other response passes unchanged.
fn finish_error(lang: Lang, mut response: Response) -> Response {
    if let Some(failure) = response.extensions_mut().remove::<FailureNote>() {
        failure.log();
    }
    match response.extensions_mut().remove::<ErrorPageNote>() {
        Some(note) => with_error_page(lang, note, response),
        None => response,
    }
}

/// The response's status and headers (`Retry-After`, cookies) with the error page as body.
fn with_error_page(lang: Lang, note: ErrorPageNote, response: Response) -> Response {
    let (parts, _) = response.into_parts();
    match error_page(lang, note) {
        Ok(html) => (parts, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(cause = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use axum::http::{HeaderMap, Request};

    use super::*;
    use crate::error::ApiError;
    use crate::web::error::WebError;

    fn lang_of(uri: &str, cookie: Option<&str>, accept: Option<&str>) -> (Lang, bool) {
        let mut request = Request::builder().uri(uri);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT_LANGUAGE, accept);
        }
        let (parts, ()) = request.body(()).unwrap().into_parts();
        choose_lang(&parts)
    }

    async fn finished(lang: Lang, error: WebError) -> (StatusCode, HeaderMap, String) {
        let response = finish_error(lang, error.into_response());
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn errors_become_pages_in_the_language_without_their_cause() {
        let cause = "connection to db.internal:5432 refused";
        let (status, headers, body) =
            finished(Lang::El, ApiError::Internal(cause.into()).into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(body.contains("<html lang=\"el\">"), "{body}");
        assert!(
            !body.contains(cause) && !body.contains("db.internal"),
            "{body}"
        );
        assert!(headers.get(header::RETRY_AFTER).is_none());

        let unavailable = ApiError::ServiceUnavailable(cause.into());
        let (status, headers, body) = finished(Lang::Es, unavailable.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(headers.contains_key(header::RETRY_AFTER));
        assert!(
            body.contains("<html lang=\"es\">") && !body.contains(cause),
            "{body}"
        );

        let (status, _, body) = finished(Lang::En, WebError::csrf("/login")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("href=\"/login\""), "{body}");
    }

    #[tokio::test]
    async fn a_visitor_without_a_session_is_sent_to_login() {
        let (status, headers, _) =
            finished(Lang::En, WebError::LoginRequired { clear: None }).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers.get(header::LOCATION).unwrap(), "/login");
        assert!(headers.get(header::SET_COOKIE).is_none());
    }

    #[test]
    fn the_query_then_the_cookie_then_accept_language_then_english() {
        let header = Some("el");
        let cookie = Some("lang=es");
        assert_eq!(
            lang_of("/?lang=fr&lang=en", cookie, header),
            (Lang::En, true)
        );
        assert_eq!(lang_of("/?lang=fr", cookie, header), (Lang::Es, false));
        assert_eq!(lang_of("/", Some("lang=xx"), header), (Lang::El, false));
        assert_eq!(lang_of("/", None, Some("fr")), (Lang::En, false));
    }
}
