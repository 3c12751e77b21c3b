//! The self-check on the page (docs/design.md §5, "Self-check"; docs/web.md): a signed request
//! pasted into `/self-check` gets the gateway's every check in the page's language, naming the
//! failing one; `/self-check/encryption` hands out a challenge that the page's own openssl
//! command reads, answered once — on SQLite and PostgreSQL, over HTTP.

use keygate_client::http::KeygateClient;
use keygate_core::jose::SigAlg;
use reqwest::StatusCode;

use crate::web::{Browser, Reply};
use keygate_testkit::*;

both_backends!(
    the_page_checks_a_pasted_signed_request_and_names_the_failing_check,
    a_malformed_jws_is_explained_in_the_pages_language,
    the_page_refuses_a_bad_form_and_never_shows_the_token,
    the_page_hands_out_an_encryption_challenge_its_openssl_command_reads,
);

const PATH: &str = "/cards/42?expand=pin";
const BODY: &str = "{\"amount\": 1200,\n \"currency\": \"EUR\"}";

/// A logged-in page for an API key whose active key is `pair`'s; the API client, the page's
/// CSRF token and the key's id.
async fn with_key(app: &TestApp, pair: &KeyPair) -> (KeygateClient, Browser, String, String) {
    let (client, creds) = app.logged_in().await;
    let reply = client.upload_key(&pair.public_pem).await.unwrap();
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let kid = reply.data()["key"]["id"].as_str().unwrap().to_owned();
    let mut browser = Browser::new(app);
    let csrf = browser.logged_in(&creds).await;
    (client, browser, csrf, kid)
}

/// `(check, ok)` of every row of the report, in order.
fn rows(html: &str) -> Vec<(String, bool)> {
    html.split("<tr data-check=\"")
        .skip(1)
        .map(|rest| {
            let name = rest.split('"').next().unwrap().to_owned();
            let ok = rest.split("data-ok=\"").nth(1).unwrap().starts_with("true");
            (name, ok)
        })
        .collect()
}

fn failed(html: &str) -> Vec<String> {
    rows(html)
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(name, _)| name)
        .collect()
}

/// The detail cell of one check's row.
fn detail<'a>(html: &'a str, check: &str) -> &'a str {
    let row = html
        .split(&format!("<tr data-check=\"{check}\""))
        .nth(1)
        .unwrap();
    let cell = row.split("class=\"detail\">").nth(1).unwrap();
    cell.split("</td>").next().unwrap()
}

async fn check(
    browser: &mut Browser,
    csrf: &str,
    method: &str,
    path: &str,
    body: &str,
    signature: &str,
    token: &str,
) -> Reply {
    browser
        .post_form(
            "/self-check",
            &[
                ("csrf", csrf),
                ("method", method),
                ("path", path),
                // As a browser sends a textarea: CRLF line breaks.
                ("body", &body.replace('\n', "\r\n")),
                ("newlines", "lf"),
                ("signature", signature),
                ("token", token),
            ],
        )
        .await
}

async fn the_page_checks_a_pasted_signed_request_and_names_the_failing_check(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = KeyPair::openssl();
    let (client, mut browser, csrf, kid) = with_key(&app, &pair).await;
    let token = client.token().unwrap().to_owned();
    let now = app.now();
    let sign = |kid: Option<&str>, path: &str, body: &str, token: Option<&str>, iat: i64| {
        pair.sign(
            SigAlg::RS256,
            kid,
            "POST",
            path,
            body.as_bytes(),
            token,
            iat,
        )
    };

    let form = browser.get("/self-check").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains("action=\"/self-check\""),
        "{}",
        form.body
    );
    assert!(!form.body.contains("id=\"results\""));

    // A request as the gateway would accept it: every check passes; the body's LF line breaks
    // survive the browser's CRLF.
    let good = sign(Some(&kid), PATH, BODY, None, now);
    let reply = check(&mut browser, &csrf, "POST", PATH, BODY, &good, "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("id=\"results\" data-ok=\"true\""));
    let names: Vec<String> = rows(&reply.body).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, SELF_CHECK_ORDER);
    assert!(failed(&reply.body).is_empty());
    // The jti is not recorded: the same signature checks again.
    let reply = check(&mut browser, &csrf, "POST", PATH, BODY, &good, "").await;
    assert!(failed(&reply.body).is_empty(), "{}", reply.body);
    // The form keeps what was pasted, but never the token.
    assert!(reply.body.contains(&good));

    // Each mistake is named, with what was expected and found.
    let other = KeyPair::openssl();
    let cases: [(&str, String, &str, &str, &str); 5] = [
        (
            "htu",
            sign(Some(&kid), "/cards/43", BODY, None, now),
            PATH,
            BODY,
            "/cards/43",
        ),
        (
            "iat",
            sign(Some(&kid), PATH, BODY, None, now - 3600),
            PATH,
            BODY,
            "behind",
        ),
        (
            "body_sha256",
            sign(Some(&kid), PATH, BODY, None, now),
            PATH,
            "{\"amount\": 9900}",
            "is not the SHA-256",
        ),
        (
            "kid",
            sign(
                Some("d6f1c5e2-0000-4000-8000-000000000000"),
                PATH,
                BODY,
                None,
                now,
            ),
            PATH,
            BODY,
            "is not the id of your active key",
        ),
        (
            "signature",
            other.sign(
                SigAlg::RS256,
                Some(&kid),
                "POST",
                PATH,
                BODY.as_bytes(),
                None,
                now,
            ),
            PATH,
            BODY,
            "does not verify",
        ),
    ];
    for (name, signature, path, body, words) in cases {
        let reply = check(&mut browser, &csrf, "POST", path, body, &signature, "").await;
        assert_eq!(reply.status, StatusCode::OK, "{name}: {}", reply.body);
        assert!(reply.body.contains("id=\"results\" data-ok=\"false\""));
        assert_eq!(failed(&reply.body), [name], "{}", reply.body);
        assert!(
            detail(&reply.body, name).contains(words),
            "{name}: {}",
            detail(&reply.body, name)
        );
    }

    // A signed ath: compared with the token when it is pasted, and said so when it is not.
    let with_ath = sign(Some(&kid), PATH, BODY, Some(&token), now);
    let reply = check(&mut browser, &csrf, "POST", PATH, BODY, &with_ath, "").await;
    assert_eq!(failed(&reply.body), ["ath"]);
    assert!(detail(&reply.body, "ath").contains("no access token was given"));
    let reply = check(&mut browser, &csrf, "POST", PATH, BODY, &with_ath, &token).await;
    assert!(failed(&reply.body).is_empty(), "{}", reply.body);
    assert!(!reply.body.contains(&token), "the token is never shown");

    // In the page's language.
    let reply = browser
        .post_form(
            "/self-check?lang=es",
            &[
                ("csrf", &csrf),
                ("method", "GET"),
                ("path", PATH),
                ("signature", &good),
            ],
        )
        .await;
    assert_eq!(
        failed(&reply.body),
        ["htm", "body_sha256"],
        "{}",
        reply.body
    );
    assert!(
        detail(&reply.body, "htm").contains("no es el método de esta petición"),
        "{}",
        detail(&reply.body, "htm")
    );
    assert!(reply.body.contains("Algunas comprobaciones fallaron"));
}

/// Each way a JWS can be malformed has its own words in every catalogue: the Spanish and Greek
/// pages say it in their language, while the JSON API stays English.
async fn a_malformed_jws_is_explained_in_the_pages_language(backend: Backend) {
    use keygate_core::jose::b64url_encode as b64;
    let app = spawn_app(backend).await;
    let pair = KeyPair::openssl();
    let (client, mut browser, csrf, kid) = with_key(&app, &pair).await;
    let claims = b64(
        serde_json::json!({"iat": app.now(), "jti": new_jti(), "htm": "GET", "htu": PATH})
            .to_string(),
    );
    let header = |h: serde_json::Value| b64(h.to_string());
    let rs256 = header(serde_json::json!({"alg": "RS256", "kid": kid}));
    let crit = header(serde_json::json!({"alg": "RS256", "kid": kid, "crit": ["exp"]}));
    // (signature, English, Spanish, Greek)
    let cases = [
        (
            "not-a-jws".to_owned(),
            "is not a compact JWS",
            "no es un JWS compacto",
            "δεν είναι compact JWS",
        ),
        (
            format!("!!.{claims}.AA"),
            "the JWS header (the first part) is not the base64url of a JSON object",
            "la cabecera del JWS (la primera parte) no es el base64url de un objeto JSON",
            "η κεφαλίδα του JWS (το πρώτο μέρος) δεν είναι το base64url ενός αντικειμένου JSON",
        ),
        (
            format!("{crit}.{claims}.AA"),
            "keygate supports no JWS extensions",
            "keygate no admite ninguna extensión de JWS",
            "το keygate δεν υποστηρίζει καμία επέκταση JWS",
        ),
        (
            format!("{rs256}.{}.AA", b64("not json")),
            "the JWS payload (the second part) is not the base64url of a UTF-8 JSON object",
            "el contenido del JWS (la segunda parte) no es el base64url de un objeto JSON",
            "το περιεχόμενο του JWS (το δεύτερο μέρος) δεν είναι το base64url ενός αντικειμένου JSON",
        ),
    ];
    for (signature, english, spanish, greek) in cases {
        for (lang, words) in [("es", spanish), ("el", greek)] {
            let reply = browser
                .post_form(
                    &format!("/self-check?lang={lang}"),
                    &[
                        ("csrf", &csrf),
                        ("method", "GET"),
                        ("path", PATH),
                        ("signature", &signature),
                    ],
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert!(failed(&reply.body).contains(&"jws".to_owned()));
            let said = detail(&reply.body, "jws");
            assert!(said.contains(words), "{lang} {signature}: {said}");
            assert!(!said.contains(english), "{lang} {signature}: {said}");
        }
        // The JSON API answers in English.
        let reply = client.check_signature(None, &signature).await.unwrap();
        let jws = reply.data()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "jws")
            .unwrap()
            .clone();
        assert_eq!(jws["ok"], false, "{jws}");
        assert!(
            jws["detail"].as_str().unwrap().contains(english),
            "{signature}: {jws}"
        );
    }
}

async fn the_page_refuses_a_bad_form_and_never_shows_the_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = KeyPair::openssl();
    let (client, mut browser, csrf, kid) = with_key(&app, &pair).await;
    let good = pair.sign(SigAlg::RS256, Some(&kid), "GET", PATH, b"", None, app.now());

    // Without the CSRF token: refused, nothing run.
    let reply = browser
        .post_form(
            "/self-check",
            &[("method", "GET"), ("path", PATH), ("signature", &good)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert!(!reply.body.contains("id=\"results\""));

    // A method not offered, a path that is not one, a body over the limit.
    for (method, path, body, words) in [
        ("TRACE", PATH, "", "Choose one of the methods offered"),
        ("GET", "cards/42", "", "The path must start with /"),
        ("GET", "/cards/4 2", "", "The path must start with /"),
        ("GET", "/cards/\u{2215}42", "", "The path must start with /"),
    ] {
        let reply = check(&mut browser, &csrf, method, path, body, &good, "").await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{method} {path}");
        assert!(
            reply.body.contains(words),
            "{method} {path}: {}",
            reply.body
        );
        assert!(!reply.body.contains("id=\"results\""));
    }

    // A body over max_body_bytes: said so (413), not taken for a stale form.
    let reply = check(
        &mut browser,
        &csrf,
        "POST",
        PATH,
        &"x".repeat(1024 * 1024 + 1),
        &good,
        "",
    )
    .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        reply.body.contains("larger than 1048576 bytes"),
        "{}",
        reply.body
    );

    // A token that is not a live one of this API key: one answer, and never shown again.
    let (other_client, _) = app.logged_in().await;
    let foreign = other_client.token().unwrap().to_owned();
    for token in [
        foreign.as_str(),
        "not-a-token-at-all",
        client.token().unwrap(),
    ] {
        let reply = check(&mut browser, &csrf, "GET", PATH, "", &good, token).await;
        assert!(!reply.body.contains(token), "the token is never shown");
        if token == client.token().unwrap() {
            assert_eq!(reply.status, StatusCode::OK);
        } else {
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
            assert!(reply.body.contains("not a live access token"));
        }
    }

    // No signature at all: the jws check says what to send.
    let reply = check(&mut browser, &csrf, "GET", PATH, "", "", "").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        failed(&reply.body)[..2],
        ["jws".to_owned(), "alg".to_owned()]
    );

    // Pasted text that is not ASCII (a typographic dot), or far longer than any JWS, yet
    // under max_body_bytes: the jws check says what is wrong, briefly, and nothing breaks.
    let not_ascii = good.replacen('.', "\u{2024}", 1);
    let reply = check(&mut browser, &csrf, "GET", PATH, "", &not_ascii, "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(failed(&reply.body)[0], "jws");
    assert!(
        detail(&reply.body, "jws").contains("is not ASCII"),
        "{}",
        detail(&reply.body, "jws")
    );
    let part = "e".repeat(300_000);
    let long = format!("{part}.{part}.{part}");
    let reply = check(&mut browser, &csrf, "GET", PATH, "", &long, "").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(failed(&reply.body)[0], "jws");
    let said = detail(&reply.body, "jws");
    assert!(
        !said.is_empty() && said.len() < 1000 && !said.contains(&part[..1000]),
        "a short reason, not the pasted text: {} bytes",
        said.len()
    );
}

/// The challenge's id, from its answer form.
fn challenge_id(html: &str) -> String {
    let rest = html.split("name=\"challenge_id\" value=\"").nth(1).unwrap();
    rest.split('"').next().unwrap().to_owned()
}

/// `&#39;` and the other entities askama writes, back to text.
fn unescape(html: &str) -> String {
    html.replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text of the element with `id`, up to its closing tag.
fn element_text(html: &str, id: &str, close: &str) -> String {
    let rest = html.split(&format!("id=\"{id}\"")).nth(1).unwrap();
    let inner = rest.split_once('>').unwrap().1;
    unescape(inner.split(close).next().unwrap())
}

async fn the_page_hands_out_an_encryption_challenge_its_openssl_command_reads(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, creds) = app.logged_in().await;
    let mut browser = Browser::new(&app);
    let csrf = browser.logged_in(&creds).await;

    // No active key: nothing to encrypt to.
    let page = browser.get("/self-check/encryption").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    assert!(page.body.contains("no active public key"));

    let pair = KeyPair::openssl();
    browser.upload(&csrf, &pair.public_pem).await;
    let dir = std::env::temp_dir().join(format!("kg-selfcheck-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("private.pem"), &pair.private_pem).unwrap();

    // Each raw scheme's command, run as shown by a shell in the directory of private.pem.
    for scheme in ["rsa-oaep-256", "rsa-pkcs1"] {
        let page = browser.get("/self-check/encryption").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let id = challenge_id(&page.body);
        let command = element_text(&page.body, &format!("openssl-{scheme}"), "</code>");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{command}: {:?}", out);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.len() >= 32, "{text}");

        let page_csrf = page.csrf();
        let reply = browser
            .post_form(
                "/self-check/encryption",
                &[
                    ("csrf", &page_csrf),
                    ("challenge_id", &id),
                    ("plaintext", &text),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert!(
            reply
                .body
                .contains("id=\"answer-outcome\" data-ok=\"true\""),
            "{}",
            reply.body
        );
        // Once.
        let reply = browser
            .post_form(
                "/self-check/encryption?lang=el",
                &[
                    ("csrf", &page_csrf),
                    ("challenge_id", &id),
                    ("plaintext", &text),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
        assert!(reply.body.contains("Αυτή η πρόκληση έχει ήδη απαντηθεί"));
    }
    let _ = std::fs::remove_dir_all(&dir);

    // A wrong text is said so, and uses the challenge up; an unknown id is said so; the JWE is
    // there for a JOSE library.
    let page = browser.get("/self-check/encryption?lang=en").await;
    assert_eq!(
        element_text(&page.body, "ct-jwe", "</textarea>")
            .split('.')
            .count(),
        5
    );
    let id = challenge_id(&page.body);
    let reply = browser
        .post_form(
            "/self-check/encryption",
            &[
                ("csrf", &csrf),
                ("challenge_id", &id),
                ("plaintext", "a guess"),
            ],
        )
        .await;
    assert!(reply.body.contains("data-ok=\"false\""));
    assert!(reply.body.contains("not the text that was encrypted"));
    let reply = browser
        .post_form(
            "/self-check/encryption",
            &[
                ("csrf", &csrf),
                ("challenge_id", "not-an-id"),
                ("plaintext", "x"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert!(reply.body.contains("no such challenge"));
    // Without the CSRF token nothing is answered.
    let page = browser.get("/self-check/encryption").await;
    let id = challenge_id(&page.body);
    let reply = browser
        .post_form(
            "/self-check/encryption",
            &[("challenge_id", &id), ("plaintext", "x")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = browser
        .post_form(
            "/self-check/encryption",
            &[("csrf", &csrf), ("challenge_id", &id), ("plaintext", "x")],
        )
        .await;
    assert!(
        reply.body.contains("data-ok=\"false\""),
        "still open: {}",
        reply.body
    );
}
