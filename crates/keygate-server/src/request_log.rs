//! The request id and the access log (issue 11; docs/operations.md, "Logs").
//!
//! Every request gets an id: the caller's `X-Request-Id` when it is well-formed, else one made
//! here. It is forwarded upstream, returned in the answer, and is a field of the request's
//! tracing span, so every log line of the request carries it. With `access_log = true` one line
//! per request says what was asked and answered — never a token, signature, password, body or
//! field value: only the method, the route *pattern*, the status, the latency, the caller's ids,
//! the request id and the body size.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::Response;
use uuid::Uuid;

/// The route pattern an answer is counted and logged under (never the raw path): set by the
/// router's `telemetry::label_route` layer for keygate's own routes, by the gateway for its own.
#[derive(Debug, Clone)]
pub struct RouteLabel(pub Arc<str>);

/// The slug of a refusal the gateway answered, set on the answer for the front door's metrics
/// (`keygate_gateway_refusals_total`, by slug only: bounded series, docs/operations.md).
#[derive(Debug, Clone, Copy)]
pub struct GatewayRefusal(pub keygate_api::ErrorSlug);

/// `X-Request-Id`: taken from the caller when well-formed (see [`request_id`]), sent back on every
/// answer and written in the request's log lines.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest caller-given request id kept.
const MAX_ID_LEN: usize = 128;

/// The caller's id when well-formed (1–128 of `A–Z a–z 0–9 - _ . : /` and `+ =`, enough for
/// UUIDs, ULIDs, W3C trace ids and base64), else a new UUID. Anything else — spaces, quotes,
/// control characters, a second header — could forge log fields, so it is replaced.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    let mut given = headers.get_all(&REQUEST_ID).iter();
    if let (Some(value), None) = (given.next(), given.next()) {
        let bytes = value.as_bytes();
        let well_formed = !bytes.is_empty()
            && bytes.len() <= MAX_ID_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(b));
        if well_formed {
            return value.clone();
        }
    }
    let mut buf = [0u8; uuid::fmt::Simple::LENGTH];
    let text = new_request_uuid().simple().encode_lower(&mut buf);
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// A random (v4) UUID from aws-lc's user-space generator, which every JWE on the hot path uses
/// already. `Uuid::new_v4` asks the kernel (one `getrandom` system call per request: a third of
/// the system calls of a signed call; BENCHMARKS.md, "Stop 19").
fn new_request_uuid() -> Uuid {
    let mut bytes = [0u8; 16];
    match aws_lc_rs::rand::fill(&mut bytes) {
        Ok(()) => uuid::Builder::from_random_bytes(bytes).into_uuid(),
        Err(_) => Uuid::new_v4(),
    }
}

/// Who called, once authenticated (ids only).
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// The client the bearer token belongs to.
    pub client_id: Uuid,
    /// The API key it logged in with.
    pub api_key_id: Uuid,
}

tokio::task_local! {
    /// The caller of the request this task is serving, set where a token is checked.
    static CALLER: Arc<OnceLock<Caller>>;
}

/// Records the request's caller for its access line (a no-op outside a request).
pub fn set_caller(client_id: Uuid, api_key_id: Uuid) {
    let _ = CALLER.try_with(|slot| {
        slot.set(Caller {
            client_id,
            api_key_id,
        })
    });
}

/// Serves `future` as one request: in its span (with the request id), with a caller slot, and
/// with the id on the answer; then the access line when asked for.
pub async fn serve_logged<F>(
    id: HeaderValue,
    method: Method,
    access_log: bool,
    future: F,
) -> Response
where
    F: std::future::Future<Output = Response>,
{
    let start = Instant::now();
    let slot: Arc<OnceLock<Caller>> = Arc::default();
    // Well-formed or made here, so always visible ASCII; recorded as a `&str`, not copied.
    let id_text = id.to_str().unwrap_or_default();
    let span = tracing::info_span!("request", request_id = id_text);
    let mut response =
        tracing::Instrument::instrument(CALLER.scope(slot.clone(), future), span.clone()).await;
    // A `HeaderValue` clone shares its bytes.
    response.headers_mut().insert(REQUEST_ID, id.clone());
    if access_log {
        let _entered = span.enter();
        let caller = slot.get();
        let route = response
            .extensions()
            .get::<RouteLabel>()
            .map_or("unmatched", |RouteLabel(r)| r);
        let bytes = http_body::Body::size_hint(response.body()).exact();
        tracing::info!(
            target: "keygate::access",
            method = %method,
            route,
            status = response.status().as_u16(),
            latency_ms = start.elapsed().as_secs_f64() * 1000.0,
            client_id = caller.map(|c| c.client_id.to_string()),
            api_key_id = caller.map(|c| c.api_key_id.to_string()),
            request_id = id_text,
            bytes,
            "request"
        );
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_ids_are_kept() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(REQUEST_ID, HeaderValue::from_str(v).unwrap());
            request_id(&h)
        };
        assert_eq!(with("abc-123_X.y:z/+="), "abc-123_X.y:z/+=");
        for bad in ["", "a b", "a\"b", "a\tb", &"x".repeat(129)] {
            let id = with(bad);
            assert_ne!(id, bad);
            assert_eq!(id.len(), 32, "a new id replaces {bad:?}");
        }
        let id = request_id(&HeaderMap::new());
        assert_eq!(id.len(), 32);
        let uuid = Uuid::parse_str(id.to_str().unwrap()).unwrap();
        assert_eq!(uuid.get_version(), Some(uuid::Version::Random));
        assert_ne!(id, request_id(&HeaderMap::new()), "a fresh id each time");
    }
}
