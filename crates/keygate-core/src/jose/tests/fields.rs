//! Field encryption (response fields) and decryption (request fields), and the RFC 7516
//! example.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

// ---------------------------------------------------------------- RFC 7516 A.1

#[test]
fn rfc7516_a1_rsa_oaep_a256gcm_decrypts() {
    let pkcs8 = pkcs8_from_jwk(&RFC7516_A1_JWK);
    let private = PrivateDecryptingKey::from_pkcs8(&pkcs8).unwrap();
    let out = decrypt_compact_jwe(RFC7516_A1_JWE, &private, JweKeyAlg::RsaOaepSha1).unwrap();
    assert_eq!(out.plaintext, RFC7516_A1_PLAINTEXT.as_bytes());
    assert_eq!(out.kid, None);

    // RSA-OAEP (SHA-1) is refused when RSA-OAEP-256 is asked for…
    assert!(decrypt_compact_jwe(RFC7516_A1_JWE, &private, JweKeyAlg::RsaOaep256).is_err());
    // …and inbound, where only RSA-OAEP-256 is accepted.
    let system = SystemKey::from_pkcs8_der(&pkcs8).unwrap();
    let mut doc = json!({ "pan": RFC7516_A1_JWE });
    assert_eq!(
        decrypt_fields(&mut doc, &["/pan".into()], &[&system]),
        Err(EncryptedFieldInvalid)
    );
    // A changed tag fails.
    let tampered = format!("{}A", &RFC7516_A1_JWE[..RFC7516_A1_JWE.len() - 1]);
    assert!(decrypt_compact_jwe(&tampered, &private, JweKeyAlg::RsaOaepSha1).is_err());
}

#[test]
fn encrypt_fields_round_trips_in_every_scheme() {
    let k = test_key();
    let original = json!({
        "card": {"pan": "4111111111111111", "cvv": 123, "a/b": ["x"]},
        "list": [{"pin": "1234"}],
        "public": "visible"
    });
    let pointers: Vec<String> = [
        "/card/pan",
        "/card/cvv",
        "/card/a~1b",
        "/list/0/pin",
        "/absent",
        "/card/nope",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for scheme in [Scheme::Jwe, Scheme::RsaOaep256, Scheme::RsaPkcs1] {
        let mut doc = original.clone();
        encrypt_fields(&mut doc, &pointers, scheme, &k.key).unwrap();
        assert_eq!(doc["public"], "visible");
        assert!(doc.pointer("/absent").is_none());
        assert!(doc.pointer("/card/nope").is_none());
        for (pointer, expected, is_json) in [
            ("/card/pan", "4111111111111111", false),
            ("/card/cvv", "123", true),
            ("/card/a~1b", "[\"x\"]", true),
            ("/list/0/pin", "1234", false),
        ] {
            let ct = doc.pointer(pointer).unwrap().as_str().unwrap();
            assert_ne!(ct, expected);
            let plain = match scheme {
                Scheme::Jwe => {
                    let header = jwe_header(ct);
                    assert_eq!(header["alg"], "RSA-OAEP-256");
                    assert_eq!(header["enc"], "A256GCM");
                    assert_eq!(header["kid"], k.key.kid());
                    assert_eq!(header.get("cty").is_some(), is_json);
                    if is_json {
                        assert_eq!(header["cty"], "json");
                    }
                    decrypt_compact_jwe(ct, &k.private, JweKeyAlg::RsaOaep256)
                        .unwrap()
                        .plaintext
                }
                Scheme::RsaOaep256 => oaep_decrypt(&k.private, ct),
                Scheme::RsaPkcs1 => pkcs1_decrypt(&k.private, ct),
            };
            assert_eq!(
                String::from_utf8(plain).unwrap(),
                expected,
                "{scheme:?} {pointer}"
            );
        }
    }
}

#[test]
fn encrypt_fields_refuses_bad_pointers_and_long_raw_plaintexts() {
    let k = test_key();
    let mut doc = json!({"a": "x".repeat(300)});
    assert_eq!(
        encrypt_fields(&mut doc, &["a".into()], Scheme::Jwe, &k.key),
        Err(FieldError::InvalidPointer("a".into()))
    );
    assert!(matches!(
        encrypt_fields(&mut doc, &["/a".into()], Scheme::RsaOaep256, &k.key),
        Err(FieldError::PlaintextTooLong { max: 190, .. })
    ));
    assert!(matches!(
        encrypt_fields(&mut doc, &["/a".into()], Scheme::RsaPkcs1, &k.key),
        Err(FieldError::PlaintextTooLong { max: 245, .. })
    ));
    // JWE has no such limit.
    encrypt_fields(&mut doc, &["/a".into()], Scheme::Jwe, &k.key).unwrap();
    let plain = decrypt_compact_jwe(
        doc["a"].as_str().unwrap(),
        &k.private,
        JweKeyAlg::RsaOaep256,
    )
    .unwrap()
    .plaintext;
    assert_eq!(plain.len(), 300);
}

#[test]
fn scheme_names() {
    for (scheme, name) in [
        (Scheme::Jwe, "jwe"),
        (Scheme::RsaOaep256, "rsa-oaep-256"),
        (Scheme::RsaPkcs1, "rsa-pkcs1"),
    ] {
        assert_eq!(serde_json::to_value(scheme).unwrap(), name);
        assert_eq!(
            serde_json::from_value::<Scheme>(json!(name)).unwrap(),
            scheme
        );
        assert_eq!(Scheme::from_name(name), Some(scheme));
    }
    assert_eq!(Scheme::default(), Scheme::Jwe);
}

fn system_oaep(sk: &SystemKey, plaintext: &[u8]) -> String {
    let public = PublicEncryptingKey::from_der(sk.public_spki_der()).unwrap();
    let key = aws_lc_rs::rsa::OaepPublicEncryptingKey::new(public).unwrap();
    let mut out = vec![0u8; key.ciphertext_size()];
    b64_std_encode(
        key.encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, None)
            .unwrap(),
    )
}

fn system_jwe(sk: &SystemKey, kid: Option<&str>, json: bool, plaintext: &[u8]) -> String {
    let public = PublicEncryptingKey::from_der(sk.public_spki_der()).unwrap();
    let key = aws_lc_rs::rsa::OaepPublicEncryptingKey::new(public).unwrap();
    encrypt_compact_jwe(&key, kid, json, plaintext).unwrap()
}

#[test]
fn decrypt_fields_accepts_jwe_and_oaep() {
    let sk = system_key();
    let old = SystemKey::generate().unwrap();
    let mut doc = json!({
        "a": system_jwe(sk, Some(sk.kid()), false, "4111 1111".as_bytes()),
        "b": system_jwe(sk, None, true, br#"{"x":[1,2]}"#),
        "c": system_oaep(sk, "1234".as_bytes()),
        "d": system_jwe(&old, Some(old.kid()), false, b"grace"),
        "e": system_oaep(&old, b"grace too"),
        "plain": "left alone",
    });
    let pointers: Vec<String> = ["/a", "/b", "/c", "/d", "/e", "/missing"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    decrypt_fields(&mut doc, &pointers, &[sk, &old]).unwrap();
    assert_eq!(
        doc,
        json!({"a": "4111 1111", "b": {"x": [1, 2]}, "c": "1234", "d": "grace", "e": "grace too", "plain": "left alone"})
    );
}

#[test]
fn decrypt_fields_in_json_changes_only_the_named_values() {
    let sk = system_key();
    let pin = system_oaep(sk, b"1357");
    let obj = system_jwe(sk, None, true, br#"{"big": 12345678901234567890123}"#);
    let body = format!(
        r#"{{ "z": 12345678901234567890123, "f": 0.1000000000000000055511151231257827,
  "pin" :"{pin}", "nested": {{"obj": "{obj}"}}, "a": "\u00e9" }}"#
    );
    let out = decrypt_fields_in_json(
        body.as_bytes(),
        &["/pin".into(), "/nested/obj".into()],
        &[sk],
    )
    .unwrap();
    let expected = body.replace(&format!(r#""{pin}""#), r#""1357""#).replace(
        &format!(r#""{obj}""#),
        r#"{"big": 12345678901234567890123}"#,
    );
    assert_eq!(String::from_utf8(out.into_owned()).unwrap(), expected);

    // Nothing named: the same bytes, not a copy.
    let plain = br#"{"x": 1.0}"#;
    assert!(matches!(
        decrypt_fields_in_json(plain, &["/pin".into()], &[sk]),
        Ok(std::borrow::Cow::Borrowed(b)) if b == plain
    ));
    // Not JSON, ambiguous, or not decryptable: refused, each with its reason.
    assert_eq!(
        decrypt_fields_in_json(b"{\"pin\": 1} x", &["/pin".into()], &[sk]),
        Err(RequestFieldsError::NotJson)
    );
    let twice = format!(r#"{{"pin": "{pin}", "pin": "1234"}}"#);
    assert_eq!(
        decrypt_fields_in_json(twice.as_bytes(), &["/pin".into()], &[sk]),
        Err(RequestFieldsError::Ambiguous)
    );
    assert_eq!(
        decrypt_fields_in_json(br#"{"pin": 1234}"#, &["/pin".into()], &[sk]),
        Err(RequestFieldsError::Invalid(EncryptedFieldInvalid))
    );
    // A `cty: json` plaintext that is not one JSON value is refused, never spliced in.
    let bad = system_jwe(sk, None, true, br#"1, "x": 2"#);
    assert_eq!(
        decrypt_fields_in_json(
            format!(r#"{{"pin": "{bad}"}}"#).as_bytes(),
            &["/pin".into()],
            &[sk]
        ),
        Err(RequestFieldsError::Invalid(EncryptedFieldInvalid))
    );
}

/// Found by the `decrypt_fields` fuzz target (docs/fuzzing.md): the text path read `YYY/pin`
/// as `/pin` and decrypted (or refused) that field, where `decrypt_fields` reads it, as
/// `Value::pointer` does, as naming nothing. Both now agree. (Routes refuse such pointers at
/// start-up, so the gateway never passed one.)
#[test]
fn fuzz_regression_text_that_is_not_a_pointer_names_nothing_in_either_path() {
    let sk = system_key();
    let pin = system_oaep(sk, b"1357");
    let body = format!(r#"{{"pin": "{pin}", "card": {{"cvv": "not a ciphertext"}}}}"#);
    let pointers: Vec<String> = vec!["YYY/pin".into(), "card/cvv".into(), "pin".into()];
    assert!(matches!(
        decrypt_fields_in_json(body.as_bytes(), &pointers, &[sk]),
        Ok(std::borrow::Cow::Borrowed(b)) if b == body.as_bytes()
    ));
    let mut doc: Value = serde_json::from_str(&body).unwrap();
    let before = doc.clone();
    decrypt_fields(&mut doc, &pointers, &[sk]).unwrap();
    assert_eq!(doc, before);
    // Beside a real pointer, only the real one counts.
    let out = decrypt_fields_in_json(
        body.as_bytes(),
        &["x/card/cvv".into(), "/pin".into()],
        &[sk],
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(out.into_owned()).unwrap(),
        body.replace(&format!(r#""{pin}""#), r#""1357""#)
    );
}

#[test]
fn decrypt_fields_every_failure_is_the_same_error() {
    let sk = system_key();
    let other = SystemKey::generate().unwrap();
    let public = PublicEncryptingKey::from_der(sk.public_spki_der()).unwrap();
    let pkcs1 = Pkcs1PublicEncryptingKey::new(public).unwrap();
    let mut out = vec![0u8; pkcs1.ciphertext_size()];
    let pkcs1_ct = b64_std_encode(pkcs1.encrypt(b"1234", &mut out).unwrap());

    let good_jwe = system_jwe(sk, Some(sk.kid()), false, b"x");
    let parts: Vec<&str> = good_jwe.split('.').collect();
    let header_a128 = b64url_encode(r#"{"alg":"RSA-OAEP-256","enc":"A128GCM"}"#);
    let header_zip = b64url_encode(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF"}"#);
    let cases: Vec<(&str, Value)> = vec![
        ("pkcs1 v1.5 ciphertext", json!(pkcs1_ct)),
        ("another key's oaep", json!(system_oaep(&other, b"1234"))),
        (
            "another key's jwe by kid",
            json!(system_jwe(&other, Some(other.kid()), false, b"x")),
        ),
        (
            "another key's jwe without kid",
            json!(system_jwe(&other, None, false, b"x")),
        ),
        (
            "unknown kid",
            json!(system_jwe(sk, Some("nope"), false, b"x")),
        ),
        ("not base64", json!("%%%")),
        ("url-safe base64", json!(b64url_encode([0u8; 256]))),
        ("plaintext", json!("4111111111111111")),
        ("number", json!(4111)),
        ("object", json!({"a": 1})),
        ("null", Value::Null),
        (
            "enc A128GCM",
            json!(format!(
                "{header_a128}.{}.{}.{}.{}",
                parts[1], parts[2], parts[3], parts[4]
            )),
        ),
        (
            "zip",
            json!(format!(
                "{header_zip}.{}.{}.{}.{}",
                parts[1], parts[2], parts[3], parts[4]
            )),
        ),
        (
            "tag changed",
            json!(format!(
                "{}.{}.{}.{}.AAAAAAAAAAAAAAAAAAAAAA",
                parts[0], parts[1], parts[2], parts[3]
            )),
        ),
        ("not utf-8", json!(system_oaep(sk, &[0xff, 0xfe]))),
        (
            "cty json but not json",
            json!(system_jwe(sk, None, true, b"{nope")),
        ),
    ];
    for (name, value) in cases {
        let mut doc = json!({ "f": value });
        assert_eq!(
            decrypt_fields(&mut doc, &["/f".into()], &[sk]),
            Err(EncryptedFieldInvalid),
            "{name}"
        );
    }
    assert_eq!(
        EncryptedFieldInvalid.to_string(),
        "an encrypted field could not be decrypted"
    );
}
