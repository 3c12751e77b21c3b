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

/// The lifecycle status of a stored key: a function of the row and *now*, never stored
/// (docs/design.md §2, "Lifecycle"). Exactly one key of an API key is [`KeyStatus::Active`] at
/// any instant, if any is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyStatus {
    /// A staged successor: `now < activates_at`. It becomes active at `activates_at` (the
    /// active key's expiry, moved earlier by an activation or a revocation) with no job.
    Pending,
    /// Not revoked, `activates_at <= now < expires_at`: signed requests are checked against this
    /// key and confidential fields are encrypted to it.
    Active,
    /// The previous key after its successor was activated, until `revoked_at` (the end of
    /// `rotation_overlap`): signed requests may still use it.
    Retiring,
    /// Not revoked, and `now >= expires_at`; no job marks it, the clock does.
    Expired,
    /// `revoked_at <= now`; wins over expiry, and is final.
    Revoked,
    /// A successor taken back before it activated; still registered (never registrable again).
    Withdrawn,
}

/// One registered public key, as the store holds it.
///
/// How the lifecycle is held in one row (docs/design.md §2): a key uploaded directly is active
/// from `issued_at`; a staged successor is stored at `issued_at` with `activates_at` = the
/// active key's `expires_at` and `expires_at = activates_at + key_validity`. An explicit
/// activation or a revocation of the active key moves both instants earlier, in the same
/// transaction that ends the predecessor, so each row's status stays a function of that row and
/// *now*. A retiring key is a key whose `revoked_at` lies in the future.
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
    /// When the key was stored (uploaded or staged).
    pub issued_at: UnixTime,
    /// When the key is (or was, or will be) active from: `issued_at` for a key uploaded
    /// directly; for a successor, the instant it takes over. Before it the key is
    /// [`KeyStatus::Pending`].
    pub activates_at: UnixTime,
    /// `activates_at + key_validity`: from this instant on the key is [`KeyStatus::Expired`].
    pub expires_at: UnixTime,
    /// When the key was (or, while [`KeyStatus::Retiring`], will be) revoked; `None` otherwise.
    /// Read it through [`KeyRecord::revoked_by`] to get only a revocation that has happened.
    pub revoked_at: Option<UnixTime>,
    /// The reason given at revocation, already checked by [`RevokeReason`], or the successor's
    /// name for a key replaced by its successor; `None` when none was given.
    pub revoke_reason: Option<String>,
    /// When a staged successor was withdrawn; `None` unless [`KeyStatus::Withdrawn`].
    pub withdrawn_at: Option<UnixTime>,
}

impl KeyRecord {
    /// The key's status at `now` (docs/design.md §2), in this order: withdrawn; revoked
    /// (`revoked_at <= now`); pending (`now < activates_at`); expired (`now >= expires_at`);
    /// retiring (`revoked_at` in the future); else active. Callers pass the one clock's time;
    /// the status is never stored.
    pub fn status(&self, now: UnixTime) -> KeyStatus {
        if self.withdrawn_at.is_some() {
            KeyStatus::Withdrawn
        } else if self.revoked_at.is_some_and(|at| at <= now) {
            KeyStatus::Revoked
        } else if now < self.activates_at {
            KeyStatus::Pending
        } else if now >= self.expires_at {
            KeyStatus::Expired
        } else if self.revoked_at.is_some() {
            KeyStatus::Retiring
        } else {
            KeyStatus::Active
        }
    }

    /// `revoked_at` once it has passed at `now`: what "revoked at" means to a reader. A retiring
    /// key's future revocation is [`KeyRecord::retires_at`] instead.
    pub fn revoked_by(&self, now: UnixTime) -> Option<UnixTime> {
        self.revoked_at.filter(|at| *at <= now)
    }

    /// While [`KeyStatus::Retiring`] at `now`: when it becomes revoked.
    pub fn retires_at(&self, now: UnixTime) -> Option<UnixTime> {
        (self.status(now) == KeyStatus::Retiring)
            .then_some(self.revoked_at)
            .flatten()
    }

    /// The next instant after `now` at which this key's status changes by the clock alone
    /// (pending → active, active → expired, retiring → revoked); `None` when it never will.
    pub fn next_change(&self, now: UnixTime) -> Option<UnixTime> {
        match self.status(now) {
            KeyStatus::Pending => Some(self.activates_at),
            KeyStatus::Active => Some(self.expires_at),
            KeyStatus::Retiring => self.revoked_at.map(|at| at.min(self.expires_at)),
            KeyStatus::Expired | KeyStatus::Revoked | KeyStatus::Withdrawn => None,
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
            activates_at: 0,
            expires_at,
            revoked_at,
            revoke_reason: None,
            withdrawn_at: None,
        }
    }

    #[test]
    fn status_is_a_function_of_the_row_and_now() {
        assert_eq!(record(10, None).status(9), KeyStatus::Active);
        assert_eq!(record(10, None).status(10), KeyStatus::Expired);
        assert_eq!(record(10, Some(5)).status(9), KeyStatus::Revoked);
        assert_eq!(record(10, Some(5)).status(11), KeyStatus::Revoked);
    }

    #[test]
    fn successors_and_retiring_keys_change_status_by_the_clock() {
        // A successor staged at 0 to take over at 10, valid for 10.
        let successor = KeyRecord {
            activates_at: 10,
            ..record(20, None)
        };
        assert_eq!(successor.status(9), KeyStatus::Pending);
        assert_eq!(successor.next_change(9), Some(10));
        assert_eq!(successor.status(10), KeyStatus::Active);
        assert_eq!(successor.next_change(10), Some(20));
        assert_eq!(successor.status(20), KeyStatus::Expired);
        // Its predecessor, replaced at 4 with an overlap until 6.
        let retiring = record(10, Some(6));
        assert_eq!(retiring.status(4), KeyStatus::Retiring);
        assert_eq!(retiring.retires_at(4), Some(6));
        assert_eq!(retiring.revoked_by(4), None);
        assert_eq!(retiring.next_change(4), Some(6));
        assert_eq!(retiring.status(6), KeyStatus::Revoked);
        assert_eq!(retiring.revoked_by(6), Some(6));
        assert_eq!(retiring.retires_at(6), None);
        let withdrawn = KeyRecord {
            withdrawn_at: Some(3),
            ..successor
        };
        assert_eq!(withdrawn.status(3), KeyStatus::Withdrawn);
        assert_eq!(withdrawn.status(15), KeyStatus::Withdrawn);
        assert_eq!(withdrawn.next_change(3), None);
    }
}

/// What the gateway counted for one public key, all nodes together (docs/design.md §5,
/// "Usage"): signed calls accepted and refused, as of the last flush.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyUsage {
    /// Signed calls accepted (let through to the upstream) with this key.
    pub accepted: u64,
    /// When the last of them was accepted; `None` if none was.
    pub last_used_at: Option<UnixTime>,
    /// Signed calls refused, by slug, each slug once, in slug order.
    pub refusals: Vec<(String, u64)>,
    /// The last refusal's slug and instant.
    pub last_refusal: Option<(String, UnixTime)>,
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
