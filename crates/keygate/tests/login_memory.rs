//! Login floods and memory (issue 8, item 3): each password check is argon2id with 19 MiB of
//! memory, so 32 concurrent failed logins used to raise the node's peak memory by 530-600 MiB.
//! With the checks bounded (`login_max_concurrent`, one per core by default) the peak must rise
//! by less than 128 MiB. Measured on the real binary (its allocator, its runtime) through
//! `VmHWM` — the peak resident set — in /proc/PID/status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use keygate_client::http::KeygateClient;
use keygate_testkit::process::Binary;
use keygate_testkit::temp_dir;

/// The binary under test.
const KEYGATE: Binary = Binary(env!("CARGO_BIN_EXE_keygate"));

/// The process's peak resident set, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_failed_logins_raise_peak_memory_by_less_than_128_mib() {
    let dir = temp_dir("mem");
    let (server, url, stdout) = KEYGATE.serve(
        &dir,
        &[],
        &[
            ("KEYGATE_DATABASE_URL", "sqlite://mem.db"),
            // Let every attempt wait for its check: all 32 run argon2, none is turned away.
            ("KEYGATE_LOGIN_QUEUE_TIMEOUT", "120s"),
        ],
    );
    std::thread::spawn(move || for _ in stdout {});
    let pid = server.0.id();
    // The node is up (and has hashed its dummy password at start).
    // reqwest is built without a TLS provider of its own (docs/gateway.md, "https upstreams").
    keygate_client::tls::install_crypto_provider();
    let ready = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let before = peak_rss_kib(pid);

    // 32 different unknown API keys from one address: no per-key limit applies, and each
    // attempt runs one argon2 verification (against the dummy hash).
    let attempts = (0..32).map(|i| {
        let client = KeygateClient::new(&url);
        async move {
            client
                .login_reply(&format!("kg_flood_{i}"), "wrong")
                .await
                .unwrap()
                .status
        }
    });
    let statuses = tokio::time::timeout(
        Duration::from_secs(120),
        futures::future::join_all(attempts),
    )
    .await
    .expect("the logins are answered");
    assert!(
        statuses.iter().all(|s| *s == 401),
        "every attempt is checked and refused: {statuses:?}"
    );
    let after = peak_rss_kib(pid);
    let rise_mib = after.saturating_sub(before) as f64 / 1024.0;
    eprintln!(
        "peak RSS before {:.1} MiB, after {:.1} MiB: +{rise_mib:.1} MiB for 32 concurrent failed logins",
        before as f64 / 1024.0,
        after as f64 / 1024.0
    );
    assert!(
        rise_mib < 128.0,
        "32 concurrent failed logins raised peak memory by {rise_mib:.1} MiB"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
