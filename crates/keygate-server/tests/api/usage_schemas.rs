//! The status table and "view key" with usage counted (docs/design.md §5, "Usage"): the answers,
//! with a refusal by slug and a last refusal, validate against the documented schemas (the
//! `Checker` of `schemas`, every object strict).

use std::time::Duration;

use keygate_core::jose::SigAlg;
use reqwest::Method;

use crate::schemas::Checker;
use keygate_testkit::*;

both_backends!(usage_answers_match_the_documented_schemas);

async fn usage_answers_match_the_documented_schemas(backend: Backend) {
    const KEYS: &str = "/clients/api_key/public_keys";
    // The demo's signed card route is the gateway route called.
    let app = spawn_app_with(backend, |s| {
        s.demo = true;
        s.usage_flush_interval = Duration::from_millis(200);
    })
    .await;
    let mut check = Checker::new(&app).await;
    let (client, _) = app.logged_in().await;
    let pair = KeyPair::openssl();
    let uploaded = client.upload_key(&pair.public_pem).await.unwrap();
    let id = uploaded.data()["key"]["id"].as_str().unwrap().to_owned();
    let sig = pair.sign(
        SigAlg::PS256,
        Some(&id),
        "GET",
        "/demo/cards/1",
        b"",
        client.token(),
        app.now(),
    );
    let accepted = client
        .send(
            Method::GET,
            "/demo/cards/1",
            None,
            &[("X-Request-Signature", &sig)],
        )
        .await
        .unwrap();
    assert_eq!(accepted.status, 200, "{:?}", accepted.body);
    let refused = client
        .send(Method::GET, "/demo/cards/1", None, &[])
        .await
        .unwrap();
    assert_eq!(refused.slug(), Some("signature_missing"));

    let mut table = None;
    let counted = eventually(Duration::from_secs(10), async || {
        let reply = client.list_keys().await.unwrap();
        let done = reply.data()["keys"][0]["usage"]["refused"] == 1;
        table = Some(reply);
        done
    })
    .await;
    let table = table.unwrap();
    assert!(counted, "{:?}", table.body);
    let usage = &table.data()["keys"][0]["usage"];
    assert_eq!(usage["refusals"][0]["slug"], "signature_missing");
    assert_eq!(usage["last_refusal"]["slug"], "signature_missing");
    check.check("get", KEYS, &table);
    let view = client.view_key(&id).await.unwrap();
    assert_eq!(&view.data()["key"]["usage"], usage);
    check.check("get", "/clients/api_key/public_keys/{id}", &view);
}
