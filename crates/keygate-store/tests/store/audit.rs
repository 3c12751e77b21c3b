//! The audit chain: appends get consecutive seqs, each naming its predecessor's hash, even when
//! many appends race (PostgreSQL: over two nodes); lists are newest first and filtered.

use keygate_core::audit::{AuditEventType, NewAuditEvent, Origin, GENESIS_HASH};
use keygate_store::{AuditFilter, Store};
use keygate_testkit::{both_backends, Backend};
use uuid::Uuid;

use crate::support::{open, NOW};

both_backends!(
    concurrent_appends_make_one_chain,
    lists_are_newest_first_and_filtered
);

fn event(n: usize) -> NewAuditEvent {
    NewAuditEvent::new(AuditEventType::AdminCommand, &Origin::operator("ops")).detail("n", n)
}

async fn concurrent_appends_make_one_chain(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    let mut nodes = vec![store.clone()];
    if kind == Backend::Postgres {
        nodes.push(Store::connect(&url).await.unwrap());
    }
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let node: Store = nodes[i % nodes.len()].clone();
            tokio::spawn(async move {
                node.append_audit(&[event(i), event(i + 100)], NOW)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        let appended = task.await.unwrap();
        // One call's events are adjacent: they were appended under one lock.
        assert_eq!(appended[1].seq, appended[0].seq + 1);
    }
    let chain = store.audit_chain_page(0, 1000).await.unwrap();
    assert_eq!(chain.len(), 48);
    let mut prev = GENESIS_HASH.to_vec();
    for (i, e) in chain.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1);
        assert_eq!(e.prev_hash, prev, "event {} names its predecessor", e.seq);
        assert_eq!(e.hash, e.computed_hash().to_vec());
        assert_eq!(e.actor, "operator:ops");
        prev.clone_from(&e.hash);
    }
    let page = store.audit_chain_page(40, 5).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [41, 42, 43, 44, 45]
    );
}

async fn lists_are_newest_first_and_filtered(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    let (client, api_key) = (Uuid::new_v4(), Uuid::new_v4());
    let mine = NewAuditEvent::new(AuditEventType::Logout, &Origin::api_key(api_key, None))
        .api_key(client, api_key);
    store.append_audit(&[event(1)], NOW).await.unwrap();
    store
        .append_audit(std::slice::from_ref(&mine), NOW + 10)
        .await
        .unwrap();
    store.append_audit(&[event(2)], NOW + 20).await.unwrap();
    store.append_audit(&[mine], NOW + 30).await.unwrap();

    let all = store.list_audit(&AuditFilter::default(), 10).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 3, 2, 1]);
    let by_key = AuditFilter {
        api_key_id: Some(api_key),
        ..AuditFilter::default()
    };
    let seqs = |events: Vec<keygate_core::audit::AuditEvent>| {
        events.iter().map(|e| e.seq).collect::<Vec<_>>()
    };
    assert_eq!(seqs(store.list_audit(&by_key, 10).await.unwrap()), [4, 2]);
    let by_client = AuditFilter {
        client_id: Some(client),
        before_seq: Some(4),
        ..AuditFilter::default()
    };
    assert_eq!(seqs(store.list_audit(&by_client, 10).await.unwrap()), [2]);
    let since = AuditFilter {
        since: Some(NOW + 20),
        ..AuditFilter::default()
    };
    assert_eq!(seqs(store.list_audit(&since, 10).await.unwrap()), [4, 3]);
    assert_eq!(
        seqs(store.list_audit(&AuditFilter::default(), 1).await.unwrap()),
        [4]
    );
}
