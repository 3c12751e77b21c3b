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
    let (lang, chosen) = choose_lang(&parts);
    parts.extensions.insert(lang);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(failure) = response.extensions_mut().remove::<FailureNote>() {
        failure.log();
    }
    if let Some(note) = response.extensions_mut().remove::<ErrorPageNote>() {
        response = with_error_page(lang, note, response);
    }
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

    use axum::http::Request;

    use super::*;

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
