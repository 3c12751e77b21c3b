//! Per-key usage counts (docs/design.md §5, "Usage"): batches add up, the later instants win,
//! and two nodes flushing at once on PostgreSQL merge without losing a count.

use keygate_core::model::KeyUsage;
use keygate_store::{Store, UsageDelta};
use keygate_testkit::{both_backends, Backend};

use crate::support::{new_api_key, new_key, open, NOW};

both_backends!(batches_add_up_and_the_later_instants_win);
both_backends!(a_key_twice_in_one_batch_is_added_together);

const YEAR: i64 = 365 * 86_400;

async fn batches_add_up_and_the_later_instants_win(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    let api_key = new_api_key(&store).await;
    let (a, b) = (new_key(api_key.id), new_key(api_key.id));
    let a = store.insert_key(a, NOW, YEAR, &[]).await.unwrap().id;
    store
        .revoke_active(api_key.id, None, NOW + 1, |_| Vec::new())
        .await
        .unwrap();
    let b = store.insert_key(b, NOW + 2, YEAR, &[]).await.unwrap().id;
    assert_eq!(store.usage_of_key(a).await.unwrap(), KeyUsage::default());
    assert!(store.usage_of_api_key(api_key.id).await.unwrap().is_empty());

    store
        .record_usage(&[
            UsageDelta {
                key_id: a,
                accepted: 3,
                last_used_at: Some(NOW + 10),
                refusals: vec![("signature_stale", 2)],
                last_refusal: Some(("signature_stale", NOW + 12)),
            },
            UsageDelta {
                key_id: b,
                accepted: 1,
                last_used_at: Some(NOW + 5),
                ..UsageDelta::default()
            },
        ])
        .await
        .unwrap();
    // A later batch, partly older: the counts add, the instants keep the later one.
    store
        .record_usage(&[UsageDelta {
            key_id: a,
            accepted: 2,
            last_used_at: Some(NOW + 8),
            refusals: vec![("signature_invalid", 1), ("signature_stale", 1)],
            last_refusal: Some(("signature_invalid", NOW + 11)),
        }])
        .await
        .unwrap();

    // Two nodes (PostgreSQL) or two tasks (SQLite) flushing at once, over the same keys.
    let other = match kind {
        Backend::Postgres => Store::connect(&url).await.unwrap(),
        Backend::Sqlite => store.clone(),
    };
    let batch = |n: u64, at: i64| {
        vec![
            UsageDelta {
                key_id: a,
                accepted: n,
                last_used_at: Some(at),
                ..UsageDelta::default()
            },
            UsageDelta {
                key_id: b,
                accepted: n,
                refusals: vec![("signature_replayed", n)],
                last_refusal: Some(("signature_replayed", at)),
                ..UsageDelta::default()
            },
        ]
    };
    let mut tasks = Vec::new();
    for i in 0..10 {
        let node = if i % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        let batch = batch(1, NOW + 20 + i);
        tasks.push(tokio::spawn(async move { node.record_usage(&batch).await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }

    let usage = store.usage_of_api_key(api_key.id).await.unwrap();
    let ua = &usage[&a];
    assert_eq!(ua.accepted, 3 + 2 + 10);
    assert_eq!(ua.last_used_at, Some(NOW + 29));
    assert_eq!(
        ua.refusals,
        vec![
            ("signature_invalid".to_owned(), 1),
            ("signature_stale".to_owned(), 3)
        ]
    );
    assert_eq!(
        ua.last_refusal,
        Some(("signature_stale".to_owned(), NOW + 12))
    );
    let ub = &usage[&b];
    assert_eq!((ub.accepted, ub.last_used_at), (11, Some(NOW + 5)));
    assert_eq!(ub.refusals, vec![("signature_replayed".to_owned(), 10)]);
    assert_eq!(
        ub.last_refusal,
        Some(("signature_replayed".to_owned(), NOW + 29))
    );
    assert_eq!(&store.usage_of_key(a).await.unwrap(), ua);
    if kind == Backend::Postgres {
        other.close().await;
    }
}

/// The flush sends each key once, but the store takes any batch: a key given twice is merged
/// first (on PostgreSQL one `INSERT … ON CONFLICT DO UPDATE` may not touch a row twice).
async fn a_key_twice_in_one_batch_is_added_together(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    let api_key = new_api_key(&store).await;
    let a = store
        .insert_key(new_key(api_key.id), NOW, YEAR, &[])
        .await
        .unwrap()
        .id;
    store
        .record_usage(&[
            UsageDelta {
                key_id: a,
                accepted: 2,
                last_used_at: Some(NOW + 9),
                refusals: vec![("signature_stale", 1), ("signature_invalid", 4)],
                last_refusal: Some(("signature_invalid", NOW + 7)),
            },
            UsageDelta {
                key_id: a,
                accepted: 5,
                last_used_at: Some(NOW + 3),
                refusals: vec![("signature_stale", 2)],
                last_refusal: Some(("signature_stale", NOW + 8)),
            },
        ])
        .await
        .unwrap();
    let usage = store.usage_of_key(a).await.unwrap();
    assert_eq!(usage.accepted, 7);
    assert_eq!(usage.last_used_at, Some(NOW + 9));
    assert_eq!(
        usage.refusals,
        vec![
            ("signature_invalid".to_owned(), 4),
            ("signature_stale".to_owned(), 3)
        ]
    );
    assert_eq!(
        usage.last_refusal,
        Some(("signature_stale".to_owned(), NOW + 8))
    );
}
