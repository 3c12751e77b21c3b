//! The signed-request verifier (`verify_signed_request`): compact JWS parsing, header checks,
//! the signature, then the claims, against the fixed request [`FACTS`] at [`NOW`].
//!
//! Modes (first byte, low bit):
//! * even — **as received**: part 0 is the `X-Request-Signature` text;
//! * odd — **signed here**: part 0 is the protected header, part 1 the payload (any bytes),
//!   signed with the client's private key with the header's `alg` (RS256 when it names none
//!   keygate knows), so the fuzzer reaches the claim checks behind a valid signature.
//!
//! The mode's second bit allows every RSA algorithm instead of the default RS256 and PS256.
//!
//! Properties:
//! * an accepted signature's claims are the ones the rules allow: `jti` of 16 to 128 characters
//!   and no control character,
//!   `iat` within the skew, `exp` not passed, `alg` allowed, and the payload's `htm`, `htu`,
//!   `body_sha256` and `ath` agree with the request;
//! * changing any one character of an accepted JWS makes it refused;
//! * a JWS signed here with a header keygate accepts is never refused as a bad signature
//!   (the signing input is exactly the received text).
#![no_main]

use aws_lc_rs::rand::SystemRandom;
use keygate_core::jose::{
    b64url_decode, b64url_encode, sha256_b64url, verify_signed_request, InvalidReason, SigAlg,
    SignatureError, SignaturePolicy, VerifiedSignature,
};
use keygate_fuzz::{client, member_names, part, text, unframe, FACTS, NOW};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (mode, parts) = unframe(data);
    let policy = if mode & 2 == 0 {
        SignaturePolicy::default()
    } else {
        SignaturePolicy {
            allowed_algs: SigAlg::ALL.to_vec(),
            ..SignaturePolicy::default()
        }
    };
    let key = &client().key;

    if mode & 1 == 0 {
        let jws = text(part(&parts, 0));
        let result = verify_signed_request(&jws, key, &FACTS, NOW, &policy);
        if let Ok(verified) = &result {
            check_accepted(&jws, verified, &policy);
            check_tampering_refused(&jws, data.len(), &policy);
        }
        return;
    }

    let (header, payload) = (part(&parts, 0), part(&parts, 1));
    let header_value: Option<Value> = serde_json::from_slice(header).ok();
    let named = header_value
        .as_ref()
        .and_then(|h| h.get("alg"))
        .and_then(Value::as_str)
        .and_then(SigAlg::from_name);
    let alg = named.unwrap_or(SigAlg::RS256);
    let input = format!("{}.{}", b64url_encode(header), b64url_encode(payload));
    let pair = &client().pair;
    let mut signature = vec![0u8; pair.public_modulus_len()];
    if pair
        .sign(
            alg.signing_encoding(),
            &SystemRandom::new(),
            input.as_bytes(),
            &mut signature,
        )
        .is_err()
    {
        return;
    }
    let jws = format!("{input}.{}", b64url_encode(&signature));
    let result = verify_signed_request(&jws, key, &FACTS, NOW, &policy);

    // A header keygate accepts (an object with an allowed alg, a matching kid or none, no crit,
    // no duplicate members) means the signature itself must verify.
    let acceptable_header = header_value.as_ref().is_some_and(|h| {
        let kid_ok = match h.get("kid") {
            None => true,
            Some(Value::String(kid)) => kid.eq_ignore_ascii_case(key.kid()),
            Some(_) => false,
        };
        let typ_ok = matches!(h.get("typ"), None | Some(Value::String(_)));
        h.is_object()
            && named.is_some_and(|a| policy.allowed_algs.contains(&a))
            && kid_ok
            && typ_ok
            && h.get("crit").is_none()
            && !has_duplicate_members(header)
    });
    if acceptable_header {
        assert!(
            !matches!(
                result,
                Err(SignatureError::Invalid(
                    InvalidReason::NotCompactJws
                        | InvalidReason::MalformedHeader
                        | InvalidReason::AlgMissing
                        | InvalidReason::AlgNotAllowed
                        | InvalidReason::KidMismatch
                        | InvalidReason::CritUnsupported
                        | InvalidReason::BadSignature
                ))
            ),
            "a well-signed JWS with an acceptable header was refused: {result:?}"
        );
    }
    if let Ok(verified) = &result {
        check_accepted(&jws, verified, &policy);
        check_tampering_refused(&jws, data.len(), &policy);
    }
});

/// The claims of an accepted JWS are what the rules allow.
fn check_accepted(jws: &str, verified: &VerifiedSignature, policy: &SignaturePolicy) {
    assert!(policy.allowed_algs.contains(&verified.alg));
    let jti_len = verified.jti.chars().count();
    assert!((16..=128).contains(&jti_len), "jti of {jti_len} characters");
    assert!(
        !verified.jti.chars().any(char::is_control),
        "jti with a control character"
    );
    assert!((verified.iat - NOW).abs() <= policy.max_skew_secs);
    assert!(verified.exp.is_none_or(|exp| exp > NOW));

    let payload = jws
        .split('.')
        .nth(1)
        .and_then(b64url_decode)
        .and_then(|p| serde_json::from_slice::<Value>(&p).ok())
        .unwrap_or_else(|| panic!("accepted JWS without a JSON payload"));
    let claim = |name: &str| payload.get(name).and_then(Value::as_str);
    assert_eq!(claim("jti"), Some(verified.jti.as_str()));
    assert_eq!(claim("htm"), Some(FACTS.method));
    let htu = claim("htu").unwrap_or_default();
    let absolute = htu.to_ascii_lowercase().starts_with("http");
    assert!(
        htu == FACTS.path_and_query || (absolute && htu.contains(FACTS.path_and_query)),
        "htu {htu:?} accepted for {:?}",
        FACTS.path_and_query
    );
    assert_eq!(
        claim("body_sha256").map(str::to_owned),
        Some(sha256_b64url(FACTS.body))
    );
    // `"ath": null` counts as absent, as every optional claim.
    if let Some(ath) = payload.get("ath").filter(|v| !v.is_null()) {
        assert_eq!(
            ath.as_str().map(str::to_owned),
            Some(sha256_b64url(FACTS.bearer_token.as_bytes()))
        );
    }
}

/// Changing one character (picked from the input length) of an accepted JWS gets it refused.
fn check_tampering_refused(jws: &str, seed: usize, policy: &SignaturePolicy) {
    let bytes = jws.as_bytes();
    if bytes.is_empty() {
        return;
    }
    let at = seed % bytes.len();
    let mut tampered = bytes.to_vec();
    let replacement = match tampered[at] {
        b'A' => b'B',
        b'.' => b'A',
        _ => b'A',
    };
    tampered[at] = replacement;
    let tampered = String::from_utf8_lossy(&tampered);
    let key = &client().key;
    assert!(
        verify_signed_request(&tampered, key, &FACTS, NOW, policy).is_err(),
        "a JWS changed at byte {at} was still accepted"
    );
}

/// Whether a JSON object's text repeats a member name at its top level.
fn has_duplicate_members(json: &[u8]) -> bool {
    member_names(json).is_some_and(|names| {
        let mut seen = std::collections::BTreeSet::new();
        names.into_iter().any(|name| !seen.insert(name))
    })
}
