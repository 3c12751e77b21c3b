//! The registry's one error type: every refusal of a lifecycle or login rule, plus the two
//! conditions no rule can prevent (the database is unavailable; something unexpected).
//!
//! The texts here are short descriptions for logs and the operator's command line. The words a
//! caller or a visitor reads live once, in the Fluent catalogues, keyed by the slug the HTTP
//! layer gives each variant (docs/architecture.md, "Texts for people").

use keygate_core::model::RevokeReasonError;
use keygate_core::public_key::KeyRejection;
use keygate_store::StoreError;

/// Why the registry refused or failed an operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The uploaded text is not an acceptable public key (malformed, private, not RSA, wrong
    /// size, weak). Nothing was stored.
    #[error(transparent)]
    KeyRejected(#[from] KeyRejection),
    /// A key with this fingerprint was registered before, by this or any other API key: a key
    /// can be registered only once.
    #[error("this public key was registered before")]
    PublicKeyReused,
    /// The API key still has an active key; it must be revoked or expire before an upload.
    #[error("the API key already has an active public key")]
    ActiveKeyExists,
    /// There is no active key to show or revoke (never uploaded, revoked or expired).
    #[error("the API key has no active public key")]
    NoActiveKey,
    /// A successor was staged while the API key has no active key to succeed (upload directly
    /// instead). Answered like [`RegistryError::NoActiveKey`], but as a conflict (409).
    #[error("the API key has no active public key to succeed; upload a key instead")]
    NoActiveKeyToSucceed,
    /// A successor was staged while one is already staged (withdraw it first).
    #[error("the API key already has a staged successor")]
    SuccessorExists,
    /// There is no pending successor to show, withdraw or activate.
    #[error("the API key has no staged successor")]
    NoSuccessor,
    /// No key with this id belongs to this API key (view key).
    #[error("no key with this id belongs to this API key")]
    UnknownKey,
    /// A revocation's reason breaks the reason rule (`RevokeReason`).
    #[error(transparent)]
    InvalidRevokeReason(#[from] RevokeReasonError),
    /// The gateway needs an active key and the API key never uploaded one.
    #[error("the API key has no public key yet")]
    PublicKeyRequired,
    /// The gateway needs an active key and the API key's newest key has expired.
    #[error("the API key's public key has expired")]
    PublicKeyExpired,
    /// The gateway needs an active key and the API key's newest key was revoked.
    #[error("the API key's public key was revoked")]
    PublicKeyRevoked,
    /// The login's input breaks the shape rule ([`crate::check_login_input`]); nothing was
    /// counted.
    #[error(transparent)]
    MalformedLogin(#[from] crate::login::MalformedLogin),
    /// No self-check challenge with this id belongs to this API key (never made, malformed id,
    /// or purged after it expired).
    #[error("no challenge with this id belongs to this API key")]
    ChallengeUnknown,
    /// The self-check challenge was answered before; each is answered once.
    #[error("this challenge was already answered")]
    ChallengeUsed,
    /// The self-check challenge expired before it was answered.
    #[error("this challenge has expired")]
    ChallengeExpired,
    /// The login's API key is unknown or its password is wrong (the two are not told apart).
    #[error("the API key or the password is wrong")]
    InvalidCredentials,
    /// Too many failed logins for this API key or address within the window; try again after
    /// `retry_after` seconds.
    #[error("too many failed login attempts; retry after {retry_after} s")]
    RateLimited {
        /// Seconds to wait (the failure window).
        retry_after: u64,
    },
    /// Every password-check slot stayed busy for `login_queue_timeout`; the attempt was not
    /// counted.
    #[error("every password check slot is busy; retry after {retry_after} s")]
    LoginBusy {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The bearer token is expired, logged out or unknown.
    #[error("the session is expired, logged out or unknown")]
    SessionUnknown,
    /// No API key has this id (`keygate admin`).
    #[error("no API key has the id {0}")]
    UnknownApiKey(uuid::Uuid),
    /// No client has this alias or id (`keygate admin`).
    #[error("no client has the alias or id `{0}`")]
    UnknownClient(String),
    /// An alias breaks the alias rule (`Alias`); the text names it and the rule.
    #[error("{0}")]
    InvalidAlias(String),
    /// A client's name is empty or longer than 200 characters.
    #[error("a client name must be 1 to 200 characters")]
    InvalidClientName,
    /// A uniqueness rule refused a write: the value names what already exists (e.g.
    /// `"client alias"`).
    #[error("{0} already exists")]
    Conflict(String),
    /// The database cannot be reached (or written) within `database_timeout`. The cause is for
    /// the log only.
    #[error("the database is unavailable: {0}")]
    Unavailable(StoreError),
    /// Anything unexpected. The cause is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RegistryError {
    /// An unexpected failure, with its cause for the log.
    pub fn internal(cause: impl std::fmt::Display) -> RegistryError {
        RegistryError::Internal(cause.to_string())
    }
}

/// A database that cannot be reached in time is the service's condition (retry later); a
/// uniqueness refusal names what exists; anything else from the store is unexpected.
impl From<StoreError> for RegistryError {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            RegistryError::Unavailable(err)
        } else if let StoreError::Conflict(what) = err {
            RegistryError::Conflict(what)
        } else {
            RegistryError::internal(err)
        }
    }
}
