//! Unit tests of the private helpers of `public_key` (number checks, normalization) and of the
//! order of its refusals.

use super::*;

#[test]
fn small_primes_and_bits() {
    assert!(is_prime(9973));
    assert!(!is_prime(9999));
    assert_eq!(small_factor(&[0x01, 0x00, 0x01]), None); // 65537 is prime
    assert_eq!(small_factor(&[0x27, 0x0f]), Some(3)); // 9999 = 3 * 3 * 11 * 101
    assert_eq!(bit_length(&[0x01, 0x00]), 9);
    assert_eq!(bit_length(&[0x80]), 8);
}

#[test]
fn normalization_undoes_double_escaping() {
    assert_eq!(normalize("  a\\nb\r\nc  "), "a\nb\nc");
}

#[test]
fn private_key_wins_over_everything() {
    let pasted = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n-----BEGIN RSA PRIVATE KEY-----\nxx\n-----END RSA PRIVATE KEY-----";
    assert_eq!(
        ValidPublicKey::parse(pasted, &KeyPolicy::default()),
        Err(KeyRejection::PrivateKeySubmitted)
    );
}

#[test]
fn garbage_is_malformed() {
    for input in [
        "",
        "hello",
        "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----",
    ] {
        let err = ValidPublicKey::parse(input, &KeyPolicy::default()).err();
        assert_eq!(
            err.map(|e| e.slug()),
            Some("public_key_malformed"),
            "{input}"
        );
    }
}
