//! How the API shows keys: rows of the status table, "view key" and the key envelope. The
//! lifecycle rules themselves are the registry service's (`keygate_registry`).

use keygate_core::model::{KeyRecord, Principal, UnixTime};
use keygate_core::public_key::{KeyPolicy, ValidPublicKey};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::ApiError;

/// RFC 3339 UTC with seconds, e.g. `2026-11-23T10:00:00Z`.
pub fn rfc3339(t: UnixTime) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// A row of the status table (§3).
pub fn key_row(record: &KeyRecord, now: UnixTime) -> KeyRow<'_> {
    KeyRow {
        id: record.id,
        status: record.status(now),
        issued_at: rfc3339(record.issued_at),
        expires_at: rfc3339(record.expires_at),
        revoked_at: record.revoked_at.map(rfc3339),
        revoke_reason: record.revoke_reason.as_deref(),
        algorithm: "RSA",
        bits: record.bits,
        exponent: record.exponent,
        fingerprint_sha256: &record.fingerprint_sha256,
        jwk_thumbprint: &record.jwk_thumbprint,
    }
}

/// A row of the status table, serialized straight into the response (a table can hold
/// thousands of rows).
#[derive(Debug, serde::Serialize)]
pub struct KeyRow<'a> {
    pub id: Uuid,
    pub status: keygate_core::model::KeyStatus,
    pub issued_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub revoke_reason: Option<&'a str>,
    pub algorithm: &'static str,
    pub bits: u32,
    pub exponent: u64,
    pub fingerprint_sha256: &'a str,
    pub jwk_thumbprint: &'a str,
}

/// "View key": the row plus the PEM and the JWK.
pub fn key_view(record: &KeyRecord, now: UnixTime) -> Result<Value, ApiError> {
    // The stored PEM passed these checks when it was uploaded; re-parse it under its own size
    // in case the allowed sizes have changed since.
    let policy = KeyPolicy {
        allowed_bits: vec![record.bits],
    };
    let key = ValidPublicKey::parse(&record.public_key_pem, &policy).map_err(ApiError::internal)?;
    let mut view = serde_json::to_value(key_row(record, now)).map_err(ApiError::internal)?;
    if let Some(map) = view.as_object_mut() {
        map.insert("public_key".into(), json!(record.public_key_pem));
        let mut jwk = key.jwk();
        if let Some(jwk) = jwk.as_object_mut() {
            jwk.insert("kid".into(), json!(record.id));
        }
        map.insert("jwk".into(), jwk);
    }
    Ok(view)
}

/// `data` of upload and "current key": who, and the key.
pub fn key_envelope(principal: &Principal, record: &KeyRecord, now: UnixTime) -> Value {
    json!({
        "client": {
            "id": principal.client.id,
            "name": principal.client.name,
            "alias": principal.client.alias,
        },
        "api_key": {
            "id": principal.api_key.id,
            "alias": principal.api_key.alias,
            "public_key": record.public_key_pem,
        },
        "key": key_row(record, now),
    })
}
