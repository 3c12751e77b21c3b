//! The self-check's encryption challenge (docs/design.md §5, "Self-check"): read by openssl
//! (OAEP, PKCS#1) and jwcrypto (JWE), answered once, expiring, made on one node and answered on
//! another.

use keygate_client::http::KeygateClient;
use reqwest::Method;
use serde_json::{json, Value};

use crate::fields::openssl_decrypt;
use crate::*;
use keygate_testkit::*;

both_backends!(encryption_challenges_round_trip_with_openssl_and_jwcrypto);

mod postgres_nodes {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_challenge_made_on_one_node_is_answered_on_another() {
        super::a_challenge_made_on_one_node_is_answered_on_another().await
    }
}

/// The three texts of a challenge, decrypted by openssl (OAEP, PKCS#1) and jwcrypto (JWE).
fn decrypt_challenge(gw: &Gw, data: &Value) -> String {
    let key = gw.key_file.to_str().unwrap();
    let texts = &data["ciphertexts"];
    let jwe: Value = serde_json::from_str(&jose_tool(&[
        "jwe-decrypt",
        key,
        texts["jwe"].as_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(jwe["header"]["kid"], gw.key_id.as_str());
    assert_eq!(jwe["header"]["alg"], "RSA-OAEP-256");
    let from_jwe = jwe["plaintext"].as_str().unwrap().to_owned();
    let from_oaep = openssl_decrypt(
        key,
        texts["rsa-oaep-256"].as_str().unwrap(),
        &[
            "rsa_padding_mode:oaep",
            "rsa_oaep_md:sha256",
            "rsa_mgf1_md:sha256",
        ],
    );
    let from_pkcs1 = openssl_decrypt(
        key,
        texts["rsa-pkcs1"].as_str().unwrap(),
        &["rsa_padding_mode:pkcs1"],
    );
    assert_eq!(from_jwe, from_oaep);
    assert_eq!(from_jwe, from_pkcs1);
    assert!(from_jwe.len() >= 32, "a random text: {from_jwe}");
    from_jwe
}

async fn encryption_challenges_round_trip_with_openssl_and_jwcrypto(backend: Backend) {
    let gw = Gw::start(backend).await;
    let new = || async {
        let reply = gw.client.encryption_challenge().await.unwrap();
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        assert_eq!(reply.data()["key_id"], gw.key_id.as_str());
        reply.data().clone()
    };
    let client = &gw.client;
    let answer = |id: String, text: String| async move {
        client.answer_challenge(&id, &text).await.unwrap()
    };
    let id_of = |data: &Value| data["challenge_id"].as_str().unwrap().to_owned();

    // Decrypted by third-party tools, answered once.
    let data = new().await;
    let text = decrypt_challenge(&gw, &data);
    let reply = answer(id_of(&data), text.clone()).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.data()["ok"], true);
    let reply = answer(id_of(&data), text.clone()).await;
    assert_eq!((reply.status, reply.slug()), (409, Some("challenge_used")));

    // Each challenge is new; a wrong text is false, and uses the challenge up.
    let data = new().await;
    let second = decrypt_challenge(&gw, &data);
    assert_ne!(second, text);
    let reply = answer(id_of(&data), text.clone()).await;
    assert_eq!(
        (reply.status, reply.data()["ok"].clone()),
        (200, json!(false))
    );
    let reply = answer(id_of(&data), second).await;
    assert_eq!((reply.status, reply.slug()), (409, Some("challenge_used")));

    // Expired after five minutes, by the node's clock.
    let data = new().await;
    let third = decrypt_challenge(&gw, &data);
    assert_eq!(
        data["expires_at"],
        json!(chrono::DateTime::from_timestamp(gw.app.now() + 300, 0).unwrap())
    );
    gw.app.time.advance(299);
    let early = new().await;
    gw.app.time.advance(1);
    let reply = answer(id_of(&data), third).await;
    assert_eq!(
        (reply.status, reply.slug()),
        (410, Some("challenge_expired"))
    );
    // One made later is still open.
    let text = decrypt_challenge(&gw, &early);
    assert_eq!(answer(id_of(&early), text).await.data()["ok"], true);

    // Unknown, malformed and another API key's challenges are unknown.
    let (other, _) = gw.app.logged_in().await;
    let pair = KeyPair::openssl();
    assert_eq!(
        other.upload_key(&pair.public_pem).await.unwrap().status,
        201
    );
    let theirs = other.encryption_challenge().await.unwrap();
    for id in [
        uuid::Uuid::new_v4().to_string(),
        "not-an-id".into(),
        id_of(theirs.data()),
    ] {
        let reply = answer(id, "x".into()).await;
        assert_eq!(
            (reply.status, reply.slug()),
            (404, Some("challenge_unknown"))
        );
    }
    // A malformed answer names the field; no active key, no challenge.
    let reply = gw
        .client
        .send_json(
            Method::POST,
            "/clients/api_key/public_key/check/encryption",
            &json!({"challenge_id": "x"}),
        )
        .await
        .unwrap();
    assert_eq!((reply.status, reply.slug()), (400, Some("invalid_request")));
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .contains("plaintext"));
    let (fresh, _) = gw.app.logged_in().await;
    let reply = fresh.encryption_challenge().await.unwrap();
    assert_eq!((reply.status, reply.slug()), (404, Some("no_active_key")));
}

async fn a_challenge_made_on_one_node_is_answered_on_another() {
    let gw = Gw::start(Backend::Postgres).await;
    let second = spawn_second_node(&gw.app).await;
    let on_second = KeygateClient::new(&second.base_url).with_token(gw.token());
    let reply = gw.client.encryption_challenge().await.unwrap();
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let id = reply.data()["challenge_id"].as_str().unwrap().to_owned();
    let text = decrypt_challenge(&gw, reply.data());
    let reply = on_second.answer_challenge(&id, &text).await.unwrap();
    assert_eq!(
        (reply.status, reply.data()["ok"].clone()),
        (200, json!(true))
    );
    // Used up for every node.
    let reply = gw.client.answer_challenge(&id, &text).await.unwrap();
    assert_eq!((reply.status, reply.slug()), (409, Some("challenge_used")));
}
