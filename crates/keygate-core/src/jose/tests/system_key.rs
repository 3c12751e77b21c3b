//! The system key: its thumbprint, formats, and sealing under the master key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

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
