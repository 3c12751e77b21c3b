//! The status table and the key view show a rotation's statuses (`PENDING`, `RETIRING`,
//! `WITHDRAWN`) and when each changes, in every language (docs/design.md §2, "Rotation"; the
//! page's successor forms are tested in `rotation.rs`).

use std::time::Duration;

use reqwest::StatusCode;

use crate::web::Browser;
use keygate_testkit::*;

both_backends!(the_table_shows_every_rotation_status_and_when_it_changes);

async fn the_table_shows_every_rotation_status_and_when_it_changes(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.rotation_overlap = Duration::from_secs(600)).await;
    let (client, creds) = app.logged_in().await;
    let first = client.upload_key(&new_public_key()).await.unwrap();
    let first_id = first.data()["key"]["id"].as_str().unwrap().to_owned();
    client.stage_successor(&new_public_key()).await.unwrap();
    client.withdraw_successor().await.unwrap();
    client.stage_successor(&new_public_key()).await.unwrap();
    assert_eq!(client.activate_successor().await.unwrap().status, 200);
    client.stage_successor(&new_public_key()).await.unwrap();

    let mut browser = Browser::new(&app);
    browser.logged_in(&creds).await;
    let page = browser.get("/?lang=en").await;
    assert_eq!(page.status, StatusCode::OK);
    for class in [
        "status pending",
        "status active",
        "status withdrawn",
        "status retiring",
    ] {
        assert!(page.body.contains(class), "{class}: {}", page.body);
    }
    for text in [
        "PENDING",
        "RETIRING",
        "WITHDRAWN",
        "Becomes active on",
        "Still accepted until",
        "Withdrawn on",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    // A retiring key is not shown as revoked before its overlap ends.
    assert!(!page.body.contains("Revoked on"), "{}", page.body);
    let view = browser.get(&format!("/keys/{first_id}")).await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(view.body.contains("status retiring") && view.body.contains("Still accepted until"));

    for (lang, words) in [
        ("el", ["ΣΕ ΑΝΑΜΟΝΗ", "ΣΕ ΑΠΟΣΥΡΣΗ", "ΑΠΟΣΥΡΘΗΚΕ"]),
        ("es", ["PENDIENTE", "EN RETIRADA", "RETIRADA"]),
    ] {
        let page = browser.get(&format!("/?lang={lang}")).await;
        for word in words {
            assert!(page.body.contains(word), "{lang}: {word}");
        }
    }

    // After the overlap: revoked at its end, naming its successor.
    app.time.advance(600);
    let page = browser.get("/?lang=en").await;
    assert!(!page.body.contains("status retiring"));
    assert!(page.body.contains("Revoked on"), "{}", page.body);
    assert!(page.body.contains("replaced by its successor"));
}
