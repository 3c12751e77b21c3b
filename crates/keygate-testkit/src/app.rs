//! A real keygate node on port 0 over a fresh database, with a manual clock (the model is
//! zero2prod's `spawn_app` / `TestApp`): the test talks to it over HTTP like any client, reads
//! its store, and moves its time.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use keygate_client::http::KeygateClient;
use keygate_core::model::UnixTime;
use keygate_registry::{Clock, ManualTime};
use keygate_server::config::Settings;
use keygate_server::Application;
use keygate_store::Store;
use uuid::Uuid;

use crate::db::{Backend, TestDatabase};

/// A running node, stopped when dropped.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The node's own store (the admin CLI's way in: clients and API keys are made here).
    pub store: Store,
    /// The database, shared with [`spawn_second_node`]'s nodes; removed after the last one.
    pub db: Arc<TestDatabase>,
    /// The settings the node was built with.
    pub settings: Settings,
    /// The hand of the node's clock. It starts at the wall-clock time and stands still until
    /// the test moves it (`app.time.advance(3)`): expiry is tested by setting the time, not by
    /// sleeping.
    pub time: ManualTime,
    clock: Clock,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    running: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Settings for a test node on `database_url`: port 0, a master key file of its own, every
/// other setting at its default.
pub fn test_settings(database_url: &str) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().expect("address"),
        database_url: database_url.to_string(),
        master_key_file: std::env::temp_dir()
            .join(format!("kg-master-{}.key", Uuid::new_v4().simple())),
        ..Settings::default()
    }
}

/// A node with the test settings on a fresh database of `backend`.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// [`spawn_app`], with the settings changed by `tweak` first.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    keygate_client::tls::install_crypto_provider();
    let db = Arc::new(TestDatabase::new(backend).await);
    let mut settings = test_settings(&db.url);
    tweak(&mut settings);
    let (clock, time) = Clock::manual(wall_clock_now());
    start(settings, db, clock, time).await
}

/// Unix seconds by the system's clock: where a test node's manual clock starts.
fn wall_clock_now() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A second node on the same database, with the same settings and the same clock.
pub async fn spawn_second_node(app: &TestApp) -> TestApp {
    start(
        app.settings.clone(),
        app.db.clone(),
        app.clock.clone(),
        app.time.clone(),
    )
    .await
}

async fn start(
    settings: Settings,
    db: Arc<TestDatabase>,
    clock: Clock,
    time: ManualTime,
) -> TestApp {
    let application = Application::build_with_clock(settings.clone(), clock.clone())
        .await
        .expect("build the app");
    let addr = application.local_addr().expect("local address");
    let store = application.state().store.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(application.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        base_url: format!("http://{addr}"),
        store,
        db,
        settings,
        time,
        clock,
        shutdown: Some(tx),
        running: Some(running),
    }
}

/// An API key made for a test, with its client.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The client that owns the API key.
    pub client_id: Uuid,
    /// The API key's id.
    pub api_key_id: Uuid,
    /// What the client logs in with.
    pub api_key: String,
    /// Its password.
    pub password: String,
}

impl TestApp {
    /// Stops the node gracefully, as SIGTERM does, and waits until it has stopped (its work at
    /// stop done, its database pools closed). Its `store` is closed after this.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(running) = self.running.take() {
            running
                .await
                .expect("the node's task")
                .expect("the node stops cleanly");
        }
    }

    /// Stop the node, then start it again on the same database, settings and clock (on a new
    /// port): what an operator's restart does.
    pub async fn restart(mut self) -> TestApp {
        let (settings, db, clock, time) = (
            self.settings.clone(),
            self.db.clone(),
            self.clock.clone(),
            self.time.clone(),
        );
        self.stop().await;
        start(settings, db, clock, time).await
    }

    /// A client of this node, not logged in.
    pub fn client(&self) -> KeygateClient {
        KeygateClient::new(&self.base_url)
    }

    /// A registry on the node's database and clock, with its settings: for what an operator
    /// does beside the node (`keygate admin audit verify`, docs/audit.md).
    pub fn registry(&self) -> keygate_registry::Registry {
        keygate_registry::Registry::new(
            self.store.clone(),
            self.clock.clone(),
            keygate_server::state::registry_settings(&self.settings),
        )
    }

    /// Now, by the node's clock.
    pub fn now(&self) -> UnixTime {
        self.time.now()
    }

    /// A new client with one API key, made through the store as the admin CLI does.
    pub async fn new_api_key(&self) -> Credentials {
        let now = self.now();
        let suffix = Uuid::new_v4().simple().to_string();
        let client = self
            .store
            .create_client(
                "Test Client",
                &format!("client-{}", &suffix[..12]),
                now,
                |_| Vec::new(),
            )
            .await
            .expect("create client");
        let password = format!("pw-{suffix}");
        // argon2 on a blocking thread, as keygate itself hashes: it costs tens of milliseconds
        // of CPU (far more on a loaded machine), and the test's runtime also runs the nodes.
        // Hashed on it, it would stall their transactions (one holding the audit append lock
        // stalls every writer) until their database operations time out with 503.
        let hash = {
            let password = password.clone();
            tokio::task::spawn_blocking(move || {
                keygate_registry::credentials::hash_password(&password)
            })
            .await
            .expect("the hashing thread")
            .expect("hash")
        };
        let api_key = format!("kg_{suffix}");
        let key = self
            .store
            .create_api_key(client.id, "main", &api_key, &hash, now, |_| Vec::new())
            .await
            .expect("create api key");
        Credentials {
            client_id: client.id,
            api_key_id: key.id,
            api_key,
            password,
        }
    }

    /// A logged-in client for a new API key.
    pub async fn logged_in(&self) -> (KeygateClient, Credentials) {
        let creds = self.new_api_key().await;
        let mut client = self.client();
        client
            .login(&creds.api_key, &creds.password)
            .await
            .expect("login");
        (client, creds)
    }

    /// The SQLite database file and its WAL (SQLite backend only).
    pub fn sqlite_files(&self) -> (PathBuf, PathBuf) {
        let file = PathBuf::from(
            self.settings
                .database_url
                .strip_prefix("sqlite://")
                .expect("a SQLite database"),
        );
        let wal = PathBuf::from(format!("{}-wal", file.display()));
        (file, wal)
    }
}

/// Everything the database holds, as text: the SQLite files' bytes, or a pg_dump (for "no
/// secret reaches a table").
pub async fn database_text(app: &TestApp) -> String {
    match app.db.sqlite_file() {
        Some(file) => {
            let mut text = String::new();
            for suffix in ["", "-wal"] {
                if let Ok(bytes) = std::fs::read(format!("{}{suffix}", file.display())) {
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            text
        }
        None => {
            let out = Command::new("pg_dump")
                .arg(&app.db.url)
                .output()
                .expect("pg_dump runs");
            assert!(
                out.status.success(),
                "pg_dump: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    }
}

/// The value of one series on the node's `/metrics` page (`None` when it is not there).
pub async fn metric(base_url: &str, series: &str) -> Option<f64> {
    let response = reqwest::get(format!("{base_url}/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("the metrics page");
    text.lines().find_map(|line| {
        line.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
    })
}
