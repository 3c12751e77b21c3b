//! Signed requests: the RFC 7515 example, JWS header checks, claims and their windows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

// ---------------------------------------------------------------- RFC 7515 A.2

#[test]
fn rfc7515_a2_rs256_signature_verifies() {
    let spki = spki_from_jwk(RFC7515_A2_N, RFC7515_A2_E);
    let key = ClientKey::from_spki_der(&spki, Uuid::nil()).unwrap();
    let verified = verify_jws_signature(RFC7515_A2_JWS, &key, &[SigAlg::RS256]).unwrap();
    assert_eq!(verified.alg, SigAlg::RS256);
    assert_eq!(verified.payload, RFC7515_A2_PAYLOAD.as_bytes());

    // The same token is refused when RS256 is not allowed, and when one character changes.
    assert_eq!(
        verify_jws_signature(RFC7515_A2_JWS, &key, &[SigAlg::PS256]).unwrap_err(),
        SignatureError::Invalid(InvalidReason::AlgNotAllowed)
    );
    let mut tampered = RFC7515_A2_JWS.to_owned();
    tampered.replace_range(25..26, "X");
    assert!(verify_jws_signature(&tampered, &key, &[SigAlg::RS256]).is_err());

    // The full signed-request check passes the signature and then finds no iat.
    assert_eq!(
        verify_signed_request(
            RFC7515_A2_JWS,
            &key,
            &facts(),
            NOW,
            &SignaturePolicy {
                allowed_algs: vec![SigAlg::RS256],
                max_skew_secs: 300
            }
        ),
        invalid(InvalidReason::IatMissing)
    );
}

// ---------------------------------------------------------------- JWS header checks

#[test]
fn alg_none_and_hmac_are_refused() {
    let claims = b64url_encode(good_claims().to_string());
    let none = format!("{}.{claims}.", b64url_encode(r#"{"alg":"none"}"#));
    assert_eq!(verify(&none), invalid(InvalidReason::AlgNotAllowed));
    let hs = format!(
        "{}.{claims}.{}",
        b64url_encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64url_encode([0u8; 32])
    );
    assert_eq!(verify(&hs), invalid(InvalidReason::AlgNotAllowed));
    let no_alg = format!("{}.{claims}.", b64url_encode(r#"{"typ":"JWT"}"#));
    assert_eq!(verify(&no_alg), invalid(InvalidReason::AlgMissing));
}

#[test]
fn header_shape_crit_and_kid() {
    let k = test_key();
    assert_eq!(verify("abc"), invalid(InvalidReason::NotCompactJws));
    assert_eq!(verify("a.b.c.d"), invalid(InvalidReason::NotCompactJws));
    assert_eq!(verify("!!.e30.AA"), invalid(InvalidReason::MalformedHeader));
    let dup = format!(
        "{}.e30.AA",
        b64url_encode(r#"{"alg":"RS256","alg":"none"}"#)
    );
    assert_eq!(verify(&dup), invalid(InvalidReason::MalformedHeader));

    let crit = sign(
        &k.pair,
        SigAlg::RS256,
        &json!({"alg":"RS256","crit":["exp"],"exp":1}),
        &good_claims(),
    );
    assert_eq!(verify(&crit), invalid(InvalidReason::CritUnsupported));

    let kid_ok = sign(
        &k.pair,
        SigAlg::RS256,
        &json!({"alg":"RS256","kid": k.key.kid().to_uppercase()}),
        &good_claims(),
    );
    assert!(verify(&kid_ok).is_ok());
    let kid_bad = sign(
        &k.pair,
        SigAlg::RS256,
        &json!({"alg":"RS256","kid": Uuid::new_v4().to_string()}),
        &good_claims(),
    );
    assert_eq!(verify(&kid_bad), invalid(InvalidReason::KidMismatch));
}

#[test]
fn operator_may_allow_more_algorithms() {
    let k = test_key();
    for alg in SigAlg::ALL {
        let jws = sign(&k.pair, alg, &json!({"alg": alg.name()}), &good_claims());
        let default_ok = matches!(alg, SigAlg::RS256 | SigAlg::PS256);
        assert_eq!(
            verify(&jws).is_ok(),
            default_ok,
            "{alg} under the default policy"
        );
        let all = SignaturePolicy {
            allowed_algs: SigAlg::ALL.to_vec(),
            max_skew_secs: 300,
        };
        let verified = verify_signed_request(&jws, &k.key, &facts(), NOW, &all).unwrap();
        assert_eq!(verified.alg, alg);
    }
    // A PKCS#1 signature presented as PS256 does not verify.
    let rs = sign(
        &k.pair,
        SigAlg::RS256,
        &json!({"alg":"PS256"}),
        &good_claims(),
    );
    assert_eq!(verify(&rs), invalid(InvalidReason::BadSignature));
}

#[test]
fn claim_types_and_windows() {
    let k = test_key();
    let with = |patch: Value| {
        let mut claims = good_claims();
        for (name, value) in patch.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        verify(&sign(
            &k.pair,
            SigAlg::PS256,
            &json!({"alg":"PS256"}),
            &claims,
        ))
    };
    assert!(with(json!({})).is_ok());
    assert!(with(json!({"iat": NOW as f64 + 0.5})).is_ok());
    assert_eq!(
        with(json!({"iat": "now"})),
        invalid(InvalidReason::MalformedClaims)
    );
    assert_eq!(
        with(json!({"iat": null})),
        invalid(InvalidReason::IatMissing)
    );
    assert_eq!(
        with(json!({"iat": NOW + 301})),
        Err(SignatureError::Stale(StaleReason::IatOutsideWindow))
    );
    assert!(with(json!({"iat": NOW - 300})).is_ok());
    assert_eq!(
        with(json!({"exp": NOW})),
        Err(SignatureError::Stale(StaleReason::Expired))
    );
    assert!(with(json!({"exp": NOW + 1})).is_ok());
    assert_eq!(
        with(json!({"nbf": NOW + 1000})),
        Err(SignatureError::Stale(StaleReason::NotYetValid))
    );
    assert_eq!(
        with(json!({"jti": null})),
        invalid(InvalidReason::JtiMissing)
    );
    assert_eq!(
        with(json!({"jti": "x".repeat(129)})),
        invalid(InvalidReason::JtiLength)
    );
    assert!(with(json!({"jti": "x".repeat(128)})).is_ok());
    for bad in [
        "abcdefgh\u{0}ijklmnop",
        "abcdefghijklmnop\n",
        "abcdefgh\u{7f}ijklmnop",
    ] {
        assert_eq!(
            with(json!({ "jti": bad })),
            invalid(InvalidReason::JtiCharacters)
        );
    }
    assert!(with(json!({"jti": "x".repeat(16)})).is_ok());
    assert_eq!(
        with(json!({"htm": null})),
        invalid(InvalidReason::HtmMissing)
    );
    assert_eq!(
        with(json!({"htm": "post"})),
        invalid(InvalidReason::HtmMismatch)
    );
    assert_eq!(
        with(json!({"htu": null})),
        invalid(InvalidReason::HtuMissing)
    );
    assert_eq!(
        with(json!({"body_sha256": null})),
        invalid(InvalidReason::BodyHashMissing)
    );
    // Padded base64url is not the contract's form.
    assert_eq!(
        with(json!({"body_sha256": format!("{}=", sha256_b64url(b"{\"a\":1}"))})),
        invalid(InvalidReason::BodyHashMismatch)
    );
    let claims_not_object = sign(&k.pair, SigAlg::RS256, &json!({"alg":"RS256"}), &json!([1]));
    assert_eq!(
        verify(&claims_not_object),
        invalid(InvalidReason::MalformedClaims)
    );
    // Reasons read as words and never echo values.
    let text = SignatureError::Invalid(InvalidReason::KidMismatch).to_string();
    assert!(text.contains("kid"), "{text}");
}

/// Found by the `signed_request` fuzz target (docs/fuzzing.md): a payload with bytes that are
/// not UTF-8 inside an unknown member's string was accepted (serde_json skips ignored strings
/// without checking them), though it is not JSON text. The same held for the header.
#[test]
fn fuzz_regression_claims_and_header_that_are_not_utf8_are_malformed() {
    let k = test_key();
    let claims = good_claims();
    let sign_raw = |header: &[u8], payload: &[u8]| {
        let input = format!("{}.{}", b64url_encode(header), b64url_encode(payload));
        let mut sig = vec![0u8; k.pair.public_modulus_len()];
        k.pair
            .sign(
                SigAlg::PS256.signing_encoding(),
                &SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
        format!("{input}.{}", b64url_encode(sig))
    };
    let verify =
        |jws: &str| verify_signed_request(jws, &k.key, &facts(), NOW, &SignaturePolicy::default());
    let header = br#"{"alg":"PS256"}"#;
    let payload = claims.to_string().into_bytes();
    assert!(verify(&sign_raw(header, &payload)).is_ok());

    let mut bad_payload = br#"{"atl":"x"#.to_vec();
    bad_payload.extend_from_slice(&[0xda, 0xda]);
    bad_payload.extend_from_slice(b"\",");
    bad_payload.extend_from_slice(&payload[1..]);
    assert_eq!(
        verify(&sign_raw(header, &bad_payload)),
        invalid(InvalidReason::MalformedClaims)
    );
    let bad_header = [&br#"{"alg":"PS256","x":""#[..], &[0xff], br#""}"#].concat();
    assert_eq!(
        verify(&sign_raw(&bad_header, &payload)),
        invalid(InvalidReason::MalformedHeader)
    );
}

// ---------------------------------------------------------------- rotation: two keys

#[test]
fn during_an_overlap_the_kid_picks_the_key_and_without_one_active_comes_first() {
    let active = test_key();
    let retiring = super::make_test_key();
    let keys = [&active.key, &retiring.key];
    let check = |jws: &str| {
        verify_signed_request_by_any(jws, &keys, &facts(), NOW, &SignaturePolicy::default())
            .map(|(_, index)| index)
    };
    let header = |kid: Option<&str>| match kid {
        Some(kid) => json!({"alg": "PS256", "kid": kid}),
        None => json!({"alg": "PS256"}),
    };
    // Without a kid: either key's signature passes, and the key that signed is named.
    let by_active = sign(&active.pair, SigAlg::PS256, &header(None), &good_claims());
    let by_retiring = sign(&retiring.pair, SigAlg::PS256, &header(None), &good_claims());
    assert_eq!(check(&by_active), Ok(0));
    assert_eq!(check(&by_retiring), Ok(1));
    // With a kid: the kid picks the key.
    let named = sign(
        &retiring.pair,
        SigAlg::PS256,
        &header(Some(retiring.key.kid())),
        &good_claims(),
    );
    assert_eq!(check(&named), Ok(1));
    // A kid naming one key with the other's signature, or a third key: the active key's
    // refusal answers.
    let crossed = sign(
        &retiring.pair,
        SigAlg::PS256,
        &header(Some(active.key.kid())),
        &good_claims(),
    );
    assert_eq!(
        check(&crossed),
        Err(SignatureError::Invalid(InvalidReason::BadSignature))
    );
    let stranger = super::make_test_key();
    let other = sign(&stranger.pair, SigAlg::PS256, &header(None), &good_claims());
    assert_eq!(
        check(&other),
        Err(SignatureError::Invalid(InvalidReason::BadSignature))
    );
    let unknown_kid = sign(
        &retiring.pair,
        SigAlg::PS256,
        &header(Some(&Uuid::new_v4().to_string())),
        &good_claims(),
    );
    assert_eq!(
        check(&unknown_kid),
        Err(SignatureError::Invalid(InvalidReason::KidMismatch))
    );
    // Made with the retiring key, refused for a claim: that refusal answers.
    let mut stale = good_claims();
    stale["iat"] = json!(NOW - 10_000);
    let stale = sign(&retiring.pair, SigAlg::PS256, &header(None), &stale);
    assert!(matches!(check(&stale), Err(SignatureError::Stale(_))));
    // One key only: the old behaviour.
    let only = [&active.key];
    assert_eq!(
        verify_signed_request_by_any(
            &by_retiring,
            &only,
            &facts(),
            NOW,
            &SignaturePolicy::default()
        )
        .map(|(_, i)| i),
        Err(SignatureError::Invalid(InvalidReason::BadSignature))
    );
}
