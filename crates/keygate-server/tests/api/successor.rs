//! The staged successor (docs/design.md §2, "Rotation"; §4): stage, read, withdraw, activate,
//! every refusal, the takeover at expiry or revocation with no write, and exactly one ACTIVE
//! key under concurrent calls split over two nodes.

use std::time::Duration;

use futures::future::join_all;
use keygate_client::http::{KeygateClient, Reply};
use serde_json::Value;

use keygate_testkit::*;

both_backends!(
    stage_get_withdraw_activate_and_every_refusal,
    the_successor_takes_over_at_expiry_and_counts_its_validity_from_then,
    revoking_the_active_key_activates_the_successor_at_once,
    exactly_one_active_key_under_concurrent_rotation_calls,
    successor_answers_match_the_documented_schemas
);

fn time(value: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .to_utc()
}

fn slug(reply: &Reply) -> (u16, Option<&str>) {
    (reply.status, reply.slug())
}

async fn statuses(client: &KeygateClient) -> Vec<String> {
    let table = client.list_keys().await.unwrap();
    table.data()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["status"].as_str().unwrap().to_owned())
        .collect()
}

async fn stage_get_withdraw_activate_and_every_refusal(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, _) = app.logged_in().await;

    // Without an active key: nothing to succeed (409, the contract's status), nothing staged.
    let reply = client.stage_successor(&new_public_key()).await.unwrap();
    assert_eq!(
        slug(&reply),
        (409, Some("no_active_key")),
        "{:?}",
        reply.body
    );
    assert!(reply.body["message"]
        .as_str()
        .unwrap()
        .contains("POST /clients/api_key/public_key"));
    for reply in [
        client.successor().await.unwrap(),
        client.withdraw_successor().await.unwrap(),
        client.activate_successor().await.unwrap(),
    ] {
        assert_eq!(
            slug(&reply),
            (404, Some("no_successor")),
            "{:?}",
            reply.body
        );
    }

    let first_pem = new_public_key();
    let first = client.upload_key(&first_pem).await.unwrap();
    assert_eq!(first.status, 201);
    let first = first.data()["key"].clone();

    // Every upload rule applies, in the upload's order.
    let pair = KeyPair::openssl();
    let reply = client.stage_successor(&pair.private_pem).await.unwrap();
    assert_eq!(slug(&reply), (422, Some("private_key_submitted")));
    let reply = client.stage_successor("not a key").await.unwrap();
    assert_eq!(slug(&reply), (422, Some("public_key_malformed")));
    let reply = client.stage_successor(&first_pem).await.unwrap();
    assert_eq!(slug(&reply), (409, Some("public_key_reused")));
    assert_eq!(statuses(&client).await, ["ACTIVE"]);

    // Staged: PENDING from the active key's expiry, for a whole validity from then.
    let staged_pem = new_public_key();
    let reply = client.stage_successor(&staged_pem).await.unwrap();
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let staged = reply.data()["key"].clone();
    assert_eq!(staged["status"], "PENDING");
    assert_eq!(staged["activates_at"], first["expires_at"]);
    assert_eq!(
        (time(&staged["expires_at"]) - time(&staged["activates_at"])).num_days(),
        365
    );
    assert_eq!(staged["retires_at"], Value::Null);
    assert_eq!(staged["withdrawn_at"], Value::Null);
    assert_eq!(
        reply.data()["api_key"]["public_key"].as_str().unwrap(),
        staged_pem.trim_end()
    );
    let reply = client.stage_successor(&new_public_key()).await.unwrap();
    assert_eq!(slug(&reply), (409, Some("successor_exists")));
    let reply = client.successor().await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.data()["key"]["id"], staged["id"]);
    // The active key is unchanged, and a direct upload is still refused.
    assert_eq!(
        client.current_key().await.unwrap().data()["key"]["id"],
        first["id"]
    );
    let reply = client.upload_key(&new_public_key()).await.unwrap();
    assert_eq!(slug(&reply), (409, Some("active_key_exists")));
    assert_eq!(statuses(&client).await, ["PENDING", "ACTIVE"]);

    // Withdrawn: still registered, by anyone, for ever.
    let reply = client.withdraw_successor().await.unwrap();
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let withdrawn = &reply.data()["key"];
    assert_eq!(withdrawn["status"], "WITHDRAWN");
    assert!(withdrawn["withdrawn_at"].is_string());
    assert_eq!(withdrawn["activates_at"], Value::Null);
    assert_eq!(
        slug(&client.successor().await.unwrap()),
        (404, Some("no_successor"))
    );
    let reply = client.stage_successor(&staged_pem).await.unwrap();
    assert_eq!(slug(&reply), (409, Some("public_key_reused")));
    let (other, _) = app.logged_in().await;
    let reply = other.upload_key(&staged_pem).await.unwrap();
    assert_eq!(slug(&reply), (409, Some("public_key_reused")));
    assert_eq!(statuses(&client).await, ["WITHDRAWN", "ACTIVE"]);

    // Activated: ACTIVE now, valid for a whole validity from now; the previous key is revoked
    // at once (rotation_overlap = 0s) with a reason naming its successor.
    let next = client.stage_successor(&new_public_key()).await.unwrap();
    let next_id = next.data()["key"]["id"].as_str().unwrap().to_owned();
    app.time.advance(600);
    let reply = client.activate_successor().await.unwrap();
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let active = &reply.data()["key"];
    assert_eq!(
        (active["id"].as_str(), &active["status"]),
        (Some(next_id.as_str()), &Value::from("ACTIVE"))
    );
    let now = chrono::DateTime::from_timestamp(app.now(), 0).unwrap();
    assert_eq!(time(&active["activates_at"]), now);
    assert_eq!((time(&active["expires_at"]) - now).num_days(), 365);
    assert_eq!(
        client.current_key().await.unwrap().data()["key"]["id"],
        next_id.as_str()
    );
    assert_eq!(statuses(&client).await, ["ACTIVE", "WITHDRAWN", "REVOKED"]);
    let old = client
        .view_key(first["id"].as_str().unwrap())
        .await
        .unwrap();
    let old = &old.data()["key"];
    assert_eq!(time(&old["revoked_at"]), now);
    assert!(old["revoke_reason"].as_str().unwrap().contains(&next_id));
    assert_eq!(old["retires_at"], Value::Null);
    assert_eq!(
        slug(&client.activate_successor().await.unwrap()),
        (404, Some("no_successor"))
    );
}

async fn the_successor_takes_over_at_expiry_and_counts_its_validity_from_then(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.key_validity = Duration::from_secs(3)).await;
    let (client, _) = app.logged_in().await;
    let first = client.upload_key(&new_public_key()).await.unwrap();
    let first = first.data()["key"].clone();
    app.time.advance(1);
    let staged = client.stage_successor(&new_public_key()).await.unwrap();
    let staged = staged.data()["key"].clone();
    assert_eq!(staged["activates_at"], first["expires_at"]);

    app.time.advance(1);
    assert_eq!(
        client.current_key().await.unwrap().data()["key"]["id"],
        first["id"]
    );
    // At the expiry instant, with no write in between: the successor is the active key.
    app.time.advance(1);
    let current = client.current_key().await.unwrap();
    assert_eq!(current.status, 200, "{:?}", current.body);
    assert_eq!(current.data()["key"]["id"], staged["id"]);
    assert_eq!(current.data()["key"]["status"], "ACTIVE");
    assert_eq!(statuses(&client).await, ["ACTIVE", "EXPIRED"]);
    assert_eq!(
        slug(&client.successor().await.unwrap()),
        (404, Some("no_successor"))
    );
    // Its validity counts from its activation: three seconds from the first key's expiry.
    app.time.advance(2);
    assert_eq!(statuses(&client).await, ["ACTIVE", "EXPIRED"]);
    app.time.advance(1);
    assert_eq!(statuses(&client).await, ["EXPIRED", "EXPIRED"]);
    // With no active key, a new upload is accepted again.
    assert_eq!(
        client.upload_key(&new_public_key()).await.unwrap().status,
        201
    );
}

async fn revoking_the_active_key_activates_the_successor_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, _) = app.logged_in().await;
    client.upload_key(&new_public_key()).await.unwrap();
    let staged = client.stage_successor(&new_public_key()).await.unwrap();
    let staged_id = staged.data()["key"]["id"].clone();
    app.time.advance(100);
    let revoked = client.revoke_key(Some("laptop stolen")).await.unwrap();
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.data()["key"]["status"], "REVOKED");
    let current = client.current_key().await.unwrap();
    assert_eq!(current.data()["key"]["id"], staged_id);
    let now = chrono::DateTime::from_timestamp(app.now(), 0).unwrap();
    assert_eq!(time(&current.data()["key"]["activates_at"]), now);
    assert_eq!(
        (time(&current.data()["key"]["expires_at"]) - now).num_days(),
        365
    );
    assert_eq!(statuses(&client).await, ["ACTIVE", "REVOKED"]);
}

/// Rounds of stage, activate, withdraw, revoke and upload calls at once, split over two nodes on
/// PostgreSQL (one node on SQLite), with the clock moving between rounds so keys expire and
/// successors take over by time too. After every round: at most one ACTIVE key, at most one
/// PENDING and one RETIRING, neither without an ACTIVE one, and the store's SQL agrees.
async fn exactly_one_active_key_under_concurrent_rotation_calls(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.key_validity = Duration::from_secs(100);
        s.rotation_overlap = Duration::from_secs(30);
        s.database_timeout = Duration::from_secs(30);
    })
    .await;
    let second = match backend {
        Backend::Postgres => Some(spawn_second_node(&app).await),
        Backend::Sqlite => None,
    };
    let (client, creds) = app.logged_in().await;
    let token = client.token().unwrap().to_string();
    let node = |i: usize| match (&second, i % 2) {
        (Some(other), 1) => other.client().with_token(&token),
        _ => app.client().with_token(&token),
    };
    client.upload_key(&new_public_key()).await.unwrap();
    let keys: Vec<String> = {
        let handles: Vec<_> = (0..48)
            .map(|_| std::thread::spawn(new_public_key))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    };
    let mut pems = keys.into_iter();
    let mut staged = 0;
    for round in 0..8 {
        let mut calls = Vec::new();
        for i in 0..12 {
            let node = node(i + round);
            let call = match i % 6 {
                0 | 1 => {
                    let pem = pems.next().unwrap();
                    Box::pin(async move { node.stage_successor(&pem).await.unwrap() })
                        as std::pin::Pin<Box<dyn std::future::Future<Output = Reply>>>
                }
                2 | 3 => Box::pin(async move { node.activate_successor().await.unwrap() }),
                4 if round % 3 == 2 => {
                    Box::pin(async move { node.revoke_key(None).await.unwrap() })
                }
                4 => Box::pin(async move { node.withdraw_successor().await.unwrap() }),
                _ => {
                    let pem = pems.next().unwrap();
                    Box::pin(async move { node.upload_key(&pem).await.unwrap() })
                }
            };
            calls.push(call);
        }
        let replies = join_all(calls).await;
        for reply in &replies {
            assert!(
                [200, 201, 404, 409].contains(&reply.status),
                "{} {:?}",
                reply.status,
                reply.body
            );
            if reply.status == 201 && reply.data()["key"]["status"] == "PENDING" {
                staged += 1;
            }
        }
        let table = statuses(&client).await;
        let count = |s: &str| table.iter().filter(|t| *t == s).count();
        assert!(count("ACTIVE") <= 1, "round {round}: {table:?}");
        assert!(count("PENDING") <= 1, "round {round}: {table:?}");
        assert!(count("RETIRING") <= 1, "round {round}: {table:?}");
        if count("PENDING") + count("RETIRING") > 0 {
            assert_eq!(count("ACTIVE"), 1, "round {round}: {table:?}");
        }
        let sql = app
            .store
            .active_key(creds.api_key_id, app.now())
            .await
            .unwrap()
            .map(|k| k.id.to_string());
        let api = client.current_key().await.unwrap();
        assert_eq!(
            sql.as_deref(),
            api.data()["key"]["id"]
                .as_str()
                .filter(|_| api.status == 200),
            "round {round}"
        );
        // Keys expire and successors take over by time as well.
        app.time.advance(40);
    }
    assert!(staged > 0, "no successor was ever staged");
}

/// Every successor route's real answers, successes and refusals, validate against the schemas
/// `/openapi.json` documents for their status (the same checker as `schemas.rs`).
async fn successor_answers_match_the_documented_schemas(backend: Backend) {
    const SUCCESSOR: &str = "/clients/api_key/public_key/successor";
    const ACTIVATE: &str = "/clients/api_key/public_key/successor/activate";
    const KEYS: &str = "/clients/api_key/public_keys";
    let app = spawn_app_with(backend, |s| s.rotation_overlap = Duration::from_secs(60)).await;
    let mut check = crate::schemas::Checker::new(&app).await;
    let anonymous = app.client();
    let (client, _) = app.logged_in().await;
    for (method, path) in [
        (reqwest::Method::PUT, SUCCESSOR),
        (reqwest::Method::GET, SUCCESSOR),
        (reqwest::Method::DELETE, SUCCESSOR),
        (reqwest::Method::POST, ACTIVATE),
    ] {
        let name = method.as_str().to_lowercase();
        let reply = anonymous
            .send(method.clone(), path, None, &[])
            .await
            .unwrap();
        check.check(&name, path, &reply);
        if method != reqwest::Method::PUT {
            let reply = client.send(method, path, None, &[]).await.unwrap();
            assert_eq!(reply.slug(), Some("no_successor"));
            check.check(&name, path, &reply);
        }
    }
    let reply = client.stage_successor(&new_public_key()).await.unwrap();
    assert_eq!(slug(&reply), (409, Some("no_active_key")));
    check.check("put", SUCCESSOR, &reply);
    client.upload_key(&new_public_key()).await.unwrap();
    for reply in [
        client.stage_successor("not a key").await.unwrap(),
        crate::schemas::raw(&client, reqwest::Method::PUT, SUCCESSOR, b"x", "text/plain").await,
        client
            .send_json(reqwest::Method::PUT, SUCCESSOR, &serde_json::json!({}))
            .await
            .unwrap(),
    ] {
        check.check("put", SUCCESSOR, &reply);
    }
    let reply = client.stage_successor(&new_public_key()).await.unwrap();
    check.check("put", SUCCESSOR, &reply);
    check.check(
        "put",
        SUCCESSOR,
        &client.stage_successor(&new_public_key()).await.unwrap(),
    );
    check.check("get", SUCCESSOR, &client.successor().await.unwrap());
    check.check(
        "delete",
        SUCCESSOR,
        &client.withdraw_successor().await.unwrap(),
    );
    client.stage_successor(&new_public_key()).await.unwrap();
    check.check(
        "post",
        ACTIVATE,
        &client.activate_successor().await.unwrap(),
    );
    // The table with every new status and instant: ACTIVE, WITHDRAWN, RETIRING.
    let table = client.list_keys().await.unwrap();
    check.check("get", KEYS, &table);
    let statuses: Vec<&str> = table.data()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ACTIVE", "WITHDRAWN", "RETIRING"]);
    for (method, path, status) in [
        ("put", SUCCESSOR, 201),
        ("put", SUCCESSOR, 400),
        ("put", SUCCESSOR, 401),
        ("put", SUCCESSOR, 409),
        ("put", SUCCESSOR, 415),
        ("put", SUCCESSOR, 422),
        ("get", SUCCESSOR, 200),
        ("get", SUCCESSOR, 401),
        ("get", SUCCESSOR, 404),
        ("delete", SUCCESSOR, 200),
        ("delete", SUCCESSOR, 401),
        ("delete", SUCCESSOR, 404),
        ("post", ACTIVATE, 200),
        ("post", ACTIVATE, 401),
        ("post", ACTIVATE, 404),
    ] {
        assert!(
            check
                .seen
                .contains(&(method.to_string(), path.to_string(), status)),
            "{method} {path} {status} was not seen"
        );
    }
}
