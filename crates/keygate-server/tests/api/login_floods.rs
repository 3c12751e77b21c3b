//! Login floods (issue 8, item 3): the failure limit holds under concurrency, and password
//! checks beyond `login_max_concurrent` wait briefly, then answer 503 with `Retry-After`. The
//! memory bound is measured on the real binary (crates/keygate/tests/login_memory.rs).

use std::time::Duration;

use keygate_testkit::*;

both_backends!(
    concurrent_wrong_passwords_cannot_pass_the_limit,
    a_full_queue_answers_503_and_counts_nothing,
);

async fn concurrent_wrong_passwords_cannot_pass_the_limit(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        // Every attempt gets its password checked if it is let through: no 503 here.
        s.login_queue_timeout = Duration::from_secs(60);
    })
    .await;
    let creds = app.new_api_key().await;
    let attempts = (0..30).map(|_| {
        let client = app.client();
        let api_key = creds.api_key.clone();
        async move { client.login_reply(&api_key, "wrong").await.unwrap() }
    });
    let replies = futures::future::join_all(attempts).await;
    let checked = replies.iter().filter(|r| r.status == 401).count();
    let refused = replies
        .iter()
        .filter(|r| r.status == 429 && r.slug() == Some("rate_limited"))
        .count();
    assert_eq!(
        (checked, refused),
        (10, 20),
        "statuses: {:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    // Exactly ten failures are on record, and the right password is refused now too.
    let (by_key, _) = app
        .store
        .count_login_failures(&creds.api_key, "127.0.0.1", 0)
        .await
        .unwrap();
    assert_eq!(by_key, 10);
    let r = app
        .client()
        .login_reply(&creds.api_key, &creds.password)
        .await
        .unwrap();
    assert_eq!((r.status, r.slug()), (429, Some("rate_limited")));

    // A successful login is not left counted as a failure.
    let other = app.new_api_key().await;
    for _ in 0..3 {
        let r = app
            .client()
            .login_reply(&other.api_key, &other.password)
            .await
            .unwrap();
        assert_eq!(r.status, 200);
    }
    let (by_key, _) = app
        .store
        .count_login_failures(&other.api_key, "127.0.0.1", 0)
        .await
        .unwrap();
    assert_eq!(by_key, 0);
}

async fn a_full_queue_answers_503_and_counts_nothing(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.login_max_concurrent = 1;
        s.login_queue_timeout = Duration::from_millis(1);
    })
    .await;
    let attempts = (0..12).map(|i| {
        let client = app.client();
        async move {
            client
                .login_reply(&format!("kg_nobody_{i}"), "wrong")
                .await
                .unwrap()
        }
    });
    let replies = futures::future::join_all(attempts).await;
    let busy: Vec<_> = replies.iter().filter(|r| r.status == 503).collect();
    let checked = replies.iter().filter(|r| r.status == 401).count();
    assert_eq!(busy.len() + checked, replies.len());
    assert!(
        !busy.is_empty() && checked >= 1,
        "12 concurrent logins, one slot, 1 ms queue: {} busy, {checked} checked",
        busy.len()
    );
    for r in &busy {
        assert_eq!(r.slug(), Some("login_busy"), "{}", r.body);
        assert_eq!(r.body["code"], 5005);
        assert_eq!(r.headers["retry-after"].to_str().unwrap(), "1");
    }
    // Only the attempts whose password was checked count as failures.
    let (_, by_address) = app
        .store
        .count_login_failures("-", "127.0.0.1", 0)
        .await
        .unwrap();
    assert_eq!(by_address as usize, checked);
}
