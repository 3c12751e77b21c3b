//! The self-check's report (docs/design.md §5, "Self-check"): the gateway's steps, every one
//! recorded, agreeing with the fail-fast verdict on every token.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn check(jws: &str) -> SignedRequestReport {
    check_signed_request(
        jws,
        &test_key().key,
        &facts(),
        NOW,
        &SignaturePolicy::default(),
    )
}

fn header() -> Value {
    json!({"alg": "PS256", "kid": test_key().key.kid()})
}

fn failed(report: &SignedRequestReport) -> Vec<Check> {
    report
        .outcomes()
        .filter(|(_, o)| !o.passed())
        .map(|(c, _)| c)
        .collect()
}

#[test]
fn a_good_request_passes_every_check_and_gives_its_jti() {
    let jws = sign(&test_key().pair, SigAlg::PS256, &header(), &good_claims());
    let report = check(&jws);
    assert!(report.all_passed(), "{report:?}");
    assert_eq!(report.jti(), Some("0123456789abcdef0123"));
    assert_eq!(
        report.outcomes().map(|(c, _)| c.name()).collect::<Vec<_>>(),
        [
            "jws",
            "alg",
            "kid",
            "signature",
            "iat",
            "exp",
            "jti",
            "htm",
            "htu",
            "body_sha256",
            "ath"
        ]
    );
    assert_eq!(
        report.outcome(Check::Htu),
        &Outcome::Passed(Found::Text {
            sent: Some("/cards/42?full=1".into()),
            expected: "/cards/42?full=1".into()
        })
    );
}

#[test]
fn several_mistakes_are_all_named_and_the_rest_pass() {
    let mut claims = good_claims();
    claims["htu"] = json!("/cards/43");
    claims["iat"] = json!(NOW - 1000);
    claims["body_sha256"] = json!(sha256_b64url(b"other"));
    let jws = sign(&test_key().pair, SigAlg::PS256, &header(), &claims);
    let report = check(&jws);
    assert_eq!(failed(&report), [Check::Iat, Check::Htu, Check::BodySha256]);
    assert_eq!(
        report.outcome(Check::Htu),
        &Outcome::Failed(
            SignatureError::Invalid(InvalidReason::HtuMismatch),
            Found::Text {
                sent: Some("/cards/43".into()),
                expected: "/cards/42?full=1".into()
            }
        )
    );
    assert!(matches!(
        report.outcome(Check::Iat),
        Outcome::Failed(
            SignatureError::Stale(StaleReason::IatOutsideWindow),
            Found::Iat { iat: Some(iat), now: NOW, skew: 300 }
        ) if *iat == NOW - 1000
    ));
}

#[test]
fn another_keys_signature_fails_only_the_signature() {
    let other = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let jws = sign(&other, SigAlg::PS256, &header(), &good_claims());
    let report = check(&jws);
    assert_eq!(failed(&report), [Check::Signature]);
    // A wrong kid is its own check; the signature by the right key still verifies.
    let jws = sign(
        &test_key().pair,
        SigAlg::RS256,
        &json!({"alg": "RS256", "kid": Uuid::nil().to_string()}),
        &good_claims(),
    );
    let report = check(&jws);
    assert_eq!(failed(&report), [Check::Kid]);
    assert_eq!(
        report.outcome(Check::Kid),
        &Outcome::Failed(
            SignatureError::Invalid(InvalidReason::KidMismatch),
            Found::Kid {
                sent: Some(Uuid::nil().to_string()),
                expected: test_key().key.kid().to_owned()
            }
        )
    );
}

#[test]
fn checks_after_a_failed_prerequisite_are_not_run() {
    let report = check("not a jws");
    assert_eq!(
        report.outcome(Check::Jws),
        &Outcome::Failed(
            SignatureError::Invalid(InvalidReason::NotCompactJws),
            Found::Nothing
        )
    );
    for (check, outcome) in report.outcomes().skip(1) {
        assert_eq!(outcome, &Outcome::NotRun(Check::Jws), "{check:?}");
    }

    // alg none: no signature can be checked; the claims still are.
    let claims = b64url_encode(good_claims().to_string());
    let none = format!("{}.{claims}.", b64url_encode(r#"{"alg":"none"}"#));
    let report = check(&none);
    assert_eq!(failed(&report), [Check::Alg, Check::Signature]);
    assert_eq!(
        report.outcome(Check::Signature),
        &Outcome::NotRun(Check::Alg)
    );

    // A payload that is not claims fails jws, and no claim check runs.
    let jws = format!(
        "{}.{}.",
        b64url_encode(header().to_string()),
        b64url_encode("[1]")
    );
    let report = check(&jws);
    assert!(matches!(
        report.outcome(Check::Jws),
        Outcome::Failed(SignatureError::Invalid(InvalidReason::MalformedClaims), _)
    ));
    assert_eq!(report.outcome(Check::Jti), &Outcome::NotRun(Check::Jws));
    assert_eq!(report.jti(), None);
}

#[test]
fn long_claims_are_cut_in_a_report() {
    let mut claims = good_claims();
    claims["htu"] = json!(format!("/{}", "a".repeat(5000)));
    let jws = sign(&test_key().pair, SigAlg::PS256, &header(), &claims);
    let Outcome::Failed(
        _,
        Found::Text {
            sent: Some(sent), ..
        },
    ) = check(&jws).outcome(Check::Htu).clone()
    else {
        panic!("htu should fail");
    };
    assert!(sent.chars().count() <= 201 && sent.ends_with('…'));
}

/// The report and the gateway's fail-fast check are the same steps: on every token they agree
/// whether it passes, and the gateway's refusal is among the report's failures.
#[test]
fn the_report_agrees_with_the_gateway_on_every_token() {
    let key = &test_key().pair;
    let other = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let mut tokens = vec![
        sign(key, SigAlg::PS256, &header(), &good_claims()),
        sign(&other, SigAlg::PS256, &header(), &good_claims()),
        sign(
            key,
            SigAlg::RS256,
            &json!({"alg": "RS256", "crit": ["x"]}),
            &good_claims(),
        ),
        String::from("a.b.c"),
        String::new(),
    ];
    let edits: Vec<(&str, Value)> = vec![
        ("iat", json!(NOW + 301)),
        ("iat", json!("soon")),
        ("exp", json!(NOW)),
        ("nbf", json!(NOW + 400)),
        ("jti", json!("short")),
        ("jti", json!("0123456789abcdef\u{0}")),
        ("htm", json!("GET")),
        ("htu", json!("https://api.example.com/cards/42?full=1")),
        ("htu", json!("/cards/42")),
        ("body_sha256", json!("x")),
        ("ath", json!(sha256_b64url(b"token-123"))),
        ("ath", json!("wrong")),
    ];
    for (claim, value) in edits {
        let mut claims = good_claims();
        claims[claim] = value;
        tokens.push(sign(key, SigAlg::PS256, &header(), &claims));
    }
    for claim in ["iat", "jti", "htm", "htu", "body_sha256"] {
        let mut claims = good_claims();
        claims.as_object_mut().unwrap().remove(claim);
        tokens.push(sign(key, SigAlg::PS256, &header(), &claims));
    }
    for jws in tokens {
        let verdict = verify(&jws);
        let report = check(&jws);
        assert_eq!(verdict.is_ok(), report.all_passed(), "{jws}: {report:?}");
        if let Err(error) = verdict {
            assert!(
                report
                    .outcomes()
                    .any(|(_, o)| matches!(o, Outcome::Failed(e, _) if *e == error)),
                "{error:?} not in {report:?}"
            );
        }
    }
}
