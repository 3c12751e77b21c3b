//! A fresh, empty database per test, on SQLite or PostgreSQL, and the macro that runs one test
//! body on both.
//!
//! PostgreSQL: `KEYGATE_TEST_POSTGRES_URL` names an admin connection (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test gets `CREATE DATABASE kg_<uuid>`,
//! dropped best-effort when its [`TestDatabase`] drops. An unreachable PostgreSQL makes the test
//! FAIL, never skip. SQLite: a fresh file under `std::env::temp_dir()`, removed with its WAL
//! files on drop.

use std::path::{Path, PathBuf};

use sqlx::Connection;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file under the temporary directory.
    Sqlite,
    /// A database of its own on the PostgreSQL server named by [`postgres_admin_url`].
    Postgres,
}

/// Run one async test body on both backends: `both_backends!(name);` makes `name::sqlite` and
/// `name::postgres` from `async fn name(backend: Backend)` in the same module. The calling
/// crate needs `tokio` (with its macros) among its dependencies.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::Backend::Postgres).await
            }
        }
    )*};
}

/// The default admin connection for PostgreSQL tests (the local trust server).
pub const DEFAULT_POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The admin connection used to create and drop per-test databases.
pub fn postgres_admin_url() -> String {
    std::env::var("KEYGATE_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_ADMIN_URL.to_owned())
}

/// A database that exists for one test and is removed when dropped (best effort).
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL keygate connects to (`sqlite:///abs/path` or `postgres://…/kg_<uuid>`).
    pub url: String,
    backend: Backend,
    /// SQLite: the database file. PostgreSQL: the database's name.
    place: PathBuf,
    admin_url: String,
}

impl TestDatabase {
    /// A brand-new empty database on `backend` (PostgreSQL: created here).
    pub async fn new(backend: Backend) -> TestDatabase {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("keygate-test-{unique}.db"));
                TestDatabase {
                    // temp_dir() is absolute, so this is `sqlite:///abs/path`.
                    url: format!("sqlite://{}", path.display()),
                    backend,
                    place: path,
                    admin_url: String::new(),
                }
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
                TestDatabase {
                    url: with_database(&admin_url, &database),
                    backend,
                    place: PathBuf::from(database),
                    admin_url,
                }
            }
        }
    }

    /// [`TestDatabase::new`] for a test without a runtime (one that runs the binary).
    pub fn new_blocking(backend: Backend) -> TestDatabase {
        on_own_runtime(move || async move { TestDatabase::new(backend).await })
            .expect("a runtime to create the test database")
    }

    /// Which backend this database is on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// SQLite: the database file (its WAL is beside it, `-wal`).
    pub fn sqlite_file(&self) -> Option<&Path> {
        (self.backend == Backend::Sqlite).then_some(self.place.as_path())
    }
}

/// Runs `work` on a current-thread runtime of its own, on a thread of its own: usable from
/// `Drop` and from tests that are inside another runtime or none.
fn on_own_runtime<F, Fut, T>(work: F) -> Option<T>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
    T: Send + 'static,
{
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        Some(runtime.block_on(work()))
    })
    .join()
    .ok()
    .flatten()
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self.backend {
            Backend::Sqlite => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut file = self.place.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Backend::Postgres => {
                let admin_url = self.admin_url.clone();
                let database = self.place.display().to_string();
                on_own_runtime(move || async move {
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::query(&format!(
                            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
                        ))
                        .execute(&mut admin)
                        .await;
                        let _ = admin.close().await;
                    }
                });
            }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
