//! `ApiJson<T>`: a JSON body with the API's errors (415, 413, 400 naming the field;
//! docs/design.md §4), and no echo of the body's values in any message — a pasted secret must
//! not come back.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Extractor for a JSON request body: refuses with the API's 415, 413, 408 or 400, never
/// echoing a value of the body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Is the `Content-Type` `application/json` or any `application/*+json` (parameters ignored)?
pub fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// The body, within `DefaultBodyLimit` (set from `max_body_bytes`): over it is 413.
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::from_body_error(
                &rejection,
                ApiError::InvalidRequest("the request body could not be read".into()),
            )
        }
    })
}

/// Parse a body already read; a failure is 400 `invalid_request` naming the field and position,
/// never the value.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::InvalidRequest(describe(&e)))
}

/// serde_json's messages can quote the offending value; keep the field names and positions only.
fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {} column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof => format!("the body is not valid JSON (at {at})"),
        Category::Io => "the request body could not be read".into(),
        Category::Data => {
            let text = e.to_string();
            if let Some(rest) = text.strip_prefix("missing field ") {
                let field = rest.split(" at line").next().unwrap_or(rest);
                format!("missing field {field}")
            } else if let Some(rest) = text.strip_prefix("unknown field ") {
                let field = rest.split(',').next().unwrap_or(rest);
                format!("unknown field {field}")
            } else if let Some(expected) = text.split("expected ").nth(1) {
                let expected = expected.split(" at line").next().unwrap_or(expected);
                format!("a value has the wrong type at {at}: expected {expected}")
            } else {
                format!("the body does not have the expected shape (at {at})")
            }
        }
    }
}
