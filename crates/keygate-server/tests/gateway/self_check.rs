//! The self-check of a signed request (docs/design.md §5, "Self-check"): every check reported
//! by name, no key material echoed, the jti never recorded. The encryption challenge is in
//! `challenge`.

use keygate_client::crypto::sign_request;
use keygate_client::http::{KeygateClient, Reply, SIGNATURE_CHECK_PATH};
use keygate_core::jose::SigAlg;
use reqwest::Method;
use serde_json::json;

use crate::*;
use keygate_testkit::*;

both_backends!(
    the_signature_check_names_each_failing_check,
    the_jti_is_checked_for_freshness_but_never_recorded,
    the_gateway_refuses_exactly_what_the_check_flags
);

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

/// One mistake at a time, made on a protected call and on a check: the gateway refuses the call
/// with the slug of the check the self-check names, and accepts it when the check passes.
async fn the_gateway_refuses_exactly_what_the_check_flags(backend: Backend) {
    let gw = Gw::start(backend).await;
    let now = gw.app.now();
    let body: &[u8] = br#"{"amount": 12.50}"#;
    let other_body: &[u8] = br#"{"amount": 99.00}"#;
    let other = KeyPair::openssl();
    let wrong_kid = uuid::Uuid::new_v4().to_string();
    let kid = Some(gw.key_id.as_str());
    // (mistake, signing key, kid, htu or None for the right one, iat, body sent, check, slug)
    type Mistake<'a> = (
        &'a str,
        &'a KeyPair,
        Option<&'a str>,
        Option<&'a str>,
        i64,
        &'a [u8],
        Option<&'a str>,
        u16,
        Option<&'a str>,
    );
    let mistakes: Vec<Mistake> = vec![
        ("none", &gw.key, kid, None, now, body, None, 200, None),
        (
            "htu",
            &gw.key,
            kid,
            Some("/elsewhere"),
            now,
            body,
            Some("htu"),
            401,
            Some("signature_invalid"),
        ),
        (
            "iat",
            &gw.key,
            kid,
            None,
            now - 1000,
            body,
            Some("iat"),
            401,
            Some("signature_stale"),
        ),
        (
            "body",
            &gw.key,
            kid,
            None,
            now,
            other_body,
            Some("body_sha256"),
            401,
            Some("signature_invalid"),
        ),
        (
            "kid",
            &gw.key,
            Some(&wrong_kid),
            None,
            now,
            body,
            Some("kid"),
            401,
            Some("signature_invalid"),
        ),
        (
            "key",
            &other,
            kid,
            None,
            now,
            body,
            Some("signature"),
            401,
            Some("signature_invalid"),
        ),
    ];
    for (name, key, kid, htu, iat, sent, flagged, status, slug) in mistakes {
        let call_path = "/cards/42/pin";
        let sig = key.sign(
            SigAlg::PS256,
            kid,
            "POST",
            htu.unwrap_or(call_path),
            body,
            Some(gw.token()),
            iat,
        );
        let reply = gw
            .send_signed(
                &gw.client,
                Method::POST,
                call_path,
                Some(sent.to_vec()),
                &sig,
            )
            .await;
        assert_eq!(
            (reply.status, reply.slug()),
            (status, slug),
            "{name}: {:?}",
            reply.body
        );
        let (reply, _) = gw
            .check_with(
                &gw.client,
                key,
                kid,
                htu.unwrap_or(SIGNATURE_CHECK_PATH),
                body,
                sent,
                iat,
            )
            .await;
        let expected: Vec<String> = flagged.iter().map(|c| c.to_string()).collect();
        assert_eq!(failed(&reply), expected, "{name}");
    }
}
