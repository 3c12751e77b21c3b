//! The JSON a webhook receives for an audit event (docs/webhooks.md, "Payload"):
//! `{"type": …, "timestamp": …, "data": {…}}`, the Standard Webhooks shape. Built from the stored
//! event on every attempt, byte for byte the same each time.

use chrono::{DateTime, Utc};
use keygate_core::audit::AuditEvent;
use serde::Serialize;

use crate::api::view::time;

/// The message body.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    /// The event type, e.g. `key.revoked`.
    #[serde(rename = "type")]
    event_type: &'a str,
    /// When the event happened.
    timestamp: DateTime<Utc>,
    data: Data<'a>,
}

/// What the event concerns: ids, who, when, and its non-secret details. The source address is
/// left out (it is the client's, not the receiver's business).
#[derive(Debug, Serialize)]
struct Data<'a> {
    /// The event's id (also the `webhook-id` header).
    id: &'a str,
    client_id: Option<&'a str>,
    api_key_id: Option<&'a str>,
    key_id: Option<&'a str>,
    /// `api_key:<id>`, `operator:<user>` or `keygate`.
    actor: &'a str,
    at: DateTime<Utc>,
    /// The audit event's details (a JSON object).
    details: serde_json::Value,
}

/// The body posted for `event`.
pub fn body(event: &AuditEvent) -> Vec<u8> {
    // A details text that is not JSON (a row changed by hand) is sent as an empty object; the
    // audit chain's `verify` is what reports such a change.
    let details = serde_json::from_str::<serde_json::Value>(&event.details)
        .ok()
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new()));
    let payload = Payload {
        event_type: &event.event_type,
        timestamp: time(event.at),
        data: Data {
            id: &event.id,
            client_id: event.client_id.as_deref(),
            api_key_id: event.api_key_id.as_deref(),
            key_id: event.key_id.as_deref(),
            actor: &event.actor,
            at: time(event.at),
            details,
        },
    };
    // Serializing these types cannot fail (string keys, no maps with other keys).
    serde_json::to_vec(&payload).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn event(details: &str) -> AuditEvent {
        AuditEvent {
            seq: 7,
            id: "0b0e7c4e-7d7c-4b51-9a53-0b8f6a6f2a11".into(),
            at: 1_700_000_000,
            event_type: "key.revoked".into(),
            client_id: Some("c".into()),
            api_key_id: Some("a".into()),
            key_id: Some("k".into()),
            actor: "operator:ops".into(),
            source: Some("192.0.2.1".into()),
            details: details.into(),
            prev_hash: vec![0; 32],
            hash: vec![1; 32],
        }
    }

    #[test]
    fn the_standard_webhooks_shape() {
        let bytes = body(&event(r#"{"reason":"lost"}"#));
        assert!(
            !String::from_utf8_lossy(&bytes).contains("192.0.2.1"),
            "no source address"
        );
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "type": "key.revoked",
                "timestamp": "2023-11-14T22:13:20Z",
                "data": {
                    "id": "0b0e7c4e-7d7c-4b51-9a53-0b8f6a6f2a11",
                    "client_id": "c",
                    "api_key_id": "a",
                    "key_id": "k",
                    "actor": "operator:ops",
                    "at": "2023-11-14T22:13:20Z",
                    "details": {"reason": "lost"}
                }
            })
        );
    }

    #[test]
    fn the_same_bytes_every_time_and_details_always_an_object() {
        let e = event(r#"{"b":1,"a":2}"#);
        assert_eq!(body(&e), body(&e));
        let broken: serde_json::Value = serde_json::from_slice(&body(&event("not json"))).unwrap();
        assert_eq!(broken["data"]["details"], serde_json::json!({}));
    }
}
