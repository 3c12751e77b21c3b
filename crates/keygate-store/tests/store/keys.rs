//! The public-key lifecycle: one active key per API key (also under concurrent uploads and
//! across nodes), expiry, revocation, reuse refused forever, and the status table's order.

use keygate_core::model::KeyStatus;
use keygate_store::{InsertKeyError, NewKey, Store, StoreError};
use keygate_testkit::{both_backends, Backend};
use uuid::Uuid;

use crate::support::{new_api_key, new_key, open, open_rows, NOW, YEAR};

both_backends!(
    key_lifecycle,
    key_expiry,
    reused_keys_are_refused_forever,
    concurrent_uploads_leave_exactly_one_active_key,
    concurrent_revokes_revoke_once,
    keys_are_isolated_per_api_key,
    status_table_is_newest_first_and_deterministic,
);

async fn key_lifecycle(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    let api_key = new_api_key(&store).await;
    assert_eq!(store.active_key(api_key.id, NOW).await.unwrap(), None);
    assert_eq!(store.latest_key(api_key.id).await.unwrap(), None);
    assert_eq!(
        store
            .revoke_active(api_key.id, None, NOW, |_| Vec::new())
            .await
            .unwrap(),
        None
    );

    let first = new_key(api_key.id);
    let stored = store
        .insert_key(first.clone(), NOW, YEAR, &[])
        .await
        .unwrap();
    assert_eq!(stored.id, first.id);
    assert_eq!(stored.api_key_id, api_key.id);
    assert_eq!(stored.public_key_pem, first.public_key_pem);
    assert_eq!(stored.fingerprint_sha256, first.fingerprint_sha256);
    assert_eq!(stored.jwk_thumbprint, first.jwk_thumbprint);
    assert_eq!((stored.bits, stored.exponent), (2048, 65537));
    assert_eq!((stored.issued_at, stored.expires_at), (NOW, NOW + YEAR));
    assert_eq!(
        (stored.revoked_at, stored.revoke_reason.clone()),
        (None, None)
    );
    assert_eq!(stored.status(NOW), KeyStatus::Active);
    assert_eq!(
        store.active_key(api_key.id, NOW + 1).await.unwrap(),
        Some(stored.clone())
    );
    assert_eq!(
        store.latest_key(api_key.id).await.unwrap(),
        Some(stored.clone())
    );
    assert_eq!(
        store.get_key(api_key.id, first.id).await.unwrap(),
        Some(stored.clone())
    );

    // A second key while the first is active.
    match store
        .insert_key(new_key(api_key.id), NOW + 5, YEAR, &[])
        .await
    {
        Err(InsertKeyError::ActiveKeyExists) => {}
        other => panic!("expected ActiveKeyExists, got {other:?}"),
    }
    assert_eq!(open_rows(kind, &url, api_key.id).await, 1);

    // Revoke.
    let revoked = store
        .revoke_active(api_key.id, Some("laptop stolen"), NOW + 10, |_| Vec::new())
        .await
        .unwrap()
        .unwrap()
        .ended
        .unwrap();
    assert_eq!(revoked.id, first.id);
    assert_eq!(revoked.revoked_at, Some(NOW + 10));
    assert_eq!(revoked.revoke_reason.as_deref(), Some("laptop stolen"));
    assert_eq!(revoked.status(NOW + 10), KeyStatus::Revoked);
    assert_eq!(store.active_key(api_key.id, NOW + 10).await.unwrap(), None);
    assert_eq!(
        store.latest_key(api_key.id).await.unwrap(),
        Some(revoked.clone())
    );
    assert_eq!(
        store
            .revoke_active(api_key.id, None, NOW + 11, |_| Vec::new())
            .await
            .unwrap(),
        None,
        "an already revoked key is not revoked again"
    );
    assert_eq!(open_rows(kind, &url, api_key.id).await, 0);

    // A new key is accepted now.
    let second = store
        .insert_key(new_key(api_key.id), NOW + 20, YEAR, &[])
        .await
        .unwrap();
    assert_eq!(
        store.active_key(api_key.id, NOW + 20).await.unwrap(),
        Some(second.clone())
    );
    let listed = store.list_keys(api_key.id).await.unwrap();
    assert_eq!(listed, vec![second.clone(), revoked]);

    // The operator's revocation, with no reason.
    let admin = store
        .revoke_active(api_key.id, None, NOW + 30, |_| Vec::new())
        .await
        .unwrap()
        .unwrap()
        .ended
        .unwrap();
    assert_eq!(admin.id, second.id);
    assert_eq!(admin.revoke_reason, None);
    assert_eq!(admin.status(NOW + 30), KeyStatus::Revoked);
}

async fn key_expiry(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    let api_key = new_api_key(&store).await;
    let old = store
        .insert_key(new_key(api_key.id), NOW, 2, &[])
        .await
        .unwrap();
    assert_eq!(old.expires_at, NOW + 2);
    assert!(store
        .active_key(api_key.id, NOW + 1)
        .await
        .unwrap()
        .is_some());
    match store.insert_key(new_key(api_key.id), NOW + 1, 2, &[]).await {
        Err(InsertKeyError::ActiveKeyExists) => {}
        other => panic!("expected ActiveKeyExists before expiry, got {other:?}"),
    }

    // At expires_at the key is expired: no active key, nothing to revoke.
    assert_eq!(store.active_key(api_key.id, NOW + 2).await.unwrap(), None);
    assert_eq!(
        store
            .latest_key(api_key.id)
            .await
            .unwrap()
            .unwrap()
            .status(NOW + 2),
        KeyStatus::Expired
    );
    assert_eq!(
        store
            .revoke_active(api_key.id, None, NOW + 2, |_| Vec::new())
            .await
            .unwrap(),
        None
    );

    let new = store
        .insert_key(new_key(api_key.id), NOW + 3, YEAR, &[])
        .await
        .unwrap();
    assert_eq!(open_rows(kind, &url, api_key.id).await, 1);
    let listed = store.list_keys(api_key.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], new);
    assert_eq!(listed[0].status(NOW + 3), KeyStatus::Active);
    assert_eq!(listed[1].id, old.id);
    assert_eq!(listed[1].revoked_at, None);
    assert_eq!(listed[1].status(NOW + 3), KeyStatus::Expired);
}

async fn reused_keys_are_refused_forever(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    let one = new_api_key(&store).await;
    let two = new_api_key(&store).await;
    let key = new_key(one.id);
    store.insert_key(key.clone(), NOW, YEAR, &[]).await.unwrap();

    let again = |api_key_id: Uuid| NewKey {
        id: Uuid::new_v4(),
        api_key_id,
        ..key.clone()
    };

    // Same API key while active: Reused wins over ActiveKeyExists.
    match store.insert_key(again(one.id), NOW + 1, YEAR, &[]).await {
        Err(InsertKeyError::Reused) => {}
        other => panic!("expected Reused, got {other:?}"),
    }
    // Another API key.
    match store.insert_key(again(two.id), NOW + 1, YEAR, &[]).await {
        Err(InsertKeyError::Reused) => {}
        other => panic!("expected Reused, got {other:?}"),
    }
    // Revoked: still refused, on both API keys.
    store
        .revoke_active(one.id, Some("rotating"), NOW + 2, |_| Vec::new())
        .await
        .unwrap()
        .unwrap()
        .ended
        .unwrap();
    for api_key_id in [one.id, two.id] {
        match store
            .insert_key(again(api_key_id), NOW + 3, YEAR, &[])
            .await
        {
            Err(InsertKeyError::Reused) => {}
            other => panic!("expected Reused after revocation, got {other:?}"),
        }
    }
    // The refusals changed nothing: a fresh key is accepted on both.
    store
        .insert_key(new_key(one.id), NOW + 4, YEAR, &[])
        .await
        .unwrap();
    store
        .insert_key(new_key(two.id), NOW + 4, YEAR, &[])
        .await
        .unwrap();
    assert_eq!(store.list_keys(one.id).await.unwrap().len(), 2);
    assert_eq!(store.list_keys(two.id).await.unwrap().len(), 1);
}

async fn race(stores: Vec<Store>, api_key_id: Uuid, uploads: usize) -> (usize, usize) {
    let mut tasks = Vec::new();
    for i in 0..uploads {
        let store = stores[i % stores.len()].clone();
        tasks.push(tokio::spawn(async move {
            store.insert_key(new_key(api_key_id), NOW, YEAR, &[]).await
        }));
    }
    let (mut ok, mut active_exists) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(InsertKeyError::ActiveKeyExists) => active_exists += 1,
            Err(other) => panic!("a concurrent upload failed with {other:?}"),
        }
    }
    (ok, active_exists)
}

async fn concurrent_uploads_leave_exactly_one_active_key(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    let api_key = new_api_key(&store).await;
    assert_eq!(race(vec![store.clone()], api_key.id, 50).await, (1, 49));
    assert_eq!(open_rows(kind, &url, api_key.id).await, 1);
    assert_eq!(store.list_keys(api_key.id).await.unwrap().len(), 1);
    assert!(store.active_key(api_key.id, NOW).await.unwrap().is_some());

    if kind == Backend::Postgres {
        // Two nodes: two Stores (two pools) on one database.
        let other_node = Store::connect(&url).await.unwrap();
        let second = new_api_key(&store).await;
        assert_eq!(
            race(vec![store.clone(), other_node.clone()], second.id, 50).await,
            (1, 49)
        );
        assert_eq!(open_rows(kind, &url, second.id).await, 1);
        // What one node revokes, the other sees at once.
        let revoked = other_node
            .revoke_active(second.id, Some("node b"), NOW + 1, |_| Vec::new())
            .await
            .unwrap()
            .unwrap()
            .ended
            .unwrap();
        assert_eq!(store.active_key(second.id, NOW + 1).await.unwrap(), None);
        assert_eq!(
            store.latest_key(second.id).await.unwrap().unwrap().id,
            revoked.id
        );
        other_node.close().await;
    }
}

async fn concurrent_revokes_revoke_once(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    let api_key = new_api_key(&store).await;
    store
        .insert_key(new_key(api_key.id), NOW, YEAR, &[])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .revoke_active(api_key.id, Some("race"), NOW + 1, |_| Vec::new())
                .await
        }));
    }
    let mut revoked = 0;
    for task in tasks {
        if task.await.unwrap().unwrap().is_some() {
            revoked += 1;
        }
    }
    assert_eq!(revoked, 1);
}

async fn keys_are_isolated_per_api_key(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    let mine = new_api_key(&store).await;
    let theirs = new_api_key(&store).await;
    let their_key = store
        .insert_key(new_key(theirs.id), NOW, YEAR, &[])
        .await
        .unwrap();

    assert_eq!(store.get_key(mine.id, their_key.id).await.unwrap(), None);
    assert_eq!(store.get_key(mine.id, Uuid::new_v4()).await.unwrap(), None);
    assert!(store.list_keys(mine.id).await.unwrap().is_empty());
    assert_eq!(store.active_key(mine.id, NOW).await.unwrap(), None);
    assert_eq!(
        store
            .revoke_active(mine.id, None, NOW, |_| Vec::new())
            .await
            .unwrap(),
        None
    );
    // Their key is untouched, and having it does not block mine.
    store
        .insert_key(new_key(mine.id), NOW, YEAR, &[])
        .await
        .unwrap();
    assert_eq!(
        store.active_key(theirs.id, NOW).await.unwrap(),
        Some(their_key)
    );
    match store
        .insert_key(new_key(Uuid::new_v4()), NOW, YEAR, &[])
        .await
    {
        Err(InsertKeyError::Store(StoreError::NotFound(what))) => assert_eq!(what, "api key"),
        other => panic!("unknown api key should be not found, got {other:?}"),
    }
}

async fn status_table_is_newest_first_and_deterministic(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    let api_key = new_api_key(&store).await;
    // Several keys within the same second: insertion order breaks the tie.
    let mut inserted = Vec::new();
    for _ in 0..5 {
        let key = store
            .insert_key(new_key(api_key.id), NOW, YEAR, &[])
            .await
            .unwrap();
        store
            .revoke_active(api_key.id, None, NOW, |_| Vec::new())
            .await
            .unwrap()
            .unwrap()
            .ended
            .unwrap();
        inserted.push(key.id);
    }
    let later = store
        .insert_key(new_key(api_key.id), NOW + 60, YEAR, &[])
        .await
        .unwrap();
    inserted.push(later.id);
    inserted.reverse();

    let listed: Vec<Uuid> = store
        .list_keys(api_key.id)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(listed, inserted);
    assert_eq!(
        store.latest_key(api_key.id).await.unwrap().map(|k| k.id),
        Some(later.id)
    );
}
