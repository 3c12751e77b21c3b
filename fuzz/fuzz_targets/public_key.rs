//! The upload parser (`ValidPublicKey::parse`): PEM text, the DER inside it (SPKI, PKCS#1,
//! X.509 certificates).
//!
//! Modes (first byte):
//! * `0..=127`: the rest is the pasted text, as the API and the web page hand it over;
//! * `128..`: the rest is DER, wrapped here in a well-formed PEM block whose label is picked by
//!   the mode (`PUBLIC KEY`, `RSA PUBLIC KEY`, `CERTIFICATE`), so the fuzzer works on the DER
//!   parsers directly instead of through base64.
//!
//! The policy allows 2048, 3072 and 4096 bits (the mode's low bit picks `[2048]` or all three).
//!
//! Properties:
//! * text holding `PRIVATE KEY` is always refused as `private_key_submitted`;
//! * an accepted key has an allowed size and exponent 65537, and aws-lc-rs takes its SPKI as a
//!   `ClientKey` (what keygate accepts, the gateway can use);
//! * its canonical PEM parses back to the same key, and decodes to its SPKI DER;
//! * its JWK (`n`, `e`) rebuilds the same key, and the thumbprints agree.
#![no_main]

use keygate_core::jose::{b64url_decode, rsa_components, ClientKey};
use keygate_core::public_key::{jwk_thumbprint, KeyPolicy, KeyRejection, ValidPublicKey};
use keygate_fuzz::{text, CLIENT_KEY_ID};
use libfuzzer_sys::fuzz_target;

const LABELS: [&str; 3] = ["PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE"];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let policy = KeyPolicy {
        allowed_bits: if mode & 1 == 0 {
            vec![2048]
        } else {
            vec![2048, 3072, 4096]
        },
    };
    let input = if mode < 128 {
        text(rest).into_owned()
    } else {
        let label = LABELS[usize::from((mode - 128) >> 1) % LABELS.len()];
        match pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, rest) {
            Ok(pem) => pem,
            Err(_) => return,
        }
    };

    let result = ValidPublicKey::parse(&input, &policy);
    if input.contains("PRIVATE KEY") {
        assert_eq!(result, Err(KeyRejection::PrivateKeySubmitted));
    }
    let Ok(key) = result else { return };

    assert!(policy.allowed_bits.contains(&key.bits()));
    assert_eq!(key.exponent(), 65537);
    let client = ClientKey::from_spki_der(key.spki_der(), CLIENT_KEY_ID);
    assert!(
        client.is_ok_and(|c| c.bits() == key.bits() as usize),
        "an accepted key must be usable by the gateway"
    );

    // The canonical form is a fixed point.
    let again = ValidPublicKey::parse(key.canonical_pem(), &policy);
    assert_eq!(again.as_ref(), Ok(&key));
    let (label, der) = pem_rfc7468::decode_vec(key.canonical_pem().as_bytes())
        .unwrap_or_else(|e| panic!("canonical PEM does not decode: {e}"));
    assert_eq!(label, "PUBLIC KEY");
    assert_eq!(der, key.spki_der());

    // The JWK carries the same key.
    let jwk = key.jwk();
    let member = |name: &str| {
        jwk.get(name)
            .and_then(|v| v.as_str())
            .and_then(b64url_decode)
            .unwrap_or_else(|| panic!("JWK member {name} is not base64url"))
    };
    let (n, e) = (member("n"), member("e"));
    assert_eq!(
        ValidPublicKey::from_components(&n, &e, &policy).as_ref(),
        Ok(&key)
    );
    assert_eq!(rsa_components(key.spki_der()), Some((n.clone(), e.clone())));
    assert_eq!(key.jwk_thumbprint(), jwk_thumbprint(&n, &e));
});
