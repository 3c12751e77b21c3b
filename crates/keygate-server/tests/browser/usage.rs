//! The page shows each key's usage (docs/design.md §5, "Usage"): when it was last used, the
//! counts, and the last refusal with its slug, in relative words, in every language.

use std::time::Duration;

use keygate_core::jose::SigAlg;
use reqwest::{Method, StatusCode};

use crate::web::Browser;
use keygate_testkit::*;

both_backends!(the_table_and_the_key_page_show_the_usage);

async fn the_table_and_the_key_page_show_the_usage(backend: Backend) {
    // The demo's signed card route is the gateway route called here.
    let app = spawn_app_with(backend, |s| {
        s.demo = true;
        s.usage_flush_interval = Duration::from_millis(200);
    })
    .await;
    let (client, creds) = app.logged_in().await;
    let pair = KeyPair::openssl();
    let uploaded = client.upload_key(&pair.public_pem).await.unwrap();
    let key_id = uploaded.data()["key"]["id"].as_str().unwrap().to_owned();
    let call = async |iat: i64| {
        let sig = pair.sign(
            SigAlg::PS256,
            Some(&key_id),
            "GET",
            "/demo/cards/42",
            b"",
            client.token(),
            iat,
        );
        client
            .send(
                Method::GET,
                "/demo/cards/42",
                None,
                &[("X-Request-Signature", &sig)],
            )
            .await
            .unwrap()
            .status
    };

    let mut browser = Browser::new(&app);
    browser.logged_in(&creds).await;
    let page = browser.get("/?lang=en").await;
    assert!(page.body.contains("Never used"), "{}", page.body);

    // Two accepted calls, then a stale one a minute later.
    let start = app.now();
    assert_eq!(call(start).await, 200);
    assert_eq!(call(start).await, 200);
    app.time.advance(60);
    assert_eq!(call(start - 3600).await, 401);
    // Shown once flushed; read three minutes after the refusal.
    assert!(
        eventually(Duration::from_secs(10), async || {
            let table = client.list_keys().await.unwrap();
            table.data()["keys"][0]["usage"]["refused"] == 1
        })
        .await
    );
    app.time.advance(180);

    let page = browser.get("/?lang=en").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "<th scope=\"col\">Usage</th>",
        "Last used 4 minutes ago",
        "2 calls accepted, 1 refused",
        "data-slug=\"signature_stale\">Last refusal: signature_stale, 3 minutes ago",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    let view = browser.get(&format!("/keys/{key_id}?lang=en")).await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(
        view.body
            .contains("Last refusal: signature_stale, 3 minutes ago"),
        "{}",
        view.body
    );
    for (lang, words) in [
        (
            "el",
            [
                "Τελευταία χρήση: πριν από 4 λεπτά",
                "2 κλήσεις έγιναν δεκτές, 1 απορρίφθηκε",
                "Τελευταία απόρριψη: signature_stale, πριν από 3 λεπτά",
            ],
        ),
        (
            "es",
            [
                "Último uso: hace 4 minutos",
                "2 llamadas aceptadas, 1 rechazada",
                "Último rechazo: signature_stale, hace 3 minutos",
            ],
        ),
    ] {
        let page = browser.get(&format!("/?lang={lang}")).await;
        for word in words {
            assert!(page.body.contains(word), "{lang}: {word}: {}", page.body);
        }
    }
}
