//! The bearer credential, read from the `Authorization` header (the registry keeps only its
//! hash, `keygate_registry::credentials::token_hash`). Shared by the JSON API, the web page and the gateway; it imports neither, so each may
//! import it (docs/architecture.md, "Imports point one way").

use axum::http::{header, HeaderMap};

use crate::error::ApiError;

/// The bearer token of a request, if it carries one that is well-formed.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(
            "this endpoint needs Authorization: Bearer <token>; log in at POST /auth/login",
        ))?;
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 512)
        .ok_or(ApiError::Unauthorized(
            "the Authorization header must be `Bearer <token>`",
        ))
}
