use futures::future::join_all;

use keygate_testkit::*;

both_backends!(fifty_concurrent_uploads_one_wins);

async fn fifty_concurrent_uploads_one_wins(backend: Backend) {
    // This test is about the one-active-key rule under contention, not about the timeout: on a
    // loaded test machine 50 queued writers can wait longer than the default database_timeout
    // (5s), and would rightly be answered 503. Give them what the pools allowed before (30s).
    let app = spawn_app_with(backend, |s| {
        s.database_timeout = std::time::Duration::from_secs(30)
    })
    .await;
    // On PostgreSQL the uploads are split between two nodes sharing the database.
    let second = match backend {
        Backend::Postgres => Some(spawn_second_node(&app).await),
        Backend::Sqlite => None,
    };
    let (client, _) = app.logged_in().await;
    let token = client.token().unwrap().to_string();
    let keys: Vec<String> = {
        let handles: Vec<_> = (0..50)
            .map(|_| std::thread::spawn(new_public_key))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    };
    let uploads = keys.iter().enumerate().map(|(i, key)| {
        let node = match (&second, i % 2) {
            (Some(other), 1) => other.client().with_token(&token),
            _ => app.client().with_token(&token),
        };
        async move { node.upload_key(key).await.unwrap() }
    });
    let replies = join_all(uploads).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let conflicts = replies
        .iter()
        .filter(|r| r.status == 409 && r.slug() == Some("active_key_exists"))
        .count();
    assert_eq!(
        (created, conflicts),
        (1, 49),
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, r.slug()))
            .collect::<Vec<_>>()
    );
    let table = client.list_keys().await.unwrap();
    let keys = table.data()["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys.iter().filter(|k| k["status"] == "ACTIVE").count(), 1);
}
