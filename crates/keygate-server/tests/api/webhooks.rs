//! Webhooks, black-box (docs/webhooks.md): a real node posts key events to a receiver that
//! verifies each delivery with the official Standard Webhooks Python package
//! (`keygate_testkit::Receiver`). Delivered once per event; retried with backoff after failures
//! (the node's manual clock is moved past each wait); carried on after a restart; exactly once
//! with two nodes on PostgreSQL. The relay looks for work each second, so results are awaited
//! with `eventually`, and "no more than once" is checked after a few more of its passes.

use std::time::Duration;

use keygate_core::audit::{AuditEventType, NewAuditEvent, Origin};
use keygate_server::config::{Settings, WebhookConfig, WebhookUrl};
use keygate_testkit::*;

both_backends!(
    each_event_is_delivered_once_and_signed,
    a_failing_receiver_gets_it_on_the_third_try,
    a_restart_carries_on
);

/// Long enough for anything the relay does at once (it looks each second).
const WAIT: Duration = Duration::from_secs(20);

/// A `[[webhooks]]` entry to `receiver` for `events`.
fn webhook(receiver: &Receiver, events: &[AuditEventType]) -> WebhookConfig {
    WebhookConfig {
        url: WebhookUrl::parse(&receiver.url).unwrap(),
        events: events.to_vec(),
        secret_file: Some(receiver.secret_file.clone()),
        secret_env: None,
        retry_for: Duration::from_secs(86_400),
        timeout: Duration::from_secs(5),
    }
}

async fn app_with_hook(
    backend: Backend,
    receiver: &Receiver,
    events: &[AuditEventType],
) -> TestApp {
    let hook = webhook(receiver, events);
    spawn_app_with(backend, move |s: &mut Settings| s.webhooks = vec![hook]).await
}

/// An event of `kind` for a new API key, appended as the registry does, at the node's now.
async fn record(app: &TestApp, kind: AuditEventType) -> String {
    let creds = app.new_api_key().await;
    let event = NewAuditEvent::new(kind, &Origin::api_key(creds.api_key_id, None))
        .api_key(creds.client_id, creds.api_key_id)
        .detail("reason", "test");
    let appended = app.store.append_audit(&[event], app.now()).await.unwrap();
    appended[0].id.clone()
}

/// Wait until the receiver has answered `n` deliveries 2xx.
async fn until_accepted(receiver: &Receiver, n: usize) -> Vec<Received> {
    assert!(
        eventually(WAIT, async || receiver.accepted().await.len() >= n).await,
        "{n} deliveries expected: {:?}",
        receiver.received().await
    );
    receiver.accepted().await
}

/// Wait until the receiver has seen `n` deliveries, whatever it answered.
async fn until_received(receiver: &Receiver, n: usize) {
    assert!(
        eventually(WAIT, async || receiver.received().await.len() >= n).await,
        "{n} attempts expected: {:?}",
        receiver.received().await
    );
}

/// A few more passes of the relay, for "and nothing more".
async fn settle() {
    tokio::time::sleep(Duration::from_millis(2500)).await;
}

async fn each_event_is_delivered_once_and_signed(backend: Backend) {
    let receiver = Receiver::start();
    let app = app_with_hook(
        backend,
        &receiver,
        &[AuditEventType::KeyUploaded, AuditEventType::KeyRevoked],
    )
    .await;
    let uploaded = record(&app, AuditEventType::KeyUploaded).await;
    let _not_asked_for = record(&app, AuditEventType::LoginSucceeded).await;
    let revoked = record(&app, AuditEventType::KeyRevoked).await;
    let got = until_accepted(&receiver, 2).await;
    settle().await;
    let all = receiver.received().await;
    assert_eq!(
        all.len(),
        2,
        "once per event, only the types asked for: {all:?}"
    );
    for r in &all {
        assert!(r.verified, "standardwebhooks verifies it: {r:?}");
        assert_eq!(r.timestamp, app.now());
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            r.body["data"]["id"],
            r.id.as_str(),
            "webhook-id is the event's id"
        );
    }
    let mut ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    let mut expected = [uploaded.as_str(), revoked.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let revoke = got.iter().find(|r| r.id == revoked).unwrap();
    assert_eq!(revoke.body["type"], "key.revoked");
    assert_eq!(revoke.body["data"]["details"]["reason"], "test");
    assert!(revoke.body["data"]["api_key_id"].is_string());
    assert!(revoke.body["timestamp"].as_str().unwrap().ends_with('Z'));
    // The secret is in no table.
    assert!(!database_text(&app).await.contains(&receiver.secret));
    assert!(metric(
        &app.base_url,
        "keygate_webhook_deliveries_total{outcome=\"delivered\"}"
    )
    .await
    .is_some_and(|n| n >= 2.0));
}

async fn a_failing_receiver_gets_it_on_the_third_try(backend: Backend) {
    let receiver = Receiver::start();
    let app = app_with_hook(backend, &receiver, &[AuditEventType::KeyRevoked]).await;
    receiver.fail_next(2).await;
    let id = record(&app, AuditEventType::KeyRevoked).await;
    until_received(&receiver, 1).await;
    // Not again before its backoff (10 s at most after the first failure, 20 after the second).
    settle().await;
    assert_eq!(receiver.received().await.len(), 1);
    app.time.advance(10);
    until_received(&receiver, 2).await;
    app.time.advance(20);
    let got = until_accepted(&receiver, 1).await;
    settle().await;
    let all = receiver.received().await;
    assert_eq!(
        all.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 500, 204]
    );
    assert!(all.iter().all(|r| r.verified && r.id == id), "{all:?}");
    assert_eq!(got[0].timestamp, app.now(), "signed at each attempt's time");
    assert!(metric(
        &app.base_url,
        "keygate_webhook_deliveries_total{outcome=\"failed\"}"
    )
    .await
    .is_some_and(|n| n >= 2.0));
}

async fn a_restart_carries_on(backend: Backend) {
    let receiver = Receiver::start();
    let app = app_with_hook(backend, &receiver, &[AuditEventType::KeyUploaded]).await;
    receiver.fail_all(true).await;
    let id = record(&app, AuditEventType::KeyUploaded).await;
    until_received(&receiver, 1).await;
    let app = app.restart().await;
    receiver.fail_all(false).await;
    app.time.advance(10);
    let got = until_accepted(&receiver, 1).await;
    assert_eq!(got[0].id, id);
    settle().await;
    assert_eq!(receiver.accepted().await.len(), 1);
}

/// Two nodes on one PostgreSQL: each event reaches the receiver once, whichever node sends it.
#[tokio::test]
async fn two_nodes_deliver_each_event_once() {
    let receiver = Receiver::start();
    let first = app_with_hook(Backend::Postgres, &receiver, &[AuditEventType::KeyUploaded]).await;
    let second = spawn_second_node(&first).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let node = if i % 2 == 0 { &first } else { &second };
        ids.push(record(node, AuditEventType::KeyUploaded).await);
    }
    until_accepted(&receiver, 20).await;
    settle().await;
    let all = receiver.received().await;
    let mut got: Vec<String> = all.iter().map(|r| r.id.clone()).collect();
    got.sort();
    ids.sort();
    assert_eq!(got, ids, "each event once: {all:?}");
    assert!(all.iter().all(|r| r.verified));
}

/// A webhook whose secret cannot be had stops the node at start, naming where it looked and
/// never showing what it found.
#[tokio::test]
async fn a_bad_secret_stops_the_start() {
    let receiver = Receiver::start();
    std::fs::write(&receiver.secret_file, "whsec_tooshort-but-secret\n").unwrap();
    let db = TestDatabase::new(Backend::Sqlite).await;
    let mut settings = test_settings(&db.url);
    settings.webhooks = vec![webhook(&receiver, &[AuditEventType::KeyRevoked])];
    let err = keygate_server::Application::build(settings.clone())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("webhooks[0]: the secret must be whsec_"),
        "{err}"
    );
    assert!(!err.contains("tooshort"), "{err}");
    settings.webhooks[0].secret_file = None;
    settings.webhooks[0].secret_env = Some("KEYGATE_TEST_UNSET_HOOK_SECRET".into());
    let err = keygate_server::Application::build(settings)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("the environment variable KEYGATE_TEST_UNSET_HOOK_SECRET is not set"),
        "{err}"
    );
}
