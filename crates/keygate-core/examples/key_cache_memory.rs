//! Resident memory per cached client key (issue 14): builds `N` `ClientKey`s (each parsing its
//! own copy of a real RSA-2048 SPKI; 64 distinct keys from aws-lc-rs), uses each as the gateway
//! does (one RS256 verify key, the OAEP key for fields), and prints the growth of VmRSS.
//!
//!     cargo run --release -p keygate-core --example key_cache_memory -- 100000
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use keygate_core::jose::{
    b64url_encode, encrypt_value, verify_jws_signature, ClientKey, Scheme, SigAlg,
};
use serde_json::json;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    // 64 real key pairs; for each, its SPKI and an RS256 JWS it signed.
    let pairs: Vec<(Vec<u8>, String)> = (0..64)
        .map(|_| {
            let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
            let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
            let input = format!(
                "{}.{}",
                b64url_encode(br#"{"alg":"RS256","typ":"JWT"}"#),
                b64url_encode(br#"{"jti":"x"}"#)
            );
            let mut sig = vec![0u8; pair.public_modulus_len()];
            pair.sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
            (spki, format!("{input}.{}", b64url_encode(&sig)))
        })
        .collect();
    let before = rss_kib();
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let (spki, jws) = &pairs[i % pairs.len()];
        let key = ClientKey::from_spki_der(spki, uuid::Uuid::new_v4()).unwrap();
        // As the gateway uses a key: verify an RS256 signature, encrypt a field (OAEP).
        verify_jws_signature(jws, &key, &[SigAlg::RS256]).unwrap();
        encrypt_value(&json!("4111"), Scheme::Jwe, &key, "/n").unwrap();
        keys.push(std::sync::Arc::new(key));
    }
    let after = rss_kib();
    let per_key = (after - before) * 1024 / n as u64;
    println!(
        "{n} client keys: RSS +{} MiB, {per_key} bytes ({:.1} KiB) a key",
        (after - before) / 1024,
        per_key as f64 / 1024.0
    );
    drop(keys);
}
