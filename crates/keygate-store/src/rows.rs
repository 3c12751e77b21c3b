//! Row mapping: the tuples the queries read (UUIDs as TEXT, instants as BIGINT) and their
//! conversion into `keygate_core::model` types. A stored value that does not convert is
//! [`StoreError::Corrupt`].

use keygate_core::model::{ApiKey, Client, KeyRecord};
use uuid::Uuid;

use crate::StoreError;

pub(crate) type ClientRow = (String, String, String, i64);
pub(crate) type ApiKeyRow = (String, String, String, String, i64);
/// An API key's columns, then its client's, then one more column.
pub(crate) type ApiKeyClientRow<T> = (
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    i64,
    T,
);
pub(crate) type KeyRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

pub(crate) fn parse_uuid(text: &str, what: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("{what} is not a UUID")))
}

pub(crate) fn client_from_row(
    (id, name, alias, created_at): ClientRow,
) -> Result<Client, StoreError> {
    Ok(Client {
        id: parse_uuid(&id, "clients.id")?,
        name,
        alias,
        created_at,
    })
}

pub(crate) fn api_key_from_row(
    (id, client_id, alias, api_key, created_at): ApiKeyRow,
) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: parse_uuid(&id, "api_keys.id")?,
        client_id: parse_uuid(&client_id, "api_keys.client_id")?,
        alias,
        api_key,
        created_at,
    })
}

pub(crate) fn api_key_client_from_row<T>(
    row: ApiKeyClientRow<T>,
) -> Result<(ApiKey, Client, T), StoreError> {
    let (a0, a1, a2, a3, a4, c0, c1, c2, c3, extra) = row;
    Ok((
        api_key_from_row((a0, a1, a2, a3, a4))?,
        client_from_row((c0, c1, c2, c3))?,
        extra,
    ))
}

pub(crate) fn key_from_row(row: KeyRow) -> Result<KeyRecord, StoreError> {
    let (
        id,
        api_key_id,
        public_key_pem,
        fingerprint_sha256,
        jwk_thumbprint,
        bits,
        exponent,
        issued_at,
        activates_at,
        expires_at,
        revoked_at,
        revoke_reason,
        withdrawn_at,
    ) = row;
    Ok(KeyRecord {
        id: parse_uuid(&id, "public_keys.id")?,
        api_key_id: parse_uuid(&api_key_id, "public_keys.api_key_id")?,
        public_key_pem,
        fingerprint_sha256,
        jwk_thumbprint,
        bits: u32::try_from(bits)
            .map_err(|_| StoreError::Corrupt("public_keys.bits out of range".into()))?,
        exponent: u64::try_from(exponent)
            .map_err(|_| StoreError::Corrupt("public_keys.exponent out of range".into()))?,
        issued_at,
        activates_at,
        expires_at,
        revoked_at,
        revoke_reason,
        withdrawn_at,
    })
}

pub(crate) fn count_to_u32(count: i64) -> u32 {
    u32::try_from(count.max(0)).unwrap_or(u32::MAX)
}
