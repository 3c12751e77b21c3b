//! Black-box tests of the gateway (docs/design.md §5–§7, §10): a real keygate on port 0, a small
//! recording upstream, third-party tools (PyJWT, jwcrypto, openssl) on the client side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod challenge;
mod escape;
mod fields;
mod hardening;
mod nodes;
mod outage;
mod rotation;
mod self_check;
mod self_check_gateway;
mod signatures;
mod slow_bodies;
mod tls;
mod usage;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::IntoResponse;
use axum::Json;
use keygate_client::http::{KeygateClient, Reply};
use keygate_core::jose::SigAlg;
pub use keygate_server::config::{RouteConfig, Scheme, Settings, Signature};
use serde_json::{json, Value};

use keygate_testkit::*;

pub const CARD_NUMBER: &str = "4111111111111111";
pub const CARD_PIN: &str = "8642";

/// What the upstream received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A small upstream on port 0 that records every request. `GET .../cards/{id}` answers a card;
/// `POST` echoes the JSON body in `data.received`; `/slow` sleeps 5 s.
#[derive(Clone)]
pub struct Upstream {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = received.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                // As nginx's `gzip on` does: a card compressed for a caller that accepts gzip
                // (`/gzip-always/` compresses whatever was asked, as a broken upstream would).
                let accepts_gzip = headers
                    .get_all("accept-encoding")
                    .iter()
                    .any(|v| v.to_str().unwrap_or_default().contains("gzip"));
                log.lock().unwrap().push(Received {
                    method: method.clone(),
                    uri: uri.to_string(),
                    headers,
                    body: body.clone(),
                });
                if uri.path() == "/slow" {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                if uri.path() == "/docs/files/page.html" {
                    return (
                        [
                            ("content-type", "text/html"),
                            ("set-cookie", "kg_session=fixed; Path=/"),
                            ("set-cookie", "theirs=1; Path=/docs"),
                        ],
                        "<script>alert(1)</script>",
                    )
                        .into_response();
                }
                if uri.path() == "/docs/files/huge" {
                    return ([("content-type", "application/json")], vec![b' '; 64 * 1024]).into_response();
                }
                if uri.path() == "/docs/files/huge-chunked" {
                    // No Content-Length: the size is only known by reading.
                    let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 1024])));
                    let body = axum::body::Body::from_stream(futures::stream::iter(chunks));
                    return ([("content-type", "application/json")], body).into_response();
                }
                if uri.path().starts_with("/numbers/") {
                    let text = r#"{"data": {"card": {"number": 123456789012345678901234567890, "pin": 0.1000000000000000055511151231257827, "cvv": [ 1e400 ]}}}"#;
                    return ([("content-type", "application/json")], text).into_response();
                }
                if uri.path().starts_with("/broken/") {
                    // JSON with trailing bytes: not JSON, but the card number is in it.
                    let text = format!("{{\"data\":{{\"card\":{{\"number\":\"{CARD_NUMBER}\"}}}}}} trailing");
                    return ([("content-type", "application/json")], text).into_response();
                }
                let compressed_here = uri.path().starts_with("/docs/files/card") || uri.path().starts_with("/cards/");
                if uri.path().starts_with("/gzip-always/") || (accepts_gzip && compressed_here) {
                    let card = json!({"data": {"card": {"number": CARD_NUMBER, "pin": CARD_PIN, "cvv": "321"}}});
                    return ([("content-type", "application/json"), ("content-encoding", "gzip")], gzip(card.to_string().as_bytes())).into_response();
                }
                if method == Method::POST {
                    let received: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    return Json(json!({"success": true, "code": 0, "message": "OK", "data": {"received": received}})).into_response();
                }
                let id = uri.path().rsplit('/').next().unwrap_or_default().to_string();
                Json(json!({"success": true, "code": 0, "message": "OK", "data": {"card": {
                    "id": id, "holder": "ADA LOVELACE", "number": CARD_NUMBER, "pin": CARD_PIN,
                    "cvv": "321", "expiry": "12/29"
                }}}))
                .into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Upstream {
            url: format!("http://{addr}"),
            received,
        }
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    pub fn last(&self) -> Received {
        self.received
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("the upstream received a request")
    }
}

/// `bytes` compressed by the system's `gzip`, as an upstream's web server would send them.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("gzip")
        .args(["-c", "-n"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip runs");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "gzip");
    out.stdout
}

fn route(path: &str, methods: &[&str], upstream: &str) -> RouteConfig {
    RouteConfig {
        path: path.into(),
        methods: methods.iter().map(|m| m.to_string()).collect(),
        upstream: upstream.into(),
        signature: Signature::Required,
        encrypt_response: vec![],
        decrypt_request: vec![],
        scheme: Scheme::Jwe,
        ..RouteConfig::default()
    }
}

/// The routes every gateway test uses.
pub fn test_routes(upstream: &str) -> Vec<RouteConfig> {
    let card_fields = vec![
        "/data/card/number".to_string(),
        "/data/card/pin".into(),
        "/data/card/cvv".into(),
    ];
    vec![
        RouteConfig {
            encrypt_response: card_fields.clone(),
            ..route("/cards/{id}", &["GET"], upstream)
        },
        RouteConfig {
            encrypt_response: card_fields.clone(),
            scheme: Scheme::RsaOaep256,
            ..route("/oaep/cards/{id}", &["GET"], upstream)
        },
        RouteConfig {
            encrypt_response: card_fields.clone(),
            scheme: Scheme::RsaPkcs1,
            ..route("/pkcs1/cards/{id}", &["GET"], upstream)
        },
        RouteConfig {
            encrypt_response: card_fields.clone(),
            ..route("/broken/cards/{id}", &["GET"], upstream)
        },
        RouteConfig {
            encrypt_response: card_fields,
            ..route("/numbers/{id}", &["GET"], upstream)
        },
        RouteConfig {
            decrypt_request: vec!["/pin".into()],
            ..route("/cards/{id}/pin", &["POST"], upstream)
        },
        route("/slow", &["GET"], upstream),
        // An upstream with a base path, and a route without a signature.
        route("/files/{name}", &["GET"], &format!("{upstream}/docs")),
        RouteConfig {
            signature: Signature::None,
            ..route("/open/{name}", &["GET"], upstream)
        },
        route("/down", &["GET"], "http://127.0.0.1:1"),
    ]
}

/// A keygate with the test routes, an API key logged in, and an uploaded key made by openssl.
pub struct Gw {
    pub app: TestApp,
    pub upstream: Upstream,
    pub client: KeygateClient,
    pub creds: Credentials,
    pub key: KeyPair,
    pub key_file: PathBuf,
    pub public_file: PathBuf,
    pub key_id: String,
}

pub fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("kg-{}-{name}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, contents).unwrap();
    path
}

impl Gw {
    pub async fn start(backend: Backend) -> Gw {
        Gw::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Gw {
        let upstream = Upstream::start().await;
        let routes = test_routes(&upstream.url);
        let app = spawn_app_with(backend, |s| {
            s.routes = routes;
            s.upstream_timeout = Duration::from_secs(1);
            tweak(s);
        })
        .await;
        let (client, creds) = app.logged_in().await;
        let pair = KeyPair::openssl();
        let reply = client.upload_key(&pair.public_pem).await.unwrap();
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        let key_id = reply.data()["key"]["id"].as_str().unwrap().to_string();
        Gw {
            app,
            upstream,
            client,
            creds,
            key_file: temp_file("private.pem", pair.private_pem.as_bytes()),
            public_file: temp_file("public.pem", pair.public_pem.as_bytes()),
            key: pair,
            key_id,
        }
    }

    pub fn token(&self) -> &str {
        self.client.token().unwrap()
    }

    /// A signature made by our own client crate, at the node's time.
    pub fn sign(&self, method: &str, path: &str, body: &[u8]) -> String {
        self.key.sign(
            SigAlg::PS256,
            Some(&self.key_id),
            method,
            path,
            body,
            Some(self.token()),
            self.app.now(),
        )
    }

    /// A signed `GET path` through the logged-in client, with `extra` headers beside the
    /// signature (the headers under test).
    pub async fn get_signed_with(&self, path: &str, extra: &[(&str, &str)]) -> Reply {
        let signature = self.sign("GET", path, b"");
        let mut headers = vec![("X-Request-Signature", signature.as_str())];
        headers.extend_from_slice(extra);
        self.client
            .send(Method::GET, path, None, &headers)
            .await
            .unwrap()
    }

    pub async fn send_signed(
        &self,
        client: &KeygateClient,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        signature: &str,
    ) -> Reply {
        client
            .send(method, path, body, &[("X-Request-Signature", signature)])
            .await
            .unwrap()
    }

    /// A signed call through `client` (another node, or another token).
    pub async fn call_via(
        &self,
        client: &KeygateClient,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let sig = self.key.sign(
            SigAlg::RS256,
            Some(&self.key_id),
            method.as_str(),
            path,
            body.as_deref().unwrap_or_default(),
            client.token(),
            self.app.now(),
        );
        self.send_signed(client, method, path, body, &sig).await
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Reply {
        self.call_via(&self.client, method, path, body).await
    }
}

/// Runs `tests/interop/jose_tool.py` (PyJWT, jwcrypto).
pub fn jose_tool(args: &[&str]) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/jose_tool.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "jose_tool {:?} failed (pip install -r tests/requirements.txt): {}",
        args.first(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// No refusal may carry a confidential value.
pub fn assert_no_secret(reply: &Reply) {
    let text = reply.body.to_string();
    for secret in [CARD_NUMBER, CARD_PIN, "2468", "1357"] {
        assert!(
            !text.contains(secret),
            "a refusal carries a confidential value: {text}"
        );
    }
}
