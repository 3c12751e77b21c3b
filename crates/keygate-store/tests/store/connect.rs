//! Opening a database: accepted URLs, the SQLite file, migrations, and the `$n` placeholders
//! both backends share.

use keygate_store::{Store, StoreError};
use keygate_testkit::{both_backends, Backend, TestDatabase};

use crate::support::{open, NOW};

both_backends!(
    migrations_are_idempotent,
    dollar_placeholders_repeat_and_reorder,
);

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
    let client = store
        .create_client("A", "a", NOW, |_| Vec::new())
        .await
        .unwrap();
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
        vec![
            (1, "init".to_owned()),
            (2, "gateway".to_owned()),
            (3, "successor".to_owned()),
            (4, "check_challenges".to_owned()),
            (5, "audit_events".to_owned()),
            (6, "key_usage".to_owned()),
            (7, "webhooks".to_owned())
        ]
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
    let client = store
        .create_client("A", "alpha", NOW, |_| Vec::new())
        .await
        .unwrap();
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
