//! Tests of the jose module that need no client crate: the RFC examples, the system key, field
//! encryption and decryption, and JWS header checks. Round trips through the client's
//! `sign_request` live in `keygate-client`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    KeySize, OaepPrivateDecryptingKey, Pkcs1PrivateDecryptingKey, Pkcs1PublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey, OAEP_SHA256_MGF1SHA256,
};
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair};
use serde_json::{json, Value};
use uuid::Uuid;

use super::test_vectors::*;
use super::*;

// ---------------------------------------------------------------- fixtures

pub(super) struct TestKey {
    pub(super) pair: RsaKeyPair,
    pub(super) private: PrivateDecryptingKey,
    pub(super) key: ClientKey,
}

fn make_test_key() -> TestKey {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let pkcs8 = pair.as_der().unwrap();
    let private = PrivateDecryptingKey::from_pkcs8(pkcs8.as_ref()).unwrap();
    let spki = pair.public_key().as_der().unwrap();
    let key = ClientKey::from_spki_der(spki.as_ref(), Uuid::new_v4()).unwrap();
    TestKey { pair, private, key }
}

pub(super) fn test_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(make_test_key)
}

fn system_key() -> &'static SystemKey {
    static KEY: OnceLock<SystemKey> = OnceLock::new();
    KEY.get_or_init(|| SystemKey::generate().unwrap())
}

fn sign(pair: &RsaKeyPair, alg: SigAlg, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string()),
        b64url_encode(claims.to_string())
    );
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        alg.signing_encoding(),
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", b64url_encode(sig))
}

const NOW: i64 = 1_800_000_000;

fn good_claims() -> Value {
    json!({
        "iat": NOW,
        "jti": "0123456789abcdef0123",
        "htm": "POST",
        "htu": "/cards/42?full=1",
        "body_sha256": sha256_b64url(b"{\"a\":1}"),
    })
}

fn facts() -> RequestFacts<'static> {
    RequestFacts {
        method: "POST",
        path_and_query: "/cards/42?full=1",
        body: b"{\"a\":1}",
        bearer_token: "token-123",
    }
}

fn verify(jws: &str) -> Result<VerifiedSignature, SignatureError> {
    verify_signed_request(
        jws,
        &test_key().key,
        &facts(),
        NOW,
        &SignaturePolicy::default(),
    )
}

fn invalid(reason: InvalidReason) -> Result<VerifiedSignature, SignatureError> {
    Err(SignatureError::Invalid(reason))
}

// ---------------------------------------------------------------- ClientKey

#[test]
fn client_key_is_send_sync_and_rejects_garbage() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ClientKey>();
    assert_send_sync::<SystemKey>();
    assert_eq!(
        ClientKey::from_spki_der(b"not a key", Uuid::nil()).unwrap_err(),
        ClientKeyError::Unparseable
    );
    // A bare PKCS#1 RSAPublicKey is not a SubjectPublicKeyInfo.
    let pkcs1 = test_key().pair.public_key().as_ref().to_vec();
    assert!(ClientKey::from_spki_der(&pkcs1, Uuid::nil()).is_err());
    assert_eq!(test_key().key.bits(), 2048);
    assert!(!format!("{:?}", test_key().key).contains("bytes"));
}

// ---------------------------------------------------------------- RFC 7515 A.2

#[test]
fn rfc7515_a2_rs256_signature_verifies() {
    let spki = spki_from_jwk(RFC7515_A2_N, RFC7515_A2_E);
    let key = ClientKey::from_spki_der(&spki, Uuid::nil()).unwrap();
    let verified = verify_jws_signature(RFC7515_A2_JWS, &key, &[SigAlg::RS256]).unwrap();
    assert_eq!(verified.alg, SigAlg::RS256);
    assert_eq!(verified.payload, RFC7515_A2_PAYLOAD.as_bytes());

    // The same token is refused when RS256 is not allowed, and when one character changes.
    assert_eq!(
        verify_jws_signature(RFC7515_A2_JWS, &key, &[SigAlg::PS256]).unwrap_err(),
        SignatureError::Invalid(InvalidReason::AlgNotAllowed)
    );
    let mut tampered = RFC7515_A2_JWS.to_owned();
    tampered.replace_range(25..26, "X");
    assert!(verify_jws_signature(&tampered, &key, &[SigAlg::RS256]).is_err());

    // The full signed-request check passes the signature and then finds no iat.
    assert_eq!(
        verify_signed_request(
            RFC7515_A2_JWS,
            &key,
            &facts(),
            NOW,
            &SignaturePolicy {
                allowed_algs: vec![SigAlg::RS256],
                max_skew_secs: 300
            }
        ),
        invalid(InvalidReason::IatMissing)
    );
}

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

// ---------------------------------------------------------------- JWS header checks

#[test]
fn alg_none_and_hmac_are_refused() {
    let claims = b64url_encode(good_claims().to_string());
    let none = format!("{}.{claims}.", b64url_encode(r#"{"alg":"none"}"#));
    assert_eq!(verify(&none), invalid(InvalidReason::AlgNotAllowed));
    let hs = format!(
        "{}.{claims}.{}",
        b64url_encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64url_encode([0u8; 32])
    );
    assert_eq!(verify(&hs), invalid(InvalidReason::AlgNotAllowed));
    let no_alg = format!("{}.{claims}.", b64url_encode(r#"{"typ":"JWT"}"#));
    assert_eq!(verify(&no_alg), invalid(InvalidReason::AlgMissing));
}

#[test]
fn header_shape_crit_and_kid() {
    let k = test_key();
    assert_eq!(verify("abc"), invalid(InvalidReason::NotCompactJws));
    assert_eq!(verify("a.b.c.d"), invalid(InvalidReason::NotCompactJws));
    assert_eq!(verify("!!.e30.AA"), invalid(InvalidReason::MalformedHeader));
    let dup = format!(
        "{}.e30.AA",
        b64url_encode(r#"{"alg":"RS256","alg":"none"}"#)
    );
    assert_eq!(verify(&dup), invalid(InvalidReason::MalformedHeader));

    let crit = sign(
        &k.pair,
        SigAlg::RS256,
        &json!({"alg":"RS256","crit":["exp"],"exp":1}),
        &good_claims(),
    );
    assert_eq!(verify(&crit), invalid(InvalidReason::CritUnsupported));

    let kid_ok = sign(
        &k.pair,
        SigAlg::RS256,
        &json!({"alg":"RS256","kid": k.key.kid().to_uppercase()}),
        &good_claims(),
    );
    assert!(verify(&kid_ok).is_ok());
    let kid_bad = sign(
        &k.pair,
        SigAlg::RS256,
        &json!({"alg":"RS256","kid": Uuid::new_v4().to_string()}),
        &good_claims(),
    );
    assert_eq!(verify(&kid_bad), invalid(InvalidReason::KidMismatch));
}

#[test]
fn operator_may_allow_more_algorithms() {
    let k = test_key();
    for alg in SigAlg::ALL {
        let jws = sign(&k.pair, alg, &json!({"alg": alg.name()}), &good_claims());
        let default_ok = matches!(alg, SigAlg::RS256 | SigAlg::PS256);
        assert_eq!(
            verify(&jws).is_ok(),
            default_ok,
            "{alg} under the default policy"
        );
        let all = SignaturePolicy {
            allowed_algs: SigAlg::ALL.to_vec(),
            max_skew_secs: 300,
        };
        let verified = verify_signed_request(&jws, &k.key, &facts(), NOW, &all).unwrap();
        assert_eq!(verified.alg, alg);
    }
    // A PKCS#1 signature presented as PS256 does not verify.
    let rs = sign(
        &k.pair,
        SigAlg::RS256,
        &json!({"alg":"PS256"}),
        &good_claims(),
    );
    assert_eq!(verify(&rs), invalid(InvalidReason::BadSignature));
}

#[test]
fn claim_types_and_windows() {
    let k = test_key();
    let with = |patch: Value| {
        let mut claims = good_claims();
        for (name, value) in patch.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        verify(&sign(
            &k.pair,
            SigAlg::PS256,
            &json!({"alg":"PS256"}),
            &claims,
        ))
    };
    assert!(with(json!({})).is_ok());
    assert!(with(json!({"iat": NOW as f64 + 0.5})).is_ok());
    assert_eq!(
        with(json!({"iat": "now"})),
        invalid(InvalidReason::MalformedClaims)
    );
    assert_eq!(
        with(json!({"iat": null})),
        invalid(InvalidReason::IatMissing)
    );
    assert_eq!(
        with(json!({"iat": NOW + 301})),
        Err(SignatureError::Stale(StaleReason::IatOutsideWindow))
    );
    assert!(with(json!({"iat": NOW - 300})).is_ok());
    assert_eq!(
        with(json!({"exp": NOW})),
        Err(SignatureError::Stale(StaleReason::Expired))
    );
    assert!(with(json!({"exp": NOW + 1})).is_ok());
    assert_eq!(
        with(json!({"nbf": NOW + 1000})),
        Err(SignatureError::Stale(StaleReason::NotYetValid))
    );
    assert_eq!(
        with(json!({"jti": null})),
        invalid(InvalidReason::JtiMissing)
    );
    assert_eq!(
        with(json!({"jti": "x".repeat(129)})),
        invalid(InvalidReason::JtiLength)
    );
    assert!(with(json!({"jti": "x".repeat(128)})).is_ok());
    for bad in [
        "abcdefgh\u{0}ijklmnop",
        "abcdefghijklmnop\n",
        "abcdefgh\u{7f}ijklmnop",
    ] {
        assert_eq!(
            with(json!({ "jti": bad })),
            invalid(InvalidReason::JtiCharacters)
        );
    }
    assert!(with(json!({"jti": "x".repeat(16)})).is_ok());
    assert_eq!(
        with(json!({"htm": null})),
        invalid(InvalidReason::HtmMissing)
    );
    assert_eq!(
        with(json!({"htm": "post"})),
        invalid(InvalidReason::HtmMismatch)
    );
    assert_eq!(
        with(json!({"htu": null})),
        invalid(InvalidReason::HtuMissing)
    );
    assert_eq!(
        with(json!({"body_sha256": null})),
        invalid(InvalidReason::BodyHashMissing)
    );
    // Padded base64url is not the contract's form.
    assert_eq!(
        with(json!({"body_sha256": format!("{}=", sha256_b64url(b"{\"a\":1}"))})),
        invalid(InvalidReason::BodyHashMismatch)
    );
    let claims_not_object = sign(&k.pair, SigAlg::RS256, &json!({"alg":"RS256"}), &json!([1]));
    assert_eq!(
        verify(&claims_not_object),
        invalid(InvalidReason::MalformedClaims)
    );
    // Reasons read as words and never echo values.
    let text = SignatureError::Invalid(InvalidReason::KidMismatch).to_string();
    assert!(text.contains("kid"), "{text}");
}

// ---------------------------------------------------------------- response fields

pub(super) fn oaep_decrypt(private: &PrivateDecryptingKey, b64: &str) -> Vec<u8> {
    let key = OaepPrivateDecryptingKey::new(private.clone()).unwrap();
    let ct = b64_std_decode(b64).unwrap();
    let mut out = vec![0u8; key.min_output_size()];
    key.decrypt(&OAEP_SHA256_MGF1SHA256, &ct, &mut out, None)
        .unwrap()
        .to_vec()
}

pub(super) fn pkcs1_decrypt(private: &PrivateDecryptingKey, b64: &str) -> Vec<u8> {
    let key = Pkcs1PrivateDecryptingKey::new(private.clone()).unwrap();
    let ct = b64_std_decode(b64).unwrap();
    let mut out = vec![0u8; key.min_output_size()];
    key.decrypt(&ct, &mut out).unwrap().to_vec()
}

pub(super) fn jwe_header(jwe: &str) -> Value {
    serde_json::from_slice(&b64url_decode(jwe.split('.').next().unwrap()).unwrap()).unwrap()
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

// ---------------------------------------------------------------- system key

#[test]
fn rfc7638_thumbprint_example() {
    let n = b64url_decode("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw").unwrap();
    let e = b64url_decode("AQAB").unwrap();
    assert_eq!(
        jwk_thumbprint(&n, &e),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn system_key_formats() {
    let sk = system_key();
    let again = SystemKey::from_pkcs8_der(&sk.to_pkcs8_der()).unwrap();
    assert_eq!(again.kid(), sk.kid());
    assert_eq!(again.public_spki_der(), sk.public_spki_der());

    let jwk = sk.jwk();
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["e"], "AQAB");
    assert_eq!(jwk["alg"], "RSA-OAEP-256");
    assert_eq!(jwk["use"], "enc");
    assert_eq!(jwk["kid"], sk.kid());
    let n = b64url_decode(jwk["n"].as_str().unwrap()).unwrap();
    assert_eq!(n.len(), 256);
    assert_eq!(jwk_thumbprint(&n, &[1, 0, 1]), sk.kid());

    let pem = sk.public_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert!(pem.ends_with("\n-----END PUBLIC KEY-----"));
    let lines: Vec<&str> = pem.lines().collect();
    assert!(lines[1..lines.len() - 2].iter().all(|l| l.len() == 64));
    let (label, der) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
    assert_eq!(label, "PUBLIC KEY");
    assert_eq!(der, sk.public_spki_der());
    assert!(!format!("{sk:?}").contains("pkcs8"));
}

#[test]
fn sealing_under_the_master_key() {
    let master = [7u8; 32];
    let pkcs8 = system_key().to_pkcs8_der();
    let sealed = seal_private_key(&master, &pkcs8).unwrap();
    assert_ne!(&sealed[12..12 + 16], &pkcs8[..16]);
    assert_eq!(&*open_private_key(&master, &sealed).unwrap(), &*pkcs8);
    // A second seal uses a fresh nonce.
    assert_ne!(seal_private_key(&master, &pkcs8).unwrap(), sealed);
    assert_eq!(
        open_private_key(&[8u8; 32], &sealed),
        Err(SealedKeyError::Open)
    );
    let mut damaged = sealed.clone();
    damaged[40] ^= 1;
    assert_eq!(
        open_private_key(&master, &damaged),
        Err(SealedKeyError::Open)
    );
    assert_eq!(
        open_private_key(&master, &sealed[..5]),
        Err(SealedKeyError::Open)
    );
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

/// Found by the `signed_request` fuzz target (docs/fuzzing.md): a payload with bytes that are
/// not UTF-8 inside an unknown member's string was accepted (serde_json skips ignored strings
/// without checking them), though it is not JSON text. The same held for the header.
#[test]
fn fuzz_regression_claims_and_header_that_are_not_utf8_are_malformed() {
    let k = test_key();
    let claims = good_claims();
    let sign_raw = |header: &[u8], payload: &[u8]| {
        let input = format!("{}.{}", b64url_encode(header), b64url_encode(payload));
        let mut sig = vec![0u8; k.pair.public_modulus_len()];
        k.pair
            .sign(
                SigAlg::PS256.signing_encoding(),
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
        format!("{input}.{}", b64url_encode(sig))
    };
    let verify =
        |jws: &str| verify_signed_request(jws, &k.key, &facts(), NOW, &SignaturePolicy::default());
    let header = br#"{"alg":"PS256"}"#;
    let payload = claims.to_string().into_bytes();
    assert!(verify(&sign_raw(header, &payload)).is_ok());

    let mut bad_payload = br#"{"atl":"x"#.to_vec();
    bad_payload.extend_from_slice(&[0xda, 0xda]);
    bad_payload.extend_from_slice(b"\",");
    bad_payload.extend_from_slice(&payload[1..]);
    assert_eq!(
        verify(&sign_raw(header, &bad_payload)),
        invalid(InvalidReason::MalformedClaims)
    );
    let bad_header = [&br#"{"alg":"PS256","x":""#[..], &[0xff], br#""}"#].concat();
    assert_eq!(
        verify(&sign_raw(&bad_header, &payload)),
        invalid(InvalidReason::MalformedHeader)
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
