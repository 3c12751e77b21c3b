//! The bearer credential, read from the `Authorization` header (the registry keeps only its
//! hash, `keygate_registry::credentials::token_hash`), and the request's signature header. Shared by the JSON API, the web page and
//! the gateway; it imports neither, so each may import it (docs/architecture.md, "Imports point
//! one way"). The scheme name is case-insensitive (RFC 9110 §11.1): `BEARER x` is `Bearer x`.

use axum::http::{header, HeaderMap};

use crate::error::ApiError;

/// What a request carries in `X-Request-Signature` (docs/design.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureHeader<'a> {
    /// No header (or, on the page, an empty field).
    Missing,
    /// A header that is not ASCII.
    NotAscii,
    /// Two or more headers: a singleton field, so neither is used (as with `Authorization`).
    Several,
    /// The compact JWS, trimmed.
    Jws(&'a str),
}

/// The request's `X-Request-Signature`, as the gateway and the self-check read it.
pub fn request_signature(headers: &HeaderMap) -> SignatureHeader<'_> {
    let mut values = headers.get_all("x-request-signature").iter();
    match (values.next(), values.next()) {
        (None, _) => SignatureHeader::Missing,
        (Some(_), Some(_)) => SignatureHeader::Several,
        (Some(value), None) => match value.to_str() {
            Ok(jws) => SignatureHeader::Jws(jws.trim()),
            Err(_) => SignatureHeader::NotAscii,
        },
    }
}

/// The bearer token of a request, if it carries one that is well-formed.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or(ApiError::Unauthorized(
        "this endpoint needs Authorization: Bearer <token>; log in at POST /auth/login",
    ))?;
    // A singleton field (RFC 9110 §11.6.2): with two, which one counts would be a reader's
    // guess, so neither does.
    if values.next().is_some() {
        return Err(ApiError::Unauthorized(
            "send one Authorization header, not several",
        ));
    }
    value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        })
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 512)
        .ok_or(ApiError::Unauthorized(
            "the Authorization header must be `Bearer <token>`",
        ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn two_authorization_headers_are_refused() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert!(bearer_token(&headers).is_ok());
        headers.append(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer def"),
        );
        assert!(matches!(
            bearer_token(&headers),
            Err(ApiError::Unauthorized(m)) if m.contains("one Authorization header")
        ));
        let mut odd = HeaderMap::new();
        odd.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xffabc").unwrap(),
        );
        assert!(bearer_token(&odd).is_err(), "not UTF-8");
        assert_eq!(read("Bearer\tabc"), None, "a tab is not the separator");
    }

    fn read(value: &'static str) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        bearer_token(&headers).ok().map(str::to_owned)
    }

    #[test]
    fn the_scheme_is_case_insensitive_and_the_token_is_required() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR  abc "] {
            assert_eq!(read(value).as_deref(), Some("abc"), "{value}");
        }
        for value in [
            "Basic abc",
            "Bearer",
            "Bearer ",
            "Bearerabc",
            "Token abc",
            " Bearer abc",
        ] {
            assert_eq!(read(value), None, "{value}");
        }
    }
}
