//! Each refusal of docs/design.md §3 on inputs made with openssl, and each accepted form stored
//! canonically.

use serde_json::Value;

use keygate_testkit::*;

both_backends!(
    every_refusal_has_its_slug_and_stores_nothing,
    accepted_forms_are_stored_canonically,
    private_key_is_never_echoed,
    bad_bodies_get_clear_errors
);

fn gen(args: &[&str]) -> String {
    String::from_utf8(openssl(args, None)).unwrap()
}

async fn every_refusal_has_its_slug_and_stores_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (client, _) = app.logged_in().await;
    let rsa2048 = genrsa(2048);
    let ec = gen(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ]);
    let ed = gen(&["genpkey", "-algorithm", "ED25519"]);
    let e3 = gen(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-pkeyopt",
        "rsa_keygen_pubexp:3",
    ]);
    let pkcs1_private =
        String::from_utf8(openssl(&["rsa", "-traditional"], Some(rsa2048.as_bytes()))).unwrap();
    let encrypted = String::from_utf8(openssl(
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:secret",
        ],
        Some(rsa2048.as_bytes()),
    ))
    .unwrap();
    let two_blocks = format!("{}{}", new_public_key(), new_public_key());
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "RSA 1024",
            pubout(&genrsa(1024)),
            422,
            "public_key_wrong_size",
        ),
        (
            "RSA 3072",
            pubout(&genrsa(3072)),
            422,
            "public_key_wrong_size",
        ),
        (
            "RSA 4096",
            pubout(&genrsa(4096)),
            422,
            "public_key_wrong_size",
        ),
        (
            "EC P-256",
            String::from_utf8(openssl(&["pkey", "-pubout"], Some(ec.as_bytes()))).unwrap(),
            422,
            "public_key_not_rsa",
        ),
        (
            "Ed25519",
            String::from_utf8(openssl(&["pkey", "-pubout"], Some(ed.as_bytes()))).unwrap(),
            422,
            "public_key_not_rsa",
        ),
        (
            "PKCS#8 private",
            rsa2048.clone(),
            422,
            "private_key_submitted",
        ),
        (
            "PKCS#1 private",
            pkcs1_private,
            422,
            "private_key_submitted",
        ),
        ("encrypted private", encrypted, 422, "private_key_submitted"),
        ("EC private", ec.clone(), 422, "private_key_submitted"),
        ("e = 3", pubout(&e3), 422, "public_key_weak"),
        ("two PEM blocks", two_blocks, 422, "public_key_malformed"),
        (
            "garbage",
            "hello, this is my key".into(),
            422,
            "public_key_malformed",
        ),
        (
            "trailing data",
            format!("{}\nextra", new_public_key().trim_end()),
            422,
            "public_key_malformed",
        ),
        (
            "broken base64",
            "-----BEGIN PUBLIC KEY-----\nMIIB@@@\n-----END PUBLIC KEY-----".into(),
            422,
            "public_key_malformed",
        ),
        ("empty", "   ".into(), 422, "public_key_malformed"),
    ];
    for (what, input, status, slug) in &cases {
        let reply = client.upload_key(input).await.unwrap();
        assert_eq!(
            (reply.status, reply.slug()),
            (*status, Some(*slug)),
            "{what}: {:?}",
            reply.body
        );
        let message = reply.body["message"].as_str().unwrap();
        assert!(
            message.len() > 40,
            "{what}: the message should say what to do: {message}"
        );
        if *slug == "public_key_wrong_size" {
            let bits = what.split_whitespace().last().unwrap();
            assert!(
                message.contains(bits),
                "{what}: the message names the size found: {message}"
            );
        }
        if *slug == "private_key_submitted" {
            assert!(message.contains("compromised"), "{message}");
        }
    }
    let table = client.list_keys().await.unwrap();
    assert_eq!(
        table.data()["keys"],
        Value::Array(vec![]),
        "nothing is stored after refusals"
    );

    // A private key is reported as such even while a key is active.
    assert_eq!(
        client.upload_key(&new_public_key()).await.unwrap().status,
        201
    );
    let reply = client.upload_key(&genrsa(2048)).await.unwrap();
    assert_eq!(reply.slug(), Some("private_key_submitted"));
    // Refusals still store nothing.
    assert_eq!(
        client.list_keys().await.unwrap().data()["keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn accepted_forms_are_stored_canonically(backend: Backend) {
    let app = spawn_app(backend).await;
    let private = genrsa(2048);
    let canonical = pubout(&private).trim_end().to_string();
    let cert_key = genrsa(2048);
    let cert = String::from_utf8(openssl(
        &[
            "req",
            "-x509",
            "-key",
            "/dev/stdin",
            "-subj",
            "/CN=keygate test",
            "-days",
            "30",
        ],
        Some(cert_key.as_bytes()),
    ))
    .unwrap();
    let pkcs1 = |pem: &str| {
        String::from_utf8(openssl(
            &["rsa", "-pubin", "-RSAPublicKey_out"],
            Some(pem.as_bytes()),
        ))
        .unwrap()
    };
    let rewrap = |pem: &str, width: usize| {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let lines: Vec<String> = body
            .as_bytes()
            .chunks(width)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    };
    let k = |_: u8| pubout(&genrsa(2048)).trim_end().to_string();
    let (k1, k2, k3, k4) = (k(1), k(2), k(3), k(4));
    let cases: Vec<(&str, String, String)> = vec![
        ("openssl -pubout", canonical.clone(), canonical.clone()),
        (
            "certificate",
            cert,
            pubout(&cert_key).trim_end().to_string(),
        ),
        ("PKCS#1 public", pkcs1(&k1), k1.clone()),
        ("CRLF", k2.replace('\n', "\r\n"), k2.clone()),
        ("76 columns", rewrap(&k3, 76), k3.clone()),
        (
            "double-escaped \\n",
            format!("  {}  ", k4.replace('\n', "\\n")),
            k4.clone(),
        ),
    ];
    for (what, input, expected) in cases {
        let (client, _) = app.logged_in().await;
        let reply = client.upload_key(&input).await.unwrap();
        assert_eq!(reply.status, 201, "{what}: {:?}", reply.body);
        let stored = reply.data()["api_key"]["public_key"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(stored, expected, "{what}");
        assert!(
            stored.starts_with("-----BEGIN PUBLIC KEY-----\n")
                && stored.ends_with("-----END PUBLIC KEY-----")
        );
        assert!(stored.lines().all(|l| l.len() <= 64));
        let view = client.current_key().await.unwrap();
        assert_eq!(
            view.data()["api_key"]["public_key"].as_str().unwrap(),
            expected,
            "{what}"
        );
    }
}

async fn private_key_is_never_echoed(backend: Backend) {
    let logs = capture_logs();
    let app = spawn_app(backend).await;
    let (client, _) = app.logged_in().await;
    let private = genrsa(2048);
    // A distinctive piece of the secret: a base64 line from the middle of the key.
    let secret_line = private.lines().nth(10).unwrap().to_string();
    for variant in [private.clone(), private.replace('\n', "\\n")] {
        let reply = client.upload_key(&variant).await.unwrap();
        assert_eq!(reply.slug(), Some("private_key_submitted"));
        assert!(!reply.body.to_string().contains(&secret_line));
    }
    // Inside a malformed JSON body too.
    let reply = client
        .send(
            reqwest::Method::POST,
            "/clients/api_key/public_key",
            Some(
                format!("{{\"public_key\": [\"{}\"]}}", private.replace('\n', "\\n")).into_bytes(),
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(reply.status, 400);
    assert!(
        !reply.body.to_string().contains(&secret_line),
        "{}",
        reply.body
    );
    assert_eq!(
        client.list_keys().await.unwrap().data()["keys"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert!(
        !database_text(&app).await.contains(&secret_line),
        "the database holds no trace of the key"
    );
    assert!(
        !logs.contents().contains(&secret_line),
        "no log line holds the key"
    );
    assert!(!logs.contents().is_empty(), "logs were captured");
}

async fn bad_bodies_get_clear_errors(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.max_body_bytes = 4096).await;
    let (client, _) = app.logged_in().await;
    let path = "/clients/api_key/public_key";
    let post = |body: &str| {
        client.send(
            reqwest::Method::POST,
            path,
            Some(body.as_bytes().to_vec()),
            &[],
        )
    };
    let r = post("{not json").await.unwrap();
    assert_eq!((r.status, r.slug()), (400, Some("invalid_request")));
    let r = post("{}").await.unwrap();
    assert_eq!((r.status, r.slug()), (400, Some("invalid_request")));
    assert!(
        r.body["message"].as_str().unwrap().contains("public_key"),
        "{}",
        r.body
    );
    let big = format!("{{\"public_key\": \"{}\"}}", "A".repeat(10_000));
    let r = post(&big).await.unwrap();
    assert_eq!((r.status, r.slug()), (413, Some("payload_too_large")));
    let r = client
        .send(
            reqwest::Method::POST,
            path,
            None,
            &[("content-type", "text/plain")],
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.slug()), (415, Some("unsupported_media_type")));
    let r = client
        .send(reqwest::Method::PUT, path, None, &[])
        .await
        .unwrap();
    assert_eq!(r.status, 405);
    assert_eq!(r.body["success"], false);
    let r = client
        .send(reqwest::Method::GET, "/no/such/path", None, &[])
        .await
        .unwrap();
    assert_eq!((r.status, r.slug()), (404, Some("not_found")));
    // A big body on an endpoint that needs a token is still answered, never hangs.
    let anonymous = app.client();
    let r = anonymous
        .send(reqwest::Method::POST, path, Some(big.into_bytes()), &[])
        .await
        .unwrap();
    assert!(r.status == 401 || r.status == 413, "{}", r.status);
}
