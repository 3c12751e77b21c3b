//! Tests of the jose module that need no client crate, one module per job: `jws` (the RFC 7515
//! example, header and claim checks), `fields` (field encryption and decryption, the RFC 7516
//! example), `system_key`. This file holds the fixtures they share. Round trips through the
//! client's `sign_request` live in `keygate-client`.
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

pub(super) fn make_test_key() -> TestKey {
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

mod fields;
mod jws;
mod self_check;
mod system_key;
