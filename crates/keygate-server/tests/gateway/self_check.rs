//! The self-check (docs/design.md §5, "Self-check"): every check of a signed request reported
//! by name, and the encryption challenge read by openssl and jwcrypto, across nodes.

use keygate_client::crypto::sign_request;
use keygate_client::http::{KeygateClient, Reply, SIGNATURE_CHECK_PATH};
use keygate_core::jose::SigAlg;
use reqwest::Method;
use serde_json::{json, Value};

use crate::fields::openssl_decrypt;
use crate::*;
use keygate_testkit::*;

both_backends!(
    the_signature_check_names_each_failing_check,
    the_jti_is_checked_for_freshness_but_never_recorded,
    encryption_challenges_round_trip_with_openssl_and_jwcrypto
);

mod postgres_nodes {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_challenge_made_on_one_node_is_answered_on_another() {
        super::a_challenge_made_on_one_node_is_answered_on_another().await
    }
}

const ORDER: [&str; 12] = [
    "key_state",
    "jws",
    "alg",
    "kid",
    "signature",
    "iat",
    "exp",
    "jti",
    "htm",
    "htu",
    "body_sha256",
    "ath",
];

/// `(check, ok, detail)` of every check, after checking the answer's shape and order.
fn checks(reply: &Reply) -> Vec<(String, bool, String)> {
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let list = reply.data()["checks"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|c| c["check"].as_str().unwrap()).collect();
    assert_eq!(names, ORDER);
    let all: Vec<(String, bool, String)> = list
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["ok"].as_bool().unwrap(),
                c["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        reply.data()["ok"].as_bool().unwrap(),
        all.iter().all(|(_, ok, _)| *ok)
    );
    all
}

/// The names of the failed checks.
fn failed(reply: &Reply) -> Vec<String> {
    checks(reply)
        .into_iter()
        .filter(|(_, ok, _)| !ok)
        .map(|(name, _, _)| name)
        .collect()
}

fn detail(reply: &Reply, check: &str) -> String {
    checks(reply)
        .into_iter()
        .find(|(name, _, _)| name == check)
        .unwrap()
        .2
}

/// No answer of the self-check carries key material: not the public key (PEM or modulus), not
/// the private key, not the token, not the signature's bytes.
fn assert_no_key_material(gw: &Gw, reply: &Reply, signature: Option<&str>) {
    let text = reply.body.to_string();
    let view = &gw.key.public_pem;
    let mut secrets: Vec<String> = view
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .map(str::to_owned)
        .collect();
    secrets.extend(
        gw.key
            .private_pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .map(str::to_owned),
    );
    secrets.push(gw.token().to_owned());
    if let Some(sig) = signature.and_then(|s| s.rsplit('.').next()) {
        if sig.len() > 16 {
            secrets.push(sig.to_owned());
        }
    }
    for secret in secrets {
        assert!(
            !text.contains(&secret),
            "the self-check answer repeats key material: {text}"
        );
    }
}

impl Gw {
    /// A check request signed at `iat` for `htu`, with `signed_body` in body_sha256, sending
    /// `sent_body`, through `client`.
    #[allow(clippy::too_many_arguments)]
    async fn check_with(
        &self,
        client: &KeygateClient,
        key: &KeyPair,
        kid: Option<&str>,
        htu: &str,
        signed_body: &[u8],
        sent_body: &[u8],
        iat: i64,
    ) -> (Reply, String) {
        let sig = key.sign(
            SigAlg::PS256,
            kid,
            "POST",
            htu,
            signed_body,
            client.token(),
            iat,
        );
        let reply = client
            .check_signature(Some(sent_body.to_vec()), &sig)
            .await
            .unwrap();
        assert_no_key_material(self, &reply, Some(&sig));
        (reply, sig)
    }
}

async fn the_signature_check_names_each_failing_check(backend: Backend) {
    let gw = Gw::start(backend).await;
    let now = gw.app.now();
    let body = br#"{"amount": 12.50}"#;
    let kid = Some(gw.key_id.as_str());

    // All ok: the same request a protected route would accept.
    let (reply, _) = gw
        .check_with(
            &gw.client,
            &gw.key,
            kid,
            SIGNATURE_CHECK_PATH,
            body,
            body,
            now,
        )
        .await;
    assert!(failed(&reply).is_empty(), "{:?}", reply.body);
    assert!(reply.data()["ok"].as_bool().unwrap());
    assert!(detail(&reply, "key_state").contains(&gw.key_id));
    assert!(detail(&reply, "htu").contains(SIGNATURE_CHECK_PATH));

    // Wrong htu: the detail puts the signed htu beside the request's path.
    let (reply, _) = gw
        .check_with(&gw.client, &gw.key, kid, "/cards/42", body, body, now)
        .await;
    assert_eq!(failed(&reply), ["htu"]);
    let htu = detail(&reply, "htu");
    assert!(
        htu.contains("/cards/42") && htu.contains(SIGNATURE_CHECK_PATH),
        "{htu}"
    );

    // Stale iat: how far, which way, and the allowed skew.
    let (reply, _) = gw
        .check_with(
            &gw.client,
            &gw.key,
            kid,
            SIGNATURE_CHECK_PATH,
            body,
            body,
            now - 1000,
        )
        .await;
    assert_eq!(failed(&reply), ["iat"]);
    let iat = detail(&reply, "iat");
    assert!(
        iat.contains("1000 s behind") && iat.contains("300 s"),
        "{iat}"
    );

    // The body changed after signing.
    let (reply, _) = gw
        .check_with(
            &gw.client,
            &gw.key,
            kid,
            SIGNATURE_CHECK_PATH,
            body,
            br#"{"amount": 99.00}"#,
            now,
        )
        .await;
    assert_eq!(failed(&reply), ["body_sha256"]);
    assert!(detail(&reply, "body_sha256").contains("17-byte body"));

    // A kid that is not the active key's id.
    let wrong_kid = uuid::Uuid::new_v4().to_string();
    let (reply, _) = gw
        .check_with(
            &gw.client,
            &gw.key,
            Some(&wrong_kid),
            SIGNATURE_CHECK_PATH,
            body,
            body,
            now,
        )
        .await;
    assert_eq!(failed(&reply), ["kid"]);
    let kid_detail = detail(&reply, "kid");
    assert!(
        kid_detail.contains(&wrong_kid) && kid_detail.contains(&gw.key_id),
        "{kid_detail}"
    );

    // Signed by another key: only the signature fails; its detail names the active key.
    let other = KeyPair::openssl();
    let (reply, _) = gw
        .check_with(
            &gw.client,
            &other,
            kid,
            SIGNATURE_CHECK_PATH,
            body,
            body,
            now,
        )
        .await;
    assert_eq!(failed(&reply), ["signature"]);
    assert!(detail(&reply, "signature").contains(&gw.key_id));

    // No signature at all: jws fails and every later check says why it did not run.
    let reply = gw
        .client
        .send(Method::POST, SIGNATURE_CHECK_PATH, Some(body.to_vec()), &[])
        .await
        .unwrap();
    assert_eq!(failed(&reply), &ORDER[1..]);
    assert!(detail(&reply, "jws").contains("X-Request-Signature"));
    assert!(detail(&reply, "htu").contains("because the jws check failed"));

    // alg none (made by hand, as PyJWT will not): alg fails, the signature cannot run, the
    // claims are still checked.
    let claims = json!({
        "iat": now, "jti": new_jti(), "htm": "POST", "htu": SIGNATURE_CHECK_PATH,
        "body_sha256": keygate_core::jose::sha256_b64url(body),
    });
    let none = jose_tool(&["forge-none", &claims.to_string()]);
    let reply = gw
        .client
        .check_signature(Some(body.to_vec()), &none)
        .await
        .unwrap();
    assert_eq!(failed(&reply), ["alg", "signature"]);
    assert!(detail(&reply, "signature").contains("because the alg check failed"));

    // A PyJWT signature with several mistakes: every one is named at once.
    let mut claims = claims;
    claims["htm"] = json!("PUT");
    claims["jti"] = json!("short");
    let token = jose_tool(&[
        "sign",
        "RS256",
        gw.key_file.to_str().unwrap(),
        &claims.to_string(),
        &json!({"kid": gw.key_id}).to_string(),
    ]);
    let reply = gw
        .client
        .check_signature(Some(body.to_vec()), &token)
        .await
        .unwrap();
    assert_no_key_material(&gw, &reply, Some(&token));
    assert_eq!(failed(&reply), ["jti", "htm"]);

    // Without an active key: key_state fails and nothing else runs.
    let (fresh, _) = gw.app.logged_in().await;
    let (reply, _) = gw
        .check_with(&fresh, &gw.key, kid, SIGNATURE_CHECK_PATH, body, body, now)
        .await;
    assert_eq!(failed(&reply), ORDER);
    assert!(detail(&reply, "key_state").contains("no public key yet"));
    assert!(detail(&reply, "jws").contains("because the key_state check failed"));

    // Without a bearer token it is refused like any bearer route.
    let reply = gw
        .app
        .client()
        .check_signature(Some(body.to_vec()), "x.y.z")
        .await
        .unwrap();
    assert_eq!((reply.status, reply.slug()), (401, Some("unauthorized")));
}

async fn the_jti_is_checked_for_freshness_but_never_recorded(backend: Backend) {
    let gw = Gw::start(backend).await;
    let now = gw.app.now();
    let token = gw.token().to_owned();
    let sign = |method: &str, path: &str, jti: &str| {
        sign_request(
            &gw.key.key,
            SigAlg::PS256,
            Some(&gw.key_id),
            method,
            path,
            b"",
            Some(&token),
            now,
            jti,
        )
        .unwrap()
    };

    // The same signed check twice: the jti is fresh both times (the check records nothing).
    let jti = new_jti();
    let check_sig = sign("POST", SIGNATURE_CHECK_PATH, &jti);
    for _ in 0..2 {
        let reply = gw.client.check_signature(None, &check_sig).await.unwrap();
        assert!(failed(&reply).is_empty(), "{:?}", reply.body);
        assert!(detail(&reply, "jti").contains("does not record it"));
    }
    // ... and a protected call with that jti still passes.
    let call_sig = sign("GET", "/cards/42", &jti);
    let reply = gw
        .send_signed(&gw.client, Method::GET, "/cards/42", None, &call_sig)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);

    // Once a call used it, the check reports it as used, as the gateway would refuse it.
    let reply = gw.client.check_signature(None, &check_sig).await.unwrap();
    assert_eq!(failed(&reply), ["jti"]);
    assert!(detail(&reply, "jti").contains("already used"));
    let reply = gw
        .send_signed(&gw.client, Method::GET, "/cards/42", None, &call_sig)
        .await;
    assert_eq!(
        (reply.status, reply.slug()),
        (401, Some("signature_replayed"))
    );
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
