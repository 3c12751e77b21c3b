//! `keygate admin webhooks failed` and `retry`, against a running `keygate serve` (the real
//! clock) on both databases: a receiver that is down gets a delivery until its `retry_for` is
//! over; the operator lists it, brings the receiver back, and sends it again. The secret comes
//! from the environment (`secret_env`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use keygate_core::audit::{AuditEventType, NewAuditEvent, Origin};
use keygate_store::Store;
use keygate_testkit::process::Binary;
use keygate_testkit::{both_backends, eventually, temp_dir, Backend, Receiver, TestDatabase};
use serde_json::Value;

const KEYGATE: Binary = Binary(env!("CARGO_BIN_EXE_keygate"));

both_backends!(failed_deliveries_are_listed_and_sent_again);

const WAIT: Duration = Duration::from_secs(30);

fn admin(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    KEYGATE
        .command(None)
        .arg("--config")
        .arg(config)
        .args(["admin", "webhooks"])
        .args(args)
        .output()
        .unwrap()
}

fn admin_json(config: &std::path::Path, args: &[&str]) -> Value {
    let out = admin(config, args);
    assert!(
        out.status.success(),
        "keygate admin webhooks {args:?}: {}",
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
    let (_server, _url, _stdout, logs) = KEYGATE.serve_with_logs(
        &dir,
        &["--config", config_arg],
        &[("HOOK_SECRET", receiver.secret.as_str())],
    );

    // A key revoked (the event as the registry appends it).
    let store = Store::connect(&db.url).await.unwrap();
    let now = chrono::Utc::now().timestamp();
    let event = NewAuditEvent::new(AuditEventType::KeyRevoked, &Origin::operator("ops"))
        .api_key(uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let event_id = store.append_audit(&[event], now).await.unwrap()[0]
        .id
        .clone();

    // Tried, then tried once more at the end of its second of retries, then dead.
    let listed = async || {
        admin_json(&config, &["failed", "--json"])["deliveries"]
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
    let text = admin(&config, &["failed"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(&id) && text.contains("HTTP 500"), "{text}");

    // The receiver is back; the operator sends it again.
    receiver.fail_all(false).await;
    let retried = admin_json(&config, &["retry", &id, "--json"]);
    assert_eq!(retried["status"], "pending");
    assert!(eventually(WAIT, async || receiver.accepted().await.len() == 1).await);
    assert_eq!(receiver.accepted().await[0].id, event_id);
    assert!(listed().await.is_empty());

    // Only a dead delivery can be retried: a clear refusal, non-zero.
    let again = admin(&config, &["retry", &id]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains(&format!("no dead webhook delivery has the id {id}")),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let bad = admin(&config, &["retry", "not-a-uuid"]);
    assert!(!bad.status.success());

    // Neither the secret nor the URL's token reached the log.
    let logs = logs.lock().unwrap().join("\n");
    assert!(logs.contains("webhook delivery"), "{logs}");
    assert!(
        !logs.contains(&receiver.secret) && !logs.contains("t0ken"),
        "{logs}"
    );
}
