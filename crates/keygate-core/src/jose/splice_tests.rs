//! `encrypt_fields_in_json`: the same fields as `encrypt_fields`, the rest byte for byte, and
//! no plaintext left behind in the ambiguous cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};

use super::tests::{jwe_header, oaep_decrypt, pkcs1_decrypt, test_key};
use super::*;

const SCHEMES: [Scheme; 3] = [Scheme::Jwe, Scheme::RsaOaep256, Scheme::RsaPkcs1];

fn pointers(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Decrypts one field's ciphertext; for JWE also checks the header (`cty: json` for non-strings).
fn decrypt(scheme: Scheme, ciphertext: &str, is_json: bool) -> String {
    let k = test_key();
    let plain = match scheme {
        Scheme::Jwe => {
            let header = jwe_header(ciphertext);
            assert_eq!(header["kid"], k.key.kid());
            assert_eq!(header.get("cty").is_some(), is_json, "{header}");
            decrypt_compact_jwe(ciphertext, &k.private, JweKeyAlg::RsaOaep256)
                .unwrap()
                .plaintext
        }
        Scheme::RsaOaep256 => oaep_decrypt(&k.private, ciphertext),
        Scheme::RsaPkcs1 => pkcs1_decrypt(&k.private, ciphertext),
    };
    String::from_utf8(plain).unwrap()
}

fn splice(json: &str, list: &[&str], scheme: Scheme) -> String {
    match encrypt_fields_in_json(json.as_bytes(), &pointers(list), scheme, &test_key().key) {
        Ok(FieldsInJson::Rewritten(out)) => String::from_utf8(out).unwrap(),
        other => panic!("not rewritten: {other:?}"),
    }
}

#[test]
fn same_fields_as_the_value_path_in_every_scheme() {
    let original = json!({
        "card": {"pan": "4111111111111111", "cvv": 123, "a/b": ["x"], "t~n": {"k": [1, 2.5]}},
        "list": [{"pin": "1234"}, {"pin": "5678"}],
        "public": "visible"
    });
    let list = [
        "/card/pan",
        "/card/cvv",
        "/card/a~1b",
        "/card/t~0n",
        "/list/1/pin",
        "/absent",
        "/card/nope",
        "/list/01/pin",
        "/list/-/pin",
        "/public/deeper",
    ];
    for scheme in SCHEMES {
        let spliced: Value =
            serde_json::from_str(&splice(&original.to_string(), &list, scheme)).unwrap();
        let mut through_value = original.clone();
        encrypt_fields(
            &mut through_value,
            &pointers(&list),
            scheme,
            &test_key().key,
        )
        .unwrap();
        for (pointer, expected, is_json) in [
            ("/card/pan", "4111111111111111", false),
            ("/card/cvv", "123", true),
            ("/card/a~1b", "[\"x\"]", true),
            ("/card/t~0n", "{\"k\":[1,2.5]}", true),
            ("/list/1/pin", "5678", false),
        ] {
            for doc in [&spliced, &through_value] {
                let ct = doc.pointer(pointer).unwrap().as_str().unwrap();
                assert_eq!(
                    decrypt(scheme, ct, is_json),
                    expected,
                    "{scheme:?} {pointer}"
                );
            }
        }
        // Everything else is the same in both.
        assert_eq!(spliced["public"], "visible");
        assert_eq!(spliced["list"][0], json!({"pin": "1234"}));
        assert!(spliced.pointer("/absent").is_none());
        assert!(spliced.pointer("/card/nope").is_none());
        assert_eq!(
            spliced.as_object().unwrap().keys().collect::<Vec<_>>(),
            through_value
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn everything_but_the_fields_is_kept_byte_for_byte() {
    // Key order, spacing, escapes and a number no f64 holds: all as the upstream wrote them.
    let upstream = "{ \"zeta\": 12345678901234567890123456789,\n  \"data\" : {\"p\\u0061n\": \"41\\\"11\" ,\"n\":1.50},\n  \"alpha\": [true, null] }\n";
    for scheme in SCHEMES {
        let out = splice(upstream, &["/data/pan", "/data/n"], scheme);
        let doc: Value = serde_json::from_str(&out).unwrap();
        let pan = doc["data"]["pan"].as_str().unwrap();
        let n = doc["data"]["n"].as_str().unwrap();
        assert_eq!(decrypt(scheme, pan, false), "41\"11");
        // A number is encrypted as its exact JSON text (issue 8: `1.50` stays `1.50`).
        assert_eq!(decrypt(scheme, n, true), "1.50");
        let restored = out
            .replace(&format!("\"{pan}\""), "\"41\\\"11\"")
            .replace(&format!("\"{n}\""), "1.50");
        assert_eq!(restored, upstream);
    }
}

#[test]
fn duplicate_keys_leave_no_plaintext_copy() {
    for (upstream, list) in [
        (
            r#"{"card":{"pan":"1111222233334444","pan":"5555666677778888"}}"#,
            ["/card/pan"],
        ),
        (
            r#"{"card":{"pan":"1111222233334444"},"card":{"pan":"5555666677778888"}}"#,
            ["/card/pan"],
        ),
    ] {
        for scheme in SCHEMES {
            let out = splice(upstream, &list, scheme);
            assert!(!out.contains("1111222233334444"), "{out}");
            assert!(!out.contains("5555666677778888"), "{out}");
            let doc: Value = serde_json::from_str(&out).unwrap();
            let ct = doc["card"]["pan"].as_str().unwrap();
            // As serde_json reads duplicates: the last one.
            assert_eq!(decrypt(scheme, ct, false), "5555666677778888");
        }
    }
}

#[test]
fn a_field_inside_another_and_the_whole_document() {
    let upstream = r#"{"card":{"pan":"4111111111111111"},"x":1}"#;
    // Applied in order, as with a Value: the card is encrypted whole; its pan is then gone.
    let out = splice(upstream, &["/card", "/card/pan"], Scheme::Jwe);
    assert!(!out.contains("4111"), "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let card = decrypt(Scheme::Jwe, doc["card"].as_str().unwrap(), true);
    assert_eq!(card, r#"{"pan":"4111111111111111"}"#);
    assert_eq!(doc["x"], 1);

    let out = splice(upstream, &[""], Scheme::Jwe);
    let whole: Value = serde_json::from_str(&out).unwrap();
    let plain = decrypt(Scheme::Jwe, whole.as_str().unwrap(), true);
    assert_eq!(
        serde_json::from_str::<Value>(&plain).unwrap(),
        serde_json::from_str::<Value>(upstream).unwrap()
    );
}

#[test]
fn not_json_is_passed_on_and_bad_rules_are_refused() {
    let k = test_key();
    for body in [
        "",
        "<html>oops</html>",
        "{\"a\":1} trailing",
        "{\"a\":",
        "\u{feff}{}",
    ] {
        assert_eq!(
            encrypt_fields_in_json(body.as_bytes(), &pointers(&["/a"]), Scheme::Jwe, &k.key),
            Ok(FieldsInJson::NotJson),
            "{body:?}"
        );
    }
    assert_eq!(
        encrypt_fields_in_json(b"{}", &pointers(&["a"]), Scheme::Jwe, &k.key),
        Err(FieldError::InvalidPointer("a".into()))
    );
    let long = format!("{{\"a\":\"{}\"}}", "x".repeat(300));
    assert!(matches!(
        encrypt_fields_in_json(
            long.as_bytes(),
            &pointers(&["/a"]),
            Scheme::RsaOaep256,
            &k.key
        ),
        Err(FieldError::PlaintextTooLong { max: 190, .. })
    ));
    // No pointer, or none that names anything: nothing to change.
    let text = " [1, {\"b\": 2}] ";
    for list in [&[][..], &["/1/c", "/0/x", "/7", "/1/b/z"]] {
        assert_eq!(
            encrypt_fields_in_json(text.as_bytes(), &pointers(list), Scheme::Jwe, &k.key),
            Ok(FieldsInJson::Unchanged)
        );
    }
    // Leading and trailing whitespace around the document are kept.
    let spaced = splice(text, &["/1/b"], Scheme::Jwe);
    assert!(
        spaced.starts_with(" [1, {\"b\": \"") && spaced.ends_with("\"}] "),
        "{spaced}"
    );
}

#[test]
fn numbers_are_encrypted_as_their_exact_text() {
    let json = r#"{"data": {"n": 123456789012345678901234567890, "f": 0.1000000000000000055511151231257827, "o": {"a" : [ 1e400 , "x y" ]}}}"#;
    for scheme in SCHEMES {
        let out: Value =
            serde_json::from_str(&splice(json, &["/data/n", "/data/f", "/data/o"], scheme))
                .unwrap();
        let field = |name: &str| out["data"][name].as_str().unwrap().to_owned();
        assert_eq!(
            decrypt(scheme, &field("n"), true),
            "123456789012345678901234567890"
        );
        assert_eq!(
            decrypt(scheme, &field("f"), true),
            "0.1000000000000000055511151231257827"
        );
        if scheme == Scheme::Jwe {
            // Compacted, every digit and every string byte kept.
            assert_eq!(decrypt(scheme, &field("o"), true), r#"{"a":[1e400,"x y"]}"#);
        }
    }
}

/// Found by the `splice` fuzz target (docs/fuzzing.md) before numbers were encrypted as their
/// text: `12347856901234567890123` went through an `f64` and came out as `1.234785690123457e22`,
/// which serde_json itself reads back as a different `f64` than the upstream's digits. The field
/// must decrypt to the upstream's digits, and everything around it must stay as it was.
#[test]
fn fuzz_regression_a_number_beyond_f64_in_an_array_decrypts_to_its_digits() {
    let json = "{\n  \"data\": {\n    \"card\": {\"id\": \"42\", \"cvv\": 42, \"limits\": [100, 2.5e3, 12347856901234567890123],\n             \"memo\": \"caf\\u00e9 \\\"quotad\\\" \\/slash\"}\n  }\n}";
    for scheme in SCHEMES {
        let out = splice(json, &["/data/card/memo", "/data/card/limits/2"], scheme);
        let value: Value = serde_json::from_str(&out).unwrap();
        let limit = value["data"]["card"]["limits"][2].as_str().unwrap();
        assert_eq!(decrypt(scheme, limit, true), "12347856901234567890123");
        let memo = value["data"]["card"]["memo"].as_str().unwrap();
        assert_eq!(decrypt(scheme, memo, false), "café \"quotad\" /slash");
        let prefix = "{\n  \"data\": {\n    \"card\": {\"id\": \"42\", \"cvv\": 42, \"limits\": [100, 2.5e3, \"";
        assert!(out.starts_with(prefix), "{out}");
        assert!(out.ends_with("\"}\n  }\n}"), "{out}");
    }
}
