//! `keygate client check` (docs/design.md §5, "Self-check"): both self-checks against keygate,
//! printed as a readable report. The signed-request check signs a request with the private key
//! file exactly as `keygate client call` signs a protected call; the encryption check decrypts
//! the challenge in every scheme with the same key and sends the text back.

use keygate_client::api::{ChallengeResult, EncryptionChallenge, SignatureCheck};
use keygate_client::crypto::{decrypt_field, sign_request, ClientPrivateKey};
use keygate_client::http::{KeygateClient, SIGNATURE_CHECK_PATH};
use keygate_core::jose::{Scheme, SigAlg};

/// The body the check request signs and sends: any body would do.
const CHECK_BODY: &[u8] = br#"{"self_check":true}"#;

/// Runs both checks and prints the report; an error when any check failed (so scripts and CI
/// can gate on it).
pub async fn run(
    client: &KeygateClient,
    private: &ClientPrivateKey,
    alg: SigAlg,
    kid: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    let mut failures = 0;

    println!("Signed request (POST {SIGNATURE_CHECK_PATH}, {alg}):");
    let jti = uuid::Uuid::new_v4().simple().to_string();
    let signature = sign_request(
        private,
        alg,
        kid,
        "POST",
        SIGNATURE_CHECK_PATH,
        CHECK_BODY,
        client.token(),
        now,
        &jti,
    )?;
    let report: SignatureCheck = client
        .check_signature(Some(CHECK_BODY.to_vec()), &signature)
        .await?
        .answer()?;
    for check in &report.checks {
        line(check.ok, check.check.as_str(), &check.detail);
        failures += usize::from(!check.ok);
    }

    println!();
    println!("Encryption (a challenge encrypted to the active key in each scheme):");
    let reply = client.encryption_challenge().await?;
    match reply.answer::<EncryptionChallenge>() {
        Err(refusal) => {
            line(false, "challenge", &refusal.to_string());
            failures += 1;
        }
        Ok(challenge) => {
            let texts = &challenge.ciphertexts;
            let mut read: Option<String> = None;
            for (scheme, ciphertext) in [
                (Scheme::Jwe, &texts.jwe),
                (Scheme::RsaOaep256, &texts.rsa_oaep_256),
                (Scheme::RsaPkcs1, &texts.rsa_pkcs1),
            ] {
                match decrypt_field(private, ciphertext, scheme) {
                    Ok(text) if read.as_ref().is_none_or(|first| *first == text) => {
                        line(true, scheme.name(), "decrypted with this private key");
                        read = Some(text);
                    }
                    Ok(_) => {
                        line(
                            false,
                            scheme.name(),
                            "decrypted to another text than the other schemes",
                        );
                        failures += 1;
                    }
                    Err(_) => {
                        let detail = format!(
                            "does not decrypt with this private key: is it the private half of the active key {}?",
                            challenge.key_id
                        );
                        line(false, scheme.name(), &detail);
                        failures += 1;
                    }
                }
            }
            if let Some(text) = read {
                let result: ChallengeResult = client
                    .answer_challenge(&challenge.challenge_id.to_string(), &text)
                    .await?
                    .answer()?;
                let detail = if result.ok {
                    "keygate confirmed the decrypted text"
                } else {
                    "keygate did not accept the decrypted text"
                };
                line(result.ok, "answer", detail);
                failures += usize::from(!result.ok);
            }
        }
    }

    println!();
    if failures == 0 {
        println!("All checks passed: protected calls signed this way will pass, and confidential fields will decrypt.");
        Ok(())
    } else {
        anyhow::bail!("{failures} check(s) failed; see above")
    }
}

fn line(ok: bool, name: &str, detail: &str) {
    let mark = if ok { "ok  " } else { "FAIL" };
    println!("  {mark}  {name:<12} {detail}");
}
