//! Where a route's requests go: one interface, [`CallUpstream`], with two implementations — an
//! HTTP(S) service ([`HttpUpstream`]) and the in-process demo card API ([`CardApi`]). The
//! pipeline sees only [`Upstream`]; which one answers is a `match`, so a call costs no box and
//! no router (docs/architecture.md, "The gateway").

mod demo;
mod http;

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};

use crate::error::ApiError;
pub use demo::{CardApi, CardReply};
pub use http::HttpUpstream;

/// What the pipeline hands an upstream: the request as checked, its body as it is to be sent.
pub struct UpstreamRequest<'a> {
    /// The route's pattern, for log lines (never the raw path).
    pub route: &'a str,
    /// The method as received.
    pub method: Method,
    /// The path and query as received (checked by the front door, `target`).
    pub path_and_query: &'a str,
    /// The body, confidential request fields already decrypted.
    pub body: Bytes,
    /// The largest answer read (`max_upstream_body_bytes`); a larger one is a 502.
    pub max_reply: usize,
}

/// An upstream's answer, read whole (bounded), before the response rules apply.
pub struct UpstreamReply {
    /// The upstream's status, passed on as it is.
    pub status: StatusCode,
    /// The upstream's headers, filtered by `headers::copy_response_headers` on the way back.
    pub headers: HeaderMap,
    /// The body, whose confidential fields the pipeline encrypts next.
    pub body: Bytes,
}

/// A service the gateway forwards to. `headers` makes the forwarded headers and is called only
/// by an upstream that sends them (the in-process demo does not).
pub trait CallUpstream {
    /// Sends one request; a failure is already the caller's answer (502, 504 or 400).
    fn call(
        &self,
        request: UpstreamRequest<'_>,
        headers: impl FnOnce() -> Result<HeaderMap, ApiError> + Send,
    ) -> impl Future<Output = Result<UpstreamReply, ApiError>> + Send;
}

/// A route's upstream, fixed when the route is compiled.
#[derive(Debug, Clone)]
pub enum Upstream {
    /// `http(s)://host:port[/base]`: the matched path and query are appended as sent.
    Http(HttpUpstream),
    /// `keygate:demo`: the sample card API, in-process, shared by the demo routes. `None` when
    /// the node runs without `--demo`: such a route answers 502, as an upstream that is down.
    Demo(Option<Arc<CardApi>>),
}

impl CallUpstream for Upstream {
    async fn call(
        &self,
        request: UpstreamRequest<'_>,
        headers: impl FnOnce() -> Result<HeaderMap, ApiError> + Send,
    ) -> Result<UpstreamReply, ApiError> {
        match self {
            Upstream::Http(upstream) => upstream.call(request, headers).await,
            Upstream::Demo(Some(api)) => api.call(request, headers).await,
            Upstream::Demo(None) => Err(ApiError::UpstreamUnavailable),
        }
    }
}
