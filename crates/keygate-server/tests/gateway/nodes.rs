//! Key state, several nodes on one PostgreSQL, and the system key's lifecycle.

use std::time::Duration;

use keygate_server::Application;
use reqwest::Method;
use serde_json::{json, Value};

use crate::*;
use keygate_testkit::*;

both_backends!(
    revoke_refuses_the_next_call_at_once,
    expired_and_never_uploaded_keys_are_refused,
    system_key_survives_restart_and_a_wrong_master_key_refuses_to_start,
    rotation_keeps_the_previous_key_decrypting
);

mod postgres_nodes {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn revoke_and_logout_reach_the_other_node_within_a_second() {
        super::revoke_and_logout_reach_the_other_node_within_a_second().await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_jti_used_on_one_node_is_refused_on_the_other() {
        super::a_jti_used_on_one_node_is_refused_on_the_other().await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_signature_sent_at_once_to_two_nodes_passes_once() {
        super::one_signature_sent_at_once_to_two_nodes_passes_once().await
    }
}

async fn revoke_refuses_the_next_call_at_once(backend: Backend) {
    let gw = Gw::start(backend).await;
    assert_eq!(gw.call(Method::GET, "/cards/1", None).await.status, 200);
    let revoked = gw.client.revoke_key(Some("lost laptop")).await.unwrap();
    assert_eq!(revoked.status, 200);
    let reply = gw.call(Method::GET, "/cards/1", None).await;
    assert_eq!(
        (reply.status, reply.slug()),
        (403, Some("public_key_revoked"))
    );
    assert_no_secret(&reply);
    // A new key works again at once.
    let private = genrsa(2048);
    let uploaded = gw.client.upload_key(&pubout(&private)).await.unwrap();
    assert_eq!(uploaded.status, 201);
    // Logout: the token stops working on the gateway at once.
    gw.client.logout().await.unwrap();
    let reply = gw.call(Method::GET, "/cards/1", None).await;
    assert_eq!((reply.status, reply.slug()), (401, Some("unauthorized")));
}

async fn expired_and_never_uploaded_keys_are_refused(backend: Backend) {
    let gw = Gw::start_with(backend, |s| s.key_validity = Duration::from_secs(2)).await;
    assert_eq!(gw.call(Method::GET, "/cards/1", None).await.status, 200);
    // Past the key's validity, by the node's clock.
    gw.app.time.advance(3);
    let reply = gw.call(Method::GET, "/cards/1", None).await;
    assert_eq!(
        (reply.status, reply.slug()),
        (403, Some("public_key_expired"))
    );

    let (never, _) = gw.app.logged_in().await;
    let reply = gw.call_via(&never, Method::GET, "/cards/1", None).await;
    assert_eq!(
        (reply.status, reply.slug()),
        (403, Some("public_key_required"))
    );
    assert_eq!(gw.upstream.count(), 1);
}

async fn revoke_and_logout_reach_the_other_node_within_a_second() {
    let gw = Gw::start(Backend::Postgres).await;
    let second = spawn_second_node(&gw.app).await;
    let on_second = KeygateClient::new(&second.base_url).with_token(gw.token());
    // Warm the second node's caches.
    assert_eq!(
        gw.call_via(&on_second, Method::GET, "/cards/1", None)
            .await
            .status,
        200
    );
    assert_eq!(gw.client.revoke_key(None).await.unwrap().status, 200);
    let started = std::time::Instant::now();
    let refused = eventually(Duration::from_secs(1), async || {
        gw.call_via(&on_second, Method::GET, "/cards/1", None)
            .await
            .slug()
            == Some("public_key_revoked")
    })
    .await;
    assert!(
        refused,
        "the second node still accepts a revoked key after {:?}",
        started.elapsed()
    );

    // Logout on the first node ends the token on the second.
    let private = genrsa(2048);
    assert_eq!(
        gw.client
            .upload_key(&pubout(&private))
            .await
            .unwrap()
            .status,
        201
    );
    gw.client.logout().await.unwrap();
    let refused = eventually(Duration::from_secs(1), async || {
        on_second
            .send(Method::GET, "/cards/1", None, &[])
            .await
            .unwrap()
            .slug()
            == Some("unauthorized")
    })
    .await;
    assert!(refused, "the second node still accepts a logged-out token");
}

async fn a_jti_used_on_one_node_is_refused_on_the_other() {
    let gw = Gw::start(Backend::Postgres).await;
    let second = spawn_second_node(&gw.app).await;
    let on_second = KeygateClient::new(&second.base_url).with_token(gw.token());
    let sig = gw.sign("GET", "/cards/1", b"");
    assert_eq!(
        gw.send_signed(&gw.client, Method::GET, "/cards/1", None, &sig)
            .await
            .status,
        200
    );
    let replay = gw
        .send_signed(&on_second, Method::GET, "/cards/1", None, &sig)
        .await;
    assert_eq!(
        (replay.status, replay.slug()),
        (401, Some("signature_replayed"))
    );
    assert_eq!(gw.upstream.count(), 1);
}

/// The shared `jti` record is written in batches (group commit): the same signed request sent
/// 16 times at once, half to each node, passes exactly once, while 16 different signed calls
/// sent at the same moment all pass.
async fn one_signature_sent_at_once_to_two_nodes_passes_once() {
    let gw = Gw::start(Backend::Postgres).await;
    let second = spawn_second_node(&gw.app).await;
    let on_second = KeygateClient::new(&second.base_url).with_token(gw.token());
    let clients = [gw.client.clone(), on_second];
    let sig = gw.sign("GET", "/cards/1", b"");
    let same = (0..16).map(|i| {
        let (gw, client, sig) = (&gw, &clients[i % 2], &sig);
        async move {
            gw.send_signed(client, Method::GET, "/cards/1", None, sig)
                .await
        }
    });
    let replies = futures::future::join_all(same).await;
    let passed = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        passed,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(replies
        .iter()
        .filter(|r| r.status != 200)
        .all(|r| (r.status, r.slug()) == (401, Some("signature_replayed"))));

    let different = (0..16).map(|i| {
        let (gw, client) = (&gw, &clients[i % 2]);
        let sig = gw.sign("GET", "/cards/1", b"");
        async move {
            gw.send_signed(client, Method::GET, "/cards/1", None, &sig)
                .await
        }
    });
    let replies = futures::future::join_all(different).await;
    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(gw.upstream.count(), 17);
}

async fn system_kid(base_url: &str) -> String {
    let reply = KeygateClient::new(base_url)
        .send(Method::GET, "/system/public_key", None, &[])
        .await
        .unwrap();
    reply.data()["kid"].as_str().unwrap().to_string()
}

async fn system_key_survives_restart_and_a_wrong_master_key_refuses_to_start(backend: Backend) {
    let app = spawn_app(backend).await;
    let kid = system_kid(&app.base_url).await;
    let mode = std::fs::metadata(&app.settings.master_key_file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            mode.permissions().mode() & 0o777,
            0o600,
            "the master key file is created 0600"
        );
    }
    // Same master key: same system key.
    let again = spawn_second_node(&app).await;
    assert_eq!(system_kid(&again.base_url).await, kid);
    // The master key from the environment form works too.
    let text = std::fs::read_to_string(&app.settings.master_key_file).unwrap();
    let mut settings = app.settings.clone();
    settings.master_key_file = std::env::temp_dir().join("kg-does-not-exist-and-is-not-used.key");
    settings.master_key = Some(keygate_server::config::MasterKeyText(
        text.trim().to_string(),
    ));
    let via_env = Application::build(settings.clone())
        .await
        .expect("starts with KEYGATE_MASTER_KEY");
    assert_eq!(via_env.state().gateway.keyring().current.kid(), kid);
    drop(via_env);
    // A different master key: the node refuses to start and says why.
    settings.master_key = None;
    settings.master_key_file =
        std::env::temp_dir().join(format!("kg-other-master-{}.key", new_jti()));
    let err = Application::build(settings)
        .await
        .err()
        .expect("a wrong master key must refuse to start");
    let message = err.to_string();
    assert!(message.contains("master key"), "{message}");
    assert!(message.contains(&kid), "{message}");
}

async fn rotation_keeps_the_previous_key_decrypting(backend: Backend) {
    let gw = Gw::start(backend).await;
    let system = gw
        .app
        .client()
        .send(Method::GET, "/system/public_key", None, &[])
        .await
        .unwrap();
    let old_kid = system.data()["kid"].as_str().unwrap().to_string();
    let old_jwk = system.data()["jwk"].to_string();

    let master = keygate_server::system_key::load_master_key(&gw.app.settings).unwrap();
    let operator = keygate_core::audit::Origin::operator("ops");
    let new_kid =
        keygate_server::system_key::rotate(&gw.app.store, &master, gw.app.now(), &operator)
            .await
            .unwrap();
    assert_ne!(new_kid, old_kid);

    // Every node picks the rotation up (NOTIFY on PostgreSQL, a 5 s refresh on SQLite).
    let client = gw.app.client();
    let seen = eventually(Duration::from_secs(7), async || {
        client
            .send(Method::GET, "/system/public_key", None, &[])
            .await
            .unwrap()
            .data()["kid"]
            == new_kid.as_str()
    })
    .await;
    assert!(seen, "the node did not load the rotated key");
    let jwks = client
        .send(Method::GET, "/.well-known/jwks.json", None, &[])
        .await
        .unwrap();
    let kids: Vec<&str> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        vec![new_kid.as_str(), old_kid.as_str()],
        "current first, previous in grace"
    );

    // A field encrypted to the previous key still decrypts; one to the new key too.
    for jwk in [old_jwk, jwks.body["keys"][0].to_string()] {
        let field = jose_tool(&["jwe-encrypt", &jwk, "2468"]);
        let reply = gw
            .call(
                Method::POST,
                "/cards/9/pin",
                Some(json!({"pin": field}).to_string().into_bytes()),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        assert_eq!(
            serde_json::from_slice::<Value>(&gw.upstream.last().body).unwrap(),
            json!({"pin": "2468"})
        );
    }
}
