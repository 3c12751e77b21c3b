//! `keygate admin webhooks failed` and `retry`, against a running `keygate serve` (the real
//! clock) on both databases: an operator revokes a client's key while the receiver is down; the
//! delivery is tried until its `retry_for` is over; the operator lists it, brings the receiver
//! back, and sends it again. The secret comes from the environment (`secret_env`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use keygate_client::http::KeygateClient;
use keygate_testkit::process::Binary;
use keygate_testkit::{
    both_backends, eventually, new_public_key, temp_dir, Backend, Receiver, TestDatabase,
};
use serde_json::Value;

const KEYGATE: Binary = Binary(env!("CARGO_BIN_EXE_keygate"));

both_backends!(failed_deliveries_are_listed_and_sent_again);

const WAIT: Duration = Duration::from_secs(30);

/// `keygate --config CONFIG admin ARGS`.
fn admin(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    KEYGATE
        .command(None)
        .arg("--config")
        .arg(config)
        .arg("admin")
        .args(args)
        .output()
        .unwrap()
}

fn admin_json(config: &std::path::Path, args: &[&str]) -> Value {
    let out = admin(config, args);
    assert!(
        out.status.success(),
        "keygate admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn failed_deliveries_are_listed_and_sent_again(backend: Backend) {
    let receiver = Receiver::start();
    receiver.fail_all(true).await;
    let db = TestDatabase::new(backend).await;
    let dir = temp_dir("hooks-cli");
    let config = dir.join("keygate.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"{}\"\n\n[[webhooks]]\nurl = \"{}?token=t0ken\"\nevents = [\"key.revoked\"]\n\
             secret_env = \"HOOK_SECRET\"\nretry_for = \"1s\"\ntimeout = \"5s\"\n",
            db.url, receiver.url
        ),
    )
    .unwrap();
    let config_arg = config.to_str().unwrap();
    let (_server, url, _stdout, logs) = KEYGATE.serve_with_logs(
        &dir,
        &["--config", config_arg],
        &[("HOOK_SECRET", receiver.secret.as_str())],
    );

    // A client uploads a key; the operator revokes it.
    admin_json(
        &config,
        &[
            "client", "create", "--name", "Acme", "--alias", "acme", "--json",
        ],
    );
    let creds = admin_json(
        &config,
        &[
            "api-key", "create", "--client", "acme", "--alias", "main", "--json",
        ],
    );
    let mut client = KeygateClient::new(&url);
    client
        .login(
            creds["api_key"].as_str().unwrap(),
            creds["password"].as_str().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        client.upload_key(&new_public_key()).await.unwrap().status,
        201
    );
    let api_key_id = creds["api_key_id"].as_str().unwrap();
    admin_json(
        &config,
        &[
            "public-key",
            "revoke",
            "--api-key-id",
            api_key_id,
            "--reason",
            "left",
            "--json",
        ],
    );
    // The revoke's audit event (JSON lines), the one the webhook is sent.
    let trail = admin(
        &config,
        &["audit", "list", "--api-key", api_key_id, "--json"],
    );
    assert!(trail.status.success());
    let revoked: Vec<Value> = String::from_utf8_lossy(&trail.stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|e| e["event_type"] == "key.revoked")
        .collect();
    assert_eq!(revoked.len(), 1);
    assert!(revoked[0]["actor"]
        .as_str()
        .unwrap()
        .starts_with("operator:"));
    let event_id = revoked[0]["id"].as_str().unwrap().to_owned();

    // Tried, then tried once more at the end of its second of retries, then dead.
    let listed = async || {
        admin_json(&config, &["webhooks", "failed", "--json"])["deliveries"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert!(eventually(WAIT, async || listed().await.len() == 1).await);
    let dead = listed().await.remove(0);
    assert_eq!(dead["event_id"], event_id.as_str());
    assert_eq!(dead["event_type"], "key.revoked");
    assert_eq!(dead["last_error"], "HTTP 500 Internal Server Error");
    assert!(dead["attempts"].as_u64().unwrap() >= 1);
    assert_eq!(
        dead["webhook"],
        receiver.url.as_str(),
        "shown without its query"
    );
    let attempts = receiver.received().await;
    assert!(
        attempts.iter().all(|r| r.verified && r.id == event_id),
        "{attempts:?}"
    );
    let id = dead["id"].as_str().unwrap().to_owned();
    // The text form names it too.
    let text = admin(&config, &["webhooks", "failed"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(&id) && text.contains("HTTP 500"), "{text}");

    // The receiver is back; the operator sends it again.
    receiver.fail_all(false).await;
    let retried = admin_json(&config, &["webhooks", "retry", &id, "--json"]);
    assert_eq!(retried["status"], "pending");
    assert!(eventually(WAIT, async || receiver.accepted().await.len() == 1).await);
    assert_eq!(receiver.accepted().await[0].id, event_id);
    assert!(listed().await.is_empty());

    // Only a dead delivery can be retried: a clear refusal, non-zero.
    let again = admin(&config, &["webhooks", "retry", &id]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains(&format!("no dead webhook delivery has the id {id}")),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let bad = admin(&config, &["webhooks", "retry", "not-a-uuid"]);
    assert!(!bad.status.success());

    // Neither the secret nor the URL's token reached the log.
    let logs = logs.lock().unwrap().join("\n");
    assert!(logs.contains("webhook delivery"), "{logs}");
    assert!(
        !logs.contains(&receiver.secret) && !logs.contains("t0ken"),
        "{logs}"
    );
}
