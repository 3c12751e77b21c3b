use std::time::Duration;

use keygate_testkit::*;

both_backends!(
    login_answers_per_design,
    wrong_and_unknown_look_the_same,
    expired_and_logged_out_tokens_are_refused,
    failed_logins_are_limited,
    a_lockout_ends_with_its_window,
    missing_and_malformed_tokens,
    behind_a_trusted_proxy_the_address_it_wrote_is_limited
);

async fn login_answers_per_design(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let reply = app
        .client()
        .login_reply(&creds.api_key, &creds.password)
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    let data = reply.data();
    let token = data["access_token"].as_str().unwrap();
    assert_eq!(data["token_type"], "Bearer");
    assert_eq!(data["expires_in"], 900);
    assert_eq!(data["client"]["id"], creds.client_id.to_string());
    assert_eq!(data["api_key"]["id"], creds.api_key_id.to_string());
    assert!(data["client"]["name"].is_string() && data["client"]["alias"].is_string());
    assert_eq!(
        reply.headers["authorization"].to_str().unwrap(),
        format!("Bearer {token}")
    );
    assert!(
        app.client()
            .with_token(token)
            .list_keys()
            .await
            .unwrap()
            .status
            == 200
    );
}

async fn wrong_and_unknown_look_the_same(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let wrong = app
        .client()
        .login_reply(&creds.api_key, "not the password")
        .await
        .unwrap();
    let unknown = app
        .client()
        .login_reply("kg_nobody", "not the password")
        .await
        .unwrap();
    assert_eq!(
        (wrong.status, wrong.slug()),
        (401, Some("invalid_credentials"))
    );
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.status, unknown.status);
}

async fn expired_and_logged_out_tokens_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.token_ttl = Duration::from_secs(2)).await;
    let other = spawn_second_node(&app).await;
    let creds = app.new_api_key().await;
    let mut client = app.client();
    client.login(&creds.api_key, &creds.password).await.unwrap();
    let token = client.token().unwrap().to_string();
    let on_other = other.client().with_token(&token);
    assert_eq!(
        on_other.list_keys().await.unwrap().status,
        200,
        "a token works on every node"
    );
    // Past the token's lifetime, on both nodes (they share the clock).
    app.time.advance(3);
    for c in [&client, &on_other] {
        let r = c.list_keys().await.unwrap();
        assert_eq!((r.status, r.slug()), (401, Some("unauthorized")));
    }

    let mut client = app.client();
    client.login(&creds.api_key, &creds.password).await.unwrap();
    let on_other = other.client().with_token(client.token().unwrap());
    assert_eq!(on_other.list_keys().await.unwrap().status, 200);
    assert_eq!(client.logout().await.unwrap().status, 200);
    for c in [&client, &on_other] {
        let r = c.list_keys().await.unwrap();
        assert_eq!((r.status, r.slug()), (401, Some("unauthorized")));
    }
    let again = client.logout().await.unwrap();
    assert_eq!(again.status, 401);
}

async fn failed_logins_are_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    for _ in 0..10 {
        let r = app
            .client()
            .login_reply(&creds.api_key, "wrong")
            .await
            .unwrap();
        assert_eq!(r.slug(), Some("invalid_credentials"));
    }
    let r = app
        .client()
        .login_reply(&creds.api_key, &creds.password)
        .await
        .unwrap();
    assert_eq!((r.status, r.slug()), (429, Some("rate_limited")));
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0);
    // Another API key from the same address is not locked out by these ten.
    let other = app.new_api_key().await;
    assert_eq!(
        app.client()
            .login_reply(&other.api_key, &other.password)
            .await
            .unwrap()
            .status,
        200
    );

    // Per address: a low limit, many API keys.
    let app = spawn_app_with(backend, |s| s.login_max_failures_per_address = 3).await;
    for _ in 0..3 {
        let r = app
            .client()
            .login_reply("kg_unknown", "wrong")
            .await
            .unwrap();
        assert_eq!(r.slug(), Some("invalid_credentials"));
    }
    let creds = app.new_api_key().await;
    let r = app
        .client()
        .login_reply(&creds.api_key, &creds.password)
        .await
        .unwrap();
    assert_eq!((r.status, r.slug()), (429, Some("rate_limited")));
}

/// Failures count within `login_failure_window` only: once the node's clock is past it, the
/// right password logs in again (docs/design.md §4, "Login limits").
async fn a_lockout_ends_with_its_window(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.login_max_failures_per_key = 2).await;
    let creds = app.new_api_key().await;
    for _ in 0..2 {
        let r = app
            .client()
            .login_reply(&creds.api_key, "wrong")
            .await
            .unwrap();
        assert_eq!(r.slug(), Some("invalid_credentials"));
    }
    let locked = app
        .client()
        .login_reply(&creds.api_key, &creds.password)
        .await
        .unwrap();
    assert_eq!((locked.status, locked.slug()), (429, Some("rate_limited")));
    let window = app.settings.login_failure_window.as_secs() as i64;
    app.time.advance(window - 1);
    let still = app
        .client()
        .login_reply(&creds.api_key, &creds.password)
        .await
        .unwrap();
    assert_eq!(
        (still.status, still.slug()),
        (429, Some("rate_limited")),
        "within the window"
    );
    app.time.advance(2);
    let again = app
        .client()
        .login_reply(&creds.api_key, &creds.password)
        .await
        .unwrap();
    assert_eq!(again.status, 200, "{:?}", again.body);
}

async fn missing_and_malformed_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    for client in [
        app.client(),
        app.client().with_token("nonsense"),
        app.client().with_token(""),
    ] {
        let r = client.list_keys().await.unwrap();
        assert_eq!((r.status, r.slug()), (401, Some("unauthorized")));
    }
    let r = app
        .client()
        .send(
            reqwest::Method::GET,
            "/clients/api_key/public_keys",
            None,
            &[("authorization", "Basic abc")],
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.slug()), (401, Some("unauthorized")));
    let r = app
        .client()
        .send(
            reqwest::Method::POST,
            "/auth/login",
            Some(b"{\"api_client\": {}}".to_vec()),
            &[],
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.slug()), (400, Some("invalid_request")));
    assert!(r.body["message"].as_str().unwrap().contains("api_key"));
}

/// Behind a proxy that appends to `X-Forwarded-For` (nginx's `$proxy_add_x_forwarded_for`, most
/// load balancers), the caller's own entries come first: only the last entry, the proxy's, is
/// the address the login limits count (docs/decisions.md, "Login limits"), so forging a new
/// first entry on each try does not escape the limit, and another real address is not locked.
async fn behind_a_trusted_proxy_the_address_it_wrote_is_limited(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.trust_forwarded_for = true;
        s.login_max_failures_per_address = 3;
    })
    .await;
    let login = |forwarded_for: String, api_key: String, password: String| {
        let client = app.client();
        async move {
            let body =
                serde_json::json!({"api_client": {"api_key": api_key, "password": password}});
            client
                .send(
                    reqwest::Method::POST,
                    "/auth/login",
                    Some(body.to_string().into_bytes()),
                    &[("X-Forwarded-For", &forwarded_for)],
                )
                .await
                .unwrap()
        }
    };
    for i in 0..3 {
        let r = login(
            format!("6.6.6.{i}, 203.0.113.5"),
            "kg_unknown".into(),
            "wrong".into(),
        )
        .await;
        assert_eq!(r.slug(), Some("invalid_credentials"));
    }
    let creds = app.new_api_key().await;
    let r = login(
        "9.9.9.9, 203.0.113.5".into(),
        creds.api_key.clone(),
        creds.password.clone(),
    )
    .await;
    assert_eq!((r.status, r.slug()), (429, Some("rate_limited")));
    let r = login(
        "203.0.113.5, 198.51.100.1".into(),
        creds.api_key.clone(),
        creds.password.clone(),
    )
    .await;
    assert_eq!(
        r.status, 200,
        "another address the proxy wrote is not locked"
    );
}
