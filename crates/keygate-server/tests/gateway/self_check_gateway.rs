//! The self-check of a signed request beside the gateway itself (docs/design.md §5,
//! "Self-check"): the jti is looked up but never recorded, and one mistake at a time, the gateway
//! refuses exactly what the check flags.

use keygate_client::crypto::sign_request;
use keygate_client::http::SIGNATURE_CHECK_PATH;
use keygate_core::jose::SigAlg;
use reqwest::Method;

use crate::self_check::{detail, failed};
use crate::*;
use keygate_testkit::*;

both_backends!(
    the_jti_is_checked_for_freshness_but_never_recorded,
    the_gateway_refuses_exactly_what_the_check_flags
);

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
