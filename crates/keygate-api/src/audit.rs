//! A client's own audit trail (`GET /clients/api_key/audit`, docs/design.md §11).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One event of the caller's trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditEventRow {
    /// The event's id.
    pub id: String,
    /// When it was recorded (RFC 3339 UTC, seconds).
    pub at: DateTime<Utc>,
    /// What happened: `key.uploaded`, `key.revoked`, `key.expiring`, `key.expired`,
    /// `key.successor_staged`, `key.successor_withdrawn`, `key.successor_activated`,
    /// `key.retired`, `login.succeeded`, `login.failed`, `login.locked`, `logout`,
    /// `api_key.created`, `api_key.updated` (docs/design.md §11).
    #[schema(example = "key.uploaded")]
    pub event_type: String,
    /// Who: `api_key:<id>` (this API key, through the API or the page), `operator` (the
    /// bank's operator), `keygate` (what time did), `anonymous`.
    #[schema(example = "api_key:2b5c0c35-3f4e-4c55-9a37-0f0e4a8f7b11")]
    pub actor: String,
    /// From which address, when it came over the network.
    #[schema(required = true)]
    pub source: Option<String>,
    /// The public key it concerns, if any.
    #[schema(required = true)]
    pub key_id: Option<String>,
    /// What else is known (ids, reasons, instants as unix seconds); never a secret.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// One page of the trail, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditPage {
    /// The events, newest first.
    pub events: Vec<AuditEventRow>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// The query of `GET /clients/api_key/audit`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events per page, 1 to 500 (default 50). Read as text, so a bad value gets the API's own
    /// `invalid_page` answer.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}
