//! Where the HTTP layer turns domain records into the wire types of `keygate-api`
//! (docs/architecture.md, "The typed API"). Handlers call these; nothing here decides a rule.

use chrono::{DateTime, Utc};
use keygate_api::{
    ApiKeyRef, AuditEventRow, ClientRef, ErrorSlug, Jwk, KeyAnswer, KeyOwner, KeyRow, KeyStatus,
    KeyTableRow, KeyUsage, KeyView, LastRefusal, LoginAnswer, RefusalCount,
};
use keygate_core::audit::AuditEvent;
use keygate_core::model::{self, KeyRecord, Principal, UnixTime};
use keygate_core::public_key::{KeyPolicy, ValidPublicKey};

use crate::error::ApiError;

/// An instant on the wire (RFC 3339 UTC, whole seconds). Stored instants are always in range;
/// one that is not would show as the epoch rather than fail the whole table.
pub fn time(t: UnixTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// An audit event as the client sees it in its own trail: an operator is `operator`, without
/// the operating-system user name (that stays in the operator's own `audit list`).
pub fn audit_event(event: &AuditEvent) -> AuditEventRow {
    let actor = if event.actor.starts_with("operator:") {
        "operator".to_owned()
    } else {
        event.actor.clone()
    };
    let details = serde_json::from_str::<serde_json::Value>(&event.details)
        .ok()
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new()));
    AuditEventRow {
        id: event.id.clone(),
        at: time(event.at),
        event_type: event.event_type.clone(),
        actor,
        source: event.source.clone(),
        key_id: event.key_id.clone(),
        details,
    }
}

/// The wire status of a domain status (the wire enum is the API's own: docs/architecture.md).
pub fn status(status: model::KeyStatus) -> KeyStatus {
    match status {
        model::KeyStatus::Pending => KeyStatus::Pending,
        model::KeyStatus::Active => KeyStatus::Active,
        model::KeyStatus::Retiring => KeyStatus::Retiring,
        model::KeyStatus::Expired => KeyStatus::Expired,
        model::KeyStatus::Revoked => KeyStatus::Revoked,
        model::KeyStatus::Withdrawn => KeyStatus::Withdrawn,
    }
}

/// A row of the status table, as it reads at `now`: a retiring key's revocation is shown as
/// `retires_at` until it happens (docs/design.md §2), and a withdrawn key has no activation.
pub fn key_row(record: &KeyRecord, now: UnixTime) -> KeyRow {
    let status = record.status(now);
    let revoked_at = record.revoked_by(now);
    KeyRow {
        id: record.id,
        status: self::status(status),
        issued_at: time(record.issued_at),
        activates_at: (status != model::KeyStatus::Withdrawn).then(|| time(record.activates_at)),
        expires_at: time(record.expires_at),
        retires_at: record.retires_at(now).map(time),
        revoked_at: revoked_at.map(time),
        revoke_reason: revoked_at.and(record.revoke_reason.clone()),
        withdrawn_at: record.withdrawn_at.map(time),
        algorithm: "RSA".into(),
        bits: record.bits,
        exponent: record.exponent,
        fingerprint_sha256: record.fingerprint_sha256.clone(),
        jwk_thumbprint: record.jwk_thumbprint.clone(),
    }
}

/// A slug as stored by the usage counts; one this version does not know (written by a newer
/// node sharing the database) is left out rather than failing the table.
fn slug(text: &str) -> Option<ErrorSlug> {
    ErrorSlug::ALL.iter().copied().find(|s| s.as_str() == text)
}

/// A key's usage on the wire (docs/design.md §5, "Usage").
pub fn usage(usage: &model::KeyUsage) -> KeyUsage {
    let refusals: Vec<RefusalCount> = usage
        .refusals
        .iter()
        .filter_map(|(text, count)| {
            slug(text).map(|slug| RefusalCount {
                slug,
                count: *count,
            })
        })
        .collect();
    KeyUsage {
        accepted: usage.accepted,
        refused: refusals
            .iter()
            .map(|r| r.count)
            .fold(0, u64::saturating_add),
        last_used_at: usage.last_used_at.map(time),
        refusals,
        last_refusal: usage.last_refusal.as_ref().and_then(|(text, at)| {
            slug(text).map(|slug| LastRefusal {
                slug,
                at: time(*at),
            })
        }),
    }
}

/// A row of the status table with its key's usage.
pub fn key_table_row(record: &KeyRecord, now: UnixTime, used: &model::KeyUsage) -> KeyTableRow {
    KeyTableRow {
        row: key_row(record, now),
        usage: usage(used),
    }
}

/// "View key": the row plus the PEM, the JWK (its `kid` is the key's id) and the key's usage.
pub fn key_view(
    record: &KeyRecord,
    now: UnixTime,
    used: &model::KeyUsage,
) -> Result<KeyView, ApiError> {
    // The stored PEM passed these checks when it was uploaded; re-parse it under its own size
    // in case the allowed sizes have changed since.
    let policy = KeyPolicy {
        allowed_bits: vec![record.bits],
    };
    let key = ValidPublicKey::parse(&record.public_key_pem, &policy).map_err(ApiError::internal)?;
    let mut jwk = jwk(key.jwk())?;
    jwk.kid = Some(record.id.to_string());
    Ok(KeyView {
        row: key_row(record, now),
        public_key: record.public_key_pem.clone(),
        jwk,
        usage: usage(used),
    })
}

/// `data` of upload and "current key": who, and the key.
pub fn key_answer(principal: &Principal, record: &KeyRecord, now: UnixTime) -> KeyAnswer {
    KeyAnswer {
        client: client_ref(&principal.client),
        api_key: KeyOwner {
            id: principal.api_key.id,
            alias: principal.api_key.alias.clone(),
            public_key: record.public_key_pem.clone(),
        },
        key: key_row(record, now),
    }
}

/// `data` of a login.
pub fn login_answer(principal: &Principal, token: String, expires_in: u64) -> LoginAnswer {
    LoginAnswer {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in,
        client: client_ref(&principal.client),
        api_key: ApiKeyRef {
            id: principal.api_key.id,
            alias: principal.api_key.alias.clone(),
        },
    }
}

fn client_ref(client: &model::Client) -> ClientRef {
    ClientRef {
        id: client.id,
        name: client.name.clone(),
        alias: client.alias.clone(),
    }
}

/// A JWK as `keygate-core` writes it, in its wire type.
pub fn jwk(value: serde_json::Value) -> Result<Jwk, ApiError> {
    serde_json::from_value(value).map_err(ApiError::internal)
}
