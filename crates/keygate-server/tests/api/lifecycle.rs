use std::time::Duration;

use serde_json::Value;

use keygate_testkit::*;

both_backends!(
    upload_revoke_upload,
    keys_expire_without_a_job,
    status_table_newest_first,
    isolation_between_api_keys,
    reuse_is_refused_everywhere,
    view_key_has_every_member
);

fn day(rfc3339: &str) -> &str {
    &rfc3339[..10]
}

async fn upload_revoke_upload(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, creds) = app.logged_in().await;

    let first = new_public_key();
    let reply = client.upload_key(&first).await.unwrap();
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert_eq!(reply.body["success"], true);
    assert_eq!(reply.body["code"], 0);
    assert_eq!(reply.body["message"], "OK");
    let data = reply.data();
    assert_eq!(data["key"]["status"], "ACTIVE");
    assert_eq!(data["api_key"]["id"], creds.api_key_id.to_string());
    assert_eq!(data["client"]["id"], creds.client_id.to_string());
    assert_eq!(
        data["api_key"]["public_key"].as_str().unwrap(),
        first.trim_end()
    );
    let first_id = data["key"]["id"].as_str().unwrap().to_string();
    // One year of validity from today.
    let issued =
        chrono::DateTime::parse_from_rfc3339(data["key"]["issued_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(data["key"]["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires - issued).num_days(), 365);
    assert_eq!(
        day(data["key"]["issued_at"].as_str().unwrap()),
        chrono::Utc::now().format("%Y-%m-%d").to_string()
    );

    let current = client.current_key().await.unwrap();
    assert_eq!(current.status, 200);
    assert_eq!(current.data()["key"]["id"], first_id.as_str());

    let second = client.upload_key(&new_public_key()).await.unwrap();
    assert_eq!(second.status, 409);
    assert_eq!(second.slug(), Some("active_key_exists"));
    assert_eq!(second.body["success"], false);
    assert!(second.body["code"].as_u64().unwrap() >= 3000);

    let revoked = client
        .revoke_key(Some("rotated after audit"))
        .await
        .unwrap();
    assert_eq!(revoked.status, 200, "{:?}", revoked.body);
    assert_eq!(revoked.data()["key"]["status"], "REVOKED");
    assert_eq!(
        revoked.data()["key"]["revoke_reason"],
        "rotated after audit"
    );
    assert!(revoked.data()["key"]["revoked_at"].is_string());

    let none = client.current_key().await.unwrap();
    assert_eq!((none.status, none.slug()), (404, Some("no_active_key")));
    let again = client.revoke_key(None).await.unwrap();
    assert_eq!((again.status, again.slug()), (404, Some("no_active_key")));

    let third = client.upload_key(&new_public_key()).await.unwrap();
    assert_eq!(third.status, 201);
    assert_eq!(third.data()["key"]["status"], "ACTIVE");

    let table = client.list_keys().await.unwrap();
    let keys = table.data()["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["status"], "ACTIVE");
    assert_eq!(keys[1]["status"], "REVOKED");
    assert_eq!(keys[1]["id"], first_id.as_str());
}

async fn keys_expire_without_a_job(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.key_validity = Duration::from_secs(2)).await;
    let (client, _) = app.logged_in().await;
    let reply = client.upload_key(&new_public_key()).await.unwrap();
    assert_eq!(reply.status, 201);
    let id = reply.data()["key"]["id"].as_str().unwrap().to_string();
    let refused = client.upload_key(&new_public_key()).await.unwrap();
    assert_eq!(refused.slug(), Some("active_key_exists"));

    // Past the key's validity, by the node's clock.
    app.time.advance(3);

    let current = client.current_key().await.unwrap();
    assert_eq!(
        (current.status, current.slug()),
        (404, Some("no_active_key"))
    );
    let view = client.view_key(&id).await.unwrap();
    assert_eq!(view.data()["key"]["status"], "EXPIRED");
    let table = client.list_keys().await.unwrap();
    assert_eq!(table.data()["keys"][0]["status"], "EXPIRED");

    let fresh = client.upload_key(&new_public_key()).await.unwrap();
    assert_eq!(fresh.status, 201, "{:?}", fresh.body);
    let table = client.list_keys().await.unwrap();
    let statuses: Vec<_> = table.data()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        vec![Value::from("ACTIVE"), Value::from("EXPIRED")]
    );
}

async fn status_table_newest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, _) = app.logged_in().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let reply = client.upload_key(&new_public_key()).await.unwrap();
        assert_eq!(reply.status, 201);
        ids.push(reply.data()["key"]["id"].as_str().unwrap().to_string());
        if i < 2 {
            assert_eq!(
                client
                    .revoke_key(Some(&format!("reason {i}")))
                    .await
                    .unwrap()
                    .status,
                200
            );
        }
        // Issue times are kept to the second; keep them distinct so "newest first" is visible.
        app.time.advance(1);
    }
    let table = client.list_keys().await.unwrap();
    let keys = table.data()["keys"].as_array().unwrap();
    let listed: Vec<_> = keys
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_string())
        .collect();
    ids.reverse();
    assert_eq!(listed, ids);
    assert_eq!(keys[0]["status"], "ACTIVE");
    assert_eq!(keys[0]["revoked_at"], Value::Null);
    assert_eq!(keys[1]["revoke_reason"], "reason 1");
    assert_eq!(keys[2]["revoke_reason"], "reason 0");
    for k in keys {
        for member in [
            "id",
            "status",
            "issued_at",
            "expires_at",
            "revoked_at",
            "revoke_reason",
            "algorithm",
            "bits",
            "exponent",
            "fingerprint_sha256",
            "jwk_thumbprint",
        ] {
            assert!(k.get(member).is_some(), "row lacks {member}");
        }
        assert!(k.get("public_key").is_none() && k.get("jwk").is_none());
        assert!(k["issued_at"].as_str().unwrap() < k["expires_at"].as_str().unwrap());
    }
}

async fn isolation_between_api_keys(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, _) = app.logged_in().await;
    let (bob, _) = app.logged_in().await;
    let reply = alice.upload_key(&new_public_key()).await.unwrap();
    let alice_key = reply.data()["key"]["id"].as_str().unwrap().to_string();

    let peek = bob.view_key(&alice_key).await.unwrap();
    assert_eq!((peek.status, peek.slug()), (404, Some("not_found")));
    assert_eq!(
        bob.list_keys().await.unwrap().data()["keys"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let revoke = bob.revoke_key(None).await.unwrap();
    assert_eq!((revoke.status, revoke.slug()), (404, Some("no_active_key")));
    // Alice's key is untouched.
    assert_eq!(
        alice.current_key().await.unwrap().data()["key"]["status"],
        "ACTIVE"
    );
    let bad_id = bob.view_key("not-a-uuid").await.unwrap();
    assert_eq!((bad_id.status, bad_id.slug()), (404, Some("not_found")));
}

async fn reuse_is_refused_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let (alice, _) = app.logged_in().await;
    let (bob, _) = app.logged_in().await;
    let key = new_public_key();
    assert_eq!(alice.upload_key(&key).await.unwrap().status, 201);
    // The same key under another API key.
    let other = bob.upload_key(&key).await.unwrap();
    assert_eq!(
        (other.status, other.slug()),
        (409, Some("public_key_reused"))
    );
    // The same key while active: reuse is reported before active_key_exists.
    let same = alice.upload_key(&key).await.unwrap();
    assert_eq!(same.slug(), Some("public_key_reused"));
    // A revoked key can never come back, in another form either (PKCS#1).
    assert_eq!(alice.revoke_key(None).await.unwrap().status, 200);
    let pkcs1 = String::from_utf8(openssl(
        &["rsa", "-pubin", "-RSAPublicKey_out"],
        Some(key.as_bytes()),
    ))
    .unwrap();
    let back = alice.upload_key(&pkcs1).await.unwrap();
    assert_eq!((back.status, back.slug()), (409, Some("public_key_reused")));
    assert_eq!(
        bob.list_keys().await.unwrap().data()["keys"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

async fn view_key_has_every_member(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, _) = app.logged_in().await;
    let private = genrsa(2048);
    let public = pubout(&private);
    let id = client.upload_key(&public).await.unwrap().data()["key"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let view = client.view_key(&id).await.unwrap();
    assert_eq!(view.status, 200);
    let key = &view.data()["key"];
    assert_eq!(key["algorithm"], "RSA");
    assert_eq!(key["bits"], 2048);
    assert_eq!(key["exponent"], 65537);
    assert_eq!(key["public_key"].as_str().unwrap(), public.trim_end());
    assert_eq!(key["jwk"]["kty"], "RSA");
    assert_eq!(key["jwk"]["e"], "AQAB");
    // The fingerprint is the SHA-256 of the SPKI DER, as openssl computes it.
    let der = openssl(
        &["pkey", "-pubin", "-outform", "DER"],
        Some(public.as_bytes()),
    );
    let digest = openssl(&["dgst", "-sha256", "-hex", "-r"], Some(&der));
    let hex: String = String::from_utf8(digest)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let colon: Vec<String> = hex
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    assert_eq!(key["fingerprint_sha256"], colon.join(":"));
    assert_eq!(key["jwk_thumbprint"].as_str().unwrap().len(), 43);
    assert_eq!(key["revoked_at"], Value::Null);
}
