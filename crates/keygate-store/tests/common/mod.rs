//! A fresh, empty database per test, on SQLite or PostgreSQL.
//!
//! Self-contained on purpose (only `sqlx`, `tokio` and `uuid`): other crates' tests copy it.
//!
//! PostgreSQL: `KEYGATE_TEST_POSTGRES_URL` names an admin connection (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test gets `CREATE DATABASE kg_<uuid>`, dropped
//! best-effort when the [`Guard`] drops. An unreachable PostgreSQL makes the test FAIL, never skip.
//! SQLite: a fresh file under `std::env::temp_dir()`, removed with its WAL files on drop.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use sqlx::Connection;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const DEFAULT_POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The admin connection used to create and drop per-test databases.
pub fn postgres_admin_url() -> String {
    std::env::var("KEYGATE_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_ADMIN_URL.to_owned())
}

/// Removes the test's database when dropped (best effort).
pub struct Guard {
    inner: Inner,
}

enum Inner {
    Sqlite(PathBuf),
    Postgres { admin_url: String, database: String },
}

/// A URL for a brand-new empty database of the given kind, and the guard that removes it.
pub async fn fresh_database_url(kind: Backend) -> (String, Guard) {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    match kind {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("keygate-test-{unique}.db"));
            // temp_dir() is absolute, so this is `sqlite:///abs/path`.
            let url = format!("sqlite://{}", path.display());
            (
                url,
                Guard {
                    inner: Inner::Sqlite(path),
                },
            )
        }
        Backend::Postgres => {
            let admin_url = postgres_admin_url();
            let database = format!("kg_{unique}");
            let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
                Ok(conn) => conn,
                Err(e) => panic!(
                    "PostgreSQL is required for this test but is unreachable at {}: {e}. \
                     Start PostgreSQL (trust auth for user postgres, database `test`) or set \
                     KEYGATE_TEST_POSTGRES_URL to an admin URL.",
                    redact(&admin_url)
                ),
            };
            if let Err(e) = sqlx::query(&format!("CREATE DATABASE {database}"))
                .execute(&mut admin)
                .await
            {
                panic!("could not create the test database {database}: {e}");
            }
            let _ = admin.close().await;
            let url = with_database(&admin_url, &database);
            (
                url,
                Guard {
                    inner: Inner::Postgres {
                        admin_url,
                        database,
                    },
                },
            )
        }
    }
}

/// `admin_url` with its database name replaced by `database` (query string kept).
fn with_database(admin_url: &str, database: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{database}?{query}"),
        None => format!("{root}/{database}"),
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(start), Some(at)) if at > start => {
            let userinfo = &url[start + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..start + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        match &self.inner {
            Inner::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Inner::Postgres {
                admin_url,
                database,
            } => {
                let admin_url = admin_url.clone();
                let database = database.clone();
                // Drop may run inside a Tokio runtime: do the async work on a thread of its own.
                let dropper = std::thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    runtime.block_on(async move {
                        if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
                            ))
                            .execute(&mut admin)
                            .await;
                            let _ = admin.close().await;
                        }
                    });
                });
                let _ = dropper.join();
            }
        }
    }
}

#[test]
fn with_database_replaces_only_the_database() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "kg_x"),
        "postgres://postgres@127.0.0.1:5432/kg_x"
    );
    assert_eq!(
        with_database("postgresql://u:p@h/test?sslmode=disable", "kg_x"),
        "postgresql://u:p@h/kg_x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://h:5432", "kg_x"),
        "postgres://h:5432/kg_x"
    );
    assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
}
