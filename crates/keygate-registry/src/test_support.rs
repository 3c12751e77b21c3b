//! What the unit tests share: a registry on a fresh database of the test kit (keygate-testkit,
//! docs/architecture.md "Tests: one kit, one clock") with a manual clock, one client with one
//! API key, and fresh RSA public keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use keygate_core::model::Principal;
use keygate_store::Store;

use crate::credentials::hash_password;
use crate::{Clock, ManualTime, Registry, RegistrySettings};

/// The test's database, dropped (files removed) with the test.
pub type Guard = keygate_testkit::TestDatabase;

/// The server's defaults, but keys valid for an hour (so a test moves past expiry quickly).
pub fn settings() -> RegistrySettings {
    RegistrySettings {
        key_validity: Duration::from_secs(3600),
        rotation_overlap: Duration::ZERO,
        key_expiry_warning: Duration::from_secs(30 * 86_400),
        allowed_key_bits: vec![2048],
        token_ttl: Duration::from_secs(900),
        login_max_failures_per_key: 10,
        login_max_failures_per_address: 100,
        login_failure_window: Duration::from_secs(900),
        login_max_concurrent: 2,
        login_queue_timeout: Duration::from_secs(2),
        audit_retention: Duration::from_secs(400 * 86_400),
    }
}

/// An operator at the command line.
pub fn ops() -> keygate_core::audit::Origin {
    keygate_core::audit::Origin::operator("ops")
}

/// The client itself, from the loopback address.
pub fn me(principal: &Principal) -> keygate_core::audit::Origin {
    keygate_core::audit::Origin::api_key(principal.api_key.id, Some("127.0.0.1".into()))
}

/// A registry with a client `acme` and an API key, its login and password.
pub async fn registry_with(
    settings: RegistrySettings,
) -> (Registry, ManualTime, Principal, (String, String), Guard) {
    let guard = keygate_testkit::TestDatabase::new(keygate_testkit::Backend::Sqlite).await;
    let store = Store::connect(&guard.url).await.unwrap();
    let (clock, hand) = Clock::manual(1_795_428_000);
    let registry = Registry::new(store.clone(), clock, settings);
    let client = store
        .create_client("Acme", "acme-test", 0, |_| Vec::new())
        .await
        .unwrap();
    let password = "correct horse".to_owned();
    let login = "kg_test".to_owned();
    let hash = hash_password(&password).unwrap();
    let api_key = store
        .create_api_key(client.id, "main", &login, &hash, 0, |_| Vec::new())
        .await
        .unwrap();
    let principal = Principal { client, api_key };
    (registry, hand, principal, (login, password), guard)
}

/// [`registry_with`] the test [`settings`], without the credentials.
pub async fn registry() -> (Registry, ManualTime, Principal, Guard) {
    let (registry, hand, principal, _, guard) = registry_with(settings()).await;
    (registry, hand, principal, guard)
}

/// A fresh RSA-2048 key pair: the public key as SPKI PEM, and the private key for decrypting.
pub fn key_pair() -> (String, aws_lc_rs::rsa::PrivateDecryptingKey) {
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let pkcs8 = pair.as_der().unwrap();
    let private = aws_lc_rs::rsa::PrivateDecryptingKey::from_pkcs8(pkcs8.as_ref()).unwrap();
    let der = pair.public_key().as_der().unwrap();
    (pem_of(der.as_ref()), private)
}

fn pem_of(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

/// A fresh RSA-2048 public key as SPKI PEM (`_n` only tells the calls apart to the reader).
pub fn public_key_pem(_n: u32) -> String {
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let der = pair.public_key().as_der().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}
