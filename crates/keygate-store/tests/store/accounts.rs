//! Clients and their API keys: conflicts, lookups, and listing order.

use keygate_store::StoreError;
use keygate_testkit::{both_backends, Backend};
use uuid::Uuid;

use crate::support::{open, open_with_language_collation, unique_alias, NOW};

both_backends!(clients, api_keys, aliases_are_listed_in_byte_order);

async fn clients(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    let acme = store
        .create_client("Acme Bank", "acme", NOW, |_| Vec::new())
        .await
        .unwrap();
    assert_eq!(acme.name, "Acme Bank");
    assert_eq!(acme.alias, "acme");
    assert_eq!(acme.created_at, NOW);
    let beta = store
        .create_client("Beta Pay", "beta", NOW + 1, |_| Vec::new())
        .await
        .unwrap();

    match store
        .create_client("Other", "acme", NOW, |_| Vec::new())
        .await
    {
        Err(StoreError::Conflict(what)) => assert_eq!(what, "client alias"),
        other => panic!("duplicate alias should conflict, got {other:?}"),
    }

    assert_eq!(
        store.list_clients().await.unwrap(),
        vec![acme.clone(), beta.clone()]
    );
    assert_eq!(store.find_client("acme").await.unwrap(), Some(acme.clone()));
    assert_eq!(
        store.find_client(&beta.id.to_string()).await.unwrap(),
        Some(beta)
    );
    assert_eq!(store.find_client("nobody").await.unwrap(), None);
    assert_eq!(
        store
            .find_client(&Uuid::new_v4().to_string())
            .await
            .unwrap(),
        None
    );
}

async fn api_keys(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    let acme = store
        .create_client("Acme", "acme", NOW, |_| Vec::new())
        .await
        .unwrap();
    let beta = store
        .create_client("Beta", "beta", NOW, |_| Vec::new())
        .await
        .unwrap();

    let main = store
        .create_api_key(acme.id, "main", "login-main", "hash-main", NOW, |_| {
            Vec::new()
        })
        .await
        .unwrap();
    assert_eq!(main.client_id, acme.id);
    assert_eq!(main.alias, "main");
    assert_eq!(main.api_key, "login-main");
    let batch = store
        .create_api_key(acme.id, "batch", "login-batch", "hash-batch", NOW, |_| {
            Vec::new()
        })
        .await
        .unwrap();
    // The same alias under another client is fine.
    let beta_main = store
        .create_api_key(beta.id, "main", "login-beta", "hash-beta", NOW, |_| {
            Vec::new()
        })
        .await
        .unwrap();

    match store
        .create_api_key(acme.id, "main", "login-other", "h", NOW, |_| Vec::new())
        .await
    {
        Err(StoreError::Conflict(what)) => assert_eq!(what, "api key alias"),
        other => panic!("duplicate alias should conflict, got {other:?}"),
    }
    match store
        .create_api_key(beta.id, "fresh", "login-main", "h", NOW, |_| Vec::new())
        .await
    {
        Err(StoreError::Conflict(what)) => assert_eq!(what, "api key login"),
        other => panic!("duplicate login should conflict, got {other:?}"),
    }
    match store
        .create_api_key(Uuid::new_v4(), "x", "login-x", "h", NOW, |_| Vec::new())
        .await
    {
        Err(StoreError::NotFound(what)) => assert_eq!(what, "client"),
        other => panic!("unknown client should be not found, got {other:?}"),
    }

    assert_eq!(
        store.list_api_keys(acme.id).await.unwrap(),
        vec![batch.clone(), main.clone()]
    );
    assert_eq!(
        store.list_api_keys(beta.id).await.unwrap(),
        vec![beta_main.clone()]
    );

    let (found, client, hash) = store.find_login("login-main").await.unwrap().unwrap();
    assert_eq!(
        (found, client, hash.as_str()),
        (main.clone(), acme.clone(), "hash-main")
    );
    assert_eq!(store.find_login("nobody").await.unwrap(), None);

    assert_eq!(
        store.find_api_key(beta_main.id).await.unwrap(),
        Some((beta_main, beta))
    );
    assert_eq!(store.find_api_key(Uuid::new_v4()).await.unwrap(), None);
}

/// `keygate admin client list` and `api-key list` print the same order on both backends: byte
/// order, whatever the PostgreSQL database's collation.
async fn aliases_are_listed_in_byte_order(kind: Backend) {
    let (store, _guard, _url) = open_with_language_collation(kind).await;
    // Inserted in a language's order (case and punctuation nearly ignored).
    let aliases = ["a_b", "a-b", "ab", "aB", "Ab", "B"];
    let by_bytes = ["Ab", "B", "a-b", "aB", "a_b", "ab"];
    for alias in aliases {
        store
            .create_client("Client", alias, NOW, |_| Vec::new())
            .await
            .unwrap();
    }
    let listed: Vec<String> = store
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.alias)
        .collect();
    assert_eq!(listed, by_bytes);

    let client = store
        .create_client("Keys", "keys", NOW, |_| Vec::new())
        .await
        .unwrap();
    for alias in aliases {
        store
            .create_api_key(
                client.id,
                alias,
                &unique_alias("login"),
                "$argon2id$fake",
                NOW,
                |_| Vec::new(),
            )
            .await
            .unwrap();
    }
    let listed: Vec<String> = store
        .list_api_keys(client.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.alias)
        .collect();
    assert_eq!(listed, by_bytes);
}
