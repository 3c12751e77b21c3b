//! `keygate serve --demo` (DESIGN §7): a sample card API served in-process behind signed,
//! encrypted gateway routes, and a demo client whose credentials are printed once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keygate_store::Store;
use serde_json::{json, Value};

use crate::auth::{hash_password, new_credentials};
use crate::config::RouteConfig;
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

type Cards = Arc<Mutex<HashMap<String, Card>>>;

/// The sample card API (the "upstream" of the demo routes). Never mounted on the public router:
/// the gateway calls it in-process, so it is reachable only through the signed routes.
pub fn card_api() -> Router {
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
    let cards: Cards = Arc::new(Mutex::new(cards));
    Router::new()
        .route("/demo/cards/{id}", get(get_card))
        .route("/demo/cards/{id}/pin", post(change_pin))
        .with_state(cards)
}

fn envelope(data: Value) -> Response {
    (
        StatusCode::OK,
        Json(json!({"success": true, "code": 0, "message": "OK", "data": data})),
    )
        .into_response()
}

fn card_json(id: &str, c: &Card) -> Result<Bytes, serde_json::Error> {
    let doc = json!({"success": true, "code": 0, "message": "OK", "data": {"card": {
        "id": id, "holder": c.holder, "number": c.number, "pin": c.pin, "cvv": c.cvv, "expiry": c.expiry,
    }}});
    serde_json::to_vec(&doc).map(Bytes::from)
}

async fn get_card(State(cards): State<Cards>, Path(id): Path<String>) -> Response {
    let Ok(mut cards) = cards.lock() else {
        return ApiError::internal("demo card lock poisoned").into_response();
    };
    let Some(card) = cards.get_mut(&id) else {
        return ApiError::NotFound("no card has this id (the demo has cards 1, 2 and 42)")
            .into_response();
    };
    let json = match &card.json {
        Some(json) => json.clone(),
        None => match card_json(&id, card) {
            Ok(json) => card.json.insert(json).clone(),
            Err(e) => return ApiError::internal(e).into_response(),
        },
    };
    drop(cards);
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response()
}

async fn change_pin(
    State(cards): State<Cards>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let pin = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("pin").and_then(Value::as_str).map(str::to_owned));
    let Some(pin) =
        pin.filter(|p| (4..=6).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()))
    else {
        return ApiError::InvalidRequest("pin: 4 to 6 digits, encrypted to the system key".into())
            .into_response();
    };
    let Ok(mut cards) = cards.lock() else {
        return ApiError::internal("demo card lock poisoned").into_response();
    };
    match cards.get_mut(&id) {
        Some(card) => {
            card.pin = pin;
            card.json = None;
            envelope(json!({"card": {"id": id, "pin_changed": true}}))
        }
        None => ApiError::NotFound("no card has this id (the demo has cards 1, 2 and 42)")
            .into_response(),
    }
}

/// The gateway routes of the demo.
pub fn routes() -> Vec<RouteConfig> {
    vec![
        RouteConfig {
            path: "/demo/cards/{id}".into(),
            methods: vec!["GET".into()],
            upstream: "keygate:demo".into(),
            signature: "required".into(),
            encrypt_response: vec![
                "/data/card/number".into(),
                "/data/card/pin".into(),
                "/data/card/cvv".into(),
            ],
            decrypt_request: vec![],
            scheme: "jwe".into(),
        },
        RouteConfig {
            path: "/demo/cards/{id}/pin".into(),
            methods: vec!["POST".into()],
            upstream: "keygate:demo".into(),
            signature: "required".into(),
            encrypt_response: vec![],
            decrypt_request: vec!["/pin".into()],
            scheme: "jwe".into(),
        },
    ]
}

/// The demo client's API key, as made at first start.
#[derive(Clone)]
pub enum DemoClient {
    Created {
        api_key_id: String,
        api_key: String,
        password: String,
    },
    Exists,
}

impl std::fmt::Debug for DemoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoClient(..)")
    }
}

/// Makes the client `DEMO` with an API key `demo`, unless it exists.
pub async fn ensure_demo_client(store: &Store, now: i64) -> Result<DemoClient, ApiError> {
    if store.find_client("DEMO").await?.is_some() {
        return Ok(DemoClient::Exists);
    }
    let client = match store.create_client("Demo client", "DEMO", now).await {
        Ok(c) => c,
        Err(keygate_store::StoreError::Conflict(_)) => return Ok(DemoClient::Exists),
        Err(e) => return Err(e.into()),
    };
    let (api_key, password) = new_credentials()?;
    let hash = {
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(ApiError::internal)??
    };
    let key = store
        .create_api_key(client.id, "demo", &api_key, &hash, now)
        .await?;
    Ok(DemoClient::Created {
        api_key_id: key.id.to_string(),
        api_key,
        password,
    })
}
