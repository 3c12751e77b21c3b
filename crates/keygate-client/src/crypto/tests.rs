//! Client helpers against keygate-core: every signed request made by `sign_request` is checked
//! by the core's `verify_signed_request`, and every field goes through both directions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use keygate_core::jose::{
    b64url_encode, decrypt_fields, encrypt_fields, verify_signed_request, ClientKey,
    EncryptedFieldInvalid, InvalidReason, RequestFacts, Scheme, SigAlg, SignatureError,
    SignaturePolicy, StaleReason, SystemKey, VerifiedSignature,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::*;

const PKCS1_PEM: &str = include_str!("testdata/test_key_pkcs1.pem");
const PKCS8_PEM: &str = include_str!("testdata/test_key_pkcs8.pem");
const PUBLIC_PEM: &str = include_str!("testdata/test_key_public.pem");

const NOW: i64 = 1_800_000_000;
const JTI: &str = "3f1c2a9e-jti-0001";
const TOKEN: &str = "kg_live_token_abc";
const BODY: &[u8] = br#"{"amount":100}"#;

struct Fixture {
    private: ClientPrivateKey,
    key: ClientKey,
    other: ClientPrivateKey,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let private = ClientPrivateKey::from_pkcs8_pem(PKCS8_PEM).unwrap();
        let key =
            ClientKey::from_spki_der(&private.public_spki_der().unwrap(), Uuid::new_v4()).unwrap();
        let other =
            ClientPrivateKey::from_pkcs8_pem(&generate_rsa_2048().unwrap().private_pkcs8_pem)
                .unwrap();
        Fixture {
            private,
            key,
            other,
        }
    })
}

fn facts() -> RequestFacts<'static> {
    RequestFacts {
        method: "POST",
        path_and_query: "/cards/42?full=1",
        body: BODY,
        bearer_token: TOKEN,
    }
}

fn verify(jws: &str) -> Result<VerifiedSignature, SignatureError> {
    verify_signed_request(
        jws,
        &fixture().key,
        &facts(),
        NOW,
        &SignaturePolicy::default(),
    )
}

fn signed(alg: SigAlg) -> String {
    let f = fixture();
    sign_request(
        &f.private,
        alg,
        Some(f.key.kid()),
        "POST",
        "/cards/42?full=1",
        BODY,
        Some(TOKEN),
        NOW,
        JTI,
    )
    .unwrap()
}

fn invalid(reason: InvalidReason) -> Result<VerifiedSignature, SignatureError> {
    Err(SignatureError::Invalid(reason))
}

/// `sign_request` with one argument changed.
#[derive(Clone, Copy)]
struct Req<'a> {
    alg: SigAlg,
    kid: Option<&'a str>,
    method: &'a str,
    htu: &'a str,
    body: &'a [u8],
    token: Option<&'a str>,
    iat: i64,
    jti: &'a str,
}

fn base<'a>() -> Req<'a> {
    Req {
        alg: SigAlg::RS256,
        kid: None,
        method: "POST",
        htu: "/cards/42?full=1",
        body: BODY,
        token: Some(TOKEN),
        iat: NOW,
        jti: JTI,
    }
}

fn sign_with(key: &ClientPrivateKey, r: Req<'_>) -> String {
    sign_request(
        key, r.alg, r.kid, r.method, r.htu, r.body, r.token, r.iat, r.jti,
    )
    .unwrap()
}

// ---------------------------------------------------------------- signed requests

#[test]
fn rs256_and_ps256_round_trip() {
    for alg in [SigAlg::RS256, SigAlg::PS256] {
        let verified = verify(&signed(alg)).unwrap();
        assert_eq!(
            verified,
            VerifiedSignature {
                jti: JTI.into(),
                iat: NOW,
                exp: None,
                alg
            }
        );
    }
    // Without kid and without ath, too.
    let f = fixture();
    let r = Req {
        token: None,
        ..base()
    };
    assert!(verify(&sign_with(&f.private, r)).is_ok());
    // The header and claims are what §5 says.
    let jws = signed(SigAlg::PS256);
    let parts: Vec<&str> = jws.split('.').collect();
    let header: Value =
        serde_json::from_slice(&keygate_core::jose::b64url_decode(parts[0]).unwrap()).unwrap();
    let claims: Value =
        serde_json::from_slice(&keygate_core::jose::b64url_decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["alg"], "PS256");
    assert_eq!(header["kid"], f.key.kid());
    for name in ["iat", "jti", "htm", "htu", "body_sha256", "ath"] {
        assert!(claims.get(name).is_some(), "{name}");
    }
}

#[test]
fn every_refusal() {
    let f = fixture();
    let claims = b64url_encode(
        json!({"iat": NOW, "jti": JTI, "htm": "POST", "htu": "/cards/42?full=1",
               "body_sha256": keygate_core::jose::sha256_b64url(BODY)})
        .to_string(),
    );

    // alg none.
    let none = format!(
        "{}.{claims}.",
        b64url_encode(r#"{"alg":"none","typ":"JWT"}"#)
    );
    assert_eq!(verify(&none), invalid(InvalidReason::AlgNotAllowed));
    // HS256, even "signed" with the public key as the HMAC secret (the classic confusion).
    let hs = format!(
        "{}.{claims}.{}",
        b64url_encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64url_encode([1u8; 32])
    );
    assert_eq!(verify(&hs), invalid(InvalidReason::AlgNotAllowed));
    // Wrong kid.
    let wrong_kid = Uuid::new_v4().to_string();
    let r = Req {
        kid: Some(&wrong_kid),
        ..base()
    };
    assert_eq!(
        verify(&sign_with(&f.private, r)),
        invalid(InvalidReason::KidMismatch)
    );
    // Another key's signature.
    assert_eq!(
        verify(&sign_with(&f.other, base())),
        invalid(InvalidReason::BadSignature)
    );
    // One body byte changed.
    let r = Req {
        body: br#"{"amount":900}"#,
        ..base()
    };
    assert_eq!(
        verify(&sign_with(&f.private, r)),
        invalid(InvalidReason::BodyHashMismatch)
    );
    // Wrong htm.
    let r = Req {
        method: "GET",
        ..base()
    };
    assert_eq!(
        verify(&sign_with(&f.private, r)),
        invalid(InvalidReason::HtmMismatch)
    );
    // Wrong htu (query differs).
    let r = Req {
        htu: "/cards/42?full=0",
        ..base()
    };
    assert_eq!(
        verify(&sign_with(&f.private, r)),
        invalid(InvalidReason::HtuMismatch)
    );
    // iat 10 minutes old.
    let r = Req {
        iat: NOW - 600,
        ..base()
    };
    assert_eq!(
        verify(&sign_with(&f.private, r)),
        Err(SignatureError::Stale(StaleReason::IatOutsideWindow))
    );
    // exp passed.
    let expired = sign_jws(
        &f.private,
        SigAlg::RS256,
        &json!({"alg": "RS256"}),
        &json!({"iat": NOW, "exp": NOW - 1, "jti": JTI, "htm": "POST", "htu": "/cards/42?full=1",
                "body_sha256": keygate_core::jose::sha256_b64url(BODY)}),
    )
    .unwrap();
    assert_eq!(
        verify(&expired),
        Err(SignatureError::Stale(StaleReason::Expired))
    );
    // jti too short.
    let r = Req {
        jti: "short-jti",
        ..base()
    };
    assert_eq!(
        verify(&sign_with(&f.private, r)),
        invalid(InvalidReason::JtiLength)
    );
    // Bad ath: signed for another token.
    let r = Req {
        token: Some("someone-elses-token"),
        ..base()
    };
    assert_eq!(
        verify(&sign_with(&f.private, r)),
        invalid(InvalidReason::AthMismatch)
    );
}

#[test]
fn absolute_url_htu_is_accepted() {
    let f = fixture();
    for htu in [
        "https://api.bank.example/cards/42?full=1",
        "http://localhost:8080/cards/42?full=1",
    ] {
        let r = Req { htu, ..base() };
        assert!(verify(&sign_with(&f.private, r)).is_ok(), "{htu}");
    }
    let r = Req {
        htu: "https://api.bank.example/cards/43?full=1",
        ..base()
    };
    assert_eq!(
        verify(&sign_with(&f.private, r)),
        invalid(InvalidReason::HtuMismatch)
    );
}

// ---------------------------------------------------------------- keys

#[test]
fn pkcs1_and_pkcs8_pems_load_the_same_key() {
    let a = ClientPrivateKey::from_pkcs1_pem(PKCS1_PEM).unwrap();
    let b = ClientPrivateKey::from_pkcs8_pem(PKCS8_PEM).unwrap();
    let c = ClientPrivateKey::from_pem(PKCS1_PEM).unwrap();
    let d = ClientPrivateKey::from_pem(PKCS8_PEM).unwrap();
    let (_, public_der) = pem_rfc7468::decode_vec(PUBLIC_PEM.trim().as_bytes()).unwrap();
    for key in [&a, &b, &c, &d] {
        assert_eq!(key.public_spki_der().unwrap(), public_der);
    }
    assert_eq!(
        ClientPrivateKey::from_pkcs8_pem(PKCS1_PEM).unwrap_err(),
        ClientCryptoError::Pem("PRIVATE KEY")
    );
    assert!(ClientPrivateKey::from_pkcs1_pem(PUBLIC_PEM).is_err());
}

#[test]
fn generated_keys_are_usable() {
    let pair = generate_rsa_2048().unwrap();
    assert!(pair
        .private_pkcs8_pem
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(pair
        .public_spki_pem
        .starts_with("-----BEGIN PUBLIC KEY-----"));
    assert!(!format!("{pair:?}").contains("PRIVATE"));
    let private = ClientPrivateKey::from_pkcs8_pem(&pair.private_pkcs8_pem).unwrap();
    let (_, der) = pem_rfc7468::decode_vec(pair.public_spki_pem.as_bytes()).unwrap();
    assert_eq!(private.public_spki_der().unwrap(), der);
    let key = ClientKey::from_spki_der(&der, Uuid::new_v4()).unwrap();
    assert_eq!(key.bits(), 2048);
}

// ---------------------------------------------------------------- fields

#[test]
fn decrypt_field_in_every_scheme() {
    let f = fixture();
    for scheme in [Scheme::Jwe, Scheme::RsaOaep256, Scheme::RsaPkcs1] {
        let mut doc = json!({"pan": "4111111111111111", "limits": {"daily": 500}, "other": 1});
        let pointers = vec!["/pan".to_owned(), "/limits".to_owned(), "/gone".to_owned()];
        encrypt_fields(&mut doc, &pointers, scheme, &f.key).unwrap();
        assert_eq!(doc["other"], 1);
        assert!(doc.get("gone").is_none());
        assert_eq!(
            decrypt_field(&f.private, doc["pan"].as_str().unwrap(), scheme).unwrap(),
            "4111111111111111"
        );
        let limits = decrypt_field(&f.private, doc["limits"].as_str().unwrap(), scheme).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&limits).unwrap(),
            json!({"daily": 500})
        );
        // Another key cannot read it.
        assert_eq!(
            decrypt_field(&f.other, doc["pan"].as_str().unwrap(), scheme),
            Err(ClientCryptoError::Decrypt)
        );
    }
}

#[test]
fn encrypt_for_system_round_trips_through_core() {
    let system = SystemKey::generate().unwrap();
    let der = system.public_spki_der().to_vec();
    let pem = system.public_pem();
    let mut doc = json!({
        "a": encrypt_for_system(&der, "4111111111111111", Scheme::Jwe, Some(system.kid())).unwrap(),
        "b": encrypt_for_system(pem.as_bytes(), "1234", Scheme::RsaOaep256, None).unwrap(),
        "c": encrypt_value_for_system(&der, &json!({"n": [1, 2]}), Scheme::Jwe, None).unwrap(),
        "d": encrypt_for_system(pem.as_bytes(), "no kid", Scheme::Jwe, None).unwrap(),
    });
    let pointers: Vec<String> = ["/a", "/b", "/c", "/d"].map(String::from).to_vec();
    decrypt_fields(&mut doc, &pointers, &[&system]).unwrap();
    assert_eq!(
        doc,
        json!({"a": "4111111111111111", "b": "1234", "c": {"n": [1, 2]}, "d": "no kid"})
    );
    assert_eq!(
        encrypt_for_system(&der, "x", Scheme::RsaPkcs1, None),
        Err(ClientCryptoError::SchemeNotAllowed)
    );
    // A field encrypted for some other key is refused with the one opaque error.
    let stranger = SystemKey::generate().unwrap();
    let mut doc = json!({"a": encrypt_for_system(stranger.public_spki_der(), "x", Scheme::RsaOaep256, None).unwrap()});
    assert_eq!(
        decrypt_fields(&mut doc, &["/a".to_owned()], &[&system]),
        Err(EncryptedFieldInvalid)
    );
}
