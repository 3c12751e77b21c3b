//! Per-key usage (docs/design.md §5, "Usage"): a known mix of accepted and refused signed calls
//! shows in the status table and "view key" within the flush interval, each refusal counted
//! against the key that signed (or the active key), the counts of two nodes on one PostgreSQL
//! merged, and the gateway's refusals by slug on `/metrics`.

use std::time::Duration;

use keygate_client::http::KeygateClient;
use keygate_core::jose::SigAlg;
use keygate_server::config::Settings;
use reqwest::Method;
use serde_json::{json, Value};

use crate::*;
use keygate_testkit::*;

both_backends!(
    a_known_mix_of_calls_shows_in_the_table_and_the_key_view,
    refusals_count_against_the_key_that_signed,
    usage_counted_just_before_a_stop_is_written
);

mod postgres_nodes {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_on_one_database_merge_their_counts() {
        super::two_nodes_on_one_database_merge_their_counts().await
    }
}

/// Short enough that a test waits little, long enough that a flush is a batch.
pub fn short_flush(s: &mut Settings) {
    s.usage_flush_interval = Duration::from_millis(200);
}

/// The usage of key `id` in the status table once `done` holds for it (polled, at most 10 s).
pub async fn usage_once(client: &KeygateClient, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let found = eventually(Duration::from_secs(10), async || {
        let table = client.list_keys().await.unwrap();
        assert_eq!(table.status, 200, "{:?}", table.body);
        last = table.data()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["id"] == id)
            .map(|row| row["usage"].clone())
            .unwrap_or(Value::Null);
        done(&last)
    })
    .await;
    assert!(found, "the usage of {id} never got there: {last}");
    last
}

fn at(t: i64) -> Value {
    json!(chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// A signed `GET path` through `client` whose `iat` is `iat`: its status.
async fn call_via_at(gw: &Gw, client: &KeygateClient, path: &str, iat: i64) -> u16 {
    let sig = gw.key.sign(
        SigAlg::PS256,
        Some(&gw.key_id),
        "GET",
        path,
        b"",
        client.token(),
        iat,
    );
    gw.send_signed(client, Method::GET, path, None, &sig)
        .await
        .status
}

/// `n` signed calls through `client`, each accepted.
async fn accept(gw: &Gw, client: &KeygateClient, n: usize) {
    for i in 0..n {
        let reply = gw
            .call_via(client, Method::GET, &format!("/cards/{i}"), None)
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
}

/// A signed `GET path` whose `iat` is `iat`: its status.
async fn call_at(gw: &Gw, path: &str, iat: i64) -> u16 {
    call_via_at(gw, &gw.client, path, iat).await
}

async fn a_known_mix_of_calls_shows_in_the_table_and_the_key_view(backend: Backend) {
    let gw = Gw::start_with(backend, short_flush).await;
    // Never used yet: zero, and nulls.
    let view = gw.client.view_key(&gw.key_id).await.unwrap();
    assert_eq!(
        view.data()["key"]["usage"],
        json!({"accepted": 0, "refused": 0, "last_used_at": null, "refusals": [], "last_refusal": null})
    );
    let start = gw.app.now();

    // 3 accepted.
    accept(&gw, &gw.client, 3).await;
    // 1 accepted, then the same signature again: signature_replayed.
    let sig = gw.sign("GET", "/cards/7", b"");
    assert_eq!(
        gw.send_signed(&gw.client, Method::GET, "/cards/7", None, &sig)
            .await
            .status,
        200
    );
    let replayed = gw
        .send_signed(&gw.client, Method::GET, "/cards/7", None, &sig)
        .await;
    assert_eq!(replayed.slug(), Some("signature_replayed"));
    // 2 signature_stale.
    assert_eq!(call_at(&gw, "/cards/1", start - 3600).await, 401);
    assert_eq!(call_at(&gw, "/cards/1", start + 3600).await, 401);
    // 1 signature_invalid: signed for another path.
    let other = gw.sign("GET", "/cards/2", b"");
    let invalid = gw
        .send_signed(&gw.client, Method::GET, "/cards/1", None, &other)
        .await;
    assert_eq!(invalid.slug(), Some("signature_invalid"));
    // 1 signature_missing.
    let missing = gw
        .client
        .send(Method::GET, "/cards/1", None, &[])
        .await
        .unwrap();
    assert_eq!(missing.slug(), Some("signature_missing"));
    // Not counted against any key: no bearer token; a route without a signature.
    let anonymous = gw
        .app
        .client()
        .send(Method::GET, "/cards/1", None, &[])
        .await
        .unwrap();
    assert_eq!(anonymous.slug(), Some("unauthorized"));
    assert_eq!(
        gw.client
            .send(Method::GET, "/open/x", None, &[])
            .await
            .unwrap()
            .status,
        200
    );
    // The last refusal, 2 s later: signature_stale.
    gw.app.time.advance(2);
    assert_eq!(call_at(&gw, "/cards/1", start - 3600).await, 401);

    let usage = usage_once(&gw.client, &gw.key_id, |u| u["refused"] == 6).await;
    assert_eq!(
        usage,
        json!({
            "accepted": 4,
            "refused": 6,
            "last_used_at": at(start),
            "refusals": [
                {"slug": "signature_invalid", "count": 1},
                {"slug": "signature_missing", "count": 1},
                {"slug": "signature_replayed", "count": 1},
                {"slug": "signature_stale", "count": 3},
            ],
            "last_refusal": {"slug": "signature_stale", "at": at(start + 2)},
        })
    );
    // "View key" says the same.
    let view = gw.client.view_key(&gw.key_id).await.unwrap();
    assert_eq!(view.data()["key"]["usage"], usage);

    // Nothing counted twice: later flushes add nothing.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let again = gw.client.view_key(&gw.key_id).await.unwrap();
    assert_eq!(again.data()["key"]["usage"], usage);

    // /metrics: the gateway's refusals by slug, no client in the labels. The recorder is the
    // process's (another test in the same process may add), so at least these.
    for (slug, n) in [
        ("signature_stale", 3.0),
        ("signature_invalid", 1.0),
        ("signature_missing", 1.0),
        ("signature_replayed", 1.0),
        ("unauthorized", 1.0),
    ] {
        let series = format!("keygate_gateway_refusals_total{{slug=\"{slug}\"}}");
        let value = metric(&gw.app.base_url, &series).await;
        assert!(value.is_some_and(|v| v >= n), "{series}: {value:?}");
    }
    let page = reqwest::get(format!("{}/metrics", gw.app.base_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in page
        .lines()
        .filter(|l| l.starts_with("keygate_gateway_refusals_total"))
    {
        assert!(
            line.starts_with("keygate_gateway_refusals_total{slug=\"") && !line.contains(','),
            "one label, the slug: {line}"
        );
    }
}

async fn refusals_count_against_the_key_that_signed(backend: Backend) {
    let gw = Gw::start_with(backend, |s| {
        short_flush(s);
        s.rotation_overlap = Duration::from_secs(60);
    })
    .await;
    let old_id = gw.key_id.clone();
    let next = KeyPair::openssl();
    let staged = gw.client.stage_successor(&next.public_pem).await.unwrap();
    let next_id = staged.data()["key"]["id"].as_str().unwrap().to_owned();
    let activated = gw.client.activate_successor().await.unwrap();
    assert_eq!(activated.status, 200, "{:?}", activated.body);
    let now = gw.app.now();
    let sign = |pair: &KeyPair, kid: &str, iat: i64| {
        pair.sign(
            SigAlg::PS256,
            Some(kid),
            "GET",
            "/cards/1",
            b"",
            Some(gw.token()),
            iat,
        )
    };
    let send = async |sig: String| {
        gw.send_signed(&gw.client, Method::GET, "/cards/1", None, &sig)
            .await
            .slug()
            .map(str::to_owned)
    };
    // During the overlap: the retiring key signs one good call and one stale one; the new key
    // one good call; a signature naming no key that verifies counts against the active key.
    assert_eq!(send(sign(&gw.key, &old_id, now)).await, None);
    assert_eq!(
        send(sign(&gw.key, &old_id, now - 3600)).await.as_deref(),
        Some("signature_stale")
    );
    assert_eq!(send(sign(&next, &next_id, now)).await, None);
    let stranger = KeyPair::openssl();
    let unknown = stranger.sign(
        SigAlg::PS256,
        None,
        "GET",
        "/cards/1",
        b"",
        Some(gw.token()),
        now,
    );
    assert_eq!(send(unknown).await.as_deref(), Some("signature_invalid"));

    let old = usage_once(&gw.client, &old_id, |u| u["refused"] == 1).await;
    assert_eq!(
        (old["accepted"].clone(), old["refusals"].clone()),
        (json!(1), json!([{"slug": "signature_stale", "count": 1}]))
    );
    let new = usage_once(&gw.client, &next_id, |u| u["refused"] == 1).await;
    assert_eq!(
        (new["accepted"].clone(), new["refusals"].clone()),
        (json!(1), json!([{"slug": "signature_invalid", "count": 1}]))
    );

    // Once the overlap is over, a call still signed with the old key is refused as revoked and
    // counted against that key, not against the active one.
    gw.app.time.advance(61);
    let later = gw.app.now();
    assert_eq!(
        send(sign(&gw.key, &old_id, later)).await.as_deref(),
        Some("public_key_revoked")
    );
    let old = usage_once(&gw.client, &old_id, |u| u["refused"] == 2).await;
    assert_eq!(
        old["last_refusal"],
        json!({"slug": "public_key_revoked", "at": at(later)})
    );
    let new = gw.client.view_key(&next_id).await.unwrap();
    assert_eq!(new.data()["key"]["usage"]["refused"], 1);

    // With no active key at all (revoked), the call counts against the latest key.
    assert_eq!(gw.client.revoke_key(None).await.unwrap().status, 200);
    assert_eq!(
        send(sign(&next, &next_id, later)).await.as_deref(),
        Some("public_key_revoked")
    );
    let new = usage_once(&gw.client, &next_id, |u| u["refused"] == 2).await;
    assert_eq!(
        new["last_refusal"],
        json!({"slug": "public_key_revoked", "at": at(later)}),
        "{new}"
    );
}

/// A stop writes what was counted since the last flush: with a flush interval far longer than
/// the test, the counts reach the database only through the stop.
async fn usage_counted_just_before_a_stop_is_written(backend: Backend) {
    let mut gw = Gw::start_with(backend, |s| {
        s.usage_flush_interval = Duration::from_secs(3600)
    })
    .await;
    assert_eq!(gw.call(Method::GET, "/cards/1", None).await.status, 200);
    assert_eq!(gw.call(Method::GET, "/cards/2", None).await.status, 200);
    // The first flush runs at start; nothing since.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let view = gw.client.view_key(&gw.key_id).await.unwrap();
    assert_eq!(view.data()["key"]["usage"]["accepted"], 0);

    let second = spawn_second_node(&gw.app).await;
    let reader = KeygateClient::new(&second.base_url).with_token(gw.token());
    gw.app.stop().await;
    let usage = usage_once(&reader, &gw.key_id, |u| u["accepted"] == 2).await;
    assert_eq!(usage["last_used_at"], at(gw.app.now()));
}

async fn two_nodes_on_one_database_merge_their_counts() {
    let gw = Gw::start_with(Backend::Postgres, short_flush).await;
    let second = spawn_second_node(&gw.app).await;
    let on_second = KeygateClient::new(&second.base_url).with_token(gw.token());
    let start = gw.app.now();
    // Node 1: 3 accepted, 1 stale. Node 2: 2 accepted, 2 stale, the last one later.
    accept(&gw, &gw.client, 3).await;
    assert_eq!(call_at(&gw, "/cards/1", start - 3600).await, 401);
    gw.app.time.advance(5);
    accept(&gw, &on_second, 2).await;
    for _ in 0..2 {
        assert_eq!(
            call_via_at(&gw, &on_second, "/cards/1", start - 3600).await,
            401
        );
    }
    let usage = usage_once(&gw.client, &gw.key_id, |u| {
        u["accepted"] == 5 && u["refused"] == 3
    })
    .await;
    assert_eq!(
        usage,
        json!({
            "accepted": 5,
            "refused": 3,
            "last_used_at": at(start + 5),
            "refusals": [{"slug": "signature_stale", "count": 3}],
            "last_refusal": {"slug": "signature_stale", "at": at(start + 5)},
        })
    );
    // Both nodes read the same totals.
    let view = on_second.view_key(&gw.key_id).await.unwrap();
    assert_eq!(view.data()["key"]["usage"], usage);
}
