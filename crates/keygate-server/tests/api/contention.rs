//! Concurrent logins and uploads (docs/audit.md, "Concurrent writers"): clients that each log
//! in and upload their key at the same moment — spread over two nodes sharing one PostgreSQL,
//! or on one SQLite node — are all answered 200 then 201 with the default database settings,
//! never 503 or 500, although every one of those writes appends to the one audit chain under
//! its append lock; afterwards the chain verifies and holds every event once.

use std::time::{Duration, Instant};

use futures::future::join_all;
use keygate_core::audit::AuditEventType;
use keygate_store::AuditFilter;
use keygate_testkit::*;

both_backends!(concurrent_logins_and_uploads_are_all_served);

/// Clients at once: what a helper saw answered 503 on a loaded machine.
const CLIENTS: usize = 12;

/// The bound on the concurrent part: far above what it takes (well under a second quiet), far
/// below a hung test.
const BOUND: Duration = Duration::from_secs(60);

async fn concurrent_logins_and_uploads_are_all_served(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        // The database settings are the defaults (`database_timeout` 5 s): they are under test.
        // The password-check queue is not (tests/api/login_floods.rs tests it): twelve argon2
        // checks on one loaded 2-core node, `login_max_concurrent` at a time, may wait past its
        // default 2 s and be answered 503 `login_busy`, whatever the database does.
        s.login_queue_timeout = Duration::from_secs(30);
    })
    .await;
    let second = match backend {
        Backend::Postgres => Some(spawn_second_node(&app).await),
        Backend::Sqlite => None,
    };
    // What each client brings is made beforehand, off the runtime the nodes run on (argon2
    // for the API keys, openssl for the key pairs): only the nodes' own work is measured.
    let creds = join_all((0..CLIENTS).map(|_| app.new_api_key())).await;
    let keys: Vec<String> = (0..CLIENTS)
        .map(|_| std::thread::spawn(new_public_key))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();

    let pairs = creds
        .iter()
        .zip(&keys)
        .enumerate()
        .map(|(i, (creds, key))| {
            let node = match (&second, i % 2) {
                (Some(other), 1) => other,
                _ => &app,
            };
            async move {
                let login = node
                    .client()
                    .login_reply(&creds.api_key, &creds.password)
                    .await
                    .unwrap();
                let Some(token) = login.data()["access_token"].as_str() else {
                    return (login.status, login.slug().map(str::to_owned), None);
                };
                let upload = node
                    .client()
                    .with_token(token)
                    .upload_key(key)
                    .await
                    .unwrap();
                (
                    login.status,
                    login.slug().map(str::to_owned),
                    Some((upload.status, upload.slug().map(str::to_owned))),
                )
            }
        });
    let started = Instant::now();
    let replies = tokio::time::timeout(BOUND, join_all(pairs))
        .await
        .expect("the logins and uploads finish within the bound");
    let all_served = replies
        .iter()
        .all(|(login, _, upload)| *login == 200 && matches!(upload, Some((201, _))));
    assert!(
        all_served,
        "{CLIENTS} login + upload pairs in {:?}: {replies:?}",
        started.elapsed()
    );
    for node in std::iter::once(&app).chain(&second) {
        assert_eq!(
            node.store.stats().timeouts,
            0,
            "no database operation timed out"
        );
    }

    // One exact chain, every event in it once, and one active key per API key.
    let report = app.registry().verify_audit().await.unwrap();
    assert_eq!(report.broken, None);
    let events = app
        .store
        .list_audit(&AuditFilter::default(), 1000)
        .await
        .unwrap();
    assert_eq!(report.checked, events.len() as u64);
    for kind in [AuditEventType::LoginSucceeded, AuditEventType::KeyUploaded] {
        let mut api_keys: Vec<_> = events
            .iter()
            .filter(|e| e.kind() == Some(kind))
            .map(|e| e.api_key_id.clone())
            .collect();
        assert_eq!(api_keys.len(), CLIENTS, "{kind:?}");
        api_keys.sort();
        api_keys.dedup();
        assert_eq!(api_keys.len(), CLIENTS, "{kind:?} once per API key");
    }
    for creds in &creds {
        let active = app
            .store
            .active_key(creds.api_key_id, app.now())
            .await
            .unwrap();
        assert!(active.is_some(), "{} has its key", creds.api_key);
    }
}

/// Writers that gave up leave the lock's queue (docs/operations.md, "Lock waits"): while
/// something else holds the audit append lock — here a session of the test's own, standing in
/// for a stalled node — uploads on two nodes each answer 503 within `database_timeout`, and
/// their waits end in the database too (`lock_timeout`), instead of keeping their places in
/// the queue and their pool connections until the lock comes free. Then the lock comes free
/// and every upload is served again on both nodes: no connection was lost to an abandoned wait.
/// PostgreSQL only: SQLite has one writer and no lock queue of this kind.
#[tokio::test]
async fn writers_that_gave_up_leave_the_lock_queue() {
    use sqlx::Connection;

    /// Waiting writers per node: most of its pool (10 connections).
    const PER_NODE: usize = 8;
    let timeout = Duration::from_secs(1);
    let app = spawn_app_with(Backend::Postgres, |s| s.database_timeout = timeout).await;
    let second = spawn_second_node(&app).await;
    let creds = join_all((0..2 * PER_NODE).map(|_| app.new_api_key())).await;
    let keys: Vec<String> = (0..2 * PER_NODE)
        .map(|_| std::thread::spawn(new_public_key))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    // Logged in before the lock is taken (a login appends to the chain too).
    let mut clients = Vec::new();
    for (i, creds) in creds.iter().enumerate() {
        let node = if i % 2 == 0 { &app } else { &second };
        let mut client = node.client();
        client.login(&creds.api_key, &creds.password).await.unwrap();
        clients.push(client);
    }

    let mut holder = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
    let mut observer = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(5, 0)")
        .execute(&mut holder)
        .await
        .unwrap();

    let started = Instant::now();
    let refused = join_all(clients.iter().zip(&keys).map(|(client, key)| async move {
        let reply = client.upload_key(key).await.unwrap();
        (reply.status, reply.slug().map(str::to_owned))
    }))
    .await;
    assert!(
        refused
            .iter()
            .all(|(status, slug)| *status == 503 && slug.as_deref() == Some("service_unavailable")),
        "{refused:?}"
    );
    assert!(
        started.elapsed() < timeout * 10,
        "answered in {:?}",
        started.elapsed()
    );
    // Nobody waits for the advisory lock any more once database_timeout has passed.
    let mut left = lock_waiters(&mut observer).await;
    let deadline = Instant::now() + timeout * 5;
    while left > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = lock_waiters(&mut observer).await;
    }
    assert_eq!(left, 0, "requests that gave up still wait for the lock");

    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    // One after another: the 1 s database_timeout is for the refusals above, not for sixteen
    // writers queueing on a loaded machine.
    for (client, key) in clients.iter().zip(&keys) {
        let served = client.upload_key(key).await.unwrap();
        assert_eq!(served.status, 201, "{served:?}");
    }
}

/// Sessions of this test's database waiting for an advisory lock now.
async fn lock_waiters(conn: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
         WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()",
    )
    .fetch_one(conn)
    .await
    .unwrap()
}
