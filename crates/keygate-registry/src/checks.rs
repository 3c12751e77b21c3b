//! The self-check's encryption challenge (docs/design.md §5, "Self-check"): a random text
//! encrypted to the API key's active key in every response scheme; the client proves it can
//! read confidential fields by sending the text back. Single use, answerable for
//! [`CHALLENGE_TTL_SECS`], on any node sharing the database.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{digest, SHA256};
use keygate_core::jose::{encrypt_value, ClientKey, Scheme};
use keygate_core::model::UnixTime;
use keygate_core::public_key::{KeyPolicy, ValidPublicKey};
use keygate_store::ChallengeTaken;
use serde_json::Value;
use uuid::Uuid;

use crate::credentials::random_secret;
use crate::{Registry, RegistryError};

/// How long a challenge can be answered: five minutes, time enough to decrypt by hand with
/// openssl, short enough that few are open at once.
pub const CHALLENGE_TTL_SECS: i64 = 300;

/// Open challenges an API key holds at most; making one more drops the oldest.
pub const CHALLENGES_PER_API_KEY: i64 = 16;

/// Random bytes in a challenge's text (base64url: 32 characters), far beyond guessing.
const CHALLENGE_BYTES: usize = 24;

/// A new challenge: the same text encrypted to the active key in each scheme.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// What the answer names.
    pub id: Uuid,
    /// The active key the texts are encrypted to.
    pub key_id: Uuid,
    /// When it can no longer be answered.
    pub expires_at: UnixTime,
    /// `jwe`: compact JWE, RSA-OAEP-256 + A256GCM, `kid` the key's id.
    pub jwe: String,
    /// `rsa-oaep-256`: standard base64 of the raw RSA-OAEP-SHA256 ciphertext.
    pub rsa_oaep_256: String,
    /// `rsa-pkcs1`: standard base64 of the RSA PKCS#1 v1.5 ciphertext.
    pub rsa_pkcs1: String,
}

impl Registry {
    /// Makes a challenge for the API key's active key and stores the SHA-256 of its text
    /// (never the text), so any node can take the answer.
    ///
    /// # Errors
    /// [`RegistryError::NoActiveKey`]; a store failure.
    pub async fn new_challenge(&self, api_key_id: Uuid) -> Result<Challenge, RegistryError> {
        let record = self.active_key(api_key_id).await?;
        let policy = KeyPolicy {
            allowed_bits: vec![record.bits],
        };
        let valid = ValidPublicKey::parse(&record.public_key_pem, &policy)
            .map_err(RegistryError::internal)?;
        let key = ClientKey::from_spki_der(valid.spki_der(), record.id)
            .map_err(RegistryError::internal)?;
        let text = random_secret(CHALLENGE_BYTES)?;
        let plaintext = Value::String(text.clone());
        // The gateway's own field encryption (docs/design.md §6), one value per scheme.
        let encrypt = |scheme| {
            encrypt_value(&plaintext, scheme, &key, "/challenge").map_err(RegistryError::internal)
        };
        let (jwe, rsa_oaep_256, rsa_pkcs1) = (
            encrypt(Scheme::Jwe)?,
            encrypt(Scheme::RsaOaep256)?,
            encrypt(Scheme::RsaPkcs1)?,
        );
        let id = Uuid::new_v4();
        let now = self.now();
        let expires_at = now.saturating_add(CHALLENGE_TTL_SECS);
        self.store
            .insert_check_challenge(
                id,
                api_key_id,
                digest(&SHA256, text.as_bytes()).as_ref(),
                now,
                expires_at,
                CHALLENGES_PER_API_KEY,
            )
            .await?;
        Ok(Challenge {
            id,
            key_id: record.id,
            expires_at,
            jwe,
            rsa_oaep_256,
            rsa_pkcs1,
        })
    }

    /// Answers a challenge: `true` when `plaintext` is its text (compared in constant time, as
    /// SHA-256 digests). Any answer uses the challenge up, right or wrong.
    ///
    /// # Errors
    /// [`RegistryError::ChallengeUnknown`] (no such challenge for this API key, or a malformed
    /// id), [`RegistryError::ChallengeUsed`], [`RegistryError::ChallengeExpired`]; a store
    /// failure.
    pub async fn answer_challenge(
        &self,
        api_key_id: Uuid,
        challenge_id: &str,
        plaintext: &str,
    ) -> Result<bool, RegistryError> {
        let id = Uuid::parse_str(challenge_id).map_err(|_| RegistryError::ChallengeUnknown)?;
        match self.store.take_check_challenge(id, api_key_id).await? {
            ChallengeTaken::Unknown => Err(RegistryError::ChallengeUnknown),
            ChallengeTaken::Used { .. } => Err(RegistryError::ChallengeUsed),
            ChallengeTaken::Open { expires_at, .. } if self.now() >= expires_at => {
                Err(RegistryError::ChallengeExpired)
            }
            ChallengeTaken::Open { answer_sha256, .. } => {
                let answer = digest(&SHA256, plaintext.as_bytes());
                Ok(verify_slices_are_equal(answer.as_ref(), &answer_sha256).is_ok())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use keygate_core::jose::{decrypt_compact_jwe, JweKeyAlg};

    use super::*;
    use crate::test_support::registry;

    #[tokio::test]
    async fn a_challenge_needs_an_active_key_and_is_answered_once() {
        let (registry, hand, principal, _guard) = registry().await;
        let api_key = principal.api_key.id;
        assert!(matches!(
            registry.new_challenge(api_key).await,
            Err(RegistryError::NoActiveKey)
        ));
        let (pem, private) = crate::test_support::key_pair();
        let record = registry
            .upload(&principal, &pem, &crate::test_support::ops())
            .await
            .unwrap();

        let challenge = registry.new_challenge(api_key).await.unwrap();
        assert_eq!(challenge.key_id, record.id);
        assert_eq!(challenge.expires_at, registry.now() + CHALLENGE_TTL_SECS);
        let text = decrypt_compact_jwe(&challenge.jwe, &private, JweKeyAlg::RsaOaep256)
            .unwrap()
            .plaintext;
        let text = String::from_utf8(text).unwrap();
        let id = challenge.id.to_string();
        assert!(registry
            .answer_challenge(api_key, &id, &text)
            .await
            .unwrap());
        assert!(matches!(
            registry.answer_challenge(api_key, &id, &text).await,
            Err(RegistryError::ChallengeUsed)
        ));

        // A wrong answer is false, and uses the challenge up too.
        let id = registry
            .new_challenge(api_key)
            .await
            .unwrap()
            .id
            .to_string();
        assert!(!registry
            .answer_challenge(api_key, &id, "nope")
            .await
            .unwrap());
        assert!(matches!(
            registry.answer_challenge(api_key, &id, &text).await,
            Err(RegistryError::ChallengeUsed)
        ));

        // Expired at its expires_at; unknown ids and malformed ones are unknown.
        let id = registry
            .new_challenge(api_key)
            .await
            .unwrap()
            .id
            .to_string();
        hand.advance(CHALLENGE_TTL_SECS);
        assert!(matches!(
            registry.answer_challenge(api_key, &id, &text).await,
            Err(RegistryError::ChallengeExpired)
        ));
        for id in [Uuid::new_v4().to_string(), "not-a-uuid".into()] {
            assert!(matches!(
                registry.answer_challenge(api_key, &id, &text).await,
                Err(RegistryError::ChallengeUnknown)
            ));
        }
    }
}
