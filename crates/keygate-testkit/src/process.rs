//! The `keygate` binary run as a process, as an operator runs it: a clean environment, and
//! `serve` on port 0. A process keeps the real clock (only an in-process node has a manual one).
//!
//! Cargo tells only the binary's own package where it is, so its tests name it:
//! `const KEYGATE: Binary = Binary(env!("CARGO_BIN_EXE_keygate"));`.

use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// The path of the `keygate` executable under test.
#[derive(Debug, Clone, Copy)]
pub struct Binary(pub &'static str);

/// A running `keygate serve`, killed when dropped.
#[derive(Debug)]
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every line the server writes on stderr, as it comes.
pub type LogLines = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

impl Binary {
    /// `keygate` with none of the tests' own `KEYGATE_*` variables, run in `dir` when given.
    pub fn command(self, dir: Option<&Path>) -> Command {
        let mut cmd = Command::new(self.0);
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

    /// Start `keygate serve --listen 127.0.0.1:0 EXTRA_ARGS` in `dir`; wait for the address it
    /// prints on stderr. Returns the server, its URL, and its stdout lines.
    pub fn serve(
        self,
        dir: &Path,
        extra_args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> (Server, String, Lines<BufReader<ChildStdout>>) {
        let (server, url, stdout, _) = self.serve_with_logs(dir, extra_args, extra_env);
        (server, url, stdout)
    }

    /// [`Binary::serve`], keeping what the server writes on stderr after its address.
    pub fn serve_with_logs(
        self,
        dir: &Path,
        extra_args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> (Server, String, Lines<BufReader<ChildStdout>>, LogLines) {
        let mut cmd = self.command(Some(dir));
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
}

/// This process's resident memory (`VmRSS`), in KiB: what the memory benchmarks
/// (`examples/*_memory.rs`) read before and after filling a structure.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status is readable (Linux)")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS is in /proc/self/status")
}
