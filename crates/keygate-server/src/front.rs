//! The service each connection is served by: the gateway's traffic — the hot path — goes
//! straight to the gateway; everything else goes through the router and its own layers (body
//! limit, route label, the web page's headers). What every request gets — the target check, the
//! request id, the trace span, the access line, the metrics — is applied here, around both.
//!
//! Why: the router's per-request machinery (route matching, cloning boxed route services, the
//! middleware stack) cost about 3 % of a signed, encrypted gateway call's CPU (BENCHMARKS.md,
//! "Gateway"). Precedence is unchanged: a path whose first segment is one of keygate's own (read
//! from the routes themselves, `own_routes`) goes to the router — and on to the gateway, its
//! fallback, when the router has no such route — just as when the gateway was only the router's
//! fallback; any other path is one the router does not serve, so it reaches the gateway either
//! way.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use tower::Service;

use crate::connection::{ConnClock, TimedBody};
use crate::own_routes::OwnPaths;
use crate::request_log;
use crate::router::own_routes;
use crate::state::AppState;
use crate::telemetry;

/// Is `path` in keygate's own part of the URL space (served by the router first)? Its first
/// segment is one of those the JSON API's and the web page's routes take, read from the routes
/// themselves ([`crate::router::own_routes`]), once.
pub fn is_own_path(path: &str) -> bool {
    static OWN: LazyLock<OwnPaths> = LazyLock::new(|| own_routes().paths());
    OWN.claims(path)
}

/// Makes a [`Front`] per connection, with the peer's address (for the login limits).
#[derive(Clone)]
pub struct MakeFront {
    state: AppState,
    router: Router,
    body_read_timeout: Duration,
}

impl MakeFront {
    /// Build the router once; every connection's [`Front`] shares it.
    pub fn new(state: AppState) -> MakeFront {
        MakeFront {
            router: crate::router::router(state.clone()),
            body_read_timeout: state.settings.body_read_timeout,
            state,
        }
    }

    pub(crate) fn front(&self, remote: SocketAddr, clock: Arc<ConnClock>) -> Front {
        Front {
            state: self.state.clone(),
            router: self.router.clone(),
            remote,
            clock,
            body_read_timeout: self.body_read_timeout,
        }
    }
}

/// One connection's service.
pub struct Front {
    state: AppState,
    router: Router,
    remote: SocketAddr,
    /// Shared with the connection's socket: the service says when a request is being handled,
    /// so the socket's idle and header deadlines apply only between requests.
    clock: Arc<ConnClock>,
    body_read_timeout: Duration,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        self.clock.busy();
        // The body must arrive within body_read_timeout of the headers' end; wrapping it here
        // replaces the boxing axum does anyway, so the hot path allocates nothing more.
        let deadline = tokio::time::Instant::now() + self.body_read_timeout;
        let mut request: Request =
            request.map(|incoming| Body::new(TimedBody::new(incoming, deadline)));
        request.extensions_mut().insert(ConnectInfo(self.remote));
        // The request id: kept from the caller when well-formed, else made; it replaces the
        // header, so the upstream receives the same one (docs/operations.md, "Logs").
        let id = request_log::request_id(request.headers());
        request
            .headers_mut()
            .insert(request_log::REQUEST_ID, id.clone());
        let method = request.method().clone();
        let access_log = self.state.settings.access_log;
        let clock = self.clock.clone();
        // Before routing, for keygate's own paths too: a target that a parser could read as
        // another path is refused (docs/gateway.md, "The request target").
        type Answer = Pin<Box<dyn Future<Output = Response> + Send>>;
        let (response, counted): (Answer, bool) = if let Err(e) =
            keygate_core::target::check(request.uri().path(), request.uri().query())
        {
            let response = crate::error::ApiError::InvalidRequest(e.to_string()).into_response();
            (Box::pin(std::future::ready(response)), false)
        } else if is_own_path(request.uri().path()) {
            // The router is always ready (axum documents `poll_ready` as a no-op); cloning
            // it clones an `Arc`.
            let future = self.router.clone().call(request);
            let answer = Box::pin(async move {
                match future.await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            });
            (answer, true)
        } else {
            let state = self.state.clone();
            let answer = Box::pin(async move {
                let now = state.now();
                state.gateway.handle(&state.registry, now, request).await
            });
            (answer, true)
        };
        // What every routed request gets, the gateway's too: counted (metrics) within its span,
        // request id and access line (request_log). A concern for every request belongs here,
        // not in the router's layers, which the gateway's traffic never passes.
        let start = Instant::now();
        let counted_method = method.clone();
        let response = async move {
            let response = response.await;
            if counted {
                telemetry::observe(&counted_method, &response, start);
            }
            response
        };
        Box::pin(async move {
            let response = request_log::serve_logged(id, method, access_log, response).await;
            clock.idle();
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_paths_go_to_the_router_first() {
        for path in [
            "/",
            "/auth/login",
            "/clients/api_key/public_keys/x",
            "/system/public_key",
            "/.well-known/jwks.json",
            "/healthz",
            "/openapi.json",
            // The web page's paths (the API's are checked against /openapi.json in tests/api).
            "/login",
            "/logout",
            "/upload",
            "/revoke",
            "/successor",
            "/successor/withdraw",
            "/successor/activate",
            "/keys/abc",
            "/static/copy.js",
            "/static/keygate.css",
        ] {
            assert!(is_own_path(path), "{path}");
        }
        for path in ["/demo/cards/42", "/cards", "/loginx", "/api/v1/x"] {
            assert!(!is_own_path(path), "{path}");
        }
    }
}
