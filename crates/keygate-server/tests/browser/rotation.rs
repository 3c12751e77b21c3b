//! The page's successor forms (docs/design.md §2, "Rotation"; docs/web.md): stage, withdraw and
//! activate a successor over HTTP, CSRF refusals, translated refusals, and the expiry banner's
//! link — on SQLite and PostgreSQL. The JSON API is the independent witness of each change.

use std::time::Duration;

use reqwest::StatusCode;

use crate::web::Browser;
use keygate_testkit::*;

both_backends!(
    a_successor_is_staged_withdrawn_staged_again_and_activated_on_the_page,
    successor_posts_without_their_csrf_token_change_nothing,
    successor_refusals_are_translated_and_keep_the_paste,
    the_expiry_banner_links_to_the_successor_form_until_one_is_staged,
    the_activation_confirmation_says_until_when_the_current_key_is_accepted,
);

/// The status each row of the table shows, newest first.
fn statuses(html: &str) -> Vec<&str> {
    html.split("data-status=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

async fn a_successor_is_staged_withdrawn_staged_again_and_activated_on_the_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, creds) = app.logged_in().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.logged_in(&creds).await;
    let page = browser.get("/").await;
    assert!(
        !page.body.contains("id=\"successor\""),
        "no successor form without an active key"
    );
    browser.upload(&csrf, &new_public_key()).await;
    let page = browser.get("/").await;
    assert!(page.body.contains("action=\"/successor\""), "{}", page.body);
    assert!(page.body.contains("id=\"successor_public_key\""));

    // Stage by pasting.
    let reply = browser
        .post_multipart(
            "/successor",
            &[("csrf", &csrf), ("public_key", &new_public_key())],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), Some("/?done=staged"));
    let page = browser.get("/?done=staged").await;
    assert!(page.body.contains("Your successor key was staged."));
    assert!(page.body.contains("id=\"successor-key\""), "{}", page.body);
    assert!(page.body.contains("id=\"withdraw-button\""));
    assert!(page.body.contains("href=\"/successor/activate\""));
    assert!(
        !page.body.contains("id=\"successor_public_key\""),
        "no second form"
    );
    assert_eq!(statuses(&page.body), ["pending", "active"]);
    assert_eq!(client.successor().await.unwrap().status, 200);

    // Withdraw.
    let reply = browser
        .post_form("/successor/withdraw", &[("csrf", &csrf)])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), Some("/?done=withdrawn"));
    assert_eq!(client.successor().await.unwrap().status, 404);
    let page = browser.get("/?done=withdrawn&lang=el").await;
    assert!(page.body.contains("Το διάδοχο κλειδί αποσύρθηκε."));
    assert_eq!(statuses(&page.body), ["withdrawn", "active"]);
    assert!(page.body.contains("id=\"successor_public_key\""));
    let reply = browser.get("/successor/activate").await;
    assert_eq!(reply.location(), Some("/"), "nothing to confirm");

    // Stage again, from a file.
    let next = new_public_key();
    let reply = browser
        .post_multipart(
            "/successor",
            &[("csrf", &csrf), ("public_key", "")],
            Some(next.as_bytes()),
        )
        .await;
    assert_eq!(reply.location(), Some("/?done=staged"), "{}", reply.body);
    let staged = client.successor().await.unwrap();
    let staged_id = staged.data()["key"]["id"].as_str().unwrap().to_owned();

    // Activate: a confirmation first, which changes nothing.
    let confirm = browser.get("/successor/activate?lang=es").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("id=\"confirm-activate\""));
    assert!(confirm.body.contains("¿Activar ahora la clave preparada"));
    assert!(
        confirm
            .body
            .contains("La clave actual se revoca de inmediato"),
        "{}",
        confirm.body
    );
    assert_eq!(client.successor().await.unwrap().status, 200);
    let reply = browser
        .post_form("/successor/activate", &[("csrf", &confirm.csrf())])
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), Some("/?done=activated"));
    let current = client.current_key().await.unwrap();
    assert_eq!(current.data()["key"]["id"], staged_id.as_str());
    let page = browser.get("/?done=activated&lang=en").await;
    assert!(page.body.contains("Your successor key is now active."));
    assert_eq!(statuses(&page.body), ["active", "withdrawn", "revoked"]);
    assert!(page.body.contains("replaced by its successor"));
}

async fn successor_posts_without_their_csrf_token_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, creds) = app.logged_in().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.logged_in(&creds).await;
    browser.upload(&csrf, &new_public_key()).await;

    for token in ["", "not-the-token"] {
        let reply = browser
            .post_multipart(
                "/successor",
                &[("csrf", token), ("public_key", &new_public_key())],
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        assert!(reply.body.contains("This form has expired"));
        assert_eq!(client.successor().await.unwrap().status, 404, "not staged");
    }

    client.stage_successor(&new_public_key()).await.unwrap();
    for path in ["/successor/withdraw", "/successor/activate"] {
        for fields in [vec![], vec![("csrf", "not-the-token")]] {
            let reply = browser.post_form(path, &fields).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{path}: {}",
                reply.body
            );
            assert_eq!(
                client.successor().await.unwrap().status,
                200,
                "{path}: still pending"
            );
        }
    }
    let page = browser.get("/").await;
    assert_eq!(statuses(&page.body), ["pending", "active"]);
}

async fn successor_refusals_are_translated_and_keep_the_paste(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, creds) = app.logged_in().await;
    let mut browser = Browser::new(&app);
    browser.accept_language = Some("es-ES,es;q=0.9".into());
    let csrf = browser.logged_in(&creds).await;

    // No active key: staging is refused (upload directly instead).
    let key = new_public_key();
    let reply = browser
        .post_multipart("/successor", &[("csrf", &csrf), ("public_key", &key)], None)
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(reply
        .body
        .contains("id=\"successor-error\" data-slug=\"no_active_key\""));
    assert!(reply
        .body
        .contains("Esta clave de API no tiene ninguna clave pública activa, así que"));
    assert!(reply.body.contains(key.lines().nth(1).unwrap()), "kept");

    browser.upload(&csrf, &key).await;
    let cases = [
        (
            "hola, esto no es una clave".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "public_key_malformed",
            "Esto no es una clave pública PEM",
        ),
        (
            pubout(&genrsa(1024)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "public_key_wrong_size",
            "Esta clave RSA tiene 1024 bits",
        ),
        (
            key.clone(),
            StatusCode::CONFLICT,
            "public_key_reused",
            "Esta clave pública ya se registró antes",
        ),
    ];
    for (pasted, status, slug, text) in cases {
        let reply = browser
            .post_multipart(
                "/successor",
                &[("csrf", &csrf), ("public_key", &pasted)],
                None,
            )
            .await;
        assert_eq!(reply.status, status, "{slug}: {}", reply.body);
        assert!(
            reply
                .body
                .contains(&format!("id=\"successor-error\" data-slug=\"{slug}\"")),
            "{slug}"
        );
        assert!(reply.body.contains(text), "{slug}: {}", reply.body);
        let first = pasted.lines().find(|l| !l.starts_with("-----")).unwrap();
        assert!(reply.body.contains(first), "{slug}: the paste is kept");
        assert!(
            !reply.body.contains("id=\"upload-error\""),
            "shown beside the successor form only"
        );
    }
    // A private key is refused and never echoed back.
    let private = genrsa(2048);
    let reply = browser
        .post_multipart(
            "/successor",
            &[("csrf", &csrf), ("public_key", &private)],
            None,
        )
        .await;
    assert!(reply.body.contains("data-slug=\"private_key_submitted\""));
    assert!(!reply.body.contains(private.lines().nth(1).unwrap()));
    assert_eq!(client.successor().await.unwrap().status, 404);

    // A second successor: successor_exists, beside the one already staged.
    browser
        .post_multipart(
            "/successor",
            &[("csrf", &csrf), ("public_key", &new_public_key())],
            None,
        )
        .await;
    let reply = browser
        .post_multipart(
            "/successor",
            &[("csrf", &csrf), ("public_key", &new_public_key())],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.body.contains("data-slug=\"successor_exists\""));
    assert!(reply
        .body
        .contains("Esta clave de API ya tiene una sucesora preparada."));
    assert!(reply.body.contains("id=\"successor-key\""));

    // Nothing staged: withdraw and activate are refused, translated.
    client.withdraw_successor().await.unwrap();
    for path in ["/successor/withdraw", "/successor/activate"] {
        let reply = browser.post_form(path, &[("csrf", &csrf)]).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.body
        );
        assert!(reply.body.contains("data-slug=\"no_successor\""), "{path}");
        assert!(reply
            .body
            .contains("Esta clave de API no tiene ninguna sucesora preparada."));
    }
    let page = browser.get("/").await;
    assert_eq!(statuses(&page.body), ["withdrawn", "active"]);
}

async fn the_expiry_banner_links_to_the_successor_form_until_one_is_staged(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.key_validity = Duration::from_secs(10 * 86_400);
        s.key_expiry_warning = Duration::from_secs(5 * 86_400);
    })
    .await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.logged_in(&creds).await;
    browser.upload(&csrf, &new_public_key()).await;
    let page = browser.get("/").await;
    assert!(
        !page.body.contains("id=\"expiry-banner\""),
        "10 days left, a 5-day warning: none yet"
    );
    app.time.advance(6 * 86_400);
    // Sessions do not last six days: log in again.
    let csrf = browser.logged_in(&creds).await;
    let page = browser.get("/").await;
    assert!(page.body.contains("id=\"expiry-banner\""), "{}", page.body);
    assert!(page.body.contains("(in 4 days)"));
    assert!(page.body.contains(
        "<a href=\"#successor-heading\" id=\"expiry-stage-link\">Stage the successor</a>"
    ));
    assert!(page.body.contains("id=\"successor-heading\""));

    let reply = browser
        .post_multipart(
            "/successor",
            &[("csrf", &csrf), ("public_key", &new_public_key())],
            None,
        )
        .await;
    assert_eq!(reply.location(), Some("/?done=staged"), "{}", reply.body);
    let page = browser.get("/").await;
    assert!(
        !page.body.contains("id=\"expiry-banner\""),
        "a staged successor: no banner"
    );
}

async fn the_activation_confirmation_says_until_when_the_current_key_is_accepted(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.rotation_overlap = Duration::from_secs(3600)).await;
    let (client, creds) = app.logged_in().await;
    client.upload_key(&new_public_key()).await.unwrap();
    client.stage_successor(&new_public_key()).await.unwrap();
    let mut browser = Browser::new(&app);
    browser.logged_in(&creds).await;
    let until = chrono::DateTime::from_timestamp(app.now() + 3600, 0)
        .unwrap()
        .format("%H:%M UTC")
        .to_string();
    let confirm = browser.get("/successor/activate?lang=en").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm
            .body
            .contains("The current key is still accepted until")
            && confirm.body.contains(&until),
        "{until}: {}",
        confirm.body
    );
    let reply = browser
        .post_form("/successor/activate", &[("csrf", &confirm.csrf())])
        .await;
    assert_eq!(reply.location(), Some("/?done=activated"));
    let page = browser.get("/").await;
    assert_eq!(statuses(&page.body), ["active", "retiring"]);
}
