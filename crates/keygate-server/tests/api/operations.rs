//! Health, readiness, metrics and the OpenAPI document, checked against the running server.

use std::time::{Duration, Instant};

use keygate_client::http::KeygateClient;
use serde_json::Value;

use keygate_testkit::*;

both_backends!(
    health_and_readiness,
    openapi_describes_what_is_served,
    metrics_count_requests
);

async fn health_and_readiness(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.client();
    let r = client
        .send(reqwest::Method::GET, "/healthz", None, &[])
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let r = client
        .send(reqwest::Method::GET, "/readyz", None, &[])
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.data()["status"], "ready");
}

async fn openapi_describes_what_is_served(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, _) = app.logged_in().await;
    let r = client
        .send(reqwest::Method::GET, "/openapi.json", None, &[])
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let spec = r.body.clone();
    assert_eq!(spec["openapi"], "3.1.0");

    // A validator nobody here wrote accepts it.
    let file =
        std::env::temp_dir().join(format!("kg-openapi-{}.json", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, spec.to_string()).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator", file.to_str().unwrap()])
        .output()
        .expect("python3 runs");
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Every documented operation is served: no fallback 404 and no 405.
    let paths = spec["paths"].as_object().unwrap();
    let mut checked = 0;
    for (path, ops) in paths {
        // The front door sends it to the router, not straight to the gateway.
        assert!(keygate_server::front::is_own_path(path), "{path}");
        let concrete = path.replace("{id}", &uuid::Uuid::new_v4().to_string());
        for method in ops.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (m == reqwest::Method::POST).then(|| b"{}".to_vec());
            let reply = client.send(m, &concrete, body, &[]).await.unwrap();
            assert_ne!(reply.status, 405, "{method} {path}");
            assert_ne!(
                reply.body["message"], "nothing is served at this path",
                "{method} {path} is documented but not served"
            );
            // Every documented status has a response entry.
            let documented: Vec<&String> = ops[method]["responses"]
                .as_object()
                .unwrap()
                .keys()
                .collect();
            assert!(
                documented.contains(&&reply.status.to_string()),
                "{method} {path} answered {} which is not documented ({documented:?})",
                reply.status
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "{checked}");
    // Every slug the API can answer is listed.
    let slugs: Vec<Value> = spec["components"]["schemas"]["ErrorSlug"]["enum"]
        .as_array()
        .unwrap()
        .clone();
    for slug in [
        "invalid_request",
        "unauthorized",
        "invalid_credentials",
        "rate_limited",
        "payload_too_large",
        "unsupported_media_type",
        "public_key_reused",
        "active_key_exists",
        "no_active_key",
        "private_key_submitted",
        "public_key_weak",
    ] {
        assert!(slugs.contains(&Value::from(slug)), "{slug}");
    }
}

async fn metrics_count_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.client();
    client
        .send(reqwest::Method::GET, "/healthz", None, &[])
        .await
        .unwrap();
    let r = reqwest::get(format!("{}/metrics", app.base_url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("keygate_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/healthz\""), "{text}");
}

mod sqlite_only {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_database_made_unwritable_is_unready_and_answers_503_until_fixed() {
        super::a_database_made_unwritable_is_unready_and_answers_503_until_fixed().await
    }
}

/// A running node whose SQLite files become unwritable (here: immutable) says so on `/readyz`
/// within `database_timeout`, answers writes 503 `service_unavailable` (never 500), and
/// recovers without a restart once the files are writable again.
async fn a_database_made_unwritable_is_unready_and_answers_503_until_fixed() {
    let logs = capture_logs();
    let timeout = Duration::from_secs(1);
    let app = spawn_app_with(Backend::Sqlite, |s| s.database_timeout = timeout).await;
    let (client, creds) = app.logged_in().await;
    let ready = |client: KeygateClient| async move {
        let started = Instant::now();
        let reply = client
            .send(reqwest::Method::GET, "/readyz", None, &[])
            .await
            .unwrap();
        (reply, started.elapsed())
    };
    assert_eq!(ready(app.client()).await.0.status, 200);
    let (file, wal) = app.sqlite_files();
    assert!(wal.exists(), "the node has written to its WAL");

    let guards = (Immutable::set(&file), Immutable::set(&wal));
    let (reply, took) = ready(app.client()).await;
    assert_eq!((reply.status, reply.slug()), (503, Some("not_ready")));
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .contains("cannot be written"));
    assert!(
        took < timeout + Duration::from_secs(1),
        "/readyz took {took:?}"
    );

    let started = Instant::now();
    let login = app
        .client()
        .login_reply(&creds.api_key, &creds.password)
        .await
        .unwrap();
    assert!(started.elapsed() < timeout + Duration::from_secs(1));
    assert_eq!(
        (login.status, login.slug()),
        (503, Some("service_unavailable")),
        "{:?}",
        login.body
    );
    assert!(login.headers.contains_key("retry-after"));
    let upload = client.upload_key(&new_public_key()).await.unwrap();
    assert_eq!(
        (upload.status, upload.slug()),
        (503, Some("service_unavailable"))
    );
    let down = eventually(Duration::from_secs(5), async || {
        metric(&app.base_url, "keygate_database_up").await == Some(0.0)
    })
    .await;
    assert!(down, "/metrics does not show the database down");

    // Fixed: ready again, and writes work, without a restart.
    drop(guards);
    let back = eventually(Duration::from_secs(5), async || {
        ready(app.client()).await.0.status == 200
    })
    .await;
    assert!(back, "/readyz did not come back");
    let mut again = app.client();
    if let Err(e) = again.login(&creds.api_key, &creds.password).await {
        panic!("login after recovery: {e:?}\n{}", logs.contents());
    }
    let uploaded = again.upload_key(&new_public_key()).await.unwrap();
    assert_eq!(
        uploaded.status,
        201,
        "{:?}\n{}",
        uploaded.body,
        logs.contents()
    );
}
