//! The audit trail through the web page (docs/design.md §11): each form's change appears once
//! with the API key as actor and the visitor's address, and the page's "Activity" section shows
//! the newest events in English, Greek and Spanish.

use keygate_testkit::{both_backends, new_public_key, spawn_app, Backend};
use reqwest::StatusCode;

use crate::web::Browser;

both_backends!(page_changes_are_audited_and_shown_as_activity);

async fn page_changes_are_audited_and_shown_as_activity(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.logged_in(&creds).await;
    let page = browser.get("/").await;
    assert!(page.body.contains("id=\"activity\""), "{}", page.body);
    assert!(page.body.contains("data-event=\"login.succeeded\""));

    assert_eq!(
        browser.upload(&csrf, &new_public_key()).await.location(),
        Some("/?done=uploaded")
    );
    for then in ["/successor/withdraw", ""] {
        let pem = new_public_key();
        let reply = browser
            .post_multipart("/successor", &[("csrf", &csrf), ("public_key", &pem)], None)
            .await;
        assert_eq!(reply.location(), Some("/?done=staged"), "{}", reply.body);
        if !then.is_empty() {
            let reply = browser.post_form(then, &[("csrf", &csrf)]).await;
            assert_eq!(reply.location(), Some("/?done=withdrawn"));
        }
    }
    let reply = browser
        .post_form("/successor/activate", &[("csrf", &csrf)])
        .await;
    assert_eq!(reply.location(), Some("/?done=activated"), "{}", reply.body);
    let reply = browser
        .post_form("/revoke", &[("csrf", &csrf), ("reason", "moving on")])
        .await;
    assert_eq!(reply.location(), Some("/?done=revoked"));

    // The Activity section, newest first, in each language.
    for (lang, heading, uploaded, you) in [
        ("en", "Activity", "Public key uploaded", "You"),
        ("el", "Δραστηριότητα", "Ανέβηκε δημόσιο κλειδί", "Εσείς"),
        ("es", "Actividad", "Clave pública subida", "Usted"),
    ] {
        let page = browser.get(&format!("/?lang={lang}")).await;
        assert_eq!(page.status, StatusCode::OK);
        for text in [heading, uploaded, you, "127.0.0.1"] {
            assert!(page.body.contains(text), "{lang} lacks {text}");
        }
        let revoked = page.body.find("data-event=\"key.revoked\"").unwrap();
        let logged_in = page.body.find("data-event=\"login.succeeded\"").unwrap();
        assert!(revoked < logged_in, "newest first");
    }

    let reply = browser.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);

    let mut events = app.store.audit_chain_page(0, 1000).await.unwrap();
    events.retain(|e| e.event_type != "system_key.created");
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "login.succeeded",
            "key.uploaded",
            "key.successor_staged",
            "key.successor_withdrawn",
            "key.successor_staged",
            "key.retired",
            "key.successor_activated",
            "key.revoked",
            "logout"
        ]
    );
    for e in &events {
        assert_eq!(e.actor, format!("api_key:{}", creds.api_key_id), "{e:?}");
        assert_eq!(e.source.as_deref(), Some("127.0.0.1"), "{e:?}");
    }
    assert!(events[7].details.contains("moving on"));
    assert_eq!(app.registry().verify_audit().await.unwrap().broken, None);
}
