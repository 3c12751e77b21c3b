//! Domain records shared by the store, the server and the CLI.

use serde::Serialize;
use uuid::Uuid;

/// Seconds since the Unix epoch, UTC. The store keeps every instant in this form so that
/// SQLite and PostgreSQL hold identical values.
pub type UnixTime = i64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Client {
    pub id: Uuid,
    pub name: String,
    pub alias: String,
    pub created_at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: Uuid,
    pub client_id: Uuid,
    pub alias: String,
    /// The login identifier (not a secret on its own; the password is).
    pub api_key: String,
    pub created_at: UnixTime,
}

/// Who a valid bearer token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub client: Client,
    pub api_key: ApiKey,
}

/// The lifecycle status of a stored key: a function of the row and *now*, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyStatus {
    Active,
    Expired,
    Revoked,
}

/// One registered public key, as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub id: Uuid,
    pub api_key_id: Uuid,
    /// The canonical 64-column SPKI PEM, without a trailing newline.
    pub public_key_pem: String,
    /// SHA-256 of the SPKI DER, lowercase hex, colon separated.
    pub fingerprint_sha256: String,
    /// RFC 7638 thumbprint, base64url.
    pub jwk_thumbprint: String,
    pub bits: u32,
    pub exponent: u64,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    pub revoke_reason: Option<String>,
}

impl KeyRecord {
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

/// A client or API key alias: 1 to 64 letters, digits, `_` or `-` (DESIGN.md §9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias(String);

impl Alias {
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
    #[error("reason: at most 500 characters")]
    TooLong,
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
