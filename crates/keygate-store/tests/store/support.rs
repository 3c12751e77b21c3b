//! Fixtures shared by every module: a fresh store per test, and records to fill it with.

use keygate_core::model::{ApiKey, UnixTime};
use keygate_store::{NewKey, Store};
use keygate_testkit::db::postgres_admin_url;
use keygate_testkit::{Backend, TestDatabase};
use sqlx::Connection;
use uuid::Uuid;

pub const NOW: UnixTime = 1_800_000_000;
pub const YEAR: i64 = 365 * 24 * 3600;

pub async fn open(kind: Backend) -> (Store, TestDatabase, String) {
    let db = TestDatabase::new(kind).await;
    connect(kind, db).await
}

/// Like [`open`], but a PostgreSQL database whose default collation follows a language (ICU
/// `en-US`), as one created under `en_US.UTF-8` does: the test server's own default is C.
pub async fn open_with_language_collation(kind: Backend) -> (Store, TestDatabase, String) {
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

pub fn unique_alias(prefix: &str) -> String {
    format!("{prefix}-{}", &Uuid::new_v4().simple().to_string()[..12])
}

pub async fn new_api_key(store: &Store) -> ApiKey {
    let client = store
        .create_client("Acme Bank", &unique_alias("client"), NOW, |_| Vec::new())
        .await
        .unwrap();
    store
        .create_api_key(
            client.id,
            "main",
            &unique_alias("login"),
            "$argon2id$fake",
            NOW,
            |_| Vec::new(),
        )
        .await
        .unwrap()
}

pub fn new_key(api_key_id: Uuid) -> NewKey {
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
pub async fn open_rows(kind: Backend, url: &str, api_key_id: Uuid) -> i64 {
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
