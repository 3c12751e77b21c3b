//! Confidential fields (§6): responses read by openssl and jwcrypto, requests made by them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::*;
use keygate_testkit::*;

both_backends!(
    response_fields_decrypt_with_openssl_and_jwcrypto,
    request_fields_from_jwcrypto_and_openssl_are_decrypted
);

pub(crate) fn openssl_decrypt(key_file: &str, b64: &str, padding: &[&str]) -> String {
    let ct = STANDARD.decode(b64).unwrap();
    let mut args = vec!["pkeyutl", "-decrypt", "-inkey", key_file];
    for p in padding {
        args.push("-pkeyopt");
        args.push(p);
    }
    String::from_utf8(openssl(&args, Some(&ct))).unwrap()
}

async fn response_fields_decrypt_with_openssl_and_jwcrypto(backend: Backend) {
    let gw = Gw::start(backend).await;
    let key = gw.key_file.to_str().unwrap();

    // jwe: jwcrypto reads it; alg RSA-OAEP-256, enc A256GCM, kid the client key's id.
    let reply = gw.call(Method::GET, "/cards/42", None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let card = &reply.data()["card"];
    assert_eq!(
        card["holder"], "ADA LOVELACE",
        "fields not named stay plain"
    );
    assert!(!reply.body.to_string().contains(CARD_NUMBER));
    for (field, plain) in [("number", CARD_NUMBER), ("pin", CARD_PIN), ("cvv", "321")] {
        let token = card[field].as_str().unwrap();
        assert_eq!(token.split('.').count(), 5);
        let out: Value = serde_json::from_str(&jose_tool(&["jwe-decrypt", key, token])).unwrap();
        assert_eq!(out["plaintext"], plain);
        assert_eq!(out["header"]["alg"], "RSA-OAEP-256");
        assert_eq!(out["header"]["enc"], "A256GCM");
        assert_eq!(out["header"]["kid"], gw.key_id.as_str());
    }

    // rsa-oaep-256: openssl pkeyutl with OAEP-SHA256.
    let reply = gw.call(Method::GET, "/oaep/cards/42", None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let number = reply.data()["card"]["number"].as_str().unwrap();
    assert_eq!(
        openssl_decrypt(
            key,
            number,
            &[
                "rsa_padding_mode:oaep",
                "rsa_oaep_md:sha256",
                "rsa_mgf1_md:sha256"
            ]
        ),
        CARD_NUMBER
    );

    // rsa-pkcs1 (legacy): openssl pkeyutl with PKCS#1 v1.5.
    let reply = gw.call(Method::GET, "/pkcs1/cards/42", None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let pin = reply.data()["card"]["pin"].as_str().unwrap();
    assert_eq!(
        openssl_decrypt(key, pin, &["rsa_padding_mode:pkcs1"]),
        CARD_PIN
    );

    // An answer that is not JSON cannot have its fields encrypted: refused, never passed on.
    let reply = gw.call(Method::GET, "/broken/cards/42", None).await;
    assert_eq!(
        (reply.status, reply.slug()),
        (502, Some("upstream_unavailable"))
    );
    assert!(!reply.body.to_string().contains(CARD_NUMBER));
}

async fn request_fields_from_jwcrypto_and_openssl_are_decrypted(backend: Backend) {
    let gw = Gw::start(backend).await;
    let system = gw
        .app
        .client()
        .send(Method::GET, "/system/public_key", None, &[])
        .await
        .unwrap();
    assert_eq!(system.status, 200);
    assert_eq!(system.data()["algorithms"], json!(["jwe", "rsa-oaep-256"]));
    let kid = system.data()["kid"].as_str().unwrap();
    assert_eq!(system.data()["jwk"]["kid"], kid);
    let system_pem = system.data()["public_key"].as_str().unwrap().to_string();
    let system_file = temp_file("system.pem", system_pem.as_bytes());
    let jwks = gw
        .app
        .client()
        .send(Method::GET, "/.well-known/jwks.json", None, &[])
        .await
        .unwrap();
    assert_eq!(
        jwks.body["keys"][0]["kid"], kid,
        "a bare JWK Set, current key first"
    );

    let pin_call = |field: String| {
        let body = json!({"pin": field}).to_string().into_bytes();
        async { gw.call(Method::POST, "/cards/42/pin", Some(body)).await }
    };

    // jwcrypto JWE to the published JWK.
    let jwe = jose_tool(&["jwe-encrypt", &system.data()["jwk"].to_string(), "2468"]);
    let reply = pin_call(jwe).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        serde_json::from_slice::<Value>(&gw.upstream.last().body).unwrap(),
        json!({"pin": "2468"})
    );

    // openssl pkeyutl OAEP-SHA256, standard base64.
    let oaep = openssl(
        &[
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-inkey",
            system_file.to_str().unwrap(),
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            "rsa_oaep_md:sha256",
            "-pkeyopt",
            "rsa_mgf1_md:sha256",
        ],
        Some(b"1357"),
    );
    let reply = pin_call(STANDARD.encode(oaep)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        serde_json::from_slice::<Value>(&gw.upstream.last().body).unwrap(),
        json!({"pin": "1357"})
    );
    let forwarded = gw.upstream.count();

    // PKCS#1 v1.5 and garbage: the same 400, and the upstream receives nothing.
    let pkcs1 = openssl(
        &[
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-inkey",
            system_file.to_str().unwrap(),
            "-pkeyopt",
            "rsa_padding_mode:pkcs1",
        ],
        Some(b"1357"),
    );
    for field in [
        STANDARD.encode(pkcs1),
        "bm90IGEgY2lwaGVydGV4dA==".to_string(),
        "a.b.c.d.e".to_string(),
    ] {
        let reply = pin_call(field).await;
        assert_eq!(
            (reply.status, reply.slug()),
            (400, Some("encrypted_field_invalid")),
            "{:?}",
            reply.body
        );
        assert_no_secret(&reply);
    }
    assert_eq!(
        gw.upstream.count(),
        forwarded,
        "a refused request reached the upstream"
    );
}
