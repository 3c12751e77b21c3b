//! The jose API as a caller outside the crate sees it: every type a public function returns
//! can be named (`keygate_core::jose::JweEncryptError` was not re-exported at first).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_lc_rs::rsa::{KeySize, OaepPublicEncryptingKey, PrivateDecryptingKey};
use keygate_core::jose::{
    decrypt_compact_jwe, encrypt_compact_jwe, JweDecryptError, JweEncryptError, JweKeyAlg,
};

#[test]
fn compact_jwe_round_trips_with_nameable_errors() {
    let private = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
    let public = OaepPublicEncryptingKey::new(private.public_key()).unwrap();

    let jwe: Result<String, JweEncryptError> =
        encrypt_compact_jwe(&public, Some("kid-1"), false, b"4111111111111111");
    let jwe = jwe.unwrap();
    let decrypted = decrypt_compact_jwe(&jwe, &private, JweKeyAlg::RsaOaep256).unwrap();
    assert_eq!(decrypted.plaintext, b"4111111111111111");
    assert_eq!(decrypted.kid.as_deref(), Some("kid-1"));

    let refused: Result<_, JweDecryptError> =
        decrypt_compact_jwe(&jwe, &private, JweKeyAlg::RsaOaepSha1);
    assert!(refused.is_err());
    assert_eq!(JweEncryptError.to_string(), "encryption failed");
}
