//! The gateway (DESIGN §5–§7): configured routes proxied to their upstreams with signed-request
//! verification, replay detection and confidential-field rules.
//!
//! Order of checks for a matched route (§5): the bearer token (401), the key state (403), the
//! signature (401 `signature_*`), then the body rules of §6 (400 `encrypted_field_invalid`).
//! Only then is anything sent upstream.

pub mod cache;
pub mod listener;
pub mod replay;
pub mod routes;
pub mod target;

use std::borrow::Cow;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use keygate_core::jose::{
    decrypt_fields_in_json, encrypt_fields_in_json, verify_signed_request, FieldsInJson,
    RequestFacts, RequestFieldsError, SignatureError, SignaturePolicy,
};
use keygate_registry::Clock;
use keygate_store::Store;

use crate::auth::bearer_token;
use crate::demo::CardApi;
use crate::error::ApiError;
use crate::state::AppState;
use crate::system_key::{load_keyring, Keyring, MasterKey};
use crate::telemetry::RouteLabel;
use cache::Caches;
use replay::ReplayGuard;
use routes::{Matched, Route, RouteTable, Upstream};

/// Entries in each cache (keys, sessions).
const CACHE_CAPACITY: usize = 100_000;

/// One node's gateway: routes, upstream client, caches, replay guard, system keys.
pub struct Gateway {
    pub routes: RouteTable,
    pub caches: Caches,
    /// The database's state as this node sees it (`/readyz`, `/metrics`).
    pub health: Arc<listener::DbHealth>,
    pub replay: ReplayGuard,
    keyring: RwLock<Arc<Keyring>>,
    master: MasterKey,
    grace_secs: i64,
    pub policy: SignaturePolicy,
    demo: Option<CardApi>,
    max_body: usize,
    max_upstream_body: usize,
    /// The one clock, the registry's (docs/architecture.md), read by the background tasks.
    pub clock: Clock,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

pub struct GatewayParts {
    pub routes: RouteTable,
    pub keyring: Keyring,
    pub master: MasterKey,
    pub grace: Duration,
    pub max_skew: Duration,
    pub max_body: usize,
    pub max_upstream_body: usize,
    pub demo: Option<CardApi>,
    pub clock: Clock,
}

impl Gateway {
    pub fn new(store: &Store, parts: GatewayParts) -> Result<Gateway, String> {
        // With PostgreSQL, NOTIFY invalidates at once; the age limit only covers a lost
        // connection. With SQLite the age limit (1 s) covers `keygate admin` run from another
        // process, which cannot reach this node's memory.
        let max_age = if store.is_shared() {
            Duration::from_secs(30)
        } else {
            Duration::from_secs(1)
        };
        Ok(Gateway {
            routes: parts.routes,
            // On PostgreSQL the caches are used only once the listener has subscribed.
            caches: Caches::new(CACHE_CAPACITY, max_age, !store.is_shared()),
            health: Arc::new(listener::DbHealth::new()),
            replay: ReplayGuard::for_store(store),
            keyring: RwLock::new(Arc::new(parts.keyring)),
            master: parts.master,
            grace_secs: i64::try_from(parts.grace.as_secs()).unwrap_or(i64::MAX),
            policy: SignaturePolicy {
                max_skew_secs: i64::try_from(parts.max_skew.as_secs()).unwrap_or(300),
                ..SignaturePolicy::default()
            },
            demo: parts.demo,
            max_body: parts.max_body,
            max_upstream_body: parts.max_upstream_body,
            clock: parts.clock,
        })
    }

    /// The system keys as this node holds them now.
    pub fn keyring(&self) -> Arc<Keyring> {
        match self.keyring.read() {
            Ok(ring) => ring.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the system keys (after a rotation by any node or by `keygate admin`).
    pub async fn reload_keyring(&self, store: &Store, now: i64) {
        match load_keyring(store, &self.master, now, self.grace_secs, false).await {
            Ok(ring) => {
                if let Ok(mut slot) = self.keyring.write() {
                    *slot = Arc::new(ring);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reloading the system keys failed; keeping the ones loaded")
            }
        }
    }
}

/// Starts the node's background work: the invalidation listener (PostgreSQL) and the database
/// monitor (see `listener`), the replay purge and the key ring refresh. It stops by itself once
/// the gateway is dropped.
pub fn spawn_background(store: Store, gateway: &Arc<Gateway>) {
    listener::spawn(store.clone(), gateway);
    // Periodic work: purge old jtis, refresh the system keys.
    let weak: Weak<Gateway> = Arc::downgrade(gateway);
    tokio::spawn(async move {
        let mut purge = tokio::time::interval(Duration::from_secs(10));
        let mut refresh = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = purge.tick() => {
                    let Some(gw) = weak.upgrade() else { break };
                    gw.replay.purge(&store, gw.clock.now()).await;
                }
                _ = refresh.tick() => {
                    let Some(gw) = weak.upgrade() else { break };
                    gw.reload_keyring(&store, gw.clock.now()).await;
                }
            }
        }
    });
}

/// A request for the gateway, counted in the request metrics (the front door's path: no router,
/// no middleware stack; see `front`).
pub async fn serve(state: AppState, request: Request) -> Response {
    let start = std::time::Instant::now();
    let method = request.method().clone();
    let response = handle(State(state), request).await;
    crate::telemetry::observe(&method, None, &response, start);
    response
}

/// The router's fallback handler: every path the JSON API and the web page do not serve.
///
/// The request target was checked by the front door (`front::Front`, which every request
/// passes, whether it goes to the router or straight here) before any routing; the URL sent
/// upstream is checked again in [`routes::HttpUpstream::url`].
pub async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let route = match state
        .gateway
        .routes
        .find(request.method(), request.uri().path())
    {
        Matched::Route(route) => route,
        Matched::WrongMethod => {
            let mut response = ApiError::MethodNotAllowed.into_response();
            origin_headers(&mut response);
            return response;
        }
        Matched::None => {
            let mut response = ApiError::NotFound("nothing is served at this path").into_response();
            origin_headers(&mut response);
            return response;
        }
    };
    let mut response = match proxy(&state, route, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    response
        .extensions_mut()
        .insert(RouteLabel(route.pattern.clone()));
    origin_headers(&mut response);
    response
}

/// Gateway answers share keygate's origin with its web page (docs/gateway.md, "Origin"): no
/// answer is sniffed into another type, and one that is not JSON is sandboxed (an opaque
/// origin, no scripts), so an upstream's HTML cannot act on keygate's own pages. The sandbox is
/// a policy of its own, added beside any the upstream sent: browsers enforce both.
fn origin_headers(response: &mut Response) {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !is_json {
        headers.append(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox"),
        );
    }
}

fn signature_error(e: SignatureError) -> ApiError {
    match e {
        SignatureError::Invalid(reason) => ApiError::SignatureInvalid(reason.to_string()),
        SignatureError::Stale(reason) => ApiError::SignatureStale(reason.to_string()),
    }
}

/// Hop-by-hop headers (RFC 9110 §7.6.1): never forwarded, in either direction.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// Toward the upstream: hop-by-hop headers, the caller's credentials, and what keygate sets
/// itself (so a caller cannot spoof `X-Keygate-*`).
fn is_dropped_request_header(name: &HeaderName) -> bool {
    is_hop_by_hop(name)
        || matches!(
            name.as_str(),
            "host" | "content-length" | "authorization" | "x-request-signature"
        )
        || is_keygate_header(name)
}

/// `X-Keygate-*`, reading `_` as `-`: a WSGI or CGI upstream reads `X_Keygate_Client_Id` as
/// `HTTP_X_KEYGATE_CLIENT_ID`, the same variable as keygate's own header (issue 8).
fn is_keygate_header(name: &HeaderName) -> bool {
    let prefix = b"x-keygate-";
    let name = name.as_str().as_bytes();
    name.len() >= prefix.len()
        && name
            .iter()
            .zip(prefix)
            .all(|(&c, &p)| c == p || (c == b'_' && p == b'-'))
}

/// The `Cookie` header without keygate's own cookies (the web session is a credential like the
/// bearer token); `None` when nothing is left.
fn without_own_cookies(value: &HeaderValue) -> Option<HeaderValue> {
    let text = value.to_str().ok()?;
    let kept: Vec<&str> = text
        .split(';')
        .map(str::trim)
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name).trim();
            !pair.is_empty() && !crate::web::session::OWN_COOKIES.contains(&name)
        })
        .collect();
    if kept.is_empty() {
        return None;
    }
    HeaderValue::from_str(&kept.join("; ")).ok()
}

/// Toward the caller: hop-by-hop headers, and the length (the body may be re-encrypted).
fn is_dropped_response_header(name: &HeaderName) -> bool {
    is_hop_by_hop(name) || name.as_str() == "content-length"
}

/// An upstream's `Set-Cookie` for one of keygate's own cookies: dropped, as the upstream shares
/// keygate's origin and could otherwise fix or clear a user's web session (docs/gateway.md).
fn sets_own_cookie(name: &HeaderName, value: &HeaderValue) -> bool {
    if name != header::SET_COOKIE {
        return false;
    }
    let Ok(text) = value.to_str() else {
        return true; // not readable, so not provably harmless
    };
    let cookie = text.split(';').next().unwrap_or_default();
    let cookie_name = cookie.split_once('=').map_or(cookie, |(n, _)| n).trim();
    crate::web::session::OWN_COOKIES
        .iter()
        .any(|own| own.eq_ignore_ascii_case(cookie_name))
}

/// Headers named in `Connection` are hop-by-hop too.
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn forward_headers(
    incoming: &HeaderMap,
    client_id: &str,
    api_key_id: &str,
) -> Result<HeaderMap, ApiError> {
    let listed = connection_listed(incoming);
    let mut out = HeaderMap::with_capacity(incoming.len() + 2);
    for (name, value) in incoming {
        if is_dropped_request_header(name) || listed.iter().any(|l| l == name.as_str()) {
            continue;
        }
        if name == header::COOKIE {
            if let Some(value) = without_own_cookies(value) {
                out.append(header::COOKIE, value);
            }
        } else {
            out.append(name.clone(), value.clone());
        }
    }
    out.insert(
        HeaderName::from_static("x-keygate-client-id"),
        HeaderValue::from_str(client_id).map_err(ApiError::internal)?,
    );
    out.insert(
        HeaderName::from_static("x-keygate-api-key-id"),
        HeaderValue::from_str(api_key_id).map_err(ApiError::internal)?,
    );
    Ok(out)
}

struct UpstreamReply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

async fn call_upstream(
    gw: &Gateway,
    route: &Route,
    method: Method,
    path_and_query: &str,
    headers: impl FnOnce() -> Result<HeaderMap, ApiError>,
    body: Bytes,
) -> Result<UpstreamReply, ApiError> {
    match &route.upstream {
        Upstream::Http(upstream) => {
            let Some(url) = upstream.url(path_and_query) else {
                tracing::warn!(route = %route.pattern, "the upstream URL would differ from base + path; refused");
                return Err(ApiError::InvalidRequest(
                    "the request target cannot be forwarded unchanged".into(),
                ));
            };
            let response = upstream
                .client
                .request(method, url)
                .headers(headers()?)
                .body(body)
                .send()
                .await
                .map_err(|e| upstream_error(e, route))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = read_bounded(response, gw.max_upstream_body, route).await?;
            Ok(UpstreamReply {
                status,
                headers,
                body,
            })
        }
        Upstream::Demo => {
            // In-process and synchronous (a map lookup): it cannot hang, so no timeout.
            let api = gw.demo.as_ref().ok_or(ApiError::UpstreamUnavailable)?;
            let reply = api.call(&method, path_and_query, &body);
            let mut headers = HeaderMap::with_capacity(1);
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Ok(UpstreamReply {
                status: reply.status,
                headers,
                body: reply.body,
            })
        }
    }
}

/// The upstream's answer, read up to `max_upstream_body_bytes`: a larger one is refused (502)
/// rather than held in memory whole.
async fn read_bounded(
    mut response: reqwest::Response,
    max: usize,
    route: &Route,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        tracing::warn!(route = %route.pattern, max, "the upstream's answer is larger than max_upstream_body_bytes; refused");
        ApiError::UpstreamUnavailable
    };
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    // Most answers arrive in one chunk: it is kept as it is, without a copy.
    let Some(first) = response
        .chunk()
        .await
        .map_err(|e| upstream_error(e, route))?
    else {
        return Ok(Bytes::new());
    };
    if first.len() > max {
        return Err(too_large());
    }
    let mut body: Option<Vec<u8>> = None;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| upstream_error(e, route))?
    {
        let body = body.get_or_insert_with(|| first.to_vec());
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.map_or(first, Bytes::from))
}

/// A failed upstream exchange: 504 on a timeout, else 502; the warning names the route and the
/// whole cause (e.g. rustls's "invalid peer certificate: UnknownIssuer"), never a key.
fn upstream_error(e: reqwest::Error, route: &Route) -> ApiError {
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        cause.push_str(": ");
        cause.push_str(&inner.to_string());
        source = inner.source();
    }
    if e.is_timeout() {
        tracing::warn!(route = %route.pattern, error = %cause, "upstream timed out");
        ApiError::UpstreamTimeout
    } else {
        tracing::warn!(route = %route.pattern, error = %cause, "upstream unavailable");
        ApiError::UpstreamUnavailable
    }
}

async fn proxy(state: &AppState, route: &Route, request: Request) -> Result<Response, ApiError> {
    let gw = &state.gateway;
    let (parts, body) = request.into_parts();
    let now = state.now();

    // 1. Who: the bearer token (401).
    let token = bearer_token(&parts.headers)?;
    let principal = gw.caches.session(&state.registry, token, now).await?;
    let api_key_id = principal.api_key.id;
    crate::request_log::set_caller(principal.client.id, api_key_id);

    // 2. The key state (403): a route with a signature or confidential fields needs an active
    //    key, and never falls back to plaintext without one.
    let client_key = if route.needs_client_key() {
        Some(
            gw.caches
                .key_state(&state.registry, api_key_id, now)
                .await?
                .active(now)?,
        )
    } else {
        None
    };

    let too_large = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > gw.max_body as u64);
    if too_large {
        return Err(ApiError::PayloadTooLarge);
    }
    let body = axum::body::to_bytes(body, gw.max_body)
        .await
        .map_err(|e| ApiError::from_body_error(&e, ApiError::PayloadTooLarge))?;
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());

    // 3. The signature (401), then the jti, recorded before anything is forwarded.
    if route.signature_required {
        let jws = parts
            .headers
            .get("x-request-signature")
            .ok_or(ApiError::SignatureMissing)?
            .to_str()
            .map_err(|_| {
                ApiError::SignatureInvalid("the X-Request-Signature header is not ASCII".into())
            })?
            .trim();
        let key = client_key.as_ref().ok_or(ApiError::PublicKeyRequired)?;
        let facts = RequestFacts {
            method: parts.method.as_str(),
            path_and_query,
            body: &body,
            bearer_token: token,
        };
        let verified =
            verify_signed_request(jws, key, &facts, now, &gw.policy).map_err(signature_error)?;
        let until = verified.iat.saturating_add(gw.policy.max_skew_secs);
        gw.replay
            .record(&state.store, api_key_id, &verified.jti, now, until)
            .await?;
    }

    // 4. Confidential request fields (400 encrypted_field_invalid; nothing is forwarded).
    //    Only the named values change; the rest reaches the upstream byte for byte.
    let body = if !route.decrypt_request.is_empty() && !body.is_empty() {
        let ring = gw.keyring();
        match decrypt_fields_in_json(&body, &route.decrypt_request, &ring.decrypting(now)) {
            Ok(Cow::Borrowed(_)) => body,
            Ok(Cow::Owned(out)) => Bytes::from(out),
            Err(RequestFieldsError::Invalid(_)) => return Err(ApiError::EncryptedFieldInvalid),
            Err(e) => return Err(ApiError::InvalidRequest(e.to_string())),
        }
    } else {
        body
    };

    // 5. Forward.
    let headers = || {
        forward_headers(
            &parts.headers,
            &principal.client.id.to_string(),
            &api_key_id.to_string(),
        )
    };
    let reply = call_upstream(
        gw,
        route,
        parts.method.clone(),
        path_and_query,
        headers,
        body,
    )
    .await?;

    // 6. Confidential response fields, encrypted to the caller's active key.
    let mut body = reply.body;
    //    The rest of the answer is passed on byte for byte. A body that is not JSON cannot
    //    have its fields found, so it is refused rather than passed on: it may hold them in
    //    plaintext (e.g. JSON with trailing bytes). Only an empty body passes.
    if let (false, Some(key)) = (route.encrypt_response.is_empty(), client_key.as_ref()) {
        match encrypt_fields_in_json(&body, &route.encrypt_response, route.scheme, key)
            .map_err(ApiError::internal)?
        {
            FieldsInJson::Rewritten(out) => body = Bytes::from(out),
            FieldsInJson::Unchanged => {}
            FieldsInJson::NotJson if body.is_empty() => {}
            FieldsInJson::NotJson => {
                tracing::warn!(
                    route = %route.pattern,
                    status = reply.status.as_u16(),
                    "the upstream's answer on a route with confidential fields is not JSON; refused"
                );
                return Err(ApiError::UpstreamUnavailable);
            }
        }
    }
    let listed = connection_listed(&reply.headers);
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = reply.status;
    for (name, value) in &reply.headers {
        if !is_dropped_response_header(name)
            && !listed.iter().any(|l| l == name.as_str())
            && !sets_own_cookie(name, value)
        {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(response)
}
