//! Key rotation through the gateway (docs/design.md §2, "Rotation"): a staged successor taking
//! over at the instant the active key expires with no refused call, the overlap (either key
//! signs, each answer is encrypted to the key that signed it), and the expiry warning header.

use std::time::Duration;

use keygate_client::crypto::decrypt_field;
use keygate_client::http::{KeygateClient, Reply, KEY_EXPIRES_HEADER};
use keygate_core::jose::{Scheme, SigAlg};
use keygate_server::config::Signature;
use reqwest::Method;

use crate::*;
use keygate_testkit::*;

both_backends!(
    a_successor_takes_over_at_expiry_and_no_call_signed_right_is_refused,
    during_the_overlap_either_key_signs_and_each_answer_goes_to_its_signer,
    the_expiry_warning_header_appears_only_inside_the_window
);

/// A signed `GET path` through `client`, signed by `pair` at the node's time, naming `kid`.
async fn call(
    gw: &Gw,
    client: &KeygateClient,
    path: &str,
    pair: &KeyPair,
    kid: Option<&str>,
) -> Reply {
    let sig = pair.sign(
        SigAlg::PS256,
        kid,
        "GET",
        path,
        b"",
        client.token(),
        gw.app.now(),
    );
    gw.send_signed(client, Method::GET, path, None, &sig).await
}

/// Whether the answer's card number decrypts with `pair` (to the card's number).
fn decrypts_with(reply: &Reply, pair: &KeyPair) -> bool {
    let token = reply.data()["card"]["number"].as_str().unwrap();
    decrypt_field(&pair.key, token, Scheme::Jwe).is_ok_and(|plain| plain == CARD_NUMBER)
}

/// Every node of the test: one on SQLite, two sharing the database on PostgreSQL (the second
/// hears of uploads through NOTIFY, but of a takeover at expiry only from the clock).
async fn nodes(gw: &Gw, backend: Backend) -> (Vec<KeygateClient>, Option<TestApp>) {
    let mut clients = vec![gw.client.clone()];
    let second = match backend {
        Backend::Postgres => Some(spawn_second_node(&gw.app).await),
        Backend::Sqlite => None,
    };
    if let Some(node) = &second {
        clients.push(KeygateClient::new(&node.base_url).with_token(gw.token()));
    }
    (clients, second)
}

async fn a_successor_takes_over_at_expiry_and_no_call_signed_right_is_refused(backend: Backend) {
    let gw = Gw::start_with(backend, |s| s.key_validity = Duration::from_secs(3)).await;
    let (clients, _second) = nodes(&gw, backend).await;
    let next = KeyPair::openssl();
    let staged = gw.client.stage_successor(&next.public_pem).await.unwrap();
    assert_eq!(staged.status, 201, "{:?}", staged.body);
    let next_id = staged.data()["key"]["id"].as_str().unwrap().to_owned();
    let takeover = chrono::DateTime::parse_from_rfc3339(
        staged.data()["key"]["activates_at"].as_str().unwrap(),
    )
    .unwrap()
    .timestamp();

    // A client that keeps calling, every second, through every node (their caches warm), with
    // the key that is active at that second: no call is refused, and the answer decrypts with
    // exactly that key. The key that is not active is refused.
    let first = (&gw.key, gw.key_id.as_str());
    let second = (&next, next_id.as_str());
    for _ in 0..5 {
        let ((right, right_id), (wrong, wrong_id)) = if gw.app.now() < takeover {
            (first, second)
        } else {
            (second, first)
        };
        for client in &clients {
            for kid in [Some(right_id), None] {
                let reply = call(&gw, client, "/cards/42", right, kid).await;
                assert_eq!(reply.status, 200, "at {}: {:?}", gw.app.now(), reply.body);
                assert!(decrypts_with(&reply, right));
                assert!(!decrypts_with(&reply, wrong));
            }
            let refused = call(&gw, client, "/cards/42", wrong, Some(wrong_id)).await;
            assert!(
                [401, 403].contains(&refused.status),
                "at {}: {:?}",
                gw.app.now(),
                refused.body
            );
        }
        gw.app.time.advance(1);
    }
    // After the takeover, a call still signed with the expired key says so.
    let old = call(&gw, &gw.client, "/cards/42", &gw.key, Some(&gw.key_id)).await;
    assert_eq!(
        (old.status, old.slug()),
        (403, Some("public_key_expired")),
        "{:?}",
        old.body
    );
    let table = gw.client.list_keys().await.unwrap();
    let statuses: Vec<&str> = table.data()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ACTIVE", "EXPIRED"]);
}

async fn during_the_overlap_either_key_signs_and_each_answer_goes_to_its_signer(backend: Backend) {
    let gw = Gw::start_with(backend, |s| {
        s.rotation_overlap = Duration::from_secs(60);
        // An unsigned route with confidential fields: its answers go to the ACTIVE key.
        let mut unsigned = s.routes[0].clone();
        unsigned.path = "/unsigned/cards/{id}".into();
        unsigned.signature = Signature::None;
        s.routes.insert(0, unsigned);
    })
    .await;
    let (clients, _second) = nodes(&gw, backend).await;
    // Every node has the old key cached before the rotation.
    for client in &clients {
        let reply = call(&gw, client, "/cards/42", &gw.key, Some(&gw.key_id)).await;
        assert_eq!(reply.status, 200);
    }
    let next = KeyPair::openssl();
    let staged = gw.client.stage_successor(&next.public_pem).await.unwrap();
    let next_id = staged.data()["key"]["id"].as_str().unwrap().to_owned();
    let activated = gw.client.activate_successor().await.unwrap();
    assert_eq!(activated.status, 200, "{:?}", activated.body);
    let table = gw.client.list_keys().await.unwrap();
    let keys = table.data()["keys"].as_array().unwrap().clone();
    assert_eq!(
        (&keys[0]["status"], &keys[1]["status"]),
        (&"ACTIVE".into(), &"RETIRING".into())
    );
    let retires_at = keys[1]["retires_at"].as_str().unwrap().to_owned();
    assert_eq!(keys[1]["revoked_at"], serde_json::Value::Null);

    let old = (&gw.key, gw.key_id.as_str());
    let new = (&next, next_id.as_str());
    let on_every_node = async |at: &str| {
        for client in &clients {
            for ((signer, id), (other, _)) in [(old, new), (new, old)] {
                for kid in [Some(id), None] {
                    let reply = call(&gw, client, "/cards/42", signer, kid).await;
                    assert_eq!(reply.status, 200, "{at}: {:?}", reply.body);
                    assert!(decrypts_with(&reply, signer), "{at}");
                    assert!(!decrypts_with(&reply, other), "{at}");
                }
            }
            // The unsigned route encrypts to the active key.
            let reply = client
                .send(Method::GET, "/unsigned/cards/7", None, &[])
                .await
                .unwrap();
            assert_eq!(reply.status, 200, "{:?}", reply.body);
            assert!(decrypts_with(&reply, &next) && !decrypts_with(&reply, &gw.key));
        }
    };
    on_every_node("at the activation").await;
    gw.app.time.advance(59);
    on_every_node("a second before the overlap ends").await;

    // The overlap is over: the old key is REVOKED at its end, naming its successor, and a call
    // signed with it is refused as revoked, on every node, with no notification.
    gw.app.time.advance(1);
    for client in &clients {
        for kid in [Some(gw.key_id.as_str()), None] {
            let reply = call(&gw, client, "/cards/42", &gw.key, kid).await;
            assert_eq!(
                (reply.status, reply.slug()),
                (403, Some("public_key_revoked")),
                "{:?}",
                reply.body
            );
        }
        let reply = call(&gw, client, "/cards/42", &next, Some(&next_id)).await;
        assert_eq!(reply.status, 200);
    }
    let old_row = gw.client.view_key(&gw.key_id).await.unwrap();
    let old_row = &old_row.data()["key"];
    assert_eq!(old_row["status"], "REVOKED");
    assert_eq!(old_row["revoked_at"].as_str(), Some(retires_at.as_str()));
    assert!(old_row["revoke_reason"]
        .as_str()
        .unwrap()
        .contains(&next_id));

    // A second rotation, revoked during its overlap: the retiring key is revoked at once too.
    let third = KeyPair::openssl();
    gw.client.stage_successor(&third.public_pem).await.unwrap();
    gw.client.activate_successor().await.unwrap();
    let reply = call(&gw, &gw.client, "/cards/42", &next, Some(&next_id)).await;
    assert_eq!(
        reply.status, 200,
        "the retiring key signs during the overlap"
    );
    assert_eq!(
        gw.client.revoke_key(Some("incident")).await.unwrap().status,
        200
    );
    for client in &clients {
        for pair in [&next, &third] {
            let reply = call(&gw, client, "/cards/42", pair, None).await;
            assert_eq!(
                (reply.status, reply.slug()),
                (403, Some("public_key_revoked")),
                "{:?}",
                reply.body
            );
        }
    }
}

async fn the_expiry_warning_header_appears_only_inside_the_window(backend: Backend) {
    const DAY: i64 = 86_400;
    let gw = Gw::start_with(backend, |s| {
        s.key_validity = Duration::from_secs(10 * DAY as u64);
        s.key_expiry_warning = Duration::from_secs(2 * DAY as u64);
        s.token_ttl = Duration::from_secs(20 * DAY as u64);
    })
    .await;
    let (clients, _second) = nodes(&gw, backend).await;
    let expires = gw.app.now() + 10 * DAY;
    let rfc3339 = chrono::DateTime::from_timestamp(expires, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let header = |reply: &Reply| {
        reply
            .headers
            .get(KEY_EXPIRES_HEADER)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    // A signed call, a refusal after the caller is known, and a route without a signature.
    let answers = async || {
        let mut all = Vec::new();
        for client in &clients {
            all.push(call(&gw, client, "/cards/42", &gw.key, Some(&gw.key_id)).await);
            all.push(
                client
                    .send(Method::GET, "/cards/42", None, &[])
                    .await
                    .unwrap(),
            );
            all.push(
                client
                    .send(Method::GET, "/open/x", None, &[])
                    .await
                    .unwrap(),
            );
        }
        let statuses: Vec<u16> = all.iter().map(|r| r.status).collect();
        assert_eq!(&statuses[..3], [200, 401, 200]);
        all
    };
    let none_carry = async |at: &str| {
        for reply in answers().await {
            assert_eq!(header(&reply), None, "{at}: {:?}", reply.body);
        }
        assert_eq!(
            header(&gw.client.current_key().await.unwrap()),
            None,
            "{at}"
        );
    };
    let all_carry = async |at: &str| {
        for reply in answers().await {
            assert_eq!(
                header(&reply).as_deref(),
                Some(rfc3339.as_str()),
                "{at}: {:?}",
                reply.body
            );
        }
        let current = gw.client.current_key().await.unwrap();
        assert_eq!(header(&current).as_deref(), Some(rfc3339.as_str()), "{at}");
    };

    none_carry("at upload").await;
    gw.app.time.set(expires - 2 * DAY - 1);
    none_carry("a second before the window").await;
    gw.app.time.advance(1);
    all_carry("at the window's start").await;
    // A staged successor silences it; withdrawing it brings it back.
    let staged = gw.client.stage_successor(&new_public_key()).await.unwrap();
    assert_eq!(staged.status, 201);
    none_carry("with a successor staged").await;
    gw.client.withdraw_successor().await.unwrap();
    all_carry("after the successor was withdrawn").await;
    gw.app.time.set(expires - 1);
    all_carry("a second before expiry").await;
    // Expired: no key to warn about; the refusal says so.
    gw.app.time.set(expires);
    let reply = call(&gw, &gw.client, "/cards/42", &gw.key, Some(&gw.key_id)).await;
    assert_eq!(reply.slug(), Some("public_key_expired"));
    assert_eq!(header(&reply), None);
}
