//! The self-check of a signed request (docs/design.md §5, "Self-check"): every check reported
//! by name, no key material echoed. The jti and the agreement with the gateway are in
//! `self_check_gateway`, the encryption challenge in `challenge`.

use keygate_client::http::{KeygateClient, Reply, SIGNATURE_CHECK_PATH};
use keygate_core::jose::SigAlg;
use reqwest::Method;
use serde_json::json;

use crate::*;
use keygate_testkit::*;

both_backends!(the_signature_check_names_each_failing_check);

pub(crate) use keygate_testkit::SELF_CHECK_ORDER as ORDER;

/// `(check, ok, detail)` of every check, after checking the answer's shape and order.
pub(crate) fn checks(reply: &Reply) -> Vec<(String, bool, String)> {
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
pub(crate) fn failed(reply: &Reply) -> Vec<String> {
    checks(reply)
        .into_iter()
        .filter(|(_, ok, _)| !ok)
        .map(|(name, _, _)| name)
        .collect()
}

pub(crate) fn detail(reply: &Reply, check: &str) -> String {
    checks(reply)
        .into_iter()
        .find(|(name, _, _)| name == check)
        .unwrap()
        .2
}

/// No answer of the self-check carries key material: not the public key (PEM or modulus), not
/// the private key, not the token, not the signature's bytes.
pub(crate) fn assert_no_key_material(gw: &Gw, reply: &Reply, signature: Option<&str>) {
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
    pub(crate) async fn check_with(
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

    // Two signature headers: neither is used, as the gateway does.
    let reply = gw
        .client
        .send(
            Method::POST,
            SIGNATURE_CHECK_PATH,
            Some(body.to_vec()),
            &[
                ("X-Request-Signature", "a.b.c"),
                ("X-Request-Signature", "d.e.f"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(failed(&reply), &ORDER[1..]);
    assert!(detail(&reply, "jws").contains("more than one X-Request-Signature"));

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
