//! What a running node holds in memory per active API key (issue 14; BENCHMARKS.md, "Stop 19"):
//! a node (`serve --demo`, SQLite) with N API keys, each with its own registered RSA-2048 key
//! and a session; each API key then makes one signed card read, so the node caches its session
//! and its key state (the parsed key, its RS256 verifying key, its OAEP key) and counts it. The
//! growth of the process's VmRSS over those N calls, divided by N, is the cost of one active API
//! key in the gateway's caches, the replay record and the usage counter, as the node holds it.
//!
//!     cargo run --release -p keygate-server --example gateway_cache_memory -- 10000
//!
//! Everything the client side needs (key pairs, signatures, tokens) is made before the first
//! reading, so the growth is the node's. Key generation dominates the run time (RSA-2048 key
//! pairs on every core; the store refuses a public key registered twice).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keygate_client::crypto::{sign_request, ClientPrivateKey};
use keygate_client::http::KeygateClient;
use keygate_core::jose::SigAlg;
use keygate_server::config::Settings;
use keygate_server::Application;
use keygate_testkit::keys::{api_keys_with_sessions, rsa_key_pairs};
use keygate_testkit::process::rss_kib;
use uuid::Uuid;

/// The `keygate` binary's allocator (crates/keygate/src/main.rs), so the figure is the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The demo's signed card read, which must be answered 200.
async fn signed_card_read(api: &KeygateClient, jws: &str) {
    let reply = api
        .send(
            reqwest::Method::GET,
            "/demo/cards/42",
            None,
            &[("x-request-signature", jws)],
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("kg-cache-mem-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.join("kg.db").display()),
        master_key_file: dir.join("master.key"),
        demo: true,
        ..Settings::default()
    };
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let store = app.state().store.clone();
    tokio::spawn(app.run());

    eprintln!("generating {n} RSA-2048 key pairs ...");
    let pairs = rsa_key_pairs(n);

    eprintln!("registering {n} API keys, sessions and keys ...");
    let (_, api_keys) = api_keys_with_sessions(&store, n, chrono::Utc::now().timestamp()).await;
    // One HTTP client (one pool, so one keep-alive connection): the node's per-connection
    // buffers are not counted per API key.
    let http = KeygateClient::new(base.as_str());
    let mut calls = Vec::with_capacity(n);
    for (pair, (_, token)) in pairs.iter().zip(api_keys) {
        let api = http.clone().with_token(token.clone());
        let uploaded = api.upload_key(&pair.public_spki_pem).await.unwrap();
        assert_eq!(uploaded.status, 201, "{:?}", uploaded.body);
        let kid = uploaded.data()["key"]["id"].as_str().unwrap().to_owned();
        let private = ClientPrivateKey::from_pkcs8_pem(&pair.private_pkcs8_pem).unwrap();
        let jws = sign_request(
            &private,
            SigAlg::RS256,
            Some(&kid),
            "GET",
            "/demo/cards/42",
            b"",
            Some(&token),
            chrono::Utc::now().timestamp(),
            &Uuid::new_v4().simple().to_string(),
        )
        .unwrap();
        calls.push((api, jws));
    }
    drop(pairs);

    // One warm-up call outside the measurement (connection pools, lazily built statics).
    let (api, jws) = calls.pop().unwrap();
    signed_card_read(&api, &jws).await;

    // Readings every tenth of the calls: the SQLite page caches (a few MiB per pool
    // connection, bounded) fill early, so the second half's slope is the steady cost.
    let measured = calls.len();
    let mut readings = vec![(0, rss_kib())];
    for (i, (api, jws)) in calls.iter().enumerate() {
        signed_card_read(api, jws).await;
        if (i + 1) % measured.div_ceil(10) == 0 || i + 1 == measured {
            readings.push((i + 1, rss_kib()));
        }
    }
    let slope = |from: (usize, u64), to: (usize, u64)| {
        to.1.saturating_sub(from.1) as f64 * 1024.0 / (to.0 - from.0).max(1) as f64
    };
    let first = readings[0];
    let last = readings[readings.len() - 1];
    let middle = readings[readings.len() / 2];
    for (calls, kib) in &readings {
        eprintln!("after {calls:>7} calls: VmRSS {kib} KiB");
    }
    let all = slope(first, last);
    let steady = slope(middle, last);
    println!(
        "{measured} API keys, each with its session, key and one signed call cached: \
         +{} MiB, {all:.0} bytes an API key over all calls ({:.1} KiB), {steady:.0} bytes \
         over the second half ({:.1} KiB); at 100,000 API keys: {:.0} MiB at the steady rate",
        (last.1 - first.1) / 1024,
        all / 1024.0,
        steady / 1024.0,
        steady * 100_000.0 / 1024.0 / 1024.0
    );
    std::fs::remove_dir_all(&dir).ok();
}
