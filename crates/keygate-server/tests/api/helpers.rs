//! Black-box harness: a real keygate on port 0 over a fresh database, on SQLite or PostgreSQL.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use keygate_client::http::KeygateClient;
use keygate_server::config::Settings;
use keygate_server::Application;
use keygate_store::Store;
use sqlx::Connection;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Run one async test body on both backends: `both_backends!(name);` makes `name::sqlite` and
/// `name::postgres` from `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}

pub fn postgres_admin_url() -> String {
    std::env::var("KEYGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database that exists for one test and is dropped after it.
pub struct TestDatabase {
    pub url: String,
    drop_name: Option<String>,
    file: Option<PathBuf>,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> TestDatabase {
        let name = format!("kg_{}", Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let file = std::env::temp_dir().join(format!("{name}.db"));
                TestDatabase {
                    url: format!("sqlite://{}", file.display()),
                    drop_name: None,
                    file: Some(file),
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL is required for this test and is not reachable at {admin}: {e}")
                });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create the test database");
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .unwrap_or(admin.clone());
                TestDatabase {
                    url: format!("{base}/{name}"),
                    drop_name: Some(name),
                    file: None,
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.drop_name {
            let _ = Command::new("psql")
                .args([
                    &postgres_admin_url(),
                    "-q",
                    "-c",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ])
                .output();
        }
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

pub struct TestApp {
    pub base_url: String,
    pub store: Store,
    pub db: std::sync::Arc<TestDatabase>,
    pub settings: Settings,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn test_settings(url: &str) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().expect("address"),
        database_url: url.to_string(),
        master_key_file: std::env::temp_dir()
            .join(format!("kg-master-{}.key", Uuid::new_v4().simple())),
        ..Settings::default()
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    keygate_client::tls::install_crypto_provider();
    let db = std::sync::Arc::new(TestDatabase::new(backend).await);
    let mut settings = test_settings(&db.url);
    tweak(&mut settings);
    start(settings, db).await
}

/// A second node on the same database, with the same settings.
pub async fn spawn_second_node(app: &TestApp) -> TestApp {
    start(app.settings.clone(), app.db.clone()).await
}

async fn start(settings: Settings, db: std::sync::Arc<TestDatabase>) -> TestApp {
    let application = Application::build(settings.clone())
        .await
        .expect("build the app");
    let addr = application.local_addr().expect("local address");
    let store = application.state().store.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(application.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        base_url: format!("http://{addr}"),
        store,
        db,
        settings,
        shutdown: Some(tx),
    }
}

pub struct Credentials {
    pub client_id: Uuid,
    pub api_key_id: Uuid,
    pub api_key: String,
    pub password: String,
}

impl TestApp {
    pub fn client(&self) -> KeygateClient {
        KeygateClient::new(&self.base_url)
    }

    /// A new client with one API key, made through the store as the admin CLI does.
    pub async fn new_api_key(&self) -> Credentials {
        let now = chrono_now();
        let suffix = Uuid::new_v4().simple().to_string();
        let client = self
            .store
            .create_client("Test Client", &format!("client-{}", &suffix[..12]), now)
            .await
            .expect("create client");
        let password = format!("pw-{suffix}");
        let hash = keygate_server::auth::hash_password(&password).expect("hash");
        let api_key = format!("kg_{suffix}");
        let key = self
            .store
            .create_api_key(client.id, "main", &api_key, &hash, now)
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
}

pub fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

// ---- keys made the way a user makes them: with openssl ----

pub fn openssl(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `openssl genrsa BITS` → the private key PEM (PKCS#8 with OpenSSL 3).
pub fn genrsa(bits: u32) -> String {
    String::from_utf8(openssl(&["genrsa", &bits.to_string()], None)).expect("utf8")
}

/// `openssl rsa -pubout` of a private key.
pub fn pubout(private_pem: &str) -> String {
    String::from_utf8(openssl(&["rsa", "-pubout"], Some(private_pem.as_bytes()))).expect("utf8")
}

/// A fresh RSA-2048 public key PEM.
pub fn new_public_key() -> String {
    pubout(&genrsa(2048))
}

/// Wait until `f` returns true, checking every 100 ms, for at most `limit`.
pub async fn eventually(limit: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    loop {
        if f().await {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---- secrets must reach no log and no table ----

#[derive(Clone, Default)]
pub struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test process, at the most verbose level, kept in memory.
pub fn capture_logs() -> LogBuffer {
    static LOGS: std::sync::OnceLock<LogBuffer> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init();
        buffer
    })
    .clone()
}

/// Everything the database holds, as text: the SQLite files' bytes, or a pg_dump.
pub async fn database_text(app: &TestApp) -> String {
    match (&app.db.file, &app.db.drop_name) {
        (Some(file), _) => {
            let mut text = String::new();
            for suffix in ["", "-wal"] {
                if let Ok(bytes) = std::fs::read(format!("{}{suffix}", file.display())) {
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
            text
        }
        (None, Some(_)) => {
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
        _ => String::new(),
    }
}

// ---- a file nobody may write, not even root ----

/// The immutable flag on a file (refused even to root, even through descriptors opened
/// before), removed when dropped.
pub struct Immutable(PathBuf);

impl Immutable {
    pub fn set(file: &std::path::Path) -> Immutable {
        let out = Command::new("chattr").arg("+i").arg(file).output();
        assert!(
            out.as_ref().is_ok_and(|o| o.status.success()),
            "this test needs `chattr +i` (root, on ext4/xfs/btrfs) to make {} unwritable: {out:?}",
            file.display()
        );
        let guard = Immutable(file.to_path_buf());
        assert!(
            std::fs::OpenOptions::new().append(true).open(file).is_err(),
            "{} is still writable",
            file.display()
        );
        guard
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).output();
    }
}

impl TestApp {
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
