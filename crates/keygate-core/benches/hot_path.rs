//! The gateway's per-request cryptography with a cached `ClientKey`: verify one signed request,
//! then encrypt three response fields as JWE. Beside it, the bare aws-lc-rs primitives it is
//! built on (RSA-2048 PKCS#1 v1.5 SHA-256 verify, RSA-OAEP-SHA-256 encrypt), to show the
//! overhead of the JOSE layer.
//!
//! Run: `cargo bench -p keygate-core --bench hot_path`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    KeySize, OaepPublicEncryptingKey, PublicEncryptingKey, OAEP_SHA256_MGF1SHA256,
};
use aws_lc_rs::signature::{self, KeyPair as _, ParsedPublicKey, RsaKeyPair};
use criterion::{criterion_group, criterion_main, Criterion};
use keygate_core::jose::{
    b64url_encode, encrypt_fields_in_json, sha256_b64url, verify_signed_request, ClientKey,
    RequestFacts, Scheme, SigAlg, SignaturePolicy,
};
use serde_json::json;
use uuid::Uuid;

const NOW: i64 = 1_800_000_000;

fn bench(c: &mut Criterion) {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
    let key = ClientKey::from_spki_der(&spki, Uuid::new_v4()).unwrap();
    let body = br#"{"amount":100,"currency":"EUR"}"#;
    let token = "kg_live_0123456789abcdef";

    let header = json!({"alg": "RS256", "typ": "JWT", "kid": key.kid()});
    let claims = json!({
        "iat": NOW, "jti": "b1c2d3e4-f5a6-7890-abcd-ef0123456789", "htm": "POST",
        "htu": "/cards/42?full=1", "body_sha256": sha256_b64url(body),
        "ath": sha256_b64url(token.as_bytes()),
    });
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string()),
        b64url_encode(claims.to_string())
    );
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    let jws = format!("{input}.{}", b64url_encode(&sig));
    let facts = RequestFacts {
        method: "POST",
        path_and_query: "/cards/42?full=1",
        body,
        bearer_token: token,
    };
    let policy = SignaturePolicy::default();
    let response = json!({
        "id": 42, "pan": "4111111111111111", "cvv": "123", "pin": "9876", "status": "active"
    });
    let upstream = response.to_string().into_bytes();
    let pointers = vec!["/pan".to_owned(), "/cvv".to_owned(), "/pin".to_owned()];
    assert!(verify_signed_request(&jws, &key, &facts, NOW, &policy).is_ok());

    c.bench_function(
        "keygate: verify signed request + encrypt 3 fields (jwe)",
        |b| {
            b.iter(|| {
                let verified =
                    verify_signed_request(black_box(&jws), &key, &facts, NOW, &policy).unwrap();
                // As the gateway does: the fields replaced in the upstream's bytes.
                let out =
                    encrypt_fields_in_json(black_box(&upstream), &pointers, Scheme::Jwe, &key)
                        .unwrap();
                black_box((verified, out))
            });
        },
    );
    c.bench_function("keygate: verify signed request only", |b| {
        b.iter(|| verify_signed_request(black_box(&jws), &key, &facts, NOW, &policy).unwrap());
    });

    let parsed = ParsedPublicKey::new(SigAlg::RS256.verification_algorithm(), &spki).unwrap();
    c.bench_function(
        "aws-lc-rs: RSA-2048 PKCS#1 SHA-256 verify (parsed key)",
        |b| {
            b.iter(|| {
                parsed
                    .verify_sig(black_box(input.as_bytes()), &sig)
                    .unwrap()
            });
        },
    );
    let oaep = OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(&spki).unwrap()).unwrap();
    let mut out = vec![0u8; oaep.ciphertext_size()];
    c.bench_function("aws-lc-rs: RSA-2048 OAEP-SHA-256 encrypt (32 bytes)", |b| {
        b.iter(|| {
            oaep.encrypt(
                &OAEP_SHA256_MGF1SHA256,
                black_box(&[7u8; 32]),
                &mut out,
                None,
            )
            .unwrap()
            .len()
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
