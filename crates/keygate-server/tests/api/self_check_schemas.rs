//! The self-check's operations (docs/design.md §5, "Self-check"): real answers validate
//! against the schemas `/openapi.json` documents for their status (the `Checker` of `schemas`).

use reqwest::Method;
use serde_json::json;

use crate::schemas::{raw, Checker};
use keygate_testkit::*;

both_backends!(self_check_answers_match_the_documented_schemas);

/// The self-check's three operations (docs/design.md §5, "Self-check"): every answer a test can
/// cause validates against the document.
async fn self_check_answers_match_the_documented_schemas(backend: Backend) {
    const CHECK: &str = "/clients/api_key/public_key/check";
    const ENCRYPTION: &str = "/clients/api_key/public_key/check/encryption";
    let app = spawn_app(backend).await;
    let mut check = Checker::new(&app).await;
    let anonymous = app.client();
    let (client, _) = app.logged_in().await;

    check.check(
        "post",
        CHECK,
        &anonymous.check_signature(None, "x").await.unwrap(),
    );
    check.check(
        "get",
        ENCRYPTION,
        &anonymous.encryption_challenge().await.unwrap(),
    );
    let reply = anonymous.answer_challenge("x", "y").await.unwrap();
    check.check("post", ENCRYPTION, &reply);
    // No key yet: the check still answers (key_state fails); no challenge can be made.
    check.check(
        "post",
        CHECK,
        &client.check_signature(None, "x").await.unwrap(),
    );
    check.check(
        "get",
        ENCRYPTION,
        &client.encryption_challenge().await.unwrap(),
    );

    let pair = KeyPair::openssl();
    assert_eq!(
        client.upload_key(&pair.public_pem).await.unwrap().status,
        201
    );
    let body = b"{}";
    let sig = pair.sign(
        keygate_core::jose::SigAlg::PS256,
        None,
        "POST",
        CHECK,
        body,
        client.token(),
        app.now(),
    );
    let reply = client
        .check_signature(Some(body.to_vec()), &sig)
        .await
        .unwrap();
    assert_eq!(reply.data()["ok"], true, "{:?}", reply.body);
    check.check("post", CHECK, &reply);
    let reply = client.check_signature(None, "not.a.jws").await.unwrap();
    assert_eq!(reply.data()["ok"], false, "{:?}", reply.body);
    check.check("post", CHECK, &reply);

    let challenge = client.encryption_challenge().await.unwrap();
    check.check("get", ENCRYPTION, &challenge);
    let id = challenge.data()["challenge_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        let reply = client.answer_challenge(&id, "wrong").await.unwrap();
        check.check("post", ENCRYPTION, &reply);
    }
    let reply = client.answer_challenge("unknown", "wrong").await.unwrap();
    check.check("post", ENCRYPTION, &reply);
    let late = client.encryption_challenge().await.unwrap();
    app.time.advance(300);
    let late_id = late.data()["challenge_id"].as_str().unwrap();
    let reply = client.answer_challenge(late_id, "wrong").await.unwrap();
    check.check("post", ENCRYPTION, &reply);
    let reply = client
        .send_json(Method::POST, ENCRYPTION, &json!({}))
        .await
        .unwrap();
    check.check("post", ENCRYPTION, &reply);
    let reply = raw(&client, Method::POST, ENCRYPTION, b"x", "text/plain").await;
    check.check("post", ENCRYPTION, &reply);

    for (method, path, status) in [
        ("post", CHECK, 200),
        ("post", CHECK, 401),
        ("get", ENCRYPTION, 200),
        ("get", ENCRYPTION, 401),
        ("get", ENCRYPTION, 404),
        ("post", ENCRYPTION, 200),
        ("post", ENCRYPTION, 400),
        ("post", ENCRYPTION, 401),
        ("post", ENCRYPTION, 404),
        ("post", ENCRYPTION, 409),
        ("post", ENCRYPTION, 410),
        ("post", ENCRYPTION, 415),
    ] {
        assert!(
            check
                .seen
                .contains(&(method.to_string(), path.to_string(), status)),
            "{method} {path} {status} was not seen"
        );
    }
}
