//! `keygate:demo` (docs/gateway.md): the sample card API of `keygate serve --demo`, an upstream
//! served in-process.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::{json, Value};

use super::{CallUpstream, UpstreamReply, UpstreamRequest};
use crate::error::ApiError;

#[derive(Clone, Debug)]
struct Card {
    holder: &'static str,
    number: &'static str,
    pin: String,
    cvv: &'static str,
    expiry: &'static str,
    /// The `GET` answer, serialized once and kept until the pin changes.
    json: Option<Bytes>,
}

/// The sample card API (the upstream of the demo routes). Never mounted on the public router:
/// the gateway calls it in-process through [`CallUpstream`], as it calls an HTTP upstream (no
/// HTTP, no router: a real upstream runs in its own process, so the demo should cost the
/// gateway as little as one), and it is reachable only through the signed routes.
#[derive(Debug)]
pub struct CardApi {
    cards: Mutex<HashMap<String, Card>>,
}

/// What the card API answers: always a JSON body.
pub struct CardReply {
    /// The status the gateway passes on, as a real upstream's.
    pub status: StatusCode,
    /// The JSON answer, before the gateway encrypts the route's `encrypt_response` fields.
    pub body: Bytes,
}

impl Default for CardApi {
    fn default() -> Self {
        Self::new()
    }
}

impl CardApi {
    /// The card API with its fixed sample cards (the same on every start).
    pub fn new() -> CardApi {
        let mut cards = HashMap::new();
        for (id, holder, number, pin, cvv, expiry) in [
            (
                "1",
                "ADA LOVELACE",
                "4111111111111111",
                "1234",
                "123",
                "12/29",
            ),
            (
                "2",
                "ALAN TURING",
                "5500005555555559",
                "4321",
                "456",
                "06/28",
            ),
            (
                "42",
                "GRACE HOPPER",
                "4242424242424242",
                "0042",
                "042",
                "01/30",
            ),
        ] {
            cards.insert(
                id.to_string(),
                Card {
                    holder,
                    number,
                    pin: pin.to_string(),
                    cvv,
                    expiry,
                    json: None,
                },
            );
        }
        CardApi {
            cards: Mutex::new(cards),
        }
    }

    /// Serves `GET /demo/cards/{id}` and `POST /demo/cards/{id}/pin` (a query string is
    /// ignored); anything else is 404 / 405 with the §4 envelope.
    pub fn answer(&self, method: &Method, path_and_query: &str, body: &[u8]) -> CardReply {
        let path = path_and_query
            .split_once('?')
            .map_or(path_and_query, |(path, _)| path);
        let result = match path
            .strip_prefix("/demo/cards/")
            .map(|rest| rest.split('/'))
        {
            Some(mut parts) => match (parts.next(), parts.next(), parts.next()) {
                (Some(id), None, None) if !id.is_empty() => {
                    only(method, &Method::GET, || self.get_card(id))
                }
                (Some(id), Some("pin"), None) if !id.is_empty() => {
                    only(method, &Method::POST, || self.change_pin(id, body))
                }
                _ => Err(ApiError::NotFound("nothing is served at this path")),
            },
            None => Err(ApiError::NotFound("nothing is served at this path")),
        };
        match result {
            Ok(body) => CardReply {
                status: StatusCode::OK,
                body,
            },
            Err(error) => CardReply {
                status: error.parts().0,
                body: Bytes::from(serde_json::to_vec(&error.envelope()).unwrap_or_default()),
            },
        }
    }

    fn get_card(&self, id: &str) -> Result<Bytes, ApiError> {
        let mut cards = self
            .cards
            .lock()
            .map_err(|_| ApiError::internal("demo card lock poisoned"))?;
        let card = cards.get_mut(id).ok_or(NO_SUCH_CARD)?;
        if let Some(json) = &card.json {
            return Ok(json.clone());
        }
        let doc = json!({"success": true, "code": 0, "message": "OK", "data": {"card": {
            "id": id, "holder": card.holder, "number": card.number, "pin": card.pin,
            "cvv": card.cvv, "expiry": card.expiry,
        }}});
        let json = Bytes::from(doc.to_string());
        card.json = Some(json.clone());
        Ok(json)
    }

    fn change_pin(&self, id: &str, body: &[u8]) -> Result<Bytes, ApiError> {
        let pin = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("pin").and_then(Value::as_str).map(str::to_owned))
            .filter(|p| (4..=6).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::InvalidRequest("pin: 4 to 6 digits, encrypted to the system key".into())
            })?;
        let mut cards = self
            .cards
            .lock()
            .map_err(|_| ApiError::internal("demo card lock poisoned"))?;
        let card = cards.get_mut(id).ok_or(NO_SUCH_CARD)?;
        card.pin = pin;
        card.json = None;
        let doc = json!({"success": true, "code": 0, "message": "OK",
            "data": {"card": {"id": id, "pin_changed": true}}});
        Ok(Bytes::from(doc.to_string()))
    }
}

fn only(
    method: &Method,
    allowed: &Method,
    serve: impl FnOnce() -> Result<Bytes, ApiError>,
) -> Result<Bytes, ApiError> {
    if method == allowed {
        serve()
    } else {
        Err(ApiError::MethodNotAllowed)
    }
}

const NO_SUCH_CARD: ApiError =
    ApiError::NotFound("no card has this id (the demo has cards 1, 2 and 42)");

impl CallUpstream for CardApi {
    /// In-process and synchronous (a map lookup): it cannot hang, so no timeout; the forwarded
    /// headers are never made.
    fn call(
        &self,
        request: UpstreamRequest<'_>,
        _headers: impl FnOnce() -> Result<HeaderMap, ApiError> + Send,
    ) -> impl std::future::Future<Output = Result<UpstreamReply, ApiError>> + Send {
        let reply = self.answer(&request.method, request.path_and_query, &request.body);
        let mut headers = HeaderMap::with_capacity(1);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        std::future::ready(Ok(UpstreamReply {
            status: reply.status,
            headers,
            body: reply.body,
        }))
    }
}
