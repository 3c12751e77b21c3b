//! Domain records shared by the store, the server and the CLI.

use serde::Serialize;
use uuid::Uuid;

/// Seconds since the Unix epoch, UTC. The store keeps every instant in this form so that
/// SQLite and PostgreSQL hold identical values.
pub type UnixTime = i64;

/// A business client: the organisation that owns one or more API keys (docs/design.md §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Client {
    /// Chosen by the store when the client is created; never changes.
    pub id: Uuid,
    /// Display name, 1 to 200 characters once trimmed (checked by `keygate admin`, not here).
    pub name: String,
    /// The operator's handle for the client, unique among clients (the database enforces it);
    /// see [`Alias`] for the characters allowed.
    pub alias: String,
    /// When the client was created.
    pub created_at: UnixTime,
}

/// One API key of a client: a login (identifier and password) with its own history of public
/// keys. The password hash never leaves the store in this type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    /// Chosen by the store when the API key is created; public keys and sessions refer to it.
    pub id: Uuid,
    /// The [`Client`] that owns this API key.
    pub client_id: Uuid,
    /// Unique among its client's API keys (the database enforces it); see [`Alias`].
    pub alias: String,
    /// The login identifier (not a secret on its own; the password is).
    pub api_key: String,
    /// When the API key was created.
    pub created_at: UnixTime,
}

/// Who a valid bearer token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The client that owns [`Principal::api_key`].
    pub client: Client,
    /// The API key the token was issued to: every key operation is scoped to it.
    pub api_key: ApiKey,
}

/// The lifecycle status of a stored key: a function of the row and *now*, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyStatus {
    /// Not revoked and `now < expires_at`: signed requests are checked against this key and
    /// confidential fields are encrypted to it.
    Active,
    /// Not revoked, and `now >= expires_at`; no job marks it, the clock does.
    Expired,
    /// `revoked_at` is set; wins over expiry, and is final.
    Revoked,
}

/// One registered public key, as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key's id, also its JWK `kid` (the `kid` a signed request may name, docs/design.md §5).
    pub id: Uuid,
    /// The API key this public key belongs to, for ever.
    pub api_key_id: Uuid,
    /// The canonical 64-column SPKI PEM, without a trailing newline.
    pub public_key_pem: String,
    /// SHA-256 of the SPKI DER, lowercase hex, colon separated.
    pub fingerprint_sha256: String,
    /// RFC 7638 thumbprint, base64url.
    pub jwk_thumbprint: String,
    /// Modulus size in bits, one of `allowed_key_bits` when it was uploaded.
    pub bits: u32,
    /// Public exponent: 65537, the only one the upload checks accept.
    pub exponent: u64,
    /// When the key was stored; the key is valid from this instant.
    pub issued_at: UnixTime,
    /// `issued_at + key_validity`: from this instant on the key is [`KeyStatus::Expired`].
    pub expires_at: UnixTime,
    /// When the key was revoked; `None` unless [`KeyStatus::Revoked`].
    pub revoked_at: Option<UnixTime>,
    /// The reason given at revocation, already checked by [`RevokeReason`]; `None` when none
    /// was given or the key is not revoked.
    pub revoke_reason: Option<String>,
}

impl KeyRecord {
    /// The key's status at `now` (docs/design.md §2): revoked wins, then expired, else active.
    /// Callers pass the one clock's time; the status is never stored.
    pub fn status(&self, now: UnixTime) -> KeyStatus {
        if self.revoked_at.is_some() {
            KeyStatus::Revoked
        } else if now >= self.expires_at {
            KeyStatus::Expired
        } else {
            KeyStatus::Active
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(expires_at: UnixTime, revoked_at: Option<UnixTime>) -> KeyRecord {
        KeyRecord {
            id: Uuid::nil(),
            api_key_id: Uuid::nil(),
            public_key_pem: String::new(),
            fingerprint_sha256: String::new(),
            jwk_thumbprint: String::new(),
            bits: 2048,
            exponent: 65537,
            issued_at: 0,
            expires_at,
            revoked_at,
            revoke_reason: None,
        }
    }

    #[test]
    fn status_is_a_function_of_the_row_and_now() {
        assert_eq!(record(10, None).status(9), KeyStatus::Active);
        assert_eq!(record(10, None).status(10), KeyStatus::Expired);
        assert_eq!(record(10, Some(5)).status(9), KeyStatus::Revoked);
        assert_eq!(record(10, Some(5)).status(11), KeyStatus::Revoked);
    }
}

/// A client or API key alias: 1 to 64 letters, digits, `_` or `-` (docs/design.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias(String);

impl Alias {
    /// Checks `text` against the alias rule, taking it exactly as given (no trimming; case
    /// counts). The error is a message for the operator that names the text and the rule.
    pub fn parse(text: &str) -> Result<Alias, String> {
        let ok = (1..=64).contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ok {
            Ok(Alias(text.to_string()))
        } else {
            Err(format!(
                "`{text}` is not a valid alias: use 1 to 64 letters, digits, `_` or `-`"
            ))
        }
    }
    /// The checked alias, as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod alias_tests {
    use super::Alias;

    #[test]
    fn aliases() {
        assert!(Alias::parse("acme-bank_1").is_ok());
        assert!(Alias::parse("").is_err());
        assert!(Alias::parse("has space").is_err());
        assert!(Alias::parse(&"a".repeat(65)).is_err());
        assert!(Alias::parse("ünï").is_err());
    }
}

/// A revocation's reason, checked: trimmed, at most 500 characters, no control character. The
/// one rule for every way a key is revoked (the API, the web page, `keygate admin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeReason(String);

/// Why a revocation reason is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RevokeReasonError {
    /// More than [`RevokeReason::MAX_CHARS`] characters once trimmed.
    #[error("reason: at most 500 characters")]
    TooLong,
    /// A control character (a newline or a tab included) inside the trimmed reason.
    #[error("reason: control characters are not allowed")]
    ControlCharacter,
}

impl RevokeReason {
    /// Most characters a reason may have.
    pub const MAX_CHARS: usize = 500;

    /// `None` for an absent or blank reason.
    ///
    /// # Errors
    /// [`RevokeReasonError`] for a reason that is too long or holds a control character.
    pub fn parse(text: Option<&str>) -> Result<Option<RevokeReason>, RevokeReasonError> {
        match text.map(str::trim) {
            Some(r) if r.chars().count() > Self::MAX_CHARS => Err(RevokeReasonError::TooLong),
            Some(r) if r.chars().any(char::is_control) => Err(RevokeReasonError::ControlCharacter),
            Some("") | None => Ok(None),
            Some(r) => Ok(Some(RevokeReason(r.to_owned()))),
        }
    }

    /// The checked, trimmed reason, ready to store.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod revoke_reason_tests {
    use super::*;

    #[test]
    fn reasons_are_checked_once_for_everyone() {
        assert_eq!(RevokeReason::parse(None), Ok(None));
        assert_eq!(RevokeReason::parse(Some("  ")), Ok(None));
        assert_eq!(
            RevokeReason::parse(Some(" rotating ")).map(|r| r.map(|r| r.as_str().to_owned())),
            Ok(Some("rotating".to_owned()))
        );
        assert_eq!(
            RevokeReason::parse(Some(&"x".repeat(501))),
            Err(RevokeReasonError::TooLong)
        );
        assert_eq!(
            RevokeReason::parse(Some("a\u{0}b")),
            Err(RevokeReasonError::ControlCharacter)
        );
    }
}
