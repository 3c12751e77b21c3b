//! Black-box tests of the store through its public API, each on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keygate_core::model::{ApiKey, KeyStatus, UnixTime};
use keygate_store::{InsertKeyError, NewKey, Store, StoreError};
use keygate_testkit::db::postgres_admin_url;
use keygate_testkit::{both_backends, Backend, TestDatabase};
use sqlx::Connection;
use uuid::Uuid;

const NOW: UnixTime = 1_800_000_000;
const YEAR: i64 = 365 * 24 * 3600;

both_backends!(
    migrations_are_idempotent,
    dollar_placeholders_repeat_and_reorder,
    clients,
    api_keys,
    sessions,
    login_failures,
    key_lifecycle,
    key_expiry,
    reused_keys_are_refused_forever,
    concurrent_uploads_leave_exactly_one_active_key,
    concurrent_revokes_revoke_once,
    keys_are_isolated_per_api_key,
    status_table_is_newest_first_and_deterministic,
    aliases_are_listed_in_byte_order,
    concurrent_rotations_leave_exactly_one_current_key,
);

async fn open(kind: Backend) -> (Store, TestDatabase, String) {
    let db = TestDatabase::new(kind).await;
    connect(kind, db).await
}

/// Like [`open`], but a PostgreSQL database whose default collation follows a language (ICU
/// `en-US`), as one created under `en_US.UTF-8` does: the test server's own default is C.
async fn open_with_language_collation(kind: Backend) -> (Store, TestDatabase, String) {
    let db = TestDatabase::new(kind).await;
    if kind == Backend::Postgres {
        let database = db
            .url
            .rsplit('/')
            .next()
            .unwrap()
            .split('?')
            .next()
            .unwrap();
        let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
            .await
            .unwrap();
        for sql in [
            format!("DROP DATABASE {database}"),
            format!(
                "CREATE DATABASE {database} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C' \
                 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
            ),
        ] {
            sqlx::query(&sql).execute(&mut admin).await.unwrap();
        }
        admin.close().await.unwrap();
    }
    connect(kind, db).await
}

async fn connect(kind: Backend, db: TestDatabase) -> (Store, TestDatabase, String) {
    let url = db.url.clone();
    let store = Store::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect to a fresh {kind:?} database: {e}"));
    (store, db, url)
}

fn unique_alias(prefix: &str) -> String {
    format!("{prefix}-{}", &Uuid::new_v4().simple().to_string()[..12])
}

async fn new_api_key(store: &Store) -> ApiKey {
    let client = store
        .create_client("Acme Bank", &unique_alias("client"), NOW)
        .await
        .unwrap();
    store
        .create_api_key(
            client.id,
            "main",
            &unique_alias("login"),
            "$argon2id$fake",
            NOW,
        )
        .await
        .unwrap()
}

fn new_key(api_key_id: Uuid) -> NewKey {
    let id = Uuid::new_v4();
    NewKey {
        id,
        api_key_id,
        public_key_pem: format!("-----BEGIN PUBLIC KEY-----\n{id}\n-----END PUBLIC KEY-----"),
        fingerprint_sha256: format!("fp:{}", id.simple()),
        jwk_thumbprint: format!("tp-{}", id.simple()),
        bits: 2048,
        exponent: 65537,
    }
}

/// Rows with `open = 1` for this API key, read straight from the database.
async fn open_rows(kind: Backend, url: &str, api_key_id: Uuid) -> i64 {
    let sql = "SELECT COUNT(*) FROM public_keys WHERE api_key_id = $1 AND open = 1";
    let id = api_key_id.to_string();
    match kind {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(sql)
                .bind(&id)
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            n
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(sql)
                .bind(&id)
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            n
        }
    }
}

#[tokio::test]
async fn unknown_url_schemes_are_refused() {
    for url in [
        "mysql://user:s3cret@db.example/keygate",
        "sqlite:keygate.db",
        "sqlite::memory:",
        "sqlite://",
        "keygate.db",
        "",
        "http://example.com/",
        "postgres:/nothing",
    ] {
        match Store::connect(url).await {
            Err(StoreError::UnsupportedUrl(scheme)) => {
                let message = StoreError::UnsupportedUrl(scheme).to_string();
                assert!(message.contains("sqlite://"), "{message}");
                assert!(message.contains("postgres://"), "{message}");
                assert!(message.contains("postgresql://"), "{message}");
                assert!(!message.contains("s3cret"), "{message}");
            }
            other => panic!("{url:?} should be refused as unsupported, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn sqlite_file_is_created_when_missing() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let url = db.url.clone();
    let path = url.strip_prefix("sqlite://").unwrap().to_owned();
    assert!(!std::path::Path::new(&path).exists());
    let store = Store::connect(&url).await.unwrap();
    assert!(std::path::Path::new(&path).exists());
    assert_eq!(store.backend_name(), "sqlite");
    // WAL is a property of the file: a plain connection sees it.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    pool.close().await;
    store.close().await;
}

#[tokio::test]
async fn sqlite_relative_path_is_relative_to_the_working_directory() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let url = db.url.clone();
    let absolute = std::path::PathBuf::from(url.strip_prefix("sqlite://").unwrap());
    // Climb from the working directory to the root, then down to the temporary file.
    let cwd = std::env::current_dir().unwrap();
    let depth = cwd
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .count();
    let relative = format!(
        "{}{}",
        "../".repeat(depth),
        absolute.display().to_string().trim_start_matches('/')
    );
    assert!(!relative.starts_with('/'));
    let store = Store::connect(&format!("sqlite://{relative}"))
        .await
        .unwrap();
    store.ping().await.unwrap();
    assert!(absolute.exists());
    store.close().await;
}

async fn migrations_are_idempotent(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    store.ping().await.unwrap();
    let client = store.create_client("A", "a", NOW).await.unwrap();
    store.close().await;

    let again = Store::connect(&url).await.unwrap();
    again.ping().await.unwrap();
    assert_eq!(
        again.backend_name(),
        match kind {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    );
    assert_eq!(again.find_client("a").await.unwrap(), Some(client));
    let third = Store::connect(&url).await.unwrap();
    third.ping().await.unwrap();

    // sqlx's own bookkeeping records the embedded migration once, as `sqlx migrate` would.
    let sql = "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version";
    let applied: Vec<(i64, String)> = match kind {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query_as(sql).fetch_all(&pool).await.unwrap()
        }
    };
    assert_eq!(
        applied,
        vec![(1, "init".to_owned()), (2, "gateway".to_owned())]
    );
}

#[test]
fn migration_trees_have_matching_names() {
    let names = |backend: &str| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}

async fn dollar_placeholders_repeat_and_reorder(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    // find_client binds `$1` three times; count_login_failures uses `$3` twice around `$2`.
    let client = store.create_client("A", "alpha", NOW).await.unwrap();
    assert_eq!(
        store.find_client("alpha").await.unwrap().map(|c| c.id),
        Some(client.id)
    );
    store
        .record_login_failure("login-x", "10.0.0.1", NOW)
        .await
        .unwrap();
    store
        .record_login_failure("login-y", "10.0.0.1", NOW)
        .await
        .unwrap();
    assert_eq!(
        store
            .count_login_failures("login-x", "10.0.0.1", NOW)
            .await
            .unwrap(),
        (1, 2)
    );
}

async fn clients(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    let acme = store.create_client("Acme Bank", "acme", NOW).await.unwrap();
    assert_eq!(acme.name, "Acme Bank");
    assert_eq!(acme.alias, "acme");
    assert_eq!(acme.created_at, NOW);
    let beta = store
        .create_client("Beta Pay", "beta", NOW + 1)
        .await
        .unwrap();

    match store.create_client("Other", "acme", NOW).await {
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
    let acme = store.create_client("Acme", "acme", NOW).await.unwrap();
    let beta = store.create_client("Beta", "beta", NOW).await.unwrap();

    let main = store
        .create_api_key(acme.id, "main", "login-main", "hash-main", NOW)
        .await
        .unwrap();
    assert_eq!(main.client_id, acme.id);
    assert_eq!(main.alias, "main");
    assert_eq!(main.api_key, "login-main");
    let batch = store
        .create_api_key(acme.id, "batch", "login-batch", "hash-batch", NOW)
        .await
        .unwrap();
    // The same alias under another client is fine.
    let beta_main = store
        .create_api_key(beta.id, "main", "login-beta", "hash-beta", NOW)
        .await
        .unwrap();

    match store
        .create_api_key(acme.id, "main", "login-other", "h", NOW)
        .await
    {
        Err(StoreError::Conflict(what)) => assert_eq!(what, "api key alias"),
        other => panic!("duplicate alias should conflict, got {other:?}"),
    }
    match store
        .create_api_key(beta.id, "fresh", "login-main", "h", NOW)
        .await
    {
        Err(StoreError::Conflict(what)) => assert_eq!(what, "api key login"),
        other => panic!("duplicate login should conflict, got {other:?}"),
    }
    match store
        .create_api_key(Uuid::new_v4(), "x", "login-x", "h", NOW)
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

async fn sessions(kind: Backend) {
    let (store, _guard, _url) = open(kind).await;
    let api_key = new_api_key(&store).await;
    let (_, client) = store.find_api_key(api_key.id).await.unwrap().unwrap();
    let token = "a".repeat(64);
    let short = "b".repeat(64);

    store
        .create_session(&token, api_key.id, NOW, NOW + 900)
        .await
        .unwrap();
    store
        .create_session(&short, api_key.id, NOW, NOW + 10)
        .await
        .unwrap();
    match store
        .create_session(&token, api_key.id, NOW, NOW + 900)
        .await
    {
        Err(StoreError::Conflict(what)) => assert_eq!(what, "session"),
        other => panic!("duplicate token hash should conflict, got {other:?}"),
    }
    match store
        .create_session(&"c".repeat(64), Uuid::new_v4(), NOW, NOW + 900)
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
    assert!(store.delete_session(&token).await.unwrap());
    assert_eq!(store.find_session(&token, NOW).await.unwrap(), None);
    assert!(!store.delete_session(&token).await.unwrap());
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

async fn key_lifecycle(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    let api_key = new_api_key(&store).await;
    assert_eq!(store.active_key(api_key.id, NOW).await.unwrap(), None);
    assert_eq!(store.latest_key(api_key.id).await.unwrap(), None);
    assert_eq!(
        store.revoke_active(api_key.id, None, NOW).await.unwrap(),
        None
    );

    let first = new_key(api_key.id);
    let stored = store.insert_key(first.clone(), NOW, YEAR).await.unwrap();
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
    match store.insert_key(new_key(api_key.id), NOW + 5, YEAR).await {
        Err(InsertKeyError::ActiveKeyExists) => {}
        other => panic!("expected ActiveKeyExists, got {other:?}"),
    }
    assert_eq!(open_rows(kind, &url, api_key.id).await, 1);

    // Revoke.
    let revoked = store
        .revoke_active(api_key.id, Some("laptop stolen"), NOW + 10)
        .await
        .unwrap()
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
            .revoke_active(api_key.id, None, NOW + 11)
            .await
            .unwrap(),
        None,
        "an already revoked key is not revoked again"
    );
    assert_eq!(open_rows(kind, &url, api_key.id).await, 0);

    // A new key is accepted now.
    let second = store
        .insert_key(new_key(api_key.id), NOW + 20, YEAR)
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
        .revoke_active(api_key.id, None, NOW + 30)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.id, second.id);
    assert_eq!(admin.revoke_reason, None);
    assert_eq!(admin.status(NOW + 30), KeyStatus::Revoked);
}

async fn key_expiry(kind: Backend) {
    let (store, _guard, url) = open(kind).await;
    let api_key = new_api_key(&store).await;
    let old = store.insert_key(new_key(api_key.id), NOW, 2).await.unwrap();
    assert_eq!(old.expires_at, NOW + 2);
    assert!(store
        .active_key(api_key.id, NOW + 1)
        .await
        .unwrap()
        .is_some());
    match store.insert_key(new_key(api_key.id), NOW + 1, 2).await {
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
            .revoke_active(api_key.id, None, NOW + 2)
            .await
            .unwrap(),
        None
    );

    let new = store
        .insert_key(new_key(api_key.id), NOW + 3, YEAR)
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
    store.insert_key(key.clone(), NOW, YEAR).await.unwrap();

    let again = |api_key_id: Uuid| NewKey {
        id: Uuid::new_v4(),
        api_key_id,
        ..key.clone()
    };

    // Same API key while active: Reused wins over ActiveKeyExists.
    match store.insert_key(again(one.id), NOW + 1, YEAR).await {
        Err(InsertKeyError::Reused) => {}
        other => panic!("expected Reused, got {other:?}"),
    }
    // Another API key.
    match store.insert_key(again(two.id), NOW + 1, YEAR).await {
        Err(InsertKeyError::Reused) => {}
        other => panic!("expected Reused, got {other:?}"),
    }
    // Revoked: still refused, on both API keys.
    store
        .revoke_active(one.id, Some("rotating"), NOW + 2)
        .await
        .unwrap()
        .unwrap();
    for api_key_id in [one.id, two.id] {
        match store.insert_key(again(api_key_id), NOW + 3, YEAR).await {
            Err(InsertKeyError::Reused) => {}
            other => panic!("expected Reused after revocation, got {other:?}"),
        }
    }
    // The refusals changed nothing: a fresh key is accepted on both.
    store
        .insert_key(new_key(one.id), NOW + 4, YEAR)
        .await
        .unwrap();
    store
        .insert_key(new_key(two.id), NOW + 4, YEAR)
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
            store.insert_key(new_key(api_key_id), NOW, YEAR).await
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
            .revoke_active(second.id, Some("node b"), NOW + 1)
            .await
            .unwrap()
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
        .insert_key(new_key(api_key.id), NOW, YEAR)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.revoke_active(api_key.id, Some("race"), NOW + 1).await
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
        .insert_key(new_key(theirs.id), NOW, YEAR)
        .await
        .unwrap();

    assert_eq!(store.get_key(mine.id, their_key.id).await.unwrap(), None);
    assert_eq!(store.get_key(mine.id, Uuid::new_v4()).await.unwrap(), None);
    assert!(store.list_keys(mine.id).await.unwrap().is_empty());
    assert_eq!(store.active_key(mine.id, NOW).await.unwrap(), None);
    assert_eq!(store.revoke_active(mine.id, None, NOW).await.unwrap(), None);
    // Their key is untouched, and having it does not block mine.
    store.insert_key(new_key(mine.id), NOW, YEAR).await.unwrap();
    assert_eq!(
        store.active_key(theirs.id, NOW).await.unwrap(),
        Some(their_key)
    );
    match store.insert_key(new_key(Uuid::new_v4()), NOW, YEAR).await {
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
            .insert_key(new_key(api_key.id), NOW, YEAR)
            .await
            .unwrap();
        store
            .revoke_active(api_key.id, None, NOW)
            .await
            .unwrap()
            .unwrap();
        inserted.push(key.id);
    }
    let later = store
        .insert_key(new_key(api_key.id), NOW + 60, YEAR)
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

/// `keygate admin client list` and `api-key list` print the same order on both backends: byte
/// order, whatever the PostgreSQL database's collation.
async fn aliases_are_listed_in_byte_order(kind: Backend) {
    let (store, _guard, _url) = open_with_language_collation(kind).await;
    // Inserted in a language's order (case and punctuation nearly ignored).
    let aliases = ["a_b", "a-b", "ab", "aB", "Ab", "B"];
    let by_bytes = ["Ab", "B", "a-b", "aB", "a_b", "ab"];
    for alias in aliases {
        store.create_client("Client", alias, NOW).await.unwrap();
    }
    let listed: Vec<String> = store
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.alias)
        .collect();
    assert_eq!(listed, by_bytes);

    let client = store.create_client("Keys", "keys", NOW).await.unwrap();
    for alias in aliases {
        store
            .create_api_key(
                client.id,
                alias,
                &unique_alias("login"),
                "$argon2id$fake",
                NOW,
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
