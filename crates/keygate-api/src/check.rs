//! The self-check (docs/design.md §5, "Self-check"): a signed request's every check reported,
//! and the encryption challenge.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One check of a signed request, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// The API key has an active key to check against.
    KeyState,
    /// `X-Request-Signature` is a compact JWS with a JSON header (no `crit`) and JSON claims.
    Jws,
    /// `alg` is present and allowed (RS256, PS256).
    Alg,
    /// `kid`, if sent, is the active key's id.
    Kid,
    /// The signature verifies with the active key.
    Signature,
    /// `iat` is within `signature_max_skew` of the server's time.
    Iat,
    /// `exp`, if sent, has not passed; `nbf`, if sent, is not in the future.
    Exp,
    /// `jti` is 16 to 128 characters and was not used before (the self-check does not record
    /// it).
    Jti,
    /// `htm` is the request's method.
    Htm,
    /// `htu` is the request's path and query.
    Htu,
    /// `body_sha256` is the SHA-256 of the body.
    BodySha256,
    /// `ath`, if sent, is the SHA-256 of the bearer token.
    Ath,
}

impl CheckName {
    /// The wire name, e.g. `body_sha256` (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::KeyState => "key_state",
            CheckName::Jws => "jws",
            CheckName::Alg => "alg",
            CheckName::Kid => "kid",
            CheckName::Signature => "signature",
            CheckName::Iat => "iat",
            CheckName::Exp => "exp",
            CheckName::Jti => "jti",
            CheckName::Htm => "htm",
            CheckName::Htu => "htu",
            CheckName::BodySha256 => "body_sha256",
            CheckName::Ath => "ath",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckResult {
    /// Which check.
    pub check: CheckName,
    /// Did it pass?
    pub ok: bool,
    /// What was expected and what was found, for people (never key material; claims are
    /// repeated as sent, cut at 200 characters). A check that could not run says which earlier
    /// check failed.
    pub detail: String,
}

/// `data` of `POST /clients/api_key/public_key/check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignatureCheck {
    /// `true` when every check passed: the same request to a protected route would pass the
    /// signature checks.
    pub ok: bool,
    /// Every check, in order: `key_state`, `jws`, `alg`, `kid`, `signature`, `iat`, `exp`,
    /// `jti`, `htm`, `htu`, `body_sha256`, `ath`.
    pub checks: Vec<CheckResult>,
}

/// The challenge's text encrypted to the active key, once per response scheme (docs/design.md
/// §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChallengeCiphertexts {
    /// Compact JWE (`RSA-OAEP-256`, `A256GCM`, `kid` the active key's id).
    pub jwe: String,
    /// Standard base64 of the raw RSA-OAEP (SHA-256, MGF1-SHA-256) ciphertext.
    #[serde(rename = "rsa-oaep-256")]
    pub rsa_oaep_256: String,
    /// Standard base64 of the RSA PKCS#1 v1.5 ciphertext.
    #[serde(rename = "rsa-pkcs1")]
    pub rsa_pkcs1: String,
}

/// `data` of `GET /clients/api_key/public_key/check/encryption`: one random text, encrypted
/// in every scheme; decrypt any and send the text back to prove the private key reads what
/// keygate encrypts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EncryptionChallenge {
    /// Name it in the answer.
    pub challenge_id: Uuid,
    /// The active key the texts are encrypted to.
    pub key_id: Uuid,
    /// Answer before this (five minutes); each challenge is answered once.
    pub expires_at: DateTime<Utc>,
    /// The same text in each scheme.
    pub ciphertexts: ChallengeCiphertexts,
}

/// The answer to an encryption challenge.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ChallengeAnswerRequest)]
pub struct ChallengeAnswerBody {
    /// The `challenge_id` of the challenge.
    pub challenge_id: String,
    /// The decrypted text.
    pub plaintext: String,
}

/// `data` of `POST /clients/api_key/public_key/check/encryption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChallengeResult {
    /// `true` when the text is the challenge's: the private key decrypts what keygate
    /// encrypts to the active key.
    pub ok: bool,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::CheckName;

    /// `as_str` is the serialized name of every check.
    #[test]
    fn as_str_is_the_wire_name() {
        let all: Vec<CheckName> = serde_json::from_str(
            r#"["key_state","jws","alg","kid","signature","iat","exp","jti","htm","htu","body_sha256","ath"]"#,
        )
        .unwrap();
        assert_eq!(all.len(), 12);
        for check in all {
            assert_eq!(serde_json::to_value(check).unwrap(), check.as_str());
        }
    }
}
