//! Issue 8, items 4–7: nothing of keygate's leaks upstream, values pass unchanged, resources are
//! bounded, and gateway answers cannot act on keygate's own origin.

use std::os::unix::fs::PermissionsExt;

use reqwest::Method;
use serde_json::{json, Value};

use crate::escape::raw_get;
use crate::*;
use keygate_testkit::both_backends;
use keygate_testkit::*;

both_backends!(
    keygate_headers_and_cookies_never_reach_the_upstream,
    request_bodies_reach_the_upstream_byte_for_byte,
    response_numbers_are_encrypted_as_their_exact_text,
    upstream_answers_are_bounded,
    control_characters_are_refused_not_stored,
    gateway_answers_cannot_act_on_keygates_origin,
    compressed_answers_never_hide_confidential_fields,
    behind_a_trusted_proxy_the_upstream_sees_the_address_it_wrote
);

async fn keygate_headers_and_cookies_never_reach_the_upstream(backend: Backend) {
    let gw = Gw::start(backend).await;
    let reply = gw
        .get_signed_with(
            "/cards/42",
            &[
                ("X_Keygate_Client_Id", "spoofed"),
                ("x-keygate_api-key-id", "spoofed"),
                ("X-Keygate-Anything", "spoofed"),
                (
                    "Cookie",
                    "kg_session=stolen; theirs=1; lang=el; kg_login=csrf",
                ),
                ("Cookie", "kg_session=again"),
                ("X-Keygate", "not keygate's prefix"),
                // What a framework behind keygate could read as another method or path, or
                // as another caller (the node does not trust forwarding headers here).
                ("X-HTTP-Method-Override", "DELETE"),
                ("X_HTTP_Method", "DELETE"),
                ("X-Original-URL", "/admin/cards"),
                ("X-Rewrite-URL", "/admin/cards"),
                ("X-Forwarded-For", "6.6.6.6"),
                ("X_Forwarded_For", "6.6.6.6"),
                ("X-Forwarded-Host", "attacker.example"),
                ("Forwarded", "for=6.6.6.6;host=attacker.example"),
                ("X-Real-IP", "6.6.6.6"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let got = gw.upstream.last();
    let names: Vec<String> = got.headers.keys().map(|n| n.as_str().to_owned()).collect();
    for name in &names {
        let dashed = name.replace('_', "-");
        if dashed.starts_with("x-keygate-") {
            assert!(
                name == "x-keygate-client-id" || name == "x-keygate-api-key-id",
                "{name} reached the upstream"
            );
        }
    }
    assert_eq!(got.headers.get_all("x-keygate-client-id").iter().count(), 1);
    assert_eq!(
        got.headers["x-keygate-client-id"],
        gw.creds.client_id.to_string().as_str()
    );
    assert_eq!(got.headers["x-keygate"], "not keygate's prefix");
    for name in &names {
        let dashed = name.replace('_', "-");
        assert!(
            !dashed.contains("override")
                && !dashed.contains("original")
                && !dashed.contains("rewrite")
                && dashed != "forwarded"
                && dashed != "x-real-ip"
                && (!dashed.starts_with("x-forwarded-") || name == "x-forwarded-for"),
            "{name} reached the upstream"
        );
    }
    // The one X-Forwarded-For is the address keygate saw.
    assert_eq!(got.headers.get_all("x-forwarded-for").iter().count(), 1);
    assert_eq!(got.headers["x-forwarded-for"], "127.0.0.1");
    let cookies: Vec<&str> = got
        .headers
        .get_all("cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        cookies,
        ["theirs=1"],
        "only the upstream's own cookies pass"
    );
    // The request id keygate made is the one the upstream received and the caller got back.
    let id = reply.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 32);
    assert_eq!(got.headers["x-request-id"], id);
}

async fn request_bodies_reach_the_upstream_byte_for_byte(backend: Backend) {
    let gw = Gw::start(backend).await;
    let system = gw
        .app
        .client()
        .send(Method::GET, "/system/public_key", None, &[])
        .await
        .unwrap();
    let jwe = jose_tool(&["jwe-encrypt", &system.data()["jwk"].to_string(), "2468"]);
    let body = format!(
        "{{ \"z\":12345678901234567890123,\n \"f\" : 0.1000000000000000055511151231257827, \"pin\": \"{jwe}\", \"a\": \"\\u00e9\" }}"
    );
    let reply = gw
        .call(
            Method::POST,
            "/cards/42/pin",
            Some(body.clone().into_bytes()),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let expected = body.replace(&format!("\"{jwe}\""), "\"2468\"");
    assert_eq!(
        String::from_utf8(gw.upstream.last().body.to_vec()).unwrap(),
        expected,
        "only the named field changes"
    );

    // Duplicate keys on the way to a field: which would the upstream read? Refused.
    let forwarded = gw.upstream.count();
    let twice = format!("{{\"pin\": \"{jwe}\", \"pin\": \"0000\"}}");
    let reply = gw
        .call(Method::POST, "/cards/42/pin", Some(twice.into_bytes()))
        .await;
    assert_eq!((reply.status, reply.slug()), (400, Some("invalid_request")));
    assert_eq!(gw.upstream.count(), forwarded);
}

async fn response_numbers_are_encrypted_as_their_exact_text(backend: Backend) {
    let gw = Gw::start(backend).await;
    let reply = gw.call(Method::GET, "/numbers/1", None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let key = gw.key_file.to_str().unwrap();
    for (field, plain) in [
        ("number", "123456789012345678901234567890"),
        ("pin", "0.1000000000000000055511151231257827"),
        ("cvv", "[1e400]"),
    ] {
        let token = reply.data()["card"][field].as_str().unwrap();
        let out: Value = serde_json::from_str(&jose_tool(&["jwe-decrypt", key, token])).unwrap();
        assert_eq!(out["plaintext"], plain, "{field}");
    }
}

async fn upstream_answers_are_bounded(backend: Backend) {
    let gw = Gw::start_with(backend, |s| s.max_upstream_body_bytes = 16 * 1024).await;
    for path in ["/files/huge", "/files/huge-chunked"] {
        let reply = gw.call(Method::GET, path, None).await;
        assert_eq!(
            (reply.status, reply.slug()),
            (502, Some("upstream_unavailable")),
            "{path}"
        );
    }
    let reply = gw.call(Method::GET, "/files/small", None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

async fn control_characters_are_refused_not_stored(backend: Backend) {
    let gw = Gw::start(backend).await;
    let logs = capture_logs();
    // A login identifier with NUL or another control character: 400, nothing stored.
    for api_key in ["kg_\u{0}x", "kg_\u{1b}[2J", "kg_x\n"] {
        let reply = gw
            .app
            .client()
            .send(
                Method::POST,
                "/auth/login",
                Some(
                    json!({"api_client": {"api_key": api_key, "password": "pw"}})
                        .to_string()
                        .into_bytes(),
                ),
                &[],
            )
            .await
            .unwrap();
        assert_eq!((reply.status, reply.slug()), (400, Some("invalid_request")));
    }
    // A bearer token with bytes no token has: 401.
    let (status, _) = raw_get(
        &gw.app.base_url,
        b"/cards/42",
        &[("Authorization", "Bearer abc\tdef")],
    )
    .await;
    assert_eq!(status, 401);
    // A jti with NUL: 401 signature_invalid, on PostgreSQL too (never a 500).
    let token = jose_tool(&[
        "sign",
        "RS256",
        gw.key_file.to_str().unwrap(),
        &json!({
            "iat": gw.app.now(), "jti": "abcdefgh\u{0}ijklmnopq", "htm": "GET",
            "htu": "/cards/42", "body_sha256": keygate_core::jose::sha256_b64url(b""),
        })
        .to_string(),
    ]);
    let reply = gw
        .send_signed(&gw.client, Method::GET, "/cards/42", None, &token)
        .await;
    assert_eq!(
        (reply.status, reply.slug()),
        (401, Some("signature_invalid")),
        "{:?}",
        reply.body
    );
    assert!(
        !logs.contents().contains("internal error"),
        "{}",
        logs.contents()
    );
}

async fn gateway_answers_cannot_act_on_keygates_origin(backend: Backend) {
    let gw = Gw::start(backend).await;
    let html = gw.call(Method::GET, "/files/page.html", None).await;
    assert_eq!(html.status, 200);
    assert_eq!(html.headers["x-content-type-options"], "nosniff");
    assert_eq!(html.headers["content-security-policy"], "sandbox");
    // The upstream cannot set (fix, clear) keygate's own cookies; its own pass.
    let set: Vec<&str> = html
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(set, ["theirs=1; Path=/docs"]);
    let card = gw.call(Method::GET, "/cards/42", None).await;
    assert_eq!(card.status, 200);
    assert_eq!(card.headers["x-content-type-options"], "nosniff");
    assert!(card.headers.get("content-security-policy").is_none());
    let missing = gw.call(Method::GET, "/nowhere", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.headers["x-content-type-options"], "nosniff");

    // The SQLite files are the operator's alone.
    if backend == Backend::Sqlite {
        let path = gw
            .app
            .settings
            .database_url
            .trim_start_matches("sqlite://")
            .to_owned();
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{path}{suffix}");
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{file} is {mode:o}");
        }
    }
}

/// A caller that accepts gzip (`curl --compressed`, Python's requests by default) on a route
/// with confidential fields: keygate asks the upstream for `identity`, so the answer is JSON
/// whose fields it encrypts. An upstream that compresses anyway is refused (502), never passed
/// on with the card inside. On a route without confidential fields the caller's choice reaches
/// the upstream and the compressed answer passes as it came.
async fn compressed_answers_never_hide_confidential_fields(backend: Backend) {
    let logs = capture_logs();
    let gw = Gw::start_with(backend, |s| {
        let cards = s.routes[0].clone();
        s.routes.push(RouteConfig {
            path: "/gzip-always/cards/{id}".into(),
            ..cards
        });
    })
    .await;
    let signed_gzip = |path| gw.get_signed_with(path, &[("Accept-Encoding", "gzip, deflate")]);

    let reply = signed_gzip("/cards/42").await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(gw.upstream.last().headers["accept-encoding"], "identity");
    assert!(reply.headers.get("content-encoding").is_none());
    let token = reply.data()["card"]["number"].as_str().unwrap();
    let key = gw.key_file.to_str().unwrap();
    let out: Value = serde_json::from_str(&jose_tool(&["jwe-decrypt", key, token])).unwrap();
    assert_eq!(out["plaintext"], CARD_NUMBER);

    let reply = signed_gzip("/gzip-always/cards/42").await;
    assert_eq!(
        (reply.status, reply.slug()),
        (502, Some("upstream_unavailable")),
        "{:?}",
        reply.body
    );
    assert_no_secret(&reply);
    assert!(
        logs.contents()
            .lines()
            .any(|l| l.contains("/gzip-always/cards/{id}") && l.contains("content_encoding=gzip")),
        "a warning names the route and the coding"
    );

    let reply = signed_gzip("/files/card.json").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        gw.upstream.last().headers["accept-encoding"],
        "gzip, deflate"
    );
    assert_eq!(reply.headers["content-encoding"], "gzip");
}

/// With `trust_forwarded_for` (a proxy in front that appends to `X-Forwarded-For`), the upstream
/// gets one `X-Forwarded-For`: the proxy's last entry, not the caller's forged first one; the
/// proxy's `X-Forwarded-Proto` passes, an underscore form (which no proxy writes) does not.
async fn behind_a_trusted_proxy_the_upstream_sees_the_address_it_wrote(backend: Backend) {
    let gw = Gw::start_with(backend, |s| s.trust_forwarded_for = true).await;
    let reply = gw
        .get_signed_with(
            "/cards/42",
            &[
                ("X-Forwarded-For", "6.6.6.6, 203.0.113.5"),
                ("X-Forwarded-Proto", "https"),
                ("X_Forwarded_Host", "attacker.example"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let got = gw.upstream.last();
    assert_eq!(got.headers.get_all("x-forwarded-for").iter().count(), 1);
    assert_eq!(got.headers["x-forwarded-for"], "203.0.113.5");
    assert_eq!(got.headers["x-forwarded-proto"], "https");
    assert!(got.headers.get("x_forwarded_host").is_none());
}
