//! Running the `keygate` binary from the tests: a clean environment, and `serve` on port 0.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// `keygate` with none of the tests' own `KEYGATE_*` variables, run in `dir` when given.
pub fn keygate(dir: Option<&Path>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keygate"));
    for (name, _) in std::env::vars() {
        if name.starts_with("KEYGATE_") {
            cmd.env_remove(name);
        }
    }
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd
}

/// A running `keygate serve`, killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `keygate serve --listen 127.0.0.1:0 EXTRA_ARGS` in `dir`; wait for the address it
/// prints on stderr. Returns the server, its URL, and its stdout lines.
pub fn serve(
    dir: &Path,
    extra_args: &[&str],
    extra_env: &[(&str, &str)],
) -> (Server, String, Lines<BufReader<ChildStdout>>) {
    let (server, url, stdout, _) = serve_with_logs(dir, extra_args, extra_env);
    (server, url, stdout)
}

/// Every line the server writes on stderr, as it comes.
pub type LogLines = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// [`serve`], keeping what the server writes on stderr after its address.
pub fn serve_with_logs(
    dir: &Path,
    extra_args: &[&str],
    extra_env: &[(&str, &str)],
) -> (Server, String, Lines<BufReader<ChildStdout>>, LogLines) {
    let mut cmd = keygate(Some(dir));
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("keygate starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("keygate exited before listening")
            .expect("stderr is text");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    let logs = LogLines::default();
    let kept = logs.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Ok(mut kept) = kept.lock() {
                kept.push(line);
            }
        }
    });
    (Server(child), url, BufReader::new(stdout).lines(), logs)
}

/// A PostgreSQL database for one test (`KEYGATE_TEST_POSTGRES_URL`, else the local trust
/// server), dropped after it.
pub struct PgDatabase {
    pub url: String,
    name: String,
}

fn postgres_admin_url() -> String {
    std::env::var("KEYGATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

impl PgDatabase {
    pub fn new() -> PgDatabase {
        let admin = postgres_admin_url();
        let name = format!("kg_{}", uuid::Uuid::new_v4().simple());
        let out = Command::new("psql")
            .args([&admin, "-qc", &format!("CREATE DATABASE {name}")])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "PostgreSQL is required: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(admin.clone());
        PgDatabase {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                &postgres_admin_url(),
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}
