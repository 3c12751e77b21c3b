//! The webhook relay's state: a cursor per webhook that starts at the newest event, one
//! delivery per (webhook, event) even when several nodes fan out at once, each due delivery
//! taken by one node under a lease, outcomes recorded only by the lease's owner, dead
//! deliveries listed and retried.

use keygate_core::audit::{AuditEventType, NewAuditEvent, Origin};
use keygate_store::{DeliveryOutcome, Store};
use keygate_testkit::{both_backends, Backend};
use uuid::Uuid;

use crate::support::{open, NOW};

both_backends!(
    deliveries_follow_the_cursor_once,
    leases_give_each_delivery_to_one_taker,
    nodes_racing_make_and_take_each_delivery_once,
    dead_deliveries_are_listed_retried_and_purged
);

const HOOK: &str = "0123456789abcdef0123456789abcdef";

fn event(kind: AuditEventType) -> NewAuditEvent {
    NewAuditEvent::new(kind, &Origin::keygate())
        .api_key(Uuid::new_v4(), Uuid::new_v4())
        .key(Uuid::new_v4())
}

async fn deliveries_follow_the_cursor_once(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    // History before the webhook's first start is not sent.
    store
        .append_audit(&[event(AuditEventType::KeyRevoked)], NOW)
        .await
        .unwrap();
    store.init_webhook_cursor(HOOK).await.unwrap();
    store.init_webhook_cursor(HOOK).await.unwrap(); // a second start keeps the cursor
    assert_eq!(
        store
            .fan_out_webhook(HOOK, &["key.revoked"], NOW)
            .await
            .unwrap(),
        0
    );

    let appended = store
        .append_audit(
            &[
                event(AuditEventType::KeyUploaded),
                event(AuditEventType::KeyRevoked),
                event(AuditEventType::Logout),
                event(AuditEventType::KeyRevoked),
            ],
            NOW + 1,
        )
        .await
        .unwrap();
    let events = ["key.revoked", "key.expired"];
    assert_eq!(
        store.fan_out_webhook(HOOK, &events, NOW + 2).await.unwrap(),
        4
    );
    assert_eq!(
        store.fan_out_webhook(HOOK, &events, NOW + 2).await.unwrap(),
        0
    );

    // Not due before it was made.
    let owner = Uuid::new_v4();
    let early = store
        .take_webhook_deliveries(HOOK, NOW + 1, NOW + 60, owner, 10)
        .await
        .unwrap();
    assert!(early.is_empty());
    let taken = store
        .take_webhook_deliveries(HOOK, NOW + 2, NOW + 60, owner, 10)
        .await
        .unwrap();
    let ids: Vec<&str> = taken
        .iter()
        .map(|d| d.event.as_ref().unwrap().id.as_str())
        .collect();
    assert_eq!(ids, [appended[1].id.as_str(), appended[3].id.as_str()]);
    assert!(taken
        .iter()
        .all(|d| d.attempts == 0 && d.retry_from == NOW + 2));
    assert_eq!(taken[0].event.as_ref().unwrap(), &appended[1]);
    // Another webhook has its own cursor and deliveries.
    store.init_webhook_cursor("other").await.unwrap();
    assert_eq!(
        store.fan_out_webhook("other", &events, NOW).await.unwrap(),
        0
    );

    // Delivered: never taken again.
    for d in &taken {
        assert!(store
            .finish_webhook_delivery(d.id, owner, NOW + 3, &DeliveryOutcome::Delivered)
            .await
            .unwrap());
    }
    let again = store
        .take_webhook_deliveries(HOOK, NOW + 100_000, NOW + 100_060, Uuid::new_v4(), 10)
        .await
        .unwrap();
    assert!(again.is_empty());
}

async fn leases_give_each_delivery_to_one_taker(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    store.init_webhook_cursor(HOOK).await.unwrap();
    store
        .append_audit(&[event(AuditEventType::LoginLocked)], NOW)
        .await
        .unwrap();
    store
        .fan_out_webhook(HOOK, &["login.locked"], NOW)
        .await
        .unwrap();
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let taken = store
        .take_webhook_deliveries(HOOK, NOW, NOW + 70, first, 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    // Leased: nobody else takes it until the lease is over.
    for at in [NOW, NOW + 69] {
        let none = store
            .take_webhook_deliveries(HOOK, at, at + 70, second, 10)
            .await
            .unwrap();
        assert!(none.is_empty(), "{at}");
    }
    // The first taker stopped mid-attempt: after its lease another takes the delivery...
    let retaken = store
        .take_webhook_deliveries(HOOK, NOW + 70, NOW + 140, second, 10)
        .await
        .unwrap();
    assert_eq!(retaken.len(), 1);
    assert_eq!(retaken[0].id, taken[0].id);
    // ...and only the lease's owner records an outcome.
    let retry = DeliveryOutcome::Retry {
        next_attempt_at: NOW + 100,
        error: "HTTP 500 Internal Server Error".into(),
    };
    assert!(!store
        .finish_webhook_delivery(taken[0].id, first, NOW + 71, &retry)
        .await
        .unwrap());
    assert!(store
        .finish_webhook_delivery(taken[0].id, second, NOW + 71, &retry)
        .await
        .unwrap());
    // Pending again, due at its next attempt, with the attempt counted.
    let before = store
        .take_webhook_deliveries(HOOK, NOW + 99, NOW + 200, first, 10)
        .await
        .unwrap();
    assert!(before.is_empty());
    let due = store
        .take_webhook_deliveries(HOOK, NOW + 100, NOW + 200, first, 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].attempts, 1);
    assert_eq!(due[0].retry_from, NOW);
}

async fn nodes_racing_make_and_take_each_delivery_once(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    let mut nodes = vec![store.clone()];
    if kind == Backend::Postgres {
        nodes.push(Store::connect(&url).await.unwrap());
        nodes.push(Store::connect(&url).await.unwrap());
    }
    store.init_webhook_cursor(HOOK).await.unwrap();
    let batch: Vec<NewAuditEvent> = (0..60)
        .map(|_| event(AuditEventType::KeyUploaded))
        .collect();
    let appended = store.append_audit(&batch, NOW).await.unwrap();
    // Every node fans out at once, then takes small batches at once, until nothing is left.
    let fan_outs = (0..6).map(|i| {
        let node = nodes[i % nodes.len()].clone();
        tokio::spawn(async move { node.fan_out_webhook(HOOK, &["key.uploaded"], NOW).await })
    });
    for task in futures::future::join_all(fan_outs).await {
        task.unwrap().unwrap();
    }
    let mut seen: Vec<String> = Vec::new();
    loop {
        let takes = (0..6).map(|i| {
            let node = nodes[i % nodes.len()].clone();
            tokio::spawn(async move {
                let owner = Uuid::new_v4();
                let taken = node
                    .take_webhook_deliveries(HOOK, NOW, NOW + 60, owner, 4)
                    .await
                    .unwrap();
                for d in &taken {
                    assert!(node
                        .finish_webhook_delivery(d.id, owner, NOW, &DeliveryOutcome::Delivered)
                        .await
                        .unwrap());
                }
                taken
            })
        });
        let mut round = 0;
        for task in futures::future::join_all(takes).await {
            for d in task.unwrap() {
                seen.push(d.event.unwrap().id);
                round += 1;
            }
        }
        if round == 0 {
            break;
        }
    }
    let mut expected: Vec<String> = appended.into_iter().map(|e| e.id).collect();
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected, "each event delivered once, by one node");
}

async fn dead_deliveries_are_listed_retried_and_purged(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    store.init_webhook_cursor(HOOK).await.unwrap();
    let appended = store
        .append_audit(
            &[
                event(AuditEventType::KeyExpired),
                event(AuditEventType::KeyExpiring),
            ],
            NOW,
        )
        .await
        .unwrap();
    store
        .fan_out_webhook(HOOK, &["key.expired", "key.expiring"], NOW)
        .await
        .unwrap();
    let owner = Uuid::new_v4();
    let taken = store
        .take_webhook_deliveries(HOOK, NOW, NOW + 60, owner, 10)
        .await
        .unwrap();
    let dead = DeliveryOutcome::Dead {
        error: "cannot connect: Connection refused".into(),
    };
    store
        .finish_webhook_delivery(taken[0].id, owner, NOW + 5, &dead)
        .await
        .unwrap();
    store
        .finish_webhook_delivery(taken[1].id, owner, NOW + 5, &DeliveryOutcome::Delivered)
        .await
        .unwrap();
    let listed = store.dead_webhook_deliveries(100).await.unwrap();
    assert_eq!(listed.len(), 1);
    let one = &listed[0];
    assert_eq!(one.id, taken[0].id);
    assert_eq!(one.webhook, HOOK);
    assert_eq!(one.event_id, appended[0].id);
    assert_eq!(one.event_type, "key.expired");
    assert_eq!(one.attempts, 1);
    assert_eq!(one.last_attempt_at, Some(NOW + 5));
    assert_eq!(
        one.last_error.as_deref(),
        Some("cannot connect: Connection refused")
    );

    // Only a dead delivery is retried; it is pending again with a new window.
    assert!(!store
        .retry_webhook_delivery(taken[1].id, NOW + 10)
        .await
        .unwrap());
    assert!(!store
        .retry_webhook_delivery(Uuid::new_v4(), NOW + 10)
        .await
        .unwrap());
    assert!(store
        .retry_webhook_delivery(one.id, NOW + 10)
        .await
        .unwrap());
    assert!(!store
        .retry_webhook_delivery(one.id, NOW + 10)
        .await
        .unwrap());
    assert!(store.dead_webhook_deliveries(100).await.unwrap().is_empty());
    let retried = store
        .take_webhook_deliveries(HOOK, NOW + 10, NOW + 70, owner, 10)
        .await
        .unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].attempts, retried[0].retry_from), (0, NOW + 10));

    // Purging drops delivered rows past their keep, never a pending one.
    assert_eq!(
        store
            .purge_webhook_deliveries(NOW + 6, NOW + 6)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .purge_webhook_deliveries(NOW + 1000, NOW + 1000)
            .await
            .unwrap(),
        0
    );
}
