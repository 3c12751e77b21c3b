//! Registry load: uploads per second with p50/p99 latency, and status-table latency for an API
//! key with 1,000 keys in its history. See BENCHMARKS.md for the commands.
//!
//!     cargo run --release -p keygate-server --example registry_load -- DATABASE_URL [UPLOADS] [CONCURRENCY]
//!
//! DATABASE_URL must name an empty database (a fresh SQLite file or PostgreSQL database).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use keygate_client::http::KeygateClient;
use keygate_server::auth::{hash_password, token_hash};
use keygate_server::config::Settings;
use keygate_server::Application;
use keygate_store::NewKey;
use keygate_testkit::keys::{api_keys_with_sessions, rsa_key_pairs};
use uuid::Uuid;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn report(what: &str, mut samples: Vec<Duration>, wall: Duration) {
    samples.sort();
    println!(
        "{what}: n={} wall={:.2}s rate={:.1}/s p50={:.2}ms p99={:.2}ms max={:.2}ms",
        samples.len(),
        wall.as_secs_f64(),
        samples.len() as f64 / wall.as_secs_f64(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .expect("usage: registry_load DATABASE_URL [UPLOADS] [CONCURRENCY]")
        .clone();
    let uploads: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(400);
    let concurrency: usize = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(16);

    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: url.clone(),
        master_key_file: std::env::temp_dir()
            .join(format!("kg-bench-{}.key", Uuid::new_v4().simple())),
        ..Settings::default()
    };
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://{}", app.local_addr().unwrap());
    let store = app.state().store.clone();
    tokio::spawn(app.run());

    // Set-up, not measured: distinct valid keys, one API key and session per upload.
    eprintln!("generating {uploads} RSA-2048 keys ...");
    let keys: Vec<String> = rsa_key_pairs(uploads)
        .into_iter()
        .map(|pair| pair.public_spki_pem)
        .collect();
    let now = chrono::Utc::now().timestamp();
    let (client_id, api_keys) = api_keys_with_sessions(&store, uploads, now).await;
    let tokens: Vec<String> = api_keys.into_iter().map(|(_, token)| token).collect();

    eprintln!("uploading with concurrency {concurrency} ...");
    let base = Arc::new(base);
    let start = Instant::now();
    let samples: Vec<Duration> = stream::iter(tokens.into_iter().zip(keys))
        .map(|(token, pem)| {
            let client = KeygateClient::new(base.as_str()).with_token(token);
            async move {
                let t = Instant::now();
                let reply = client.upload_key(&pem).await.unwrap();
                assert_eq!(reply.status, 201, "{:?}", reply.body);
                t.elapsed()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    report(
        &format!("upload ({})", store.backend_name()),
        samples,
        start.elapsed(),
    );

    // One API key with 1,000 keys in its history (rows written through the store).
    let key = store
        .create_api_key(
            client_id,
            "history",
            &format!("kg_bench_{}", Uuid::new_v4().simple()),
            &hash_password("bench-password").unwrap(),
            now,
            |_| Vec::new(),
        )
        .await
        .unwrap();
    for i in 0..1000 {
        let new = NewKey {
            id: Uuid::new_v4(),
            api_key_id: key.id,
            public_key_pem: format!("synthetic {i}"),
            fingerprint_sha256: format!("{:064x}", Uuid::new_v4().as_u128()),
            jwk_thumbprint: format!("thumb{i}"),
            bits: 2048,
            exponent: 65537,
        };
        store
            .insert_key(new, now - 1000 + i, 365 * 86_400, &[])
            .await
            .unwrap();
        store
            .revoke_active(key.id, Some("bench"), now - 1000 + i, |_| Vec::new())
            .await
            .unwrap();
    }
    let token = format!("bench-token-{}", Uuid::new_v4().simple());
    store
        .create_session(&token_hash(&token), key.id, now, now + 3600, &[])
        .await
        .unwrap();
    // Timed: the request and reading the whole body; parsing it is the client's cost, so the
    // check that all 1,000 rows came back is made once, outside the timing.
    let client = KeygateClient::new(base.as_str()).with_token(token.clone());
    let reply = client.list_keys().await.unwrap();
    assert_eq!(reply.data()["keys"].as_array().unwrap().len(), 1000);
    keygate_client::tls::install_crypto_provider();
    let http = reqwest::Client::new();
    let url = format!("{base}/clients/api_key/public_keys");
    let start = Instant::now();
    let mut samples = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let response = http.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        samples.push(t.elapsed());
    }
    report(
        &format!("status table, 1000 keys ({})", store.backend_name()),
        samples,
        start.elapsed(),
    );
}
