//! The self-check part of the real-browser scenario (docs/web.md, "Self-check"): from the page,
//! check a signed request made by the client's key (passing, then naming a wrong path), and
//! answer an encryption challenge with the text openssl decrypts — by typing and clicking.

use keygate_core::jose::SigAlg;
use keygate_testkit::{openssl, Credentials, KeyPair, TestApp};

use super::{click_and_load, find, path, text};
use fantoccini::{Client, Locator};

/// The value of a form field or text area.
async fn value(b: &Client, css: &str) -> String {
    find(b, css)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Failed checks of the report, by name.
async fn failed(b: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for row in b
        .find_all(Locator::Css("#checks tbody tr[data-ok=false]"))
        .await
        .unwrap()
    {
        out.push(row.attr("data-check").await.unwrap().unwrap());
    }
    out
}

/// From the page, in English, with `pair` the active key.
pub(super) async fn signed_request_and_challenge(
    b: &Client,
    app: &TestApp,
    creds: &Credentials,
    pair: &KeyPair,
) {
    let kid = app
        .store
        .active_key(creds.api_key_id, app.now())
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let body = "{\"amount\": 1200,\n \"currency\": \"EUR\"}";

    // A signed request, pasted as the program sends it: every check passes (the browser sends
    // the body's line breaks as CRLF; LF is chosen).
    click_and_load(b, "#signature-check-link").await;
    assert_eq!(path(b).await, "/self-check");
    for (signed_path, failures) in [("/cards/42", vec![]), ("/cards/43", vec!["htu"])] {
        let jws = pair.sign(
            SigAlg::PS256,
            Some(&kid),
            "POST",
            signed_path,
            body.as_bytes(),
            None,
            app.now(),
        );
        find(b, "#method option[value=POST]")
            .await
            .click()
            .await
            .unwrap();
        let field = find(b, "#path").await;
        field.clear().await.unwrap();
        field.send_keys("/cards/42").await.unwrap();
        let field = find(b, "#body").await;
        field.clear().await.unwrap();
        field.send_keys(body).await.unwrap();
        let field = find(b, "#signature").await;
        field.clear().await.unwrap();
        field.send_keys(&jws).await.unwrap();
        click_and_load(b, "#run-checks").await;
        assert_eq!(failed(b).await, failures, "{signed_path}");
        let summary = text(b, "#results-summary").await;
        if failures.is_empty() {
            assert!(summary.contains("Every check passed"), "{summary}");
        } else {
            assert!(summary.contains("Some checks failed"), "{summary}");
            let htu = text(b, "#checks tr[data-check=htu] .detail").await;
            assert!(
                htu.contains("/cards/43") && htu.contains("/cards/42"),
                "{htu}"
            );
        }
        // What was pasted stays for the next try.
        assert_eq!(value(b, "#path").await, "/cards/42");
    }

    // The encryption challenge: decrypt the PKCS#1 text with openssl, type it in.
    click_and_load(b, "#encryption-check-link").await;
    assert_eq!(path(b).await, "/self-check/encryption");
    assert!(text(b, "#encryption-intro").await.contains(&kid));
    let ciphertext = value(b, "#ct-rsa-pkcs1").await;
    let key_file = std::env::temp_dir().join(format!("kg-{}.pem", uuid::Uuid::new_v4().simple()));
    std::fs::write(&key_file, &pair.private_pem).unwrap();
    let raw = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        ciphertext.trim(),
    )
    .unwrap();
    let plain = openssl(
        &[
            "pkeyutl",
            "-decrypt",
            "-inkey",
            key_file.to_str().unwrap(),
            "-pkeyopt",
            "rsa_padding_mode:pkcs1",
        ],
        Some(&raw),
    );
    let _ = std::fs::remove_file(&key_file);
    find(b, "#plaintext")
        .await
        .send_keys(&String::from_utf8(plain).unwrap())
        .await
        .unwrap();
    click_and_load(b, "#answer-button").await;
    let outcome = find(b, "#answer-outcome").await;
    assert_eq!(
        outcome.attr("data-ok").await.unwrap().as_deref(),
        Some("true")
    );
    assert!(outcome.text().await.unwrap().contains("Right"));
    click_and_load(b, "#back").await;
    assert_eq!(path(b).await, "/");
}
