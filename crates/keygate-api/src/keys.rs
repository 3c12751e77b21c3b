//! A client's public keys: upload, current, revoke, the staged successor, the status table and
//! "view key".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::ClientRef;
use crate::error::ErrorSlug;
use crate::system::Jwk;

/// The upload request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = UploadRequest)]
pub struct UploadBody {
    /// PEM SubjectPublicKeyInfo (canonical form); also accepted and normalized: CRLF, other
    /// line lengths, surrounding whitespace, a literal `\n`, PKCS#1 RSA PUBLIC KEY, an X.509
    /// certificate.
    pub public_key: String,
}

/// The revoke request; the body itself is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RevokeRequest)]
pub struct RevokeBody {
    /// Why the key is revoked (at most 500 characters, no control characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// A key's lifecycle status, computed from its row and the server's clock when answering.
/// Exactly one key of an API key is `ACTIVE` at any instant, if any is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyStatus {
    /// A staged successor: active from `activates_at` (the active key's expiry or revocation,
    /// or its activation, whichever comes first).
    Pending,
    /// Usable: activated, neither revoked nor past `expires_at`.
    Active,
    /// The previous key after its successor was activated: signed requests may still use it
    /// until `retires_at` (`rotation_overlap`).
    Retiring,
    /// Past `expires_at`.
    Expired,
    /// Revoked by its owner or an operator, or replaced by its successor.
    Revoked,
    /// A staged successor taken back; still registered, never registrable again.
    Withdrawn,
}

/// A row of the status table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyRow {
    /// The key's id.
    pub id: Uuid,
    /// Its status now.
    pub status: KeyStatus,
    /// When it was uploaded or staged (RFC 3339 UTC, seconds).
    pub issued_at: DateTime<Utc>,
    /// When it is active from: `issued_at` for a key uploaded directly; for a successor, when
    /// it took (or, while `PENDING`, takes) over. Null for a `WITHDRAWN` key.
    #[schema(required = true)]
    pub activates_at: Option<DateTime<Utc>>,
    /// When it expires (`activates_at + key_validity`; for a `WITHDRAWN` key, when it would
    /// have).
    pub expires_at: DateTime<Utc>,
    /// While `RETIRING`: when it becomes `REVOKED` (the end of `rotation_overlap`).
    #[schema(required = true)]
    pub retires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    #[schema(required = true)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked, if a reason was given (for a key replaced by its successor, the
    /// successor's id).
    #[schema(required = true)]
    pub revoke_reason: Option<String>,
    /// When it was withdrawn, if it is `WITHDRAWN`.
    #[schema(required = true)]
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Always `RSA`.
    #[schema(example = "RSA")]
    pub algorithm: String,
    /// Modulus size in bits.
    pub bits: u32,
    /// The public exponent.
    pub exponent: u64,
    /// SHA-256 of the SPKI DER, lowercase hex, colon separated.
    pub fingerprint_sha256: String,
    /// RFC 7638 thumbprint, base64url.
    pub jwk_thumbprint: String,
}

/// "View key": the row plus the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    /// The status-table row.
    #[serde(flatten)]
    pub row: KeyRow,
    /// The canonical PEM.
    pub public_key: String,
    /// The key as a JWK, with `kid` the key's id.
    pub jwk: Jwk,
    /// What the gateway counted for this key.
    pub usage: KeyUsage,
}

/// What the gateway counted for one key, all nodes together, as of the last flush (every
/// `usage_flush_interval`, a few seconds; docs/design.md §5, "Usage"). A signed call counts
/// against the key that signed it (during a rotation's overlap, the one its `kid` names), else
/// against the active key; calls refused before the caller is known (no or a bad bearer token)
/// count against no key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct KeyUsage {
    /// Signed calls accepted: let through to the upstream.
    pub accepted: u64,
    /// Signed calls refused, every slug together.
    pub refused: u64,
    /// When the last accepted call was made (RFC 3339 UTC, seconds); null if none was.
    #[schema(required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Refused calls by slug, in slug order; a slug never answered is absent.
    pub refusals: Vec<RefusalCount>,
    /// The last refusal; null if none.
    #[schema(required = true)]
    pub last_refusal: Option<LastRefusal>,
}

/// How many signed calls were refused with one slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefusalCount {
    /// The refusal.
    pub slug: ErrorSlug,
    /// How many calls got it.
    pub count: u64,
}

/// The last refused signed call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LastRefusal {
    /// The refusal.
    pub slug: ErrorSlug,
    /// When (RFC 3339 UTC, seconds).
    pub at: DateTime<Utc>,
}

/// A row of the status table with its key's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyTableRow {
    /// The row.
    #[serde(flatten)]
    pub row: KeyRow,
    /// What the gateway counted for this key.
    pub usage: KeyUsage,
}

/// The API key a key belongs to, with its current key's PEM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyOwner {
    /// The API key's id.
    pub id: Uuid,
    /// Its alias within the client.
    pub alias: String,
    /// The key's canonical PEM.
    pub public_key: String,
}

/// `data` of upload and "current key": who, and the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = KeyEnvelope)]
pub struct KeyAnswer {
    /// The client.
    pub client: ClientRef,
    /// The API key and the key's PEM.
    pub api_key: KeyOwner,
    /// The key's row.
    pub key: KeyRow,
}

/// `data` of revoke: the revoked key's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyData {
    /// The row.
    pub key: KeyRow,
}

/// `data` of "view key".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyViewData {
    /// The key.
    pub key: KeyView,
}

/// `data` of the status table: every key of the API key, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = KeysData)]
pub struct KeyTable {
    /// The rows, each with its key's usage.
    pub keys: Vec<KeyTableRow>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The wire form of a time is RFC 3339 UTC with whole seconds and `Z`, as it always was.
    #[test]
    fn times_are_rfc3339_utc_seconds() {
        let t = DateTime::from_timestamp(1_795_428_000, 0).unwrap();
        assert_eq!(
            serde_json::to_value(t).unwrap(),
            serde_json::json!("2026-11-23T10:00:00Z")
        );
    }
}
