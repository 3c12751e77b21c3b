//! Refusals: the stable slugs with their numeric codes and HTTP statuses, and the error body.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The failure envelope: `{"success": false, "code": …, "message": …, "error": slug}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// Always `false` here.
    pub success: bool,
    /// The slug's number: 1xxx request, 2xxx authentication, 3xxx public keys, 4xxx
    /// signatures and encryption, 5xxx server.
    pub code: u32,
    /// What went wrong and what to do next, for people (never parsed; may change).
    pub message: String,
    /// The stable slug: what programs match on.
    pub error: ErrorSlug,
}

impl ErrorBody {
    /// The body for `slug`, with its code.
    pub fn new(slug: ErrorSlug, message: String) -> Self {
        ErrorBody {
            success: false,
            code: slug.code(),
            message,
            error: slug,
        }
    }
}

/// Declares the slug enum with its code and status in one table, so that a slug cannot exist
/// without both.
macro_rules! slugs {
    ($(#[doc = $doc:literal] $variant:ident = $slug:literal, $code:literal, $status:ident;)*) => {
        /// Every refusal the API answers with (docs/architecture.md): the slug is stable API,
        /// and each has one numeric code and one HTTP status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum ErrorSlug {
            $(#[doc = $doc] $variant,)*
        }

        impl ErrorSlug {
            /// Every slug, in code order.
            pub const ALL: &'static [ErrorSlug] = &[$(ErrorSlug::$variant,)*];

            /// The slug as it appears in `error`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorSlug::$variant => $slug,)*
                }
            }

            /// The numeric `code` of the error envelope.
            pub fn code(self) -> u32 {
                match self {
                    $(ErrorSlug::$variant => $code,)*
                }
            }

            /// When this refusal is answered (its doc line), for `/openapi.json`.
            pub fn describe(self) -> &'static str {
                match self {
                    $(ErrorSlug::$variant => $doc.trim_ascii(),)*
                }
            }

            /// The HTTP status this refusal is answered with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorSlug::$variant => StatusCode::$status,)*
                }
            }
        }
    };
}

slugs! {
    /// Malformed JSON, a missing or wrong field, a bad revoke reason; the message names it.
    InvalidRequest = "invalid_request", 1001, BAD_REQUEST;
    /// The body is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type", 1002, UNSUPPORTED_MEDIA_TYPE;
    /// The body is larger than `max_body_bytes`.
    PayloadTooLarge = "payload_too_large", 1003, PAYLOAD_TOO_LARGE;
    /// Nothing is served at this path, or no key with this id belongs to the caller.
    NotFound = "not_found", 1004, NOT_FOUND;
    /// The path exists, the method does not.
    MethodNotAllowed = "method_not_allowed", 1005, METHOD_NOT_ALLOWED;
    /// Too many failed logins; `Retry-After` says when to try again.
    RateLimited = "rate_limited", 1006, TOO_MANY_REQUESTS;
    /// The body did not arrive within `body_read_timeout`; the connection is closed.
    RequestTimeout = "request_timeout", 1007, REQUEST_TIMEOUT;
    /// A list's `limit` or `cursor` is not valid; the message names which.
    InvalidPage = "invalid_page", 1008, BAD_REQUEST;
    /// Missing, malformed, expired or logged-out bearer token.
    Unauthorized = "unauthorized", 2001, UNAUTHORIZED;
    /// Unknown API key or wrong password: one answer for both.
    InvalidCredentials = "invalid_credentials", 2002, UNAUTHORIZED;
    /// Not a PEM public key.
    PublicKeyMalformed = "public_key_malformed", 3001, UNPROCESSABLE_ENTITY;
    /// A private key was pasted; it was not stored.
    PrivateKeySubmitted = "private_key_submitted", 3002, UNPROCESSABLE_ENTITY;
    /// Not an RSA key.
    PublicKeyNotRsa = "public_key_not_rsa", 3003, UNPROCESSABLE_ENTITY;
    /// An RSA key of a size that is not allowed.
    PublicKeyWrongSize = "public_key_wrong_size", 3004, UNPROCESSABLE_ENTITY;
    /// A weak RSA key (exponent, even modulus, small factor).
    PublicKeyWeak = "public_key_weak", 3005, UNPROCESSABLE_ENTITY;
    /// This key was registered before, by anyone.
    PublicKeyReused = "public_key_reused", 3006, CONFLICT;
    /// The API key already has an active key.
    ActiveKeyExists = "active_key_exists", 3007, CONFLICT;
    /// The API key has no active key (409 instead when a successor is staged without one).
    NoActiveKey = "no_active_key", 3008, NOT_FOUND;
    /// A successor is already staged; withdraw it first.
    SuccessorExists = "successor_exists", 3009, CONFLICT;
    /// The API key has no staged (pending) successor.
    NoSuccessor = "no_successor", 3010, NOT_FOUND;
    /// A protected route was called without `X-Request-Signature`.
    SignatureMissing = "signature_missing", 4001, UNAUTHORIZED;
    /// `X-Request-Signature` does not verify or does not match the request.
    SignatureInvalid = "signature_invalid", 4002, UNAUTHORIZED;
    /// `X-Request-Signature` is too old or from the future.
    SignatureStale = "signature_stale", 4003, UNAUTHORIZED;
    /// The signature's `jti` was used before.
    SignatureReplayed = "signature_replayed", 4004, UNAUTHORIZED;
    /// A protected route, and the API key has no public key yet.
    PublicKeyRequired = "public_key_required", 4010, FORBIDDEN;
    /// A protected route, and the API key's public key has expired.
    PublicKeyExpired = "public_key_expired", 4011, FORBIDDEN;
    /// A protected route, and the API key's public key was revoked.
    PublicKeyRevoked = "public_key_revoked", 4012, FORBIDDEN;
    /// An encrypted request field could not be decrypted.
    EncryptedFieldInvalid = "encrypted_field_invalid", 4020, BAD_REQUEST;
    /// No self-check challenge with this id belongs to the caller (or it was purged).
    ChallengeUnknown = "challenge_unknown", 4030, NOT_FOUND;
    /// The self-check challenge was answered before; each is answered once.
    ChallengeUsed = "challenge_used", 4031, CONFLICT;
    /// The self-check challenge expired before it was answered.
    ChallengeExpired = "challenge_expired", 4032, GONE;
    /// Unexpected; the cause is logged once, never sent.
    InternalError = "internal_error", 5000, INTERNAL_SERVER_ERROR;
    /// The database cannot be reached within `database_timeout`; `Retry-After` is set.
    ServiceUnavailable = "service_unavailable", 5001, SERVICE_UNAVAILABLE;
    /// The upstream service is unavailable.
    UpstreamUnavailable = "upstream_unavailable", 5002, BAD_GATEWAY;
    /// `/readyz`: the database is unreachable or cannot be written.
    NotReady = "not_ready", 5003, SERVICE_UNAVAILABLE;
    /// The upstream service did not answer in time.
    UpstreamTimeout = "upstream_timeout", 5004, GATEWAY_TIMEOUT;
    /// Every password-check slot stayed busy for `login_queue_timeout`; `Retry-After` is set.
    LoginBusy = "login_busy", 5005, SERVICE_UNAVAILABLE;
}

impl ErrorSlug {
    /// The slug with this numeric code.
    pub fn from_code(code: u32) -> Option<ErrorSlug> {
        ErrorSlug::ALL.iter().copied().find(|s| s.code() == code)
    }
}

impl std::fmt::Display for ErrorSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn serde_writes_the_same_slug_as_as_str_and_codes_are_unique() {
        let mut codes = std::collections::HashSet::new();
        for slug in ErrorSlug::ALL {
            let json = serde_json::to_value(slug).unwrap();
            assert_eq!(json, slug.as_str());
            assert_eq!(serde_json::from_value::<ErrorSlug>(json).unwrap(), *slug);
            assert!(codes.insert(slug.code()), "{slug} reuses {}", slug.code());
            assert_eq!(ErrorSlug::from_code(slug.code()), Some(*slug));
        }
        assert_eq!(ErrorSlug::ALL.len(), 37);
    }
}
