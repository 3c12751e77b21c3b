//! Logs an operator can ship (issue 11): `log_format = "json"` lines that parse, the request id
//! on every line of a request and on the answer, an access line per request, and no secret in
//! any line at `RUST_LOG=trace` (token, password, pasted private key, card number, PIN).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use keygate_testkit::process::Binary;
use keygate_testkit::temp_dir;
use serde_json::Value;

/// The binary under test.
const KEYGATE: Binary = Binary(env!("CARGO_BIN_EXE_keygate"));

fn client(dir: &Path, url: &str, args: &[&str]) -> Output {
    KEYGATE
        .command(Some(dir))
        .args(["client", "--url", url, "--state", "session.json"])
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id_and_no_secret() {
    keygate_client::tls::install_crypto_provider();
    let dir = temp_dir("logs");
    let (server, url, mut stdout, logs) = KEYGATE.serve_with_logs(
        &dir,
        &["--demo"],
        &[
            ("KEYGATE_DATABASE_URL", "sqlite://logs.db"),
            ("KEYGATE_LOG_FORMAT", "json"),
            ("KEYGATE_ACCESS_LOG", "true"),
            ("RUST_LOG", "trace"),
        ],
    );
    let mut printed = Vec::new();
    loop {
        let line = stdout.next().unwrap().unwrap();
        let last = line.starts_with("try:");
        printed.push(line);
        if last {
            break;
        }
    }
    let value = |label: &str| {
        printed
            .iter()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|v| v.trim().to_owned())
            .unwrap()
    };
    let (api_key, password) = (value("api_key:"), value("password:"));

    // The walkthrough, through the client: login, key, a signed call with card fields.
    assert!(client(&dir, &url, &["keygen", "--out", "keys"])
        .status
        .success());
    let out = client(
        &dir,
        &url,
        &["login", "--api-key", &api_key, "--password", &password],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(client(&dir, &url, &["upload-key", "keys/public.pem"])
        .status
        .success());
    let out = client(
        &dir,
        &url,
        &["call", "GET", "/demo/cards/1", "--key", "keys/private.pem"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let card: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(card["data"]["card"]["number"], "4111111111111111");
    let state: Value =
        serde_json::from_slice(&std::fs::read(dir.join("session.json")).unwrap()).unwrap();
    let token = state["token"].as_str().unwrap().to_owned();

    // A private key pasted by mistake, with a request id of the caller's; and a forged one.
    let private = std::fs::read_to_string(dir.join("keys/private.pem")).unwrap();
    let http = reqwest::Client::new();
    let reply = http
        .post(format!("{url}/clients/api_key/public_key"))
        .bearer_auth(&token)
        .header("x-request-id", "trace-4f2a-0001")
        .json(&serde_json::json!({ "public_key": private }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.headers()["x-request-id"], "trace-4f2a-0001");
    let reply = http
        .get(format!("{url}/healthz"))
        .header("x-request-id", "forged\" level=\"ERROR")
        .send()
        .await
        .unwrap();
    let made = reply.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 32, "an ill-formed id is replaced: {made}");

    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(server);
    let lines = logs.lock().unwrap().clone();
    assert!(lines.len() > 10, "{lines:?}");
    let mut access = Vec::new();
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        for field in ["timestamp", "level", "target"] {
            assert!(v.get(field).is_some(), "{field} missing: {line}");
        }
        chrono::DateTime::parse_from_rfc3339(v["timestamp"].as_str().unwrap()).unwrap();
        if v["target"] == "keygate::access" {
            access.push(v);
        }
        for secret in [
            token.as_str(),
            password.as_str(),
            "4111111111111111",
            "\"1234\"",
            private.lines().nth(1).unwrap(),
        ] {
            assert!(!line.contains(secret), "a secret reached the log: {line}");
        }
    }
    // One access line per request, with route pattern, status, caller and request id.
    let call = access
        .iter()
        .find(|v| v["route"] == "/demo/cards/{id}")
        .expect("an access line for the card call");
    assert_eq!(call["status"], 200);
    assert_eq!(call["method"], "GET");
    assert!(
        call["api_key_id"].as_str().is_some_and(|s| s.len() == 36),
        "{call}"
    );
    assert!(call["latency_ms"].as_f64().is_some());
    let upload = access
        .iter()
        .find(|v| v["request_id"] == "trace-4f2a-0001")
        .expect("the caller's request id in the access line");
    assert_eq!(upload["status"], 422);
    // Every line logged while that request was served carries its id.
    let during: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("trace-4f2a-0001"))
        .collect();
    assert!(during.len() >= 2, "{during:?}");
    for line in &during {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["span"]["request_id"]
            .as_str()
            .or(v["request_id"].as_str());
        assert_eq!(id, Some("trace-4f2a-0001"), "{line}");
    }
    assert!(access.iter().any(|v| v["request_id"] == made.as_str()));
}
