//! `/openapi.json`: the OpenAPI 3.1 description of the API, kept as a document beside the code
//! and checked against the router by the tests (every documented operation is served).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

pub const OPENAPI_JSON: &str = include_str!("../../openapi/openapi.json");

pub async fn openapi() -> Response {
    let mut response = OPENAPI_JSON.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
