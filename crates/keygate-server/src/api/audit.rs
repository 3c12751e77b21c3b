//! `GET /clients/api_key/audit`: the caller's own audit trail, newest first, a page at a time
//! (docs/design.md §11).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keygate_api::{AuditPage, AuditQuery, Envelope};
use keygate_registry::MAX_AUDIT_PAGE;

use super::view;
use crate::auth::Authenticated;
use crate::error::{ok, ApiError, PageParam};
use crate::state::AppState;

/// Events per page when `limit` is not given.
const DEFAULT_LIMIT: u32 = 50;

/// The caller's audit trail: what was done to and with this API key, by whom, from where.
#[utoipa::path(
    get, path = "/clients/api_key/audit", operation_id = "auditTrail",
    tag = "audit", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = Envelope<AuditPage>, description = "One page, newest first"))
)]
pub async fn trail(
    State(state): State<AppState>,
    auth: Authenticated,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    // Only a query that is not `name=value` pairs at all fails to parse.
    let Query(query) = query.map_err(|_| ApiError::InvalidPage(PageParam::Limit))?;
    let limit = match query.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_AUDIT_PAGE).contains(n))
            .ok_or(ApiError::InvalidPage(PageParam::Limit))?,
    };
    let before = match query.cursor.as_deref() {
        None => None,
        Some(text) => Some(parse_cursor(text).ok_or(ApiError::InvalidPage(PageParam::Cursor))?),
    };
    // One more than asked: whether an older page exists.
    let mut events = state
        .registry
        .api_key_trail(auth.principal.api_key.id, before, limit + 1)
        .await?;
    let next_cursor = if events.len() > limit as usize {
        events.truncate(limit as usize);
        events.last().map(|e| cursor(e.seq))
    } else {
        None
    };
    let events = events.iter().map(view::audit_event).collect();
    Ok(ok(
        StatusCode::OK,
        AuditPage {
            events,
            next_cursor,
        },
    ))
}

/// The opaque cursor of the page after the event `seq`.
fn cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("a{seq}"))
}

/// The event seq a cursor of [`cursor`] names, if it is one.
fn parse_cursor(text: &str) -> Option<i64> {
    if text.len() > 32 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let seq = std::str::from_utf8(&bytes).ok()?.strip_prefix('a')?;
    seq.parse::<i64>().ok().filter(|s| *s > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_others_are_refused() {
        assert_eq!(parse_cursor(&cursor(42)), Some(42));
        for bad in [
            "",
            "42",
            "!!",
            &URL_SAFE_NO_PAD.encode("a-1"),
            &"A".repeat(40),
        ] {
            assert_eq!(parse_cursor(bad), None, "{bad}");
        }
    }
}
