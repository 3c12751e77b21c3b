//! Logs and metrics. Logs go to stderr, level from `RUST_LOG` (default `info`); bodies and
//! headers are never logged, so a pasted private key or a password cannot reach a log line.
//! Metrics are kept in a Prometheus recorder and served at `/metrics`.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use keygate_api::ErrorSlug;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub use crate::request_log::{GatewayRefusal, RouteLabel};
use crate::state::AppState;

/// Installs the log subscriber: text or JSON lines on stderr, level from `RUST_LOG`.
pub fn init_logs(format: crate::config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        crate::config::LogFormat::Text => builder.try_init(),
        // Fields flattened beside `message`; the request span's fields (its id) on every line.
        crate::config::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// The process-wide recorder (several nodes in one test process share it).
fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Fails only when another recorder was installed first; then ours just stays empty.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The two series of one (route, method, status), registered once: building a label set and
/// looking it up in the recorder on every request was ~1 % of a gateway call's CPU.
type Series = (Counter, Histogram);
type SeriesByRoute = HashMap<String, HashMap<(Method, u16), Series>>;

fn series() -> &'static RwLock<SeriesByRoute> {
    static SERIES: OnceLock<RwLock<SeriesByRoute>> = OnceLock::new();
    SERIES.get_or_init(|| RwLock::new(HashMap::new()))
}

/// Methods outside RFC 9110's list are counted as `OTHER`: a caller must not be able to make
/// new series at will.
fn method_label(method: &Method) -> Method {
    match *method {
        Method::GET
        | Method::HEAD
        | Method::POST
        | Method::PUT
        | Method::DELETE
        | Method::CONNECT
        | Method::OPTIONS
        | Method::TRACE
        | Method::PATCH => method.clone(),
        _ => Method::from_bytes(b"OTHER").unwrap_or_default(),
    }
}

fn record(route: &str, method: Method, status: u16, seconds: f64) {
    let key = (method, status);
    if let Ok(map) = series().read() {
        if let Some((requests, duration)) = map.get(route).and_then(|m| m.get(&key)) {
            requests.increment(1);
            duration.record(seconds);
            return;
        }
    }
    let labels = [
        ("method", key.0.as_str().to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    let requests = metrics::counter!("keygate_http_requests_total", &labels);
    let duration = metrics::histogram!("keygate_http_request_duration_seconds", &labels);
    requests.increment(1);
    duration.record(seconds);
    if let Ok(mut map) = series().write() {
        map.entry(route.to_owned())
            .or_default()
            .insert(key, (requests, duration));
    }
}

/// The router's layer that labels an answer with the route pattern it matched, for the metrics
/// and the access line. Counting is not here but in the front door (`front::Front`), which
/// every request passes, the gateway's included.
pub async fn label_route(req: Request, next: Next) -> Response {
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(req).await;
    if let Some(path) = matched {
        if response.extensions().get::<RouteLabel>().is_none() {
            response
                .extensions_mut()
                .insert(RouteLabel(Arc::from(path.as_str())));
        }
    }
    response
}

/// `keygate_gateway_refusals_total{slug}`, one series per slug, registered on first use: by slug
/// only (no route, no client), so the number of series is bounded by the slug table.
fn count_refusal(slug: ErrorSlug) {
    static COUNTERS: OnceLock<RwLock<HashMap<ErrorSlug, Counter>>> = OnceLock::new();
    let counters = COUNTERS.get_or_init(|| RwLock::new(HashMap::new()));
    if let Ok(map) = counters.read() {
        if let Some(counter) = map.get(&slug) {
            counter.increment(1);
            return;
        }
    }
    let counter = metrics::counter!("keygate_gateway_refusals_total", "slug" => slug.as_str());
    counter.increment(1);
    if let Ok(mut map) = counters.write() {
        map.insert(slug, counter);
    }
}

/// Counts and times one answered request by method, route pattern (the [`RouteLabel`] on the
/// response, never the raw path; `unmatched` without one) and status; a gateway refusal also by
/// its slug ([`GatewayRefusal`]).
pub fn observe(method: &Method, response: &Response, start: Instant) {
    if let Some(GatewayRefusal(slug)) = response.extensions().get::<GatewayRefusal>() {
        count_refusal(*slug);
    }
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or("unmatched", |RouteLabel(pattern)| pattern);
    record(
        route,
        method_label(method),
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
}

/// The database's state as this node sees it, set when scraped (docs/operations.md lists the
/// series and what to alert on).
fn record_database(state: &AppState) {
    let stats = state.store.stats();
    let health = &state.gateway.health;
    let flag = |on: bool| if on { 1.0 } else { 0.0 };
    metrics::gauge!("keygate_database_up").set(flag(health.is_up()));
    metrics::gauge!("keygate_database_pool_connections", "state" => "idle")
        .set(f64::from(stats.pool_idle));
    metrics::gauge!("keygate_database_pool_connections", "state" => "in_use")
        .set(f64::from(stats.pool_size.saturating_sub(stats.pool_idle)));
    // Operations waiting now for a connection or an answer (each at most database_timeout).
    #[allow(clippy::cast_precision_loss)]
    metrics::gauge!("keygate_database_waiting").set(stats.waiting as f64);
    metrics::counter!("keygate_database_timeouts_total").absolute(stats.timeouts);
    metrics::counter!("keygate_database_unavailable_total").absolute(stats.unavailable);
    if state.store.is_shared() {
        metrics::gauge!("keygate_invalidation_listener_connected").set(flag(health.is_listening()));
    }
}

/// Prometheus text format.
#[utoipa::path(
    get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", body = String, description = "Metrics"))
)]
pub async fn metrics_endpoint(State(state): State<AppState>) -> Response {
    record_database(&state);
    let mut response = prometheus().render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// Install the recorder before the first request is counted.
pub fn init_metrics() {
    let _ = prometheus();
}
