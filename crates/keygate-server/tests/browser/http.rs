//! HTTP-level tests of the web page, on SQLite and PostgreSQL.
//!
//! One file past 400 lines on purpose: a list of independent checks of the page, each short,
//! all on the same `Browser` fixture; read it as a table of cases.

use std::time::Duration;

use keygate_core::model::KeyStatus;
use reqwest::StatusCode;

use crate::web::Browser;
use keygate_testkit::both_backends;
use keygate_testkit::{
    capture_logs, genrsa, new_public_key, pubout, spawn_app, spawn_app_with, Backend, Immutable,
};

both_backends!(
    visitors_without_a_session_are_sent_to_login,
    security_headers_are_on_every_web_response,
    session_cookie_attributes,
    session_cookie_is_secure_when_configured,
    posts_without_their_csrf_token_are_refused_and_change_nothing,
    login_without_its_csrf_token_is_refused,
    a_pasted_private_key_is_never_echoed_nor_logged,
    refusals_are_translated_and_keep_the_paste,
    a_pem_file_can_be_uploaded,
    revoke_needs_a_confirmation_and_keeps_the_reason,
    login_errors_are_shown_translated,
    logout_ends_the_session,
    language_is_chosen_and_remembered,
    a_key_expiring_soon_shows_a_banner,
    another_api_keys_key_is_not_found,
    a_session_cookie_sent_twice_is_not_used,
    malformed_logins_are_explained_and_count_nothing,
);

mod sqlite_only {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_page_answers_503_while_the_database_cannot_be_written() {
        super::the_page_answers_503_while_the_database_cannot_be_written().await
    }
}

/// A login on the page while the database cannot be written: a translated 503 page with
/// `Retry-After` (docs/operations.md), never the internal-error page.
async fn the_page_answers_503_while_the_database_cannot_be_written() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.database_timeout = Duration::from_secs(1)
    })
    .await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    browser.accept_language = Some("es".into());
    let form = browser.get("/login").await;
    let (file, wal) = app.sqlite_files();
    let guards = (Immutable::set(&file), Immutable::set(&wal));
    let reply = browser
        .post_form(
            "/login",
            &[
                ("csrf", &form.csrf()),
                ("api_key", &creds.api_key),
                ("password", &creds.password),
            ],
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert!(reply.headers.contains_key("retry-after"));
    assert!(
        reply.body.contains("no puede acceder a su base de datos"),
        "{}",
        reply.body
    );
    drop(guards);
    let form = browser.get("/login").await;
    let reply = browser
        .post_form(
            "/login",
            &[
                ("csrf", &form.csrf()),
                ("api_key", &creds.api_key),
                ("password", &creds.password),
            ],
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::SEE_OTHER,
        "works again: {}",
        reply.body
    );
}

async fn visitors_without_a_session_are_sent_to_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut browser = Browser::new(&app);
    for path in ["/", "/revoke", &format!("/keys/{}", uuid::Uuid::new_v4())] {
        let reply = browser.get(path).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.location(), Some("/login"), "{path}");
    }
    let reply = browser
        .post_multipart("/upload", &[("public_key", "x")], None)
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/login"));
    // A stale session cookie is cleared on the way.
    browser
        .cookies
        .insert("kg_session".into(), "not-a-session".into());
    let reply = browser.get("/").await;
    assert_eq!(reply.location(), Some("/login"));
    assert!(reply
        .set_cookie("kg_session")
        .unwrap()
        .contains("Max-Age=0"));
    let login = browser.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains("name=\"api_key\"") && login.body.contains("name=\"password\""));
    assert!(
        login.body.contains("<label for=\"api_key\">")
            && login.body.contains("<label for=\"password\">")
    );
}

async fn security_headers_are_on_every_web_response(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    let anonymous = [
        browser.get("/login").await,
        browser.get("/").await,
        browser.get("/static/keygate.css").await,
        browser.get("/static/copy.js").await,
    ];
    let csrf = browser.logged_in(&creds).await;
    browser.upload(&csrf, &new_public_key()).await;
    let page = browser.get("/").await;
    let forbidden = browser.post_form("/revoke", &[("csrf", "wrong")]).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let confirm = browser.get("/revoke").await;
    assert_eq!(confirm.status, StatusCode::OK);
    for reply in anonymous.iter().chain([&page, &forbidden, &confirm]) {
        let h = &reply.headers;
        let csp = h
            .get("content-security-policy")
            .expect("CSP")
            .to_str()
            .unwrap();
        assert_eq!(
            csp,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer");
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
        assert_eq!(h.get("cache-control").unwrap(), "no-store");
    }
    // No inline script or style anywhere: everything comes from /static.
    for html in [&anonymous[0].body, &page.body, &confirm.body] {
        assert!(
            !html.contains("<script>") && !html.contains(" style=") && !html.contains("<style"),
            "{html}"
        );
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no external resources: {html}"
        );
    }
    assert!(anonymous[2]
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

async fn session_cookie_attributes(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    let form = browser.get("/login").await;
    let pre = form.set_cookie("kg_login").expect("pre-login CSRF cookie");
    assert!(
        pre.contains("HttpOnly") && pre.contains("SameSite=Strict") && pre.contains("Path=/"),
        "{pre}"
    );
    let reply = browser
        .post_form(
            "/login",
            &[
                ("csrf", &form.csrf()),
                ("api_key", &creds.api_key),
                ("password", &creds.password),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let cookie = reply.set_cookie("kg_session").expect("session cookie");
    let ttl = app.settings.token_ttl.as_secs();
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        &format!("Max-Age={ttl}"),
    ] {
        assert!(
            cookie.split("; ").any(|p| p == part),
            "{cookie} lacks {part}"
        );
    }
    assert!(!cookie.contains("Secure"), "no TLS here: {cookie}");
    // The cookie's value is a working session token.
    let token = browser.cookies["kg_session"].clone();
    let hash = keygate_server::auth::token_hash(&token);
    let (principal, _) = app
        .store
        .find_session(&hash, app.now())
        .await
        .unwrap()
        .expect("a live session");
    assert_eq!(principal.api_key.id, creds.api_key_id);
}

async fn session_cookie_is_secure_when_configured(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.cookie_secure = true).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    let reply = browser.login(&creds).await;
    let cookie = reply.set_cookie("kg_session").expect("session cookie");
    assert!(cookie.split("; ").any(|p| p == "Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
}

async fn posts_without_their_csrf_token_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.logged_in(&creds).await;
    let key = new_public_key();

    // Upload without a token, with a wrong one, with another session's token.
    let mut other = Browser::new(&app);
    let other_csrf = other.logged_in(&app.new_api_key().await).await;
    for fields in [
        vec![("public_key", key.as_str())],
        vec![("csrf", "AAAA"), ("public_key", key.as_str())],
        vec![("csrf", other_csrf.as_str()), ("public_key", key.as_str())],
    ] {
        let reply = browser.post_multipart("/upload", &fields, None).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        assert!(
            reply.body.contains("This form has expired"),
            "{}",
            reply.body
        );
    }
    assert!(
        app.store
            .list_keys(creds.api_key_id)
            .await
            .unwrap()
            .is_empty(),
        "nothing was stored"
    );

    // Revoke without a token leaves the key active.
    let reply = browser.upload(&csrf, &key).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let reply = browser.post_form("/revoke", &[("reason", "csrf")]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = browser.post_form("/revoke", &[("csrf", &other_csrf)]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let active = app
        .store
        .active_key(creds.api_key_id, app.now())
        .await
        .unwrap();
    assert!(active.is_some(), "the key is still active");

    // Logout without a token leaves the session working.
    let reply = browser.post_form("/logout", &[]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/").await.status, StatusCode::OK);

    // With the token, each works.
    let reply = browser.post_form("/revoke", &[("csrf", &csrf)]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(app
        .store
        .active_key(creds.api_key_id, app.now())
        .await
        .unwrap()
        .is_none());
}

async fn login_without_its_csrf_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    let fields = [
        ("api_key", creds.api_key.as_str()),
        ("password", creds.password.as_str()),
    ];
    // No pre-login cookie at all.
    let reply = browser.post_form("/login", &fields).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.set_cookie("kg_session").is_none());
    // A cookie, but no token / a token made for another browser (login CSRF).
    let mut attacker = Browser::new(&app);
    let attacker_csrf = attacker.get("/login").await.csrf();
    browser.get("/login").await;
    for csrf in ["", attacker_csrf.as_str()] {
        let mut with = fields.to_vec();
        with.push(("csrf", csrf));
        let reply = browser.post_form("/login", &with).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{csrf}");
        assert!(reply.set_cookie("kg_session").is_none());
    }
    assert_eq!(browser.get("/").await.location(), Some("/login"));
}

async fn a_pasted_private_key_is_never_echoed_nor_logged(backend: Backend) {
    let logs = capture_logs();
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.logged_in(&creds).await;
    let private = genrsa(2048);
    let secret_lines: Vec<&str> = private
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(secret_lines.len() > 10);

    // Pasted, and as a file.
    let pasted = browser.upload(&csrf, &private).await;
    let filed = browser
        .post_multipart(
            "/upload",
            &[("csrf", &csrf), ("public_key", "")],
            Some(private.as_bytes()),
        )
        .await;
    for reply in [&pasted, &filed] {
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            reply.body.contains("data-slug=\"private_key_submitted\""),
            "{}",
            reply.body
        );
        assert!(
            reply.body.contains("You submitted a PRIVATE key"),
            "{}",
            reply.body
        );
        assert!(reply.body.contains("</textarea>"));
        let textarea = reply.body.split("id=\"public_key\"").nth(1).unwrap();
        let content = textarea
            .split('>')
            .nth(1)
            .unwrap()
            .split("</textarea")
            .next()
            .unwrap();
        assert_eq!(content, "", "the box is emptied");
        for line in &secret_lines {
            assert!(!reply.body.contains(line), "the private key is echoed");
        }
        assert!(!reply.body.contains("BEGIN PRIVATE KEY"));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let logged = logs.contents();
    for line in &secret_lines {
        assert!(!logged.contains(line), "the private key reached the log");
    }
    assert!(app
        .store
        .list_keys(creds.api_key_id)
        .await
        .unwrap()
        .is_empty());
}

async fn refusals_are_translated_and_keep_the_paste(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    browser.accept_language = Some("es-ES,es;q=0.9,en;q=0.5".into());
    let csrf = browser.logged_in(&creds).await;

    let reply = browser.upload(&csrf, "hola, esto no es una clave").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body.contains("data-slug=\"public_key_malformed\""));
    assert!(
        reply
            .body
            .contains("Esto no es una clave pública PEM: no se ha encontrado ningún bloque PEM"),
        "{}",
        reply.body
    );
    assert!(
        reply
            .body
            .contains(">hola, esto no es una clave</textarea>"),
        "the paste is kept"
    );

    let small = pubout(&genrsa(1024));
    let reply = browser.upload(&csrf, &small).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply
            .body
            .contains("Esta clave RSA tiene 1024 bits; el tamaño permitido es 2048 bits"),
        "{}",
        reply.body
    );
    let first_line = small.lines().nth(1).unwrap();
    assert!(
        reply.body.contains(first_line),
        "the public key paste is kept"
    );

    let key = new_public_key();
    assert_eq!(
        browser.upload(&csrf, &key).await.status,
        StatusCode::SEE_OTHER
    );
    let second = new_public_key();
    let reply = browser.upload(&csrf, &second).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.body.contains("data-slug=\"active_key_exists\""));
    assert!(
        reply
            .body
            .contains("Esta clave de API ya tiene una clave pública activa"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains(second.lines().nth(1).unwrap()));

    // Revoke, then the old key again: reused.
    browser.post_form("/revoke", &[("csrf", &csrf)]).await;
    let reply = browser.upload(&csrf, &key).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.body.contains("data-slug=\"public_key_reused\""));
    assert!(reply
        .body
        .contains("Esta clave pública ya se registró antes"));
}

async fn a_pem_file_can_be_uploaded(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.logged_in(&creds).await;
    let key = new_public_key();
    let reply = browser
        .post_multipart(
            "/upload",
            &[("csrf", &csrf), ("public_key", "")],
            Some(key.as_bytes()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), Some("/?done=uploaded"));
    let page = browser.get("/?done=uploaded").await;
    assert!(page
        .body
        .contains("Your public key was uploaded and is now active."));
    assert!(page.body.contains("data-status=\"active\""));
    let record = app
        .store
        .active_key(creds.api_key_id, app.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.public_key_pem, key.trim_end());
    // The key view shows the details and the PEM.
    let view = browser.get(&format!("/keys/{}", record.id)).await;
    assert_eq!(view.status, StatusCode::OK);
    for needle in [
        record.fingerprint_sha256.as_str(),
        &record.jwk_thumbprint,
        "2048",
        "65537",
        "-----BEGIN PUBLIC KEY-----",
    ] {
        assert!(view.body.contains(needle), "{needle}");
    }
}

async fn revoke_needs_a_confirmation_and_keeps_the_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.logged_in(&creds).await;
    // Nothing to revoke: back to the page.
    assert_eq!(browser.get("/revoke").await.location(), Some("/"));
    browser.upload(&csrf, &new_public_key()).await;
    let confirm = browser.get("/revoke").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Revoke the active key"));
    assert!(confirm.body.contains("<label for=\"reason\">"));
    assert!(
        app.store
            .active_key(creds.api_key_id, app.now())
            .await
            .unwrap()
            .is_some(),
        "GET changes nothing"
    );
    let too_long = "x".repeat(501);
    let reply = browser
        .post_form(
            "/revoke",
            &[("csrf", &confirm.csrf()), ("reason", &too_long)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("at most 500 characters"));
    let reply = browser
        .post_form(
            "/revoke",
            &[
                ("csrf", &confirm.csrf()),
                ("reason", "laptop <stolen> & lost"),
            ],
        )
        .await;
    assert_eq!(reply.location(), Some("/?done=revoked"));
    let page = browser.get("/?done=revoked").await;
    assert!(page.body.contains("data-status=\"revoked\""));
    assert!(
        page.body.contains("laptop &#60;stolen&#62; &#38; lost")
            || page.body.contains("laptop &lt;stolen&gt; &amp; lost"),
        "escaped: {}",
        page.body
    );
    assert!(page
        .body
        .contains("No active key: your API calls are refused until you upload one."));
    let keys = app.store.list_keys(creds.api_key_id).await.unwrap();
    assert_eq!(keys[0].status(app.now()), KeyStatus::Revoked);
    assert_eq!(
        keys[0].revoke_reason.as_deref(),
        Some("laptop <stolen> & lost")
    );
}

async fn login_errors_are_shown_translated(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.login_max_failures_per_key = 2).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    browser.get("/login?lang=el").await;
    let mut wrong = creds_with_password(&creds, "wrong");
    let reply = browser.login(&wrong).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply
            .body
            .contains("Το κλειδί API ή ο κωδικός πρόσβασης είναι λάθος."),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains(&format!("value=\"{}\"", creds.api_key)),
        "the API key is kept"
    );
    assert!(
        !reply.body.contains("wrong\""),
        "the password is not echoed"
    );
    browser.login(&wrong).await;
    // The limit is reached: even the right password is refused, with Retry-After.
    wrong.password = creds.password.clone();
    let reply = browser.login(&wrong).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.headers.get("retry-after").is_some());
    assert!(
        reply
            .body
            .contains("Πάρα πολλές αποτυχημένες προσπάθειες. Δοκιμάστε ξανά σε 15 λεπτά."),
        "{}",
        reply.body
    );
    assert!(reply.set_cookie("kg_session").is_none());
}

fn creds_with_password(
    creds: &keygate_testkit::Credentials,
    password: &str,
) -> keygate_testkit::Credentials {
    keygate_testkit::Credentials {
        client_id: creds.client_id,
        api_key_id: creds.api_key_id,
        api_key: creds.api_key.clone(),
        password: password.to_string(),
    }
}

async fn logout_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.logged_in(&creds).await;
    let token = browser.cookies["kg_session"].clone();
    let reply = browser.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/login"));
    let cleared = reply.set_cookie("kg_session").unwrap();
    assert!(
        cleared.contains("Max-Age=0") && cleared.contains("HttpOnly"),
        "{cleared}"
    );
    // The old token is dead everywhere, including the JSON API.
    browser.cookies.insert("kg_session".into(), token.clone());
    assert_eq!(browser.get("/").await.location(), Some("/login"));
    let api = reqwest::Client::new()
        .get(format!("{}/clients/api_key/public_keys", app.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
}

async fn language_is_chosen_and_remembered(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut browser = Browser::new(&app);
    let en = browser.get("/login").await;
    assert!(en.body.contains("<html lang=\"en\">") && en.body.contains("Log in"));
    browser.accept_language = Some("es;q=0.8, el;q=0.9".into());
    let el = browser.get("/login").await;
    assert!(el.body.contains("<html lang=\"el\">") && el.body.contains("Σύνδεση"));
    let es = browser.get("/login?lang=es").await;
    assert!(es.body.contains("<html lang=\"es\">") && es.body.contains("Iniciar sesión"));
    let cookie = es.set_cookie("lang").unwrap();
    assert!(
        cookie.starts_with("lang=es;") && cookie.contains("Path=/"),
        "{cookie}"
    );
    // Remembered over Accept-Language.
    let again = browser.get("/login").await;
    assert!(again.body.contains("<html lang=\"es\">"));
    // An unknown language changes nothing.
    let unknown = browser.get("/login?lang=fr").await;
    assert!(unknown.body.contains("<html lang=\"es\">"));
    assert!(unknown.set_cookie("lang").is_none());
}

async fn a_key_expiring_soon_shows_a_banner(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.key_validity = Duration::from_secs(10 * 24 * 3600)
    })
    .await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.logged_in(&creds).await;
    let page = browser.get("/").await;
    assert!(!page.body.contains("id=\"expiry-banner\""));
    assert!(page
        .body
        .contains("No public key has been uploaded for this API key yet."));
    browser.upload(&csrf, &new_public_key()).await;
    let page = browser.get("/").await;
    assert!(page.body.contains("id=\"expiry-banner\""), "{}", page.body);
    assert!(page.body.contains("(in 10 days)"), "{}", page.body);

    let app = spawn_app(backend).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.logged_in(&creds).await;
    browser.upload(&csrf, &new_public_key()).await;
    let page = browser.get("/").await;
    assert!(
        !page.body.contains("id=\"expiry-banner\""),
        "a year away: no banner"
    );
}

async fn another_api_keys_key_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut alice = Browser::new(&app);
    let alice_creds = app.new_api_key().await;
    let csrf = alice.logged_in(&alice_creds).await;
    alice.upload(&csrf, &new_public_key()).await;
    let key = app
        .store
        .list_keys(alice_creds.api_key_id)
        .await
        .unwrap()
        .remove(0);
    let mut bob = Browser::new(&app);
    bob.logged_in(&app.new_api_key().await).await;
    for path in [format!("/keys/{}", key.id), "/keys/not-a-uuid".to_string()] {
        let reply = bob.get(&path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!reply.body.contains(&key.fingerprint_sha256));
    }
}

/// Cookie tossing: a second `kg_session` beside the visitor's (here the attacker's own live
/// session) makes the page use neither — the visitor is sent to `/login` — whether both come in
/// one `Cookie` header or in two; with one cookie the page is served.
async fn a_session_cookie_sent_twice_is_not_used(backend: Backend) {
    let app = spawn_app(backend).await;
    let (victim, attacker) = (app.new_api_key().await, app.new_api_key().await);
    let mut browser = Browser::new(&app);
    browser.logged_in(&victim).await;
    let mine = browser.cookies["kg_session"].clone();
    let mut other = Browser::new(&app);
    other.logged_in(&attacker).await;
    let theirs = other.cookies["kg_session"].clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |cookies: Vec<String>| {
        let mut request = http.get(format!("{}/", app.base_url));
        for cookie in cookies {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        async move { request.send().await.unwrap() }
    };
    let alone = get(vec![format!("kg_session={mine}")]).await;
    assert_eq!(alone.status(), StatusCode::OK);
    for cookies in [
        vec![format!("kg_session={mine}; lang=el; kg_session={theirs}")],
        vec![format!("kg_session={mine}"), format!("kg_session={theirs}")],
        vec![format!("kg_session={theirs}; kg_session={mine}")],
    ] {
        let reply = get(cookies.clone()).await;
        assert_eq!(reply.status(), StatusCode::SEE_OTHER, "{cookies:?}");
        assert_eq!(
            reply.headers()["location"].to_str().unwrap(),
            "/login",
            "{cookies:?}"
        );
    }
}

/// The login input's shape rule is the registry's (the JSON API answers 400 for the same
/// inputs): an empty password or a key with a control character gets 400 and a message, the
/// control character is not echoed, and none of it counts toward the failure limit.
async fn malformed_logins_are_explained_and_count_nothing(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.login_max_failures_per_key = 1).await;
    let creds = app.new_api_key().await;
    let mut browser = Browser::new(&app);
    browser.get("/login").await;
    for _ in 0..3 {
        let reply = browser.login(&creds_with_password(&creds, "")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply
            .body
            .contains("Enter both the API key and the password."));
        assert!(reply.body.contains(&format!("value=\"{}\"", creds.api_key)));
        let mut control = creds.clone();
        control.api_key = format!("{}\u{1}x", creds.api_key);
        let reply = browser.login(&control).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.body.contains("The API key or the password is wrong."));
        assert!(!reply.body.contains(&creds.api_key), "not echoed");
    }
    // Padded with whitespace (a paste), the right key and password still log in: nothing above
    // counted toward the limit of one failure.
    let mut padded = creds.clone();
    padded.api_key = format!("  {}\n", creds.api_key);
    let reply = browser.login(&padded).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
}
