//! A webhook receiver for tests: `tests/interop/webhook_receiver.py`, which verifies every
//! delivery with the official Standard Webhooks Python package, run as a child process on a
//! free port with a new secret. The test tells it to fail deliveries and reads what it got.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// A running receiver, stopped when dropped.
pub struct Receiver {
    /// Where keygate posts: `http://127.0.0.1:PORT/hook`.
    pub url: String,
    /// Its `whsec_…` secret.
    pub secret: String,
    /// A file holding the secret (for `secret_file`).
    pub secret_file: PathBuf,
    base: String,
    child: Child,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.secret_file);
    }
}

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: i64,
    /// Did `standardwebhooks` verify the signature (and the timestamp)?
    pub verified: bool,
    /// Its error when it did not.
    pub error: Option<String>,
    /// The status the receiver answered.
    pub status: u16,
    /// The body, parsed.
    pub body: Value,
    /// The `content-type` header.
    pub content_type: Option<String>,
}

impl Receiver {
    /// Start one (`python3` with `tests/requirements.txt` installed).
    pub fn start() -> Receiver {
        // The kit's HTTP calls to it go through reqwest, which has no TLS provider of its own.
        keygate_client::tls::install_crypto_provider();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/interop/webhook_receiver.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let stdout = child.stdout.take().expect("its stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the receiver's first line");
        let first: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!("the webhook receiver did not start (pip install -r tests/requirements.txt): {e}: {line:?}")
        });
        let port = first["port"].as_u64().expect("a port");
        let secret = first["secret"].as_str().expect("a secret").to_owned();
        let secret_file = crate::temp_dir("hook").join("hook.secret");
        crate::write_secret_file(&secret_file, &format!("{secret}\n"));
        let base = format!("http://127.0.0.1:{port}");
        Receiver {
            url: format!("{base}/hook"),
            secret,
            secret_file,
            base,
            child,
        }
    }

    async fn control(&self, body: Value) {
        let status = reqwest::Client::new()
            .post(format!("{}/control", self.base))
            .json(&body)
            .send()
            .await
            .expect("the receiver's control")
            .status();
        assert_eq!(status, 204);
    }

    /// Answer the next `n` deliveries 500.
    pub async fn fail_next(&self, n: u32) {
        self.control(serde_json::json!({ "fail_next": n })).await;
    }

    /// Answer every delivery 500 (`true`) until told otherwise (`false`).
    pub async fn fail_all(&self, on: bool) {
        self.control(serde_json::json!({ "fail_all": on })).await;
    }

    /// Every delivery so far, in the order they came.
    pub async fn received(&self) -> Vec<Received> {
        let all: Vec<Value> = reqwest::get(format!("{}/received", self.base))
            .await
            .expect("the receiver's list")
            .json()
            .await
            .expect("JSON");
        all.into_iter()
            .map(|r| Received {
                id: r["id"].as_str().unwrap_or_default().to_owned(),
                timestamp: r["timestamp"]
                    .as_str()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or_default(),
                verified: r["verified"].as_bool().unwrap_or(false),
                error: r["error"].as_str().map(str::to_owned),
                status: r["status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or_default(),
                body: r["body"].clone(),
                content_type: r["content_type"].as_str().map(str::to_owned),
            })
            .collect()
    }

    /// The deliveries answered 2xx (the ones keygate counts as delivered).
    pub async fn accepted(&self) -> Vec<Received> {
        self.received()
            .await
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }
}
