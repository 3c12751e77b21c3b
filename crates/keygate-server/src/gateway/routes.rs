//! Gateway routes from configuration (docs/gateway.md), checked once at start.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use keygate_client::tls::TlsClientOptions;
use keygate_core::jose::Scheme;

use super::upstream::{CardApi, HttpUpstream, Upstream};
use crate::config::{RouteConfig, Signature};

/// One segment of a path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{name}`: any one non-empty segment.
    Param,
}

/// A route, parsed.
#[derive(Debug, Clone)]
pub struct Route {
    /// As configured; also the `route` label of the request metrics.
    pub pattern: Arc<str>,
    segments: Vec<Segment>,
    /// The methods taken; another method on a matching path is 405.
    pub methods: Vec<Method>,
    /// Where a matched request is forwarded.
    pub upstream: Upstream,
    /// `signature = "required"`: the request must carry a valid `X-Request-Signature`.
    pub signature_required: bool,
    /// JSON pointers of answer fields encrypted to the caller's active key.
    pub encrypt_response: Vec<String>,
    /// JSON pointers of request fields decrypted with the system key ring before forwarding.
    pub decrypt_request: Vec<String>,
    /// How `encrypt_response` fields are encrypted.
    pub scheme: Scheme,
}

impl Route {
    /// Does the route need the caller's active key (to verify or to encrypt to)?
    pub fn needs_client_key(&self) -> bool {
        self.signature_required
            || !self.encrypt_response.is_empty()
            || !self.decrypt_request.is_empty()
    }

    fn matches(&self, path: &str) -> bool {
        let mut parts = path.strip_prefix('/').unwrap_or(path).split('/');
        for segment in &self.segments {
            match (segment, parts.next()) {
                (Segment::Literal(lit), Some(part)) if lit == part => {}
                (Segment::Param, Some(part)) if !part.is_empty() => {}
                _ => return false,
            }
        }
        parts.next().is_none()
    }
}

/// Why a route in the configuration is refused.
#[derive(Debug, thiserror::Error)]
#[error("route {path:?}: {reason}")]
pub struct RouteError {
    path: String,
    reason: String,
}

impl RouteError {
    /// The route at `path` cannot be served, because of `reason`.
    pub fn new(path: &str, reason: impl Into<String>) -> RouteError {
        RouteError {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }
}

fn pointer_ok(p: &str) -> bool {
    p.starts_with('/')
}

/// Makes (or reuses) the upstream client for a TLS profile.
pub trait UpstreamClients {
    /// The client for this TLS profile (made once, then shared); the error says which of the
    /// profile's files is unusable.
    fn client(&mut self, tls: &TlsClientOptions) -> Result<reqwest::Client, String>;
    /// The demo card API, shared by every `keygate:demo` route (`None` without `--demo`).
    fn demo(&self) -> Option<Arc<CardApi>>;
}

/// Parses and checks a configured route; `default_ca` is the top-level `upstream_ca_file`.
pub fn compile(
    config: &RouteConfig,
    default_ca: Option<&Path>,
    clients: &mut dyn UpstreamClients,
) -> Result<Route, RouteError> {
    let fail = |reason: String| RouteError {
        path: config.path.clone(),
        reason,
    };
    if !config.path.starts_with('/') {
        return Err(fail("path must start with /".into()));
    }
    let segments = config.path[1..]
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') && s.len() > 2 {
                Ok(Segment::Param)
            } else if s.contains(['{', '}', '?', '#']) {
                Err(fail(format!(
                    "segment {s:?} is neither a literal nor {{name}}"
                )))
            } else {
                Ok(Segment::Literal(s.to_owned()))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let methods = config
        .methods
        .iter()
        .map(|m| {
            Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| fail(format!("method {m:?} is not an HTTP method")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if methods.is_empty() {
        return Err(fail("methods must list at least one method".into()));
    }
    let tls = match (
        &config.upstream_client_cert_file,
        &config.upstream_client_key_file,
    ) {
        (Some(cert), Some(key)) => {
            // A private key: refused when others can read or change it (docs/deployment.md,
            // "Secret files").
            crate::config::secret_file::check(key, "upstream_client_key_file")
                .map_err(|e| fail(e.to_string()))?;
            Some((cert.clone(), key.clone()))
        }
        (None, None) => None,
        _ => {
            return Err(fail(
                "upstream_client_cert_file and upstream_client_key_file go together".into(),
            ))
        }
    };
    let tls = TlsClientOptions {
        ca_file: config
            .upstream_ca_file
            .clone()
            .or_else(|| default_ca.map(Path::to_path_buf)),
        identity: tls,
    };
    let upstream = if config.upstream == "keygate:demo" {
        Upstream::Demo(clients.demo())
    } else if let Some(rest) = config
        .upstream
        .strip_prefix("http://")
        .or_else(|| config.upstream.strip_prefix("https://"))
    {
        if rest.is_empty() || rest.contains(['?', '#']) {
            return Err(fail("upstream must be http(s)://host:port[/base]".into()));
        }
        let is_https = config.upstream.starts_with("https://");
        if !is_https && (config.upstream_ca_file.is_some() || tls.identity.is_some()) {
            return Err(fail(
                "upstream_ca_file and a client certificate need an https:// upstream".into(),
            ));
        }
        let client = clients.client(&tls).map_err(fail)?;
        Upstream::Http(HttpUpstream::parse(&config.upstream, client).map_err(fail)?)
    } else {
        return Err(fail(
            "upstream must be an http:// or https:// URL, or keygate:demo".into(),
        ));
    };
    for p in config
        .encrypt_response
        .iter()
        .chain(&config.decrypt_request)
    {
        if !pointer_ok(p) {
            return Err(fail(format!(
                "{p:?} is not a JSON pointer (RFC 6901) like /data/card/number"
            )));
        }
    }
    Ok(Route {
        pattern: Arc::from(config.path.as_str()),
        segments,
        methods,
        upstream,
        signature_required: config.signature == Signature::Required,
        encrypt_response: config.encrypt_response.clone(),
        decrypt_request: config.decrypt_request.clone(),
        scheme: config.scheme,
    })
}

/// The upstream clients, one per TLS profile.
struct ClientPool {
    timeout: Duration,
    made: HashMap<TlsClientOptions, reqwest::Client>,
    demo: Option<Arc<CardApi>>,
}

impl UpstreamClients for ClientPool {
    fn client(&mut self, tls: &TlsClientOptions) -> Result<reqwest::Client, String> {
        if let Some(client) = self.made.get(tls) {
            return Ok(client.clone());
        }
        let client = keygate_client::tls::http_builder(tls)
            .map_err(|e| e.to_string())?
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(256)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the upstream HTTP client: {e}"))?;
        self.made.insert(tls.clone(), client.clone());
        Ok(client)
    }

    fn demo(&self) -> Option<Arc<CardApi>> {
        self.demo.clone()
    }
}

/// What a path finds among the routes.
pub enum Matched<'a> {
    /// The first route whose pattern and methods both match.
    Route(&'a Route),
    /// The path matches, the method does not.
    WrongMethod,
    /// No route's pattern matches the path: 404.
    None,
}

/// The routes, in configuration order; the first match wins.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    /// `upstream_timeout`: the bound on a whole upstream exchange.
    pub timeout: Duration,
}

impl RouteTable {
    /// Compiles the routes; upstream clients are made here, one per TLS profile, with the
    /// gateway's timeouts and no redirects followed. `demo`: the card API of `--demo`.
    pub fn new(
        configs: &[RouteConfig],
        timeout: Duration,
        default_ca: Option<&Path>,
        demo: Option<Arc<CardApi>>,
    ) -> Result<RouteTable, RouteError> {
        let mut clients = ClientPool {
            timeout,
            made: HashMap::new(),
            demo,
        };
        Ok(RouteTable {
            routes: configs
                .iter()
                .map(|c| compile(c, default_ca, &mut clients))
                .collect::<Result<_, _>>()?,
            timeout,
        })
    }

    /// The first route matching `path` and `method`, in configuration order.
    pub fn find(&self, method: &Method, path: &str) -> Matched<'_> {
        let mut path_matched = false;
        for route in &self.routes {
            if route.matches(path) {
                if route.methods.contains(method) {
                    return Matched::Route(route);
                }
                path_matched = true;
            }
        }
        if path_matched {
            Matched::WrongMethod
        } else {
            Matched::None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn route(path: &str) -> RouteConfig {
        RouteConfig {
            path: path.into(),
            methods: vec!["GET".into()],
            upstream: "http://127.0.0.1:9".into(),
            signature: Signature::Required,
            encrypt_response: vec![],
            decrypt_request: vec![],
            scheme: Scheme::Jwe,
            ..RouteConfig::default()
        }
    }

    #[test]
    fn patterns_match_one_segment_per_name() {
        let t = RouteTable::new(
            &[route("/cards/{id}"), route("/cards/{id}/pin")],
            Duration::from_secs(1),
            None,
            None,
        )
        .unwrap();
        assert!(
            matches!(t.find(&Method::GET, "/cards/42"), Matched::Route(r) if &*r.pattern == "/cards/{id}")
        );
        assert!(
            matches!(t.find(&Method::GET, "/cards/42/pin"), Matched::Route(r) if &*r.pattern == "/cards/{id}/pin")
        );
        assert!(matches!(t.find(&Method::GET, "/cards/"), Matched::None));
        assert!(matches!(
            t.find(&Method::GET, "/cards/4/2/x"),
            Matched::None
        ));
        assert!(matches!(
            t.find(&Method::POST, "/cards/42"),
            Matched::WrongMethod
        ));
        let compile_one =
            |c: RouteConfig| RouteTable::new(&[c], Duration::from_secs(1), None, None);
        assert!(compile_one(RouteConfig {
            upstream: "https://x".into(),
            ..route("/a")
        })
        .is_ok());
        assert!(compile_one(RouteConfig {
            upstream: "ftp://x".into(),
            ..route("/a")
        })
        .is_err());
        assert!(
            compile_one(RouteConfig {
                upstream_client_cert_file: Some("/c.pem".into()),
                ..route("/a")
            })
            .is_err(),
            "a certificate without its key"
        );
        assert!(
            compile_one(RouteConfig {
                upstream_ca_file: Some("/ca.pem".into()),
                ..route("/a")
            })
            .is_err(),
            "a CA for a plain-HTTP upstream"
        );
        // A scheme like "rot13" is refused when the configuration is read (config/tests.rs).
        assert!(compile_one(RouteConfig {
            encrypt_response: vec!["data".into()],
            ..route("/a")
        })
        .is_err());
    }
}
