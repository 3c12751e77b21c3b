//! Webhooks, black-box (docs/webhooks.md): key events caused through the API reach a receiver
//! that verifies each delivery with the official Standard Webhooks Python package
//! (`keygate_testkit::Receiver`). Delivered once per event; retried with backoff after failures
//! (the node's manual clock is moved past each wait); carried on after a restart; exactly once
//! with two nodes on PostgreSQL; `key.expiring` and `key.expired` found by the audit sweep with
//! short validity settings; an event wakes the relay long before its poll. Results are awaited
//! with `eventually`, and "no more than once" is checked after a few more of its passes.

use std::time::Duration;

use keygate_client::http::KeygateClient;
use keygate_core::audit::{AuditEvent, AuditEventType};
use keygate_server::config::{Settings, WebhookConfig, WebhookUrl};
use keygate_store::AuditFilter;
use keygate_testkit::*;

both_backends!(
    each_event_is_delivered_once_and_signed,
    an_event_wakes_the_relay_before_its_poll,
    a_failing_receiver_gets_it_on_the_third_try,
    a_restart_carries_on,
    expiring_and_expired_are_sent_once_each
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
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let hook = webhook(receiver, events);
    spawn_app_with(backend, move |s: &mut Settings| {
        s.webhooks = vec![hook];
        tweak(s);
    })
    .await
}

/// A new API key that uploads a key (`key.uploaded`); its client stays logged in.
async fn upload(app: &TestApp) -> (KeygateClient, Credentials) {
    let (client, creds) = app.logged_in().await;
    // openssl off the runtime the nodes run on (docs/architecture.md, "Tests").
    let key = tokio::task::spawn_blocking(new_public_key).await.unwrap();
    let reply = client.upload_key(&key).await.unwrap();
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    (client, creds)
}

/// The audit trail's events of the given types, oldest first.
async fn trail(app: &TestApp, types: &[AuditEventType]) -> Vec<AuditEvent> {
    let mut events = app
        .store
        .list_audit(&AuditFilter::default(), 1000)
        .await
        .unwrap();
    events.reverse();
    events.retain(|e| e.kind().is_some_and(|k| types.contains(&k)));
    events
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
    let types = [
        AuditEventType::KeyUploaded,
        AuditEventType::KeyRevoked,
        AuditEventType::KeySuccessorActivated,
        AuditEventType::LoginLocked,
    ];
    let app = app_with_hook(backend, &receiver, &types, |s| {
        s.login_max_failures_per_key = 2;
    })
    .await;
    // Uploaded; a successor staged and activated; revoked with a reason; a login locked out.
    let (client, creds) = upload(&app).await;
    let staged = client.stage_successor(&new_public_key()).await.unwrap();
    assert_eq!(staged.status, 201, "{:?}", staged.body);
    let activated = client.activate_successor().await.unwrap();
    assert_eq!(activated.status, 200, "{:?}", activated.body);
    let revoked = client.revoke_key(Some("laptop lost")).await.unwrap();
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    for _ in 0..3 {
        let _ = app
            .client()
            .login_reply(&creds.api_key, "wrong password")
            .await
            .unwrap();
    }
    let expected = trail(&app, &types).await;
    for t in types {
        assert!(
            expected.iter().any(|e| e.kind() == Some(t)),
            "the trail has {t}: {expected:?}"
        );
    }
    assert!(trail(&app, &[AuditEventType::LoginFailed]).await.len() >= 2);
    until_accepted(&receiver, expected.len()).await;
    settle().await;
    let all = receiver.received().await;
    let mut got: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    got.sort_unstable();
    let mut ids: Vec<&str> = expected.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        got, ids,
        "once per event, only the types asked for: {all:?}"
    );
    for r in &all {
        assert!(r.verified, "standardwebhooks verifies it: {r:?}");
        assert_eq!(r.timestamp, app.now());
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        let event = expected.iter().find(|e| e.id == r.id).unwrap();
        assert_eq!(r.body["type"], event.event_type.as_str());
        assert_eq!(
            r.body["data"]["id"],
            event.id.as_str(),
            "webhook-id is the event's id"
        );
        assert_eq!(
            r.body["data"]["api_key_id"],
            creds.api_key_id.to_string().as_str()
        );
        assert_eq!(
            r.body["data"]["client_id"],
            creds.client_id.to_string().as_str()
        );
        assert!(r.body["timestamp"].as_str().unwrap().ends_with('Z'));
        let text = r.body.to_string();
        assert!(
            !text.contains(&creds.password) && !text.contains("wrong password"),
            "no secret in a message: {text}"
        );
        assert!(r.body["data"].get("source").is_none(), "no source address");
    }
    let revoke = all
        .iter()
        .find(|r| r.body["type"] == "key.revoked")
        .unwrap();
    assert_eq!(revoke.body["data"]["details"]["reason"], "laptop lost");
    assert_eq!(
        revoke.body["data"]["actor"],
        format!("api_key:{}", creds.api_key_id).as_str()
    );
    // The secret is in no table.
    assert!(!database_text(&app).await.contains(&receiver.secret));
    assert!(metric(
        &app.base_url,
        "keygate_webhook_deliveries_total{outcome=\"delivered\"}"
    )
    .await
    .is_some_and(|n| n >= 4.0));
}

/// An event wakes the relay at once (docs/webhooks.md, "Delivery"): with the poll at a minute,
/// each delivery still arrives within seconds — woken in-process on SQLite, by the commit's
/// `NOTIFY` on PostgreSQL. Without the wake-up this fails: the next poll is a minute away.
async fn an_event_wakes_the_relay_before_its_poll(backend: Backend) {
    let receiver = Receiver::start();
    let types = [AuditEventType::KeyUploaded, AuditEventType::KeyRevoked];
    let app = app_with_hook(backend, &receiver, &types, |s| {
        s.webhook_poll_interval = Duration::from_secs(60);
    })
    .await;
    // Past the relay's first pass, which runs at start (and, on PostgreSQL, past the LISTEN).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let soon = Duration::from_secs(5);
    let (client, _) = upload(&app).await;
    assert!(
        eventually(soon, async || receiver.accepted().await.len() == 1).await,
        "key.uploaded within {soon:?}: {:?}",
        receiver.received().await
    );
    let revoked = client.revoke_key(Some("rotating")).await.unwrap();
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert!(
        eventually(soon, async || receiver.accepted().await.len() == 2).await,
        "key.revoked within {soon:?}: {:?}",
        receiver.received().await
    );
    let got: Vec<String> = receiver
        .accepted()
        .await
        .iter()
        .map(|r| r.body["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, ["key.uploaded", "key.revoked"]);
}

async fn a_failing_receiver_gets_it_on_the_third_try(backend: Backend) {
    let receiver = Receiver::start();
    let app = app_with_hook(backend, &receiver, &[AuditEventType::KeyUploaded], |_| {}).await;
    receiver.fail_next(2).await;
    upload(&app).await;
    let id = trail(&app, &[AuditEventType::KeyUploaded]).await[0]
        .id
        .clone();
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
    let app = app_with_hook(backend, &receiver, &[AuditEventType::KeyUploaded], |_| {}).await;
    receiver.fail_all(true).await;
    upload(&app).await;
    let id = trail(&app, &[AuditEventType::KeyUploaded]).await[0]
        .id
        .clone();
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
    let first = app_with_hook(
        Backend::Postgres,
        &receiver,
        &[AuditEventType::KeyUploaded],
        |_| {},
    )
    .await;
    let second = spawn_second_node(&first).await;
    // At once, alternating nodes: the relays of both nodes race for the deliveries (woken by
    // each node's appends, and at each poll), which is what is under test.
    futures::future::join_all((0..12).map(|i| upload(if i % 2 == 0 { &first } else { &second })))
        .await;
    let mut ids: Vec<String> = trail(&first, &[AuditEventType::KeyUploaded])
        .await
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids.len(), 12);
    until_accepted(&receiver, 12).await;
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
    // (the node never starts, so nothing is sent)
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

/// With a key valid for two minutes and a one-minute warning, the sweep (every second here)
/// records `key.expiring` when the node's clock enters the window and `key.expired` when it
/// passes the end; each is sent once.
async fn expiring_and_expired_are_sent_once_each(backend: Backend) {
    let receiver = Receiver::start();
    let types = [AuditEventType::KeyExpiring, AuditEventType::KeyExpired];
    let app = app_with_hook(backend, &receiver, &types, |s| {
        s.key_validity = Duration::from_secs(120);
        s.key_expiry_warning = Duration::from_secs(60);
        s.audit_sweep_interval = Duration::from_secs(1);
    })
    .await;
    let (client, creds) = upload(&app).await;
    let key_id = client.current_key().await.unwrap().data()["key"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    settle().await;
    assert!(
        receiver.received().await.is_empty(),
        "not yet in the window"
    );
    app.time.advance(61);
    let got = until_accepted(&receiver, 1).await;
    assert_eq!(got[0].body["type"], "key.expiring");
    app.time.advance(60);
    let got = until_accepted(&receiver, 2).await;
    assert_eq!(got[1].body["type"], "key.expired");
    settle().await;
    let all = receiver.received().await;
    assert_eq!(all.len(), 2, "once each: {all:?}");
    for r in &all {
        assert!(r.verified, "{r:?}");
        assert_eq!(r.body["data"]["key_id"], key_id.as_str());
        assert_eq!(
            r.body["data"]["api_key_id"],
            creds.api_key_id.to_string().as_str()
        );
        assert_eq!(r.body["data"]["actor"], "keygate");
    }
}
