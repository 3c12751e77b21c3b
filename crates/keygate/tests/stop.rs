//! A graceful stop (issue 9, item 5): the real binary, a request in flight to a slow upstream,
//! then SIGTERM or SIGINT. The request completes, new connections are refused, the pools close
//! and the process exits 0 — on SQLite and on PostgreSQL (whose invalidation listener holds a
//! pooled connection that must not keep the process alive).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use keygate_client::http::KeygateClient;
use keygate_testkit::process::{Binary, Server};
use keygate_testkit::{temp_dir, Backend, TestDatabase};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The binary under test.
const KEYGATE: Binary = Binary(env!("CARGO_BIN_EXE_keygate"));

/// How long the upstream takes to answer.
const UPSTREAM_DELAY: Duration = Duration::from_secs(3);

fn admin_json(dir: &Path, database_url: &str, args: &[&str]) -> Value {
    let out = KEYGATE
        .command(Some(dir))
        .env("KEYGATE_DATABASE_URL", database_url)
        .arg("admin")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keygate admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An upstream that answers one request after `UPSTREAM_DELAY`; it says when the request came.
async fn slow_upstream() -> (String, tokio::sync::oneshot::Receiver<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (arrived, arrived_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "keygate closed the upstream connection");
            head.extend_from_slice(&buf[..n]);
        }
        let _ = arrived.send(());
        tokio::time::sleep(UPSTREAM_DELAY).await;
        let body = r#"{"success":true,"code":0,"message":"OK","data":{"slow":"done"}}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(response.as_bytes()).await.unwrap();
    });
    (url, arrived_rx)
}

async fn stops_gracefully(database_url: &str, signal: &str) {
    let dir = temp_dir("stop");
    let (upstream, arrived) = slow_upstream().await;
    std::fs::write(
        dir.join("keygate.toml"),
        format!(
            "[[routes]]\npath = \"/slow\"\nmethods = [\"GET\"]\nupstream = \"{upstream}\"\nsignature = \"none\"\n"
        ),
    )
    .unwrap();
    admin_json(
        &dir,
        database_url,
        &["client", "create", "--name", "Stop", "--alias", "stop"],
    );
    let key = admin_json(
        &dir,
        database_url,
        &["api-key", "create", "--client", "stop", "--alias", "main"],
    );
    // The server's log goes to a file, shown when an assertion fails.
    let log_path = dir.join("server.log");
    let child = KEYGATE
        .command(Some(&dir))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
            "keygate.toml",
        ])
        .env("KEYGATE_DATABASE_URL", database_url)
        .env("KEYGATE_SHUTDOWN_TIMEOUT", "10s")
        .env("RUST_LOG", "info,keygate_server::serve=debug")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let started = Instant::now();
    let url = loop {
        if let Some(rest) = log().split("listening on ").nth(1) {
            break rest.lines().next().unwrap_or_default().trim().to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "keygate did not start: {}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut client = KeygateClient::new(&url);
    client
        .login(
            key["api_key"].as_str().unwrap(),
            key["password"].as_str().unwrap(),
        )
        .await
        .unwrap();
    let token = client.token().expect("logged in").to_string();

    // A request in flight: keygate is waiting for the slow upstream.
    let slow_url = format!("{url}/slow");
    let in_flight = tokio::spawn(async move {
        keygate_client::tls::install_crypto_provider();
        let reply = reqwest::Client::new()
            .get(slow_url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))
            .unwrap_or_else(|e| panic!("the request in flight is not answered: {e}"));
        let status = reply.status().as_u16();
        let body: Value = reply.json().await.expect("a JSON answer");
        (status, body, Instant::now())
    });
    tokio::time::timeout(Duration::from_secs(10), arrived)
        .await
        .expect("the upstream got the request")
        .unwrap();

    let pid = server.0.id().to_string();
    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap();
    assert!(kill.success());

    // New connections are refused while the request is still in flight. A connection that
    // reached the listen backlog just before the listener closed is reset unserved; that is a
    // refusal too. One that is served means keygate still accepts.
    let addr = url.trim_start_matches("http://").to_string();
    let refused_at = loop {
        let unserved = match tokio::net::TcpStream::connect(&addr).await {
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                true
            }
            Err(e) => panic!("connecting failed otherwise: {e}\n{}", log()),
            Ok(mut stream) => {
                let _ = stream
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: keygate\r\n\r\n")
                    .await;
                let mut buf = [0u8; 64];
                !matches!(
                    tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await,
                    Ok(Ok(n)) if n > 0
                )
            }
        };
        if unserved {
            break Instant::now();
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(2),
            "still serving new connections 2 s after {signal}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // The request in flight completes, with the upstream's answer.
    let (status, body, answered_at) = match in_flight.await {
        Ok(answer) => answer,
        Err(e) => panic!("the request in flight failed: {e}\n{}", log()),
    };
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["slow"], "done", "{body}");
    assert!(
        refused_at < answered_at,
        "new connections were refused only after the request in flight was answered"
    );

    // Then the process exits 0, promptly (the idle keep-alive connection of the login does not
    // hold it up).
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            answered_at.elapsed() < Duration::from_secs(6),
            "keygate still running 6 s after the last request was answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status:?}\n{}", log());
    assert_eq!(status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight_on_sqlite() {
    let dir = temp_dir("stop");
    let url = format!("sqlite://{}", dir.join("stop.db").display());
    stops_gracefully(&url, "TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight_on_postgres() {
    let db = TestDatabase::new(Backend::Postgres).await;
    stops_gracefully(&db.url, "TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_the_same_way() {
    let dir = temp_dir("stop");
    let url = format!("sqlite://{}", dir.join("stop.db").display());
    stops_gracefully(&url, "INT").await;
}
