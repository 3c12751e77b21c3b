//! The issue-4 scenario in a real headless Chromium, driven through chromedriver with fantoccini.
//!
//! This test FAILS when Chromium or chromedriver is missing (install them with
//! `apt-get install -y chromium chromium-driver`; override the paths with `KEYGATE_CHROMIUM` and
//! `KEYGATE_CHROMEDRIVER`). With `KEYGATE_SCREENSHOTS=1` the SQLite run saves the screenshots
//! `docs/screenshots/page-{en,el,es}.png`.
//!
//! One file past 400 lines on purpose: one scenario in one real browser, step after step; its
//! driver helpers serve only it (and its rotation part, `chromium/rotation.rs`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use keygate_core::model::KeyStatus;
use serde_json::json;

use keygate_testkit::both_backends;
use keygate_testkit::{genrsa, new_public_key, spawn_app, Backend, Credentials, TestApp};

mod rotation;
mod self_check;

both_backends!(the_page_in_a_real_browser);

fn binary(var: &str, default: &str) -> PathBuf {
    let path = PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_string()));
    assert!(
        path.exists(),
        "{} is required for the browser test and is missing (apt-get install -y chromium chromium-driver, or set {var})",
        path.display()
    );
    path
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver() -> Driver {
    let chromedriver = binary("KEYGATE_CHROMEDRIVER", "/usr/bin/chromedriver");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    loop {
        let ready = reqwest::get(format!("{}/status", driver.url))
            .await
            .map(|r| r.status().is_success());
        if matches!(ready, Ok(true)) {
            return driver;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start_browser(driver: &Driver, profile: &Path) -> Client {
    let chromium = binary("KEYGATE_CHROMIUM", "/usr/bin/chromium");
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--window-size=1280,1000",
                "--lang=en-US", "--hide-scrollbars",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session through chromedriver")
}

async fn the_page_in_a_real_browser(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let driver = start_driver().await;
    let profile =
        std::env::temp_dir().join(format!("kg-chromium-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&profile).unwrap();
    let browser = start_browser(&driver, &profile).await;
    // Close the browser whatever happens, then report.
    let outcome = std::panic::AssertUnwindSafe(scenario(&browser, &app, &creds, backend))
        .catch_unwind()
        .await;
    let _ = browser.close().await;
    drop(driver);
    let _ = std::fs::remove_dir_all(&profile);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn find(b: &Client, css: &str) -> fantoccini::elements::Element {
    match b
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => element,
        Err(e) => {
            let url = b.current_url().await.ok();
            let source = b.source().await.unwrap_or_default();
            panic!("`{css}` not found on {url:?}: {e}\n{source}")
        }
    }
}

/// Click something that loads a new page, and wait until the old page is gone.
async fn click_and_load(b: &Client, css: &str) {
    let old = find(b, "html").await;
    find(b, css).await.click().await.unwrap();
    let started = Instant::now();
    while old.tag_name().await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "clicking `{css}` loaded no page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text(b: &Client, css: &str) -> String {
    find(b, css).await.text().await.unwrap()
}

async fn path(b: &Client) -> String {
    b.current_url().await.unwrap().path().to_string()
}

async fn paste_and_upload(b: &Client, pem: &str) {
    let area = find(b, "#public_key").await;
    area.clear().await.unwrap();
    area.send_keys(pem).await.unwrap();
    click_and_load(b, "#upload-button").await;
}

/// Status texts of the table's rows, newest first.
async fn statuses(b: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for row in b.find_all(Locator::Css("#keys tbody tr")).await.unwrap() {
        out.push(
            row.find(Locator::Css(".status"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    out
}

fn english_date(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .format("%-d %b %Y")
        .to_string()
}

fn numeric_date(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .format("%d/%m/%Y")
        .to_string()
}

/// A screenshot of the whole page at `width` CSS pixels. Saved under `docs/screenshots/` (the
/// README's pictures) only with `KEYGATE_SCREENSHOTS=1`, so that a test run leaves the tree
/// clean (every run has new dates and fingerprints); otherwise under the temp directory.
async fn screenshot(b: &Client, name: &str, width: u32) {
    let dir = if std::env::var("KEYGATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots")
    } else {
        std::env::temp_dir().join("keygate-screenshots")
    };
    std::fs::create_dir_all(&dir).unwrap();
    b.set_window_size(width, 1000).await.unwrap();
    let sizes = b
        .execute(
            "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];",
            vec![],
        )
        .await
        .unwrap();
    let height = sizes[0].as_u64().unwrap_or(1000) + sizes[1].as_u64().unwrap_or(0);
    b.set_window_size(width, height.clamp(600, 4000) as u32)
        .await
        .unwrap();
    let png = b.screenshot().await.unwrap();
    b.set_window_size(1280, 1000).await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(dir.join(name), png).unwrap();
}

async fn scenario(b: &Client, app: &TestApp, creds: &Credentials, backend: Backend) {
    let base = &app.base_url;
    let validity = app.settings.key_validity.as_secs() as i64;

    // A visitor without a session is sent to the login page.
    b.goto(&format!("{base}/?lang=en")).await.unwrap();
    assert_eq!(path(b).await, "/login");

    // Log in.
    if backend == Backend::Sqlite {
        screenshot(b, "login-en.png", 1280).await;
    }
    find(b, "#api_key")
        .await
        .send_keys(&creds.api_key)
        .await
        .unwrap();
    find(b, "#password")
        .await
        .send_keys(&creds.password)
        .await
        .unwrap();
    click_and_load(b, "#login-button").await;
    assert!(text(b, "#no-active-key")
        .await
        .contains("No active key: your API calls are refused until you upload one."));
    assert_eq!(path(b).await, "/");

    // Upload a key made by openssl, pasted.
    let first = new_public_key();
    paste_and_upload(b, &first).await;
    assert!(text(b, "#notice").await.contains("uploaded"));
    // The Activity section: the upload, then the login, by "You" (docs/design.md §11).
    let activity = text(b, "#activity-table tbody").await;
    let (uploaded, logged_in) = (
        activity.find("Public key uploaded"),
        activity.find("Logged in"),
    );
    assert!(
        uploaded.is_some() && logged_in.is_some() && uploaded < logged_in,
        "{activity}"
    );
    assert!(activity.contains("You"), "{activity}");
    let now = app.now();
    assert_eq!(statuses(b).await, ["ACTIVE"]);
    assert_eq!(text(b, "#keys tbody tr .issued").await, english_date(now));
    assert_eq!(
        text(b, "#keys tbody tr .expires").await,
        english_date(now + validity)
    );
    assert_eq!(
        english_date(now + validity),
        english_date(now + 365 * 24 * 3600)
    );

    // A second upload is refused, beside the form, with the paste kept.
    let second = new_public_key();
    paste_and_upload(b, &second).await;
    let error = find(b, "#upload-error").await;
    assert_eq!(
        error.attr("data-slug").await.unwrap().as_deref(),
        Some("active_key_exists")
    );
    assert!(error
        .text()
        .await
        .unwrap()
        .contains("already has an active public key"));
    let kept = find(b, "#public_key")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.trim(), second.trim());

    // A private key: its own message, and the box is emptied.
    paste_and_upload(b, &genrsa(2048)).await;
    let error = find(b, "#upload-error").await;
    assert_eq!(
        error.attr("data-slug").await.unwrap().as_deref(),
        Some("private_key_submitted")
    );
    assert!(error
        .text()
        .await
        .unwrap()
        .contains("You submitted a PRIVATE key"));
    assert_eq!(
        find(b, "#public_key")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    assert!(!b.source().await.unwrap().contains("PRIVATE KEY-----"));

    // Revoke, through the confirmation step, with a reason.
    click_and_load(b, "#revoke-button").await;
    assert_eq!(path(b).await, "/revoke");
    assert!(text(b, "#revoke-question")
        .await
        .contains("Revoke the active key"));
    find(b, "#reason")
        .await
        .send_keys("rotating keys")
        .await
        .unwrap();
    click_and_load(b, "#confirm-revoke").await;
    assert!(text(b, "#notice").await.contains("revoked"));
    assert_eq!(statuses(b).await, ["REVOKED"]);
    assert!(text(b, "#keys .revoked-info")
        .await
        .contains("rotating keys"));
    find(b, "#no-active-key").await;

    // Upload a new key with the file chooser.
    let third = new_public_key();
    let file = std::env::temp_dir().join(format!("kg-{}.pem", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, &third).unwrap();
    find(b, "#key_file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    click_and_load(b, "#upload-button").await;
    let _ = std::fs::remove_file(&file);
    assert!(text(b, "#notice").await.contains("uploaded"));
    assert_eq!(statuses(b).await, ["ACTIVE", "REVOKED"]);
    let active = app
        .store
        .active_key(creds.api_key_id, app.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.public_key_pem, third.trim_end());
    assert_eq!(active.status(app.now()), KeyStatus::Active);

    // View key.
    click_and_load(b, "#keys tbody tr:first-child a.view-key").await;
    assert_eq!(path(b).await, format!("/keys/{}", active.id));
    assert_eq!(text(b, "#key-fingerprint").await, active.fingerprint_sha256);
    assert_eq!(text(b, "#key-thumbprint").await, active.jwk_thumbprint);
    assert_eq!(text(b, "#key-bits").await, "2048");
    assert_eq!(text(b, "#key-exponent").await, "65537");
    let pem = find(b, "#pem").await.prop("value").await.unwrap().unwrap();
    assert_eq!(pem, active.public_key_pem);
    // The copy button appears once copy.js has run (it stays hidden without JavaScript).
    let copy = find(b, "button.copy").await;
    let started = Instant::now();
    while !copy.is_displayed().await.unwrap() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the copy button never appeared"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if backend == Backend::Sqlite {
        screenshot(b, "key-en.png", 1280).await;
    }
    click_and_load(b, "#back").await;
    assert_eq!(path(b).await, "/");

    // Greek, then Spanish: the page is translated, dates in the language's format.
    let shots = backend == Backend::Sqlite;
    click_and_load(b, "#lang-el").await;
    assert_eq!(
        find(b, "html").await.attr("lang").await.unwrap().as_deref(),
        Some("el")
    );
    assert_eq!(text(b, "h1").await, "Πιστοποιητικό API");
    assert_eq!(statuses(b).await, ["ΕΝΕΡΓΟ", "ΑΝΑΚΛΗΘΗΚΕ"]);
    assert_eq!(
        text(b, "#keys tbody tr .issued").await,
        numeric_date(active.issued_at)
    );
    assert!(text(b, "#upload-button").await.contains("Μεταφόρτωση"));
    assert!(text(b, "#logout-button").await.contains("Αποσύνδεση"));
    if shots {
        screenshot(b, "page-el.png", 1280).await;
    }
    // Remembered: a plain reload stays in Greek.
    b.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(text(b, "h1").await, "Πιστοποιητικό API");

    click_and_load(b, "#lang-es").await;
    assert_eq!(
        find(b, "html").await.attr("lang").await.unwrap().as_deref(),
        Some("es")
    );
    assert_eq!(text(b, "h1").await, "Certificado de API");
    assert_eq!(statuses(b).await, ["ACTIVA", "REVOCADA"]);
    assert_eq!(
        text(b, "#keys tbody tr .expires").await,
        numeric_date(active.expires_at)
    );
    assert!(text(b, "#upload-button").await.contains("Subir"));
    if shots {
        screenshot(b, "page-es.png", 1280).await;
    }

    click_and_load(b, "#lang-en").await;
    assert_eq!(text(b, "h1").await, "API Certificate");
    assert_eq!(statuses(b).await, ["ACTIVE", "REVOKED"]);
    if shots {
        screenshot(b, "page-en.png", 1280).await;
        // Phone width: the table turns into one labelled card per key.
        screenshot(b, "page-en-phone.png", 390).await;
    }

    // Rotate: stage, withdraw, stage again, activate after the confirmation.
    let pair = rotation::stage_withdraw_and_activate(b, app, creds).await;

    // Prove the integration: a pasted signed request, then the encryption challenge.
    self_check::signed_request_and_challenge(b, app, creds, &pair).await;

    // Log out: back on the login page, and the page is closed to this browser.
    click_and_load(b, "#logout-button").await;
    find(b, "#login-button").await;
    assert_eq!(path(b).await, "/login");
    b.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(path(b).await, "/login");
}
