//! What the gateway keeps in the database: the system keys and their rotation.

use keygate_store::Store;
use keygate_testkit::{both_backends, Backend};

use crate::support::{open, NOW};

both_backends!(concurrent_rotations_leave_exactly_one_current_key);

/// Rotations racing, on one node and (PostgreSQL) on two: each succeeds, one after the other,
/// and exactly one key is current afterwards.
async fn concurrent_rotations_leave_exactly_one_current_key(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    assert!(store
        .insert_first_system_key("kid-0", b"sealed-0", NOW)
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
            node.rotate_system_key(&kid, kid.as_bytes(), NOW + 1).await
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
