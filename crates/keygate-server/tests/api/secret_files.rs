//! Files holding a secret (docs/deployment.md, "Secret files"): a node refuses to start when
//! other users can read or change one, or when it is not a regular file, naming the setting,
//! the file, its mode and the fix; a symlink is judged by its target (Kubernetes mounts secrets
//! so); a file only its group may read starts with a warning. The same holds for the master
//! key file, the TLS key and a route's upstream client key. A start is about configuration,
//! not the database, so this runs on SQLite only (as `a_bad_secret_stops_the_start`).

use std::path::Path;
use std::time::Duration;

use keygate_core::audit::AuditEventType;
use keygate_server::config::{RouteConfig, Settings, Signature, WebhookConfig, WebhookUrl};
use keygate_server::Application;
use keygate_testkit::*;

/// Builds a node with `settings`: its error's text, or `Ok` (the node dropped at once).
async fn start(settings: &Settings) -> Result<(), String> {
    Application::build(settings.clone())
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

fn refused(result: Result<(), String>, words: &[&str]) {
    let err = result.expect_err("the start must be refused");
    for w in words {
        assert!(err.contains(w), "{w:?} missing from: {err}");
    }
}

#[tokio::test]
async fn a_secret_file_others_can_read_or_change_stops_the_start() {
    let logs = capture_logs();
    let receiver = Receiver::start();
    let db = TestDatabase::new(Backend::Sqlite).await;
    let mut settings = test_settings(&db.url);
    settings.webhooks = vec![WebhookConfig {
        url: WebhookUrl::parse(&receiver.url).unwrap(),
        events: vec![AuditEventType::KeyRevoked],
        secret_file: Some(receiver.secret_file.clone()),
        secret_env: None,
        retry_for: Duration::from_secs(60),
        timeout: Duration::from_secs(5),
    }];
    let file = receiver.secret_file.clone();
    let shown = file.display().to_string();
    let chmod = format!("chmod 600 {shown}");

    // Readable by everyone (a plain umask-022 file, or Kubernetes' default 0644): refused.
    set_mode(&file, 0o644);
    refused(
        start(&settings).await,
        &[
            &format!("webhooks[0].secret_file {shown}"),
            "other users can read it (mode 0644)",
            &chmod,
            "defaultMode: 0400",
        ],
    );
    // Writable by the group: refused, whoever may read it.
    set_mode(&file, 0o660);
    refused(
        start(&settings).await,
        &["other users can change it (mode 0660)", &chmod],
    );
    // The secret itself never appears.
    let err = start(&settings).await.unwrap_err();
    assert!(!err.contains(&receiver.secret), "{err}");

    // 0600 and 0400 start.
    set_mode(&file, 0o600);
    start(&settings).await.expect("0600 starts");
    set_mode(&file, 0o400);
    start(&settings).await.expect("0400 starts");
    assert!(!logs.contents().contains("readable by its group"));
    // Readable by its group only: starts, with a warning naming the file.
    set_mode(&file, 0o640);
    start(&settings).await.expect("0640 starts");
    let warned = logs
        .contents()
        .lines()
        .any(|l| l.contains("readable by its group") && l.contains(&shown) && l.contains("0640"));
    assert!(warned, "{}", logs.contents());

    // A symlink, as Kubernetes mounts a secret (`hook.secret -> ..data/hook.secret`): the
    // target's mode counts.
    let dir = temp_dir("secret-link");
    std::fs::create_dir(dir.join("..data")).unwrap();
    let target = dir.join("..data").join("hook.secret");
    write_secret_file(&target, &format!("{}\n", receiver.secret));
    let link = dir.join("hook.secret");
    std::os::unix::fs::symlink(Path::new("..data").join("hook.secret"), &link).unwrap();
    settings.webhooks[0].secret_file = Some(link.clone());
    start(&settings)
        .await
        .expect("a link to a 0600 file starts");
    set_mode(&target, 0o644);
    refused(
        start(&settings).await,
        &[
            &format!("webhooks[0].secret_file {}", link.display()),
            "(mode 0644)",
        ],
    );
    // Not a regular file: a directory, a FIFO (opening one to read would wait for a writer)
    // and a device. Each is refused before anything opens it, so the start never hangs.
    let fifo = dir.join("hook.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo");
    set_mode(&fifo, 0o600);
    for path in [dir.join("..data"), fifo, "/dev/zero".into()] {
        settings.webhooks[0].secret_file = Some(path.clone());
        let result = tokio::time::timeout(Duration::from_secs(20), start(&settings))
            .await
            .unwrap_or_else(|_| panic!("the start hung on {}", path.display()));
        refused(
            result,
            &["is not a regular file", &path.display().to_string()],
        );
    }
    settings.webhooks.clear();

    // The master key file, once it exists (keygate made it 0600 at the first start above).
    let master = settings.master_key_file.clone();
    set_mode(&master, 0o644);
    refused(
        start(&settings).await,
        &[
            &format!("master_key_file {}", master.display()),
            "(mode 0644)",
            &format!("chmod 600 {}", master.display()),
        ],
    );
    set_mode(&master, 0o600);
    start(&settings)
        .await
        .expect("the master key file at 0600 starts");

    // The TLS key file.
    let (_, cert, key) = Pki::new().server("localhost");
    settings.tls_cert_file = Some(cert);
    settings.tls_key_file = Some(key.clone());
    set_mode(&key, 0o604);
    refused(
        start(&settings).await,
        &[&format!("tls_key_file {}", key.display()), "(mode 0604)"],
    );
    set_mode(&key, 0o600);
    start(&settings)
        .await
        .expect("the TLS key file at 0600 starts");

    // A route's client key for mutual TLS to its upstream.
    let pki = Pki::new();
    pki.ca("upstream-ca");
    let (client_cert, client_key) = pki.leaf("upstream-ca", "client", "clientAuth");
    settings.routes = vec![RouteConfig {
        path: "/cards/{id}".into(),
        upstream: "https://127.0.0.1:9".into(),
        signature: Signature::None,
        upstream_client_cert_file: Some(client_cert),
        upstream_client_key_file: Some(client_key.clone()),
        ..RouteConfig::default()
    }];
    set_mode(&client_key, 0o644);
    refused(
        start(&settings).await,
        &[
            &format!("upstream_client_key_file {}", client_key.display()),
            "(mode 0644)",
        ],
    );
    set_mode(&client_key, 0o600);
    start(&settings)
        .await
        .expect("the upstream client key at 0600 starts");
}
