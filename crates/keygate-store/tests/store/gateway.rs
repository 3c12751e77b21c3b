//! What the gateway keeps in the database: the system keys and their rotation.

use keygate_store::Store;
use keygate_testkit::{both_backends, Backend};

use crate::support::{open, NOW};

both_backends!(
    concurrent_rotations_leave_exactly_one_current_key,
    jti_batches_are_exact
);

/// Rotations racing, on one node and (PostgreSQL) on two: each succeeds, one after the other,
/// and exactly one key is current afterwards.
async fn concurrent_rotations_leave_exactly_one_current_key(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    assert!(store
        .insert_first_system_key("kid-0", b"sealed-0", NOW, &[])
        .await
        .unwrap());
    let mut nodes = vec![store.clone()];
    if kind == Backend::Postgres {
        nodes.push(Store::connect(&url).await.unwrap());
    }
    let rotations = 20;
    let mut tasks = Vec::new();
    for i in 1..=rotations {
        let node = nodes[i % nodes.len()].clone();
        tasks.push(tokio::spawn(async move {
            let kid = format!("kid-{i}");
            node.rotate_system_key(&kid, kid.as_bytes(), NOW + 1, &[])
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let keys = store.system_keys().await.unwrap();
    assert_eq!(keys.len(), rotations + 1);
    assert_eq!(keys.iter().filter(|k| k.retired_at.is_none()).count(), 1);
    assert_eq!(keys[0].retired_at, None);
    assert!(keys[1..].iter().all(|k| k.retired_at == Some(NOW + 1)));
    for node in &nodes[1..] {
        node.close().await;
    }
}

/// A batch of `jti`s answers each entry in order: new once, seen ever after — within the batch,
/// across batches, and (PostgreSQL) from another node; per API key; expired rows purged.
async fn jti_batches_are_exact(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let first = store
        .record_jtis(&[
            (a, "jti-1", NOW + 10),
            (a, "jti-2", NOW + 10),
            (a, "jti-1", NOW + 10),
            (b, "jti-1", NOW + 10),
        ])
        .await
        .unwrap();
    assert_eq!(first, [true, true, false, true]);
    let other = if kind == Backend::Postgres {
        Store::connect(&url).await.unwrap()
    } else {
        store.clone()
    };
    let again = other
        .record_jtis(&[(b, "jti-3", NOW + 20), (a, "jti-2", NOW + 10)])
        .await
        .unwrap();
    assert_eq!(again, [true, false]);
    assert_eq!(store.record_jtis(&[]).await.unwrap(), Vec::<bool>::new());
    // Purged once expired: 3 rows expire at NOW + 10, one at NOW + 20.
    assert_eq!(store.purge_jtis(NOW + 11).await.unwrap(), 3);
    assert_eq!(
        store.record_jtis(&[(a, "jti-1", NOW + 30)]).await.unwrap(),
        [true]
    );
    if kind == Backend::Postgres {
        other.close().await;
    }
}
