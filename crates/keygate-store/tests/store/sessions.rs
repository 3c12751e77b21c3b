//! Sessions and the login-failure record.

use keygate_store::StoreError;
use keygate_testkit::{both_backends, Backend};
use uuid::Uuid;

use crate::support::{new_api_key, open, NOW};

both_backends!(sessions, login_failures);

async fn sessions(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    let api_key = new_api_key(&store).await;
    let (_, client) = store.find_api_key(api_key.id).await.unwrap().unwrap();
    let token = "a".repeat(64);
    let short = "b".repeat(64);

    store
        .create_session(&token, api_key.id, NOW, NOW + 900, &[])
        .await
        .unwrap();
    store
        .create_session(&short, api_key.id, NOW, NOW + 10, &[])
        .await
        .unwrap();
    match store
        .create_session(&token, api_key.id, NOW, NOW + 900, &[])
        .await
    {
        Err(StoreError::Conflict(what)) => assert_eq!(what, "session"),
        other => panic!("duplicate token hash should conflict, got {other:?}"),
    }
    match store
        .create_session(&"c".repeat(64), Uuid::new_v4(), NOW, NOW + 900, &[])
        .await
    {
        Err(StoreError::NotFound(what)) => assert_eq!(what, "api key"),
        other => panic!("unknown api key should be not found, got {other:?}"),
    }

    let (principal, expires_at) = store
        .find_session(&token, NOW + 899)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(principal.api_key, api_key);
    assert_eq!(principal.client, client);
    assert_eq!(expires_at, NOW + 900);
    assert_eq!(store.find_session(&token, NOW + 900).await.unwrap(), None);
    assert_eq!(store.find_session("unknown", NOW).await.unwrap(), None);

    // Purge removes only expired sessions.
    assert_eq!(store.purge_expired_sessions(NOW + 10).await.unwrap(), 1);
    assert_eq!(store.find_session(&short, NOW).await.unwrap(), None);
    assert!(store.find_session(&token, NOW).await.unwrap().is_some());

    // Logout: the token stops working at once, for every Store on the database.
    assert!(store.delete_session(&token, NOW, &[]).await.unwrap());
    assert_eq!(store.find_session(&token, NOW).await.unwrap(), None);
    assert!(!store.delete_session(&token, NOW, &[]).await.unwrap());
}

async fn login_failures(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    assert_eq!(
        store
            .count_login_failures("k1", "1.1.1.1", 0)
            .await
            .unwrap(),
        (0, 0)
    );
    for t in 0..3 {
        store
            .record_login_failure("k1", "1.1.1.1", NOW + t)
            .await
            .unwrap();
    }
    store
        .record_login_failure("k1", "2.2.2.2", NOW + 3)
        .await
        .unwrap();
    store
        .record_login_failure("k2", "1.1.1.1", NOW + 4)
        .await
        .unwrap();

    assert_eq!(
        store
            .count_login_failures("k1", "1.1.1.1", NOW)
            .await
            .unwrap(),
        (4, 4)
    );
    assert_eq!(
        store
            .count_login_failures("k1", "2.2.2.2", NOW)
            .await
            .unwrap(),
        (4, 1)
    );
    // `since` is inclusive.
    assert_eq!(
        store
            .count_login_failures("k1", "1.1.1.1", NOW + 2)
            .await
            .unwrap(),
        (2, 2)
    );
    assert_eq!(
        store
            .count_login_failures("k3", "3.3.3.3", NOW)
            .await
            .unwrap(),
        (0, 0)
    );

    assert_eq!(store.purge_login_failures(NOW + 2).await.unwrap(), 2);
    assert_eq!(
        store
            .count_login_failures("k1", "1.1.1.1", 0)
            .await
            .unwrap(),
        (2, 2)
    );
}
