//! The audit trail through the API (docs/design.md §11): each change and security event
//! appears once with the right actor and source, in the same order as the calls; nothing
//! secret is ever in an event; the client's own trail pages with a cursor and refuses bad
//! values; time-driven events are recorded once by the sweep, with two nodes too; retention
//! prunes behind a checkpoint and the chain still verifies.

use std::time::Duration;

use keygate_core::audit::AuditEvent;
use serde_json::Value;

use keygate_testkit::*;

both_backends!(
    api_events_appear_once_with_the_api_key_as_actor,
    nothing_secret_is_in_any_event,
    the_trail_pages_newest_first_and_refuses_bad_pages,
    time_driven_events_are_recorded_once_by_the_sweep,
    the_end_of_an_overlap_is_recorded_by_keygate,
    retention_prunes_behind_a_checkpoint_and_the_chain_verifies,
    a_lockout_is_recorded_once,
    audit_answers_match_the_documented_schemas
);

const DAY: i64 = 86_400;

/// Every event in the database, in chain order, but the `system_key.created` of the node's
/// first start.
async fn chain(app: &TestApp) -> Vec<AuditEvent> {
    let mut events = app.store.audit_chain_page(0, 10_000).await.unwrap();
    events.retain(|e| e.event_type != "system_key.created");
    events
}

fn types(events: &[AuditEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

async fn api_events_appear_once_with_the_api_key_as_actor(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, creds) = app.logged_in().await;
    let me = format!("api_key:{}", creds.api_key_id);
    assert_eq!(
        app.client()
            .login_reply(&creds.api_key, "wrong password")
            .await
            .unwrap()
            .status,
        401
    );
    assert_eq!(
        client.upload_key(&new_public_key()).await.unwrap().status,
        201
    );
    assert_eq!(
        client
            .stage_successor(&new_public_key())
            .await
            .unwrap()
            .status,
        201
    );
    assert_eq!(client.withdraw_successor().await.unwrap().status, 200);
    client.stage_successor(&new_public_key()).await.unwrap();
    assert_eq!(client.activate_successor().await.unwrap().status, 200);
    assert_eq!(
        client.revoke_key(Some("rotating")).await.unwrap().status,
        200
    );
    // The trail as the client reads it, before the logout ends the session.
    let page = client.audit_trail(None, None).await.unwrap();
    assert_eq!(page.status, 200, "{:?}", page.body);
    assert_eq!(client.logout().await.unwrap().status, 200);

    let events = chain(&app).await;
    let expected = [
        "login.succeeded",
        "login.failed",
        "key.uploaded",
        "key.successor_staged",
        "key.successor_withdrawn",
        "key.successor_staged",
        "key.retired",
        "key.successor_activated",
        "key.revoked",
        "logout",
    ];
    assert_eq!(types(&events), expected);
    let api_key_id = creds.api_key_id.to_string();
    let client_id = creds.client_id.to_string();
    for e in &events {
        assert_eq!(e.actor, me, "{e:?}");
        assert_eq!(e.source.as_deref(), Some("127.0.0.1"), "{e:?}");
        assert_eq!(e.api_key_id.as_deref(), Some(api_key_id.as_str()), "{e:?}");
        assert_eq!(e.client_id.as_deref(), Some(client_id.as_str()), "{e:?}");
    }
    let revoked = &events[8];
    assert!(revoked.details.contains("rotating"), "{revoked:?}");

    // The client's own trail: the same events, newest first (the logout came after).
    let listed: Vec<&str> = page.data()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    let mut newest_first: Vec<&str> = expected[..9].to_vec();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    assert_eq!(page.data()["events"][0]["actor"], me.as_str());
    assert_eq!(page.data()["next_cursor"], Value::Null);

    // The node's first start made the system key: the first event, by keygate.
    let first = &app.store.audit_chain_page(0, 1).await.unwrap()[0];
    assert_eq!(
        (first.event_type.as_str(), first.actor.as_str()),
        ("system_key.created", "keygate")
    );
    let report = app.registry().verify_audit().await.unwrap();
    assert_eq!(report.broken, None);
    assert_eq!(report.checked, expected.len() as u64 + 1);
}

async fn nothing_secret_is_in_any_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, creds) = app.logged_in().await;
    let token = client.token().unwrap().to_owned();
    let pair = KeyPair::openssl();
    // A private key pasted as an upload is refused and leaves no trace.
    let reply = client.upload_key(&pair.private_pem).await.unwrap();
    assert_eq!(reply.slug(), Some("private_key_submitted"));
    // A wrong password; a password typed where the identifier goes (no such API key).
    let wrong = "Wrong-Password-7c1f";
    app.client()
        .login_reply(&creds.api_key, wrong)
        .await
        .unwrap();
    let typed_in_the_wrong_field = "Secret-In-Identifier-93ab";
    app.client()
        .login_reply(typed_in_the_wrong_field, &creds.password)
        .await
        .unwrap();
    client.upload_key(&new_public_key()).await.unwrap();
    client.logout().await.unwrap();

    let events = chain(&app).await;
    assert_eq!(
        types(&events),
        [
            "login.succeeded",
            "login.failed",
            "login.failed",
            "key.uploaded",
            "logout"
        ]
    );
    // The unknown identifier's failure names no API key and is anonymous.
    assert_eq!(events[2].actor, "anonymous");
    assert_eq!(events[2].api_key_id, None);
    let private_body: String = pair
        .private_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let text: String = events
        .iter()
        .map(|e| format!("{e:?} {}", String::from_utf8_lossy(&e.hash)))
        .collect();
    for secret in [
        creds.password.as_str(),
        wrong,
        typed_in_the_wrong_field,
        token.as_str(),
        &private_body[..64],
        &keygate_registry::credentials::token_hash(&token),
    ] {
        assert!(!text.contains(secret), "an event holds a secret: {secret}");
    }
}

async fn the_trail_pages_newest_first_and_refuses_bad_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, creds) = app.logged_in().await;
    // Another API key's events never show.
    let (other, _) = app.logged_in().await;
    other.upload_key(&new_public_key()).await.unwrap();
    for _ in 0..3 {
        client.upload_key(&new_public_key()).await.unwrap();
        client.revoke_key(None).await.unwrap();
    }
    // 1 login + 6 = 7 events: pages of 3, 3 and 1.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = client
            .audit_trail(Some(3), cursor.as_deref())
            .await
            .unwrap();
        assert_eq!(page.status, 200, "{:?}", page.body);
        let events = page.data()["events"].as_array().unwrap().clone();
        pages += 1;
        for e in &events {
            assert_eq!(e["actor"], format!("api_key:{}", creds.api_key_id).as_str());
            seen.push(e["event_type"].as_str().unwrap().to_owned());
        }
        match page.data()["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.last().map(String::as_str), Some("login.succeeded"));
    assert_eq!(seen[0], "key.revoked");

    for query in [
        "limit=0",
        "limit=501",
        "limit=ten",
        "limit=-1",
        "cursor=nonsense",
        "cursor=YTA",
    ] {
        let reply = client
            .send(
                reqwest::Method::GET,
                &format!("/clients/api_key/audit?{query}"),
                None,
                &[],
            )
            .await
            .unwrap();
        assert_eq!(reply.status, 400, "{query}: {:?}", reply.body);
        assert_eq!(reply.slug(), Some("invalid_page"), "{query}");
        let message = reply.body["message"].as_str().unwrap();
        let named = if query.starts_with("limit") {
            "limit"
        } else {
            "cursor"
        };
        assert!(message.starts_with(named), "{query}: {message}");
    }
    let reply = app.client().audit_trail(None, None).await.unwrap();
    assert_eq!(reply.slug(), Some("unauthorized"));

    // A full page of the largest size still says whether another follows.
    let many: Vec<_> = (0..500)
        .map(|_| {
            keygate_core::audit::NewAuditEvent::new(
                keygate_core::audit::AuditEventType::LoginFailed,
                &keygate_core::audit::Origin::api_key(creds.api_key_id, None),
            )
            .api_key(creds.client_id, creds.api_key_id)
        })
        .collect();
    app.store.append_audit(&many, app.now()).await.unwrap();
    let page = client.audit_trail(Some(500), None).await.unwrap();
    assert_eq!(page.data()["events"].as_array().unwrap().len(), 500);
    let next = page.data()["next_cursor"].as_str().unwrap().to_owned();
    let rest = client.audit_trail(Some(500), Some(&next)).await.unwrap();
    assert_eq!(rest.data()["events"].as_array().unwrap().len(), 7);
    assert_eq!(rest.data()["next_cursor"], Value::Null);
}

async fn time_driven_events_are_recorded_once_by_the_sweep(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.audit_sweep_interval = Duration::from_secs(1);
        s.key_validity = Duration::from_secs(40 * DAY as u64);
        s.key_expiry_warning = Duration::from_secs(10 * DAY as u64);
    })
    .await;
    // PostgreSQL: two nodes sweep the same database.
    let _second = match backend {
        Backend::Postgres => Some(spawn_second_node(&app).await),
        Backend::Sqlite => None,
    };
    let (mut client, creds) = app.logged_in().await;
    client.upload_key(&new_public_key()).await.unwrap();
    let count =
        |events: &[AuditEvent], t: &str| events.iter().filter(|e| e.event_type == t).count();

    // Inside the warning window with no successor: key.expiring, by keygate.
    app.time.advance(31 * DAY);
    assert!(
        eventually(Duration::from_secs(20), async || {
            count(&chain(&app).await, "key.expiring") == 1
        })
        .await,
        "{:?}",
        types(&chain(&app).await)
    );
    // A successor staged now (a new session: the first one has expired) takes over when the
    // key expires.
    client.login(&creds.api_key, &creds.password).await.unwrap();
    assert_eq!(
        client
            .stage_successor(&new_public_key())
            .await
            .unwrap()
            .status,
        201
    );
    app.time.advance(10 * DAY);
    assert!(
        eventually(Duration::from_secs(20), async || {
            let events = chain(&app).await;
            count(&events, "key.expired") == 1 && count(&events, "key.successor_activated") == 1
        })
        .await,
        "{:?}",
        types(&chain(&app).await)
    );
    // More sweeps (both nodes) add nothing.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let events = chain(&app).await;
    for t in ["key.expiring", "key.expired", "key.successor_activated"] {
        assert_eq!(count(&events, t), 1, "{t}: {:?}", types(&events));
        let e = events.iter().find(|e| e.event_type == t).unwrap();
        assert_eq!(e.actor, "keygate");
        assert_eq!(e.source, None);
    }
    assert_eq!(app.registry().verify_audit().await.unwrap().broken, None);
}

async fn the_end_of_an_overlap_is_recorded_by_keygate(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.audit_sweep_interval = Duration::from_secs(1);
        s.rotation_overlap = Duration::from_secs(3600);
    })
    .await;
    let (client, creds) = app.logged_in().await;
    client.upload_key(&new_public_key()).await.unwrap();
    client.stage_successor(&new_public_key()).await.unwrap();
    client.activate_successor().await.unwrap();
    // Retiring for an hour: not retired yet.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!types(&chain(&app).await).contains(&"key.retired"));
    app.time.advance(3600);
    assert!(
        eventually(Duration::from_secs(20), async || {
            types(&chain(&app).await).contains(&"key.retired")
        })
        .await
    );
    let events = chain(&app).await;
    let retired: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "key.retired")
        .collect();
    assert_eq!(retired.len(), 1);
    assert_eq!(retired[0].actor, "keygate");
    assert_eq!(
        retired[0].api_key_id.as_deref(),
        Some(creds.api_key_id.to_string().as_str())
    );
    let activated = events
        .iter()
        .find(|e| e.event_type == "key.successor_activated")
        .unwrap();
    assert_eq!(activated.actor, format!("api_key:{}", creds.api_key_id));
}

async fn retention_prunes_behind_a_checkpoint_and_the_chain_verifies(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.audit_sweep_interval = Duration::from_secs(1);
        s.audit_retention = Duration::from_secs(30 * DAY as u64);
    })
    .await;
    let (mut client, creds) = app.logged_in().await;
    client.upload_key(&new_public_key()).await.unwrap();
    client.revoke_key(None).await.unwrap();
    let before = chain(&app).await;
    assert_eq!(before.len(), 3);
    app.time.advance(31 * DAY);
    // A new event after the old ones are out of retention.
    client.login(&creds.api_key, &creds.password).await.unwrap();
    assert!(
        eventually(Duration::from_secs(20), async || {
            types(&chain(&app).await).contains(&"audit.checkpoint")
        })
        .await
    );
    let after = chain(&app).await;
    let mut kept = types(&after);
    kept.sort_unstable();
    assert_eq!(
        kept,
        ["audit.checkpoint", "login.succeeded"],
        "the three old events are pruned"
    );
    let checkpoint = after
        .iter()
        .find(|e| e.event_type == "audit.checkpoint")
        .unwrap();
    // The node's system_key.created, the login, the upload and the revoke.
    assert!(
        checkpoint.details.contains("\"pruned_through_seq\":4"),
        "{checkpoint:?}"
    );
    assert_eq!(checkpoint.actor, "keygate");
    let report = app.registry().verify_audit().await.unwrap();
    assert_eq!(report.broken, None, "{report:?}");
    assert_eq!(report.checked, 2);
}

async fn a_lockout_is_recorded_once(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.login_max_failures_per_key = 2).await;
    let creds = app.new_api_key().await;
    for _ in 0..4 {
        app.client()
            .login_reply(&creds.api_key, "wrong")
            .await
            .unwrap();
    }
    let events = chain(&app).await;
    // Two failures, the second locks; the refused attempts while locked add nothing.
    assert_eq!(
        types(&events),
        ["login.failed", "login.failed", "login.locked"]
    );
    let locked = &events[2];
    assert_eq!(locked.actor, format!("api_key:{}", creds.api_key_id));
    assert_eq!(locked.source.as_deref(), Some("127.0.0.1"));
    assert!(
        locked.details.contains("\"limit\":\"api_key\""),
        "{locked:?}"
    );
}

async fn audit_answers_match_the_documented_schemas(backend: Backend) {
    const AUDIT: &str = "/clients/api_key/audit";
    let app = spawn_app(backend).await;
    let mut check = crate::schemas::Checker::new(&app).await;
    let reply = app.client().audit_trail(None, None).await.unwrap();
    check.check("get", AUDIT, &reply);
    let (client, _) = app.logged_in().await;
    client.upload_key(&new_public_key()).await.unwrap();
    client.revoke_key(Some("lost")).await.unwrap();
    let first = client.audit_trail(Some(1), None).await.unwrap();
    check.check("get", AUDIT, &first);
    let cursor = first.data()["next_cursor"].as_str().unwrap().to_owned();
    check.check(
        "get",
        AUDIT,
        &client.audit_trail(Some(10), Some(&cursor)).await.unwrap(),
    );
    check.check(
        "get",
        AUDIT,
        &client.audit_trail(Some(0), None).await.unwrap(),
    );
}
