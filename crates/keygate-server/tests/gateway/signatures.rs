//! Signed requests (§5): PyJWT interop and every refusal with its slug.

use reqwest::Method;
use serde_json::json;

use crate::*;
use keygate_testkit::*;

both_backends!(
    pyjwt_rs256_and_ps256_are_accepted,
    refusals_have_their_slugs,
    checks_run_in_order
);

/// What is tested, method, path, body, signature header, expected slug.
type Case = (
    &'static str,
    Method,
    &'static str,
    Option<Vec<u8>>,
    Option<String>,
    &'static str,
);

fn claims(method: &str, htu: &str, body: &[u8], iat: i64) -> serde_json::Value {
    json!({
        "iat": iat,
        "jti": new_jti(),
        "htm": method,
        "htu": htu,
        "body_sha256": keygate_core::jose::sha256_b64url(body),
    })
}

async fn pyjwt_rs256_and_ps256_are_accepted(backend: Backend) {
    let gw = Gw::start(backend).await;
    for alg in ["RS256", "PS256"] {
        let token = jose_tool(&[
            "sign",
            alg,
            gw.key_file.to_str().unwrap(),
            &claims("GET", "/cards/42?full=1", b"", gw.app.now()).to_string(),
            &json!({"kid": gw.key_id}).to_string(),
        ]);
        let reply = gw
            .client
            .send(
                Method::GET,
                "/cards/42?full=1",
                None,
                &[
                    ("X-Request-Signature", &token),
                    ("X-Keygate-Client-Id", "spoofed"),
                    ("X-Custom", "kept"),
                ],
            )
            .await
            .unwrap();
        assert_eq!(reply.status, 200, "{alg}: {:?}", reply.body);
        let got = gw.upstream.last();
        assert_eq!(
            got.uri, "/cards/42?full=1",
            "the matched path and query are appended as sent"
        );
        assert!(
            got.headers.get("authorization").is_none(),
            "Authorization reached the upstream"
        );
        assert!(
            got.headers.get("x-request-signature").is_none(),
            "the signature reached the upstream"
        );
        assert_eq!(
            got.headers["x-keygate-client-id"],
            gw.creds.client_id.to_string().as_str()
        );
        assert_eq!(got.headers.get_all("x-keygate-client-id").iter().count(), 1);
        assert_eq!(
            got.headers["x-keygate-api-key-id"],
            gw.creds.api_key_id.to_string().as_str()
        );
        assert_eq!(got.headers["x-custom"], "kept");
    }
    // An absolute htu is compared by its path and query; no kid is fine.
    let token = jose_tool(&[
        "sign",
        "PS256",
        gw.key_file.to_str().unwrap(),
        &claims("GET", "https://api.example.com/cards/7", b"", gw.app.now()).to_string(),
    ]);
    let reply = gw
        .send_signed(&gw.client, Method::GET, "/cards/7", None, &token)
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

async fn refusals_have_their_slugs(backend: Backend) {
    let gw = Gw::start(backend).await;
    let key = gw.key_file.to_str().unwrap();
    let now = gw.app.now();
    let mut cases: Vec<Case> = Vec::new();

    // No signature.
    cases.push((
        "no signature",
        Method::GET,
        "/cards/42",
        None,
        None,
        "signature_missing",
    ));
    // One body byte changed after signing.
    let signed_body = br#"{"pin":"aaaa"}"#.to_vec();
    let mut sent_body = signed_body.clone();
    sent_body[9] = b'b';
    let sig = jose_tool(&[
        "sign",
        "RS256",
        key,
        &claims("POST", "/cards/42/pin", &signed_body, now).to_string(),
    ]);
    cases.push((
        "body changed",
        Method::POST,
        "/cards/42/pin",
        Some(sent_body),
        Some(sig),
        "signature_invalid",
    ));
    // Wrong htm, wrong htu.
    let sig = jose_tool(&[
        "sign",
        "RS256",
        key,
        &claims("POST", "/cards/42", b"", now).to_string(),
    ]);
    cases.push((
        "wrong htm",
        Method::GET,
        "/cards/42",
        None,
        Some(sig),
        "signature_invalid",
    ));
    let sig = jose_tool(&[
        "sign",
        "RS256",
        key,
        &claims("GET", "/cards/43", b"", now).to_string(),
    ]);
    cases.push((
        "wrong htu",
        Method::GET,
        "/cards/42",
        None,
        Some(sig),
        "signature_invalid",
    ));
    // iat ten minutes old.
    let sig = jose_tool(&[
        "sign",
        "RS256",
        key,
        &claims("GET", "/cards/42", b"", now - 600).to_string(),
    ]);
    cases.push((
        "stale iat",
        Method::GET,
        "/cards/42",
        None,
        Some(sig),
        "signature_stale",
    ));
    // alg none; HS256 keyed with the public PEM.
    let sig = jose_tool(&[
        "forge-none",
        &claims("GET", "/cards/42", b"", now).to_string(),
    ]);
    cases.push((
        "alg none",
        Method::GET,
        "/cards/42",
        None,
        Some(sig),
        "signature_invalid",
    ));
    let sig = jose_tool(&[
        "forge-hs256",
        gw.public_file.to_str().unwrap(),
        &claims("GET", "/cards/42", b"", now).to_string(),
    ]);
    cases.push((
        "HS256 with the public PEM",
        Method::GET,
        "/cards/42",
        None,
        Some(sig),
        "signature_invalid",
    ));
    // A kid of another key (another API key's active key), signed with the right private key.
    let (other_client, _) = gw.app.logged_in().await;
    let other_private = genrsa(2048);
    let other = other_client
        .upload_key(&pubout(&other_private))
        .await
        .unwrap();
    let other_kid = other.data()["key"]["id"].as_str().unwrap().to_string();
    let sig = jose_tool(&[
        "sign",
        "RS256",
        key,
        &claims("GET", "/cards/42", b"", now).to_string(),
        &json!({"kid": other_kid}).to_string(),
    ]);
    cases.push((
        "kid of another key",
        Method::GET,
        "/cards/42",
        None,
        Some(sig),
        "signature_invalid",
    ));
    // Signed by another private key.
    let other_file = temp_file("other.pem", other_private.as_bytes());
    let sig = jose_tool(&[
        "sign",
        "RS256",
        other_file.to_str().unwrap(),
        &claims("GET", "/cards/42", b"", now).to_string(),
    ]);
    cases.push((
        "another private key",
        Method::GET,
        "/cards/42",
        None,
        Some(sig),
        "signature_invalid",
    ));

    for (what, method, path, body, sig, slug) in cases {
        let headers: Vec<(&str, &str)> = sig
            .iter()
            .map(|s| ("X-Request-Signature", s.as_str()))
            .collect();
        let reply = gw.client.send(method, path, body, &headers).await.unwrap();
        assert_eq!(reply.slug(), Some(slug), "{what}: {:?}", reply.body);
        assert_eq!(reply.status, 401, "{what}");
        assert_eq!(reply.body["success"], false);
        assert!(reply.body["code"].as_u64().unwrap() >= 4000);
        assert_no_secret(&reply);
    }
    assert_eq!(
        gw.upstream.count(),
        0,
        "a refused request reached the upstream"
    );

    // A reused jti: the first call passes, the replay is refused.
    let sig = jose_tool(&[
        "sign",
        "PS256",
        key,
        &claims("GET", "/cards/42", b"", gw.app.now()).to_string(),
    ]);
    let first = gw
        .send_signed(&gw.client, Method::GET, "/cards/42", None, &sig)
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let again = gw
        .send_signed(&gw.client, Method::GET, "/cards/42", None, &sig)
        .await;
    assert_eq!(
        (again.status, again.slug()),
        (401, Some("signature_replayed"))
    );
    assert_no_secret(&again);
    assert_eq!(gw.upstream.count(), 1);
}

async fn checks_run_in_order(backend: Backend) {
    let gw = Gw::start(backend).await;
    // No bearer token at all: 401 unauthorized before anything else.
    let anonymous = gw.app.client();
    let reply = anonymous
        .send(
            Method::GET,
            "/cards/42",
            None,
            &[("X-Request-Signature", "x.y.z")],
        )
        .await
        .unwrap();
    assert_eq!((reply.status, reply.slug()), (401, Some("unauthorized")));
    // A caller without a key: 403 before the (missing) signature.
    let (no_key, _) = gw.app.logged_in().await;
    let reply = no_key
        .send(Method::GET, "/cards/42", None, &[])
        .await
        .unwrap();
    assert_eq!(
        (reply.status, reply.slug()),
        (403, Some("public_key_required"))
    );
    // Unmatched path and wrong method.
    let reply = gw.call(Method::GET, "/nothing/here", None).await;
    assert_eq!((reply.status, reply.slug()), (404, Some("not_found")));
    let reply = gw.call(Method::DELETE, "/cards/42", None).await;
    assert_eq!(reply.status, 405);
    // Upstream down → 502, slow → 504, both with the envelope and quickly.
    let started = std::time::Instant::now();
    let reply = gw.call(Method::GET, "/down", None).await;
    assert_eq!(
        (reply.status, reply.slug()),
        (502, Some("upstream_unavailable"))
    );
    let reply = gw.call(Method::GET, "/slow", None).await;
    assert_eq!(
        (reply.status, reply.slug()),
        (504, Some("upstream_timeout"))
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    assert_eq!(gw.upstream.count(), 1, "only /slow reached the upstream");

    // The request metrics name a gateway route by its pattern, never by the raw path.
    let metrics = reqwest::get(format!("{}/metrics", gw.app.base_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        r#"keygate_http_requests_total{method="GET",route="/cards/{id}",status="401"}"#,
        r#"keygate_http_requests_total{method="GET",route="/cards/{id}",status="403"}"#,
        r#"keygate_http_requests_total{method="GET",route="/down",status="502"}"#,
        r#"keygate_http_requests_total{method="GET",route="unmatched",status="404"}"#,
    ] {
        assert!(metrics.contains(series), "{series} in\n{metrics}");
    }
    assert!(!metrics.contains("/cards/42") && !metrics.contains("/nothing/here"));
}
