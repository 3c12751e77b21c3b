//! Real answers of every route, successes and refusals, validate against the schemas that
//! `/openapi.json` (generated from the `keygate-api` types) documents for their status.

use std::collections::BTreeSet;

use keygate_api::{ErrorBody, ErrorSlug};
use keygate_client::http::{KeygateClient, Reply};
use reqwest::Method;
use serde_json::{json, Value};

use keygate_testkit::*;

both_backends!(real_answers_match_the_documented_schemas);

/// Checks each answer against the document, and remembers which (operation, status) pairs
/// were seen.
pub(crate) struct Checker {
    pub(crate) spec: Value,
    pub(crate) seen: BTreeSet<(String, String, u16)>,
}

impl Checker {
    pub(crate) async fn new(app: &TestApp) -> Checker {
        let reply = app
            .client()
            .send(Method::GET, "/openapi.json", None, &[])
            .await
            .unwrap();
        assert_eq!(reply.status, 200);
        std::fs::write(
            "/tmp/api-openapi.json",
            serde_json::to_string_pretty(&reply.body).unwrap(),
        )
        .unwrap(); // TEMP
        let mut spec = reply.body;
        strict(&mut spec);
        Checker {
            spec,
            seen: BTreeSet::new(),
        }
    }

    pub(crate) fn validator(
        &self,
        method: &str,
        path: &str,
        status: &str,
    ) -> jsonschema::Validator {
        let response = &self.spec["paths"][path][method]["responses"][status];
        let mut root = response["content"]["application/json"]["schema"].clone();
        root["components"] = self.spec["components"].clone();
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("{method} {path} {status}: schema does not build: {e}"))
    }

    /// `reply` is an answer of `method path` (the documented path, e.g. with `{id}`).
    pub(crate) fn check(&mut self, method: &str, path: &str, reply: &Reply) {
        let status = reply.status.to_string();
        let op = &self.spec["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let response = &op["responses"][&status];
        assert!(
            response.is_object(),
            "{method} {path} answered {status}, which is not documented: {}",
            reply.body
        );
        let schema = &response["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {path} {status} documents no JSON schema"
        );
        // The response schema, with the document's components beside it so that its
        // `#/components/schemas/...` references resolve.
        let validator = self.validator(method, path, &status);
        if let Err(e) = validator.validate(&reply.body) {
            panic!(
                "{method} {path} {status}: the answer does not match its schema: {e}\n{}",
                serde_json::to_string_pretty(&reply.body).unwrap()
            );
        }
        if reply.status >= 400 {
            // A refusal's code is the one its slug has.
            let body: ErrorBody = serde_json::from_value(reply.body.clone()).unwrap();
            assert_eq!(body.code, body.error.code(), "{}", reply.body);
            // The one documented exception (docs/design.md §4): a successor staged without an
            // active key is 409 `no_active_key`; its response entry names the slug.
            let exception = (method, path, reply.status, body.error)
                == (
                    "put",
                    "/clients/api_key/public_key/successor",
                    409,
                    ErrorSlug::NoActiveKey,
                );
            if exception {
                let description = response["description"].as_str().unwrap();
                assert!(description.contains("`no_active_key`"), "{description}");
            } else {
                assert_eq!(body.error.status().as_u16(), reply.status, "{}", reply.body);
            }
        }
        self.seen.insert((method.into(), path.into(), reply.status));
    }
}

/// The published schemas let a field be added later without breaking a client's validator; here
/// an answer must carry no field its documented type lacks, so every object schema gets
/// `unevaluatedProperties: false` (JSON Schema 2020-12). Not the ones an `allOf` reuses (a
/// key view is a row plus more): the `allOf` schema itself is made strict instead.
fn strict(spec: &mut Value) {
    fn walk(schema: &mut Value, inside_all_of: bool) {
        let Some(map) = schema.as_object_mut() else {
            return;
        };
        if (map.contains_key("properties") || map.contains_key("allOf")) && !inside_all_of {
            map.insert("unevaluatedProperties".into(), Value::Bool(false));
        }
        for (key, value) in map.iter_mut() {
            match key.as_str() {
                "properties" => {
                    for property in value
                        .as_object_mut()
                        .into_iter()
                        .flat_map(|m| m.values_mut())
                    {
                        walk(property, false);
                    }
                }
                "items" => walk(value, false),
                "allOf" | "oneOf" | "anyOf" => {
                    for item in value.as_array_mut().into_iter().flatten() {
                        walk(item, key == "allOf");
                    }
                }
                _ => {}
            }
        }
    }
    let reused: BTreeSet<String> = spec["components"]["schemas"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|s| s["allOf"].as_array().cloned().unwrap_or_default())
        .filter_map(|item| {
            item["$ref"]
                .as_str()
                .map(|r| r.rsplit('/').next().unwrap().to_owned())
        })
        .collect();
    assert!(reused.contains("KeyRow"), "{reused:?}");
    for (name, schema) in spec["components"]["schemas"].as_object_mut().unwrap() {
        walk(schema, reused.contains(name));
    }
}

pub(crate) async fn raw(
    client: &KeygateClient,
    method: Method,
    path: &str,
    body: &[u8],
    ct: &str,
) -> Reply {
    // `send` marks every body as JSON; this one says what `ct` says.
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", client.base_url()))
        .header("content-type", ct)
        .body(body.to_vec());
    if let Some(token) = client.token() {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

async fn real_answers_match_the_documented_schemas(backend: Backend) {
    const KEY: &str = "/clients/api_key/public_key";
    const KEYS: &str = "/clients/api_key/public_keys";
    const ONE: &str = "/clients/api_key/public_keys/{id}";
    let app = spawn_app_with(backend, |s| {
        s.login_max_failures_per_key = 2;
        s.max_body_bytes = 16 * 1024;
    })
    .await;
    let mut check = Checker::new(&app).await;
    let get = |client: &KeygateClient, path: String| {
        let client = client.clone();
        async move { client.send(Method::GET, &path, None, &[]).await.unwrap() }
    };
    let anonymous = app.client();

    // Operations.
    for path in [
        "/healthz",
        "/readyz",
        "/system/public_key",
        "/.well-known/jwks.json",
    ] {
        let reply = get(&anonymous, path.into()).await;
        check.check("get", path, &reply);
    }
    let reply = get(&anonymous, "/openapi.json".into()).await;
    check.check("get", "/openapi.json", &reply);
    let metrics = reqwest::get(format!("{}/metrics", app.base_url))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let documented = &check.spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"];
    assert!(documented["text/plain"].is_object(), "{documented}");

    // Login: success and every refusal a test can cause.
    let (client, creds) = app.logged_in().await;
    let reply = client
        .login_reply(&creds.api_key, &creds.password)
        .await
        .unwrap();
    check.check("post", "/auth/login", &reply);
    let reply = client
        .send_json(Method::POST, "/auth/login", &json!({}))
        .await
        .unwrap();
    check.check("post", "/auth/login", &reply);
    let reply = raw(
        &anonymous,
        Method::POST,
        "/auth/login",
        b"api_key=x",
        "text/plain",
    )
    .await;
    check.check("post", "/auth/login", &reply);
    let big = vec![b' '; 32 * 1024];
    let reply = raw(
        &anonymous,
        Method::POST,
        "/auth/login",
        &big,
        "application/json",
    )
    .await;
    check.check("post", "/auth/login", &reply);
    let other = app.new_api_key().await;
    for _ in 0..3 {
        let reply = anonymous
            .login_reply(&other.api_key, "wrong")
            .await
            .unwrap();
        check.check("post", "/auth/login", &reply);
    }

    // The key lifecycle, with its refusals on the way.
    let anonymous_paths = [("get", KEY), ("delete", KEY), ("get", KEYS)];
    for (method, path) in anonymous_paths {
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let reply = anonymous.send(m, path, None, &[]).await.unwrap();
        check.check(method, path, &reply);
    }
    let unknown = format!("{KEYS}/{}", uuid::Uuid::new_v4());
    check.check("get", ONE, &get(&anonymous, unknown.clone()).await);
    check.check("get", ONE, &get(&client, unknown).await);
    check.check("get", KEY, &get(&client, KEY.into()).await);
    let reply = client.revoke_key(None).await.unwrap();
    check.check("delete", KEY, &reply);
    let reply = client.upload_key("not a key").await.unwrap();
    check.check("post", KEY, &reply);
    let reply = client
        .send_json(Method::POST, KEY, &json!({}))
        .await
        .unwrap();
    check.check("post", KEY, &reply);
    let reply = raw(&client, Method::POST, KEY, b"x", "text/plain").await;
    check.check("post", KEY, &reply);
    let reply = anonymous.upload_key(&new_public_key()).await.unwrap();
    check.check("post", KEY, &reply);
    let reply = client.upload_key(&new_public_key()).await.unwrap();
    check.check("post", KEY, &reply);
    let id = reply.data()["key"]["id"].as_str().unwrap().to_string();
    let reply = client.upload_key(&new_public_key()).await.unwrap();
    check.check("post", KEY, &reply);
    check.check("get", KEY, &get(&client, KEY.into()).await);
    check.check("get", ONE, &get(&client, format!("{KEYS}/{id}")).await);
    let reply = client.revoke_key(Some(&"x".repeat(600))).await.unwrap();
    check.check("delete", KEY, &reply);
    let reply = raw(&client, Method::DELETE, KEY, b"reason", "text/plain").await;
    check.check("delete", KEY, &reply);
    let reply = client.revoke_key(Some("rotated")).await.unwrap();
    check.check("delete", KEY, &reply);
    check.check("get", KEYS, &get(&client, KEYS.into()).await);
    // Kept for the checks below, which run once the token is logged out.
    let table = get(&client, KEYS.into()).await;
    let mut view = get(&client, format!("{KEYS}/{id}")).await.body;
    let reply = client.logout().await.unwrap();
    check.check("post", "/auth/logout", &reply);
    let reply = client.logout().await.unwrap();
    check.check("post", "/auth/logout", &reply);

    // Every route was seen answering, and the refusals the test can cause were all seen.
    let seen = |method: &str, path: &str, status: u16| {
        check
            .seen
            .contains(&(method.to_string(), path.to_string(), status))
    };
    for (method, path, status) in [
        ("post", "/auth/login", 200),
        ("post", "/auth/login", 400),
        ("post", "/auth/login", 401),
        ("post", "/auth/login", 413),
        ("post", "/auth/login", 415),
        ("post", "/auth/login", 429),
        ("post", "/auth/logout", 200),
        ("post", "/auth/logout", 401),
        ("post", KEY, 201),
        ("post", KEY, 400),
        ("post", KEY, 401),
        ("post", KEY, 409),
        ("post", KEY, 415),
        ("post", KEY, 422),
        ("get", KEY, 200),
        ("get", KEY, 401),
        ("get", KEY, 404),
        ("delete", KEY, 200),
        ("delete", KEY, 400),
        ("delete", KEY, 401),
        ("delete", KEY, 404),
        ("delete", KEY, 415),
        ("get", KEYS, 200),
        ("get", KEYS, 401),
        ("get", ONE, 200),
        ("get", ONE, 401),
        ("get", ONE, 404),
    ] {
        assert!(
            seen(method, path, status),
            "{method} {path} {status} was not seen"
        );
    }
    // The check has teeth: a field too many, a wrong type or a missing field is caught.
    let validator = check.validator("get", KEYS, "200");
    assert!(validator.is_valid(&table.body), "{}", table.body);
    for bad in [
        json!({"keys": [], "more": 1}),
        json!({"keys": [{"id": "not a uuid"}]}),
        json!({}),
    ] {
        let mut body = table.body.clone();
        body["data"] = bad;
        assert!(!validator.is_valid(&body), "{body}");
    }
    assert!(check.validator("get", ONE, "200").is_valid(&view));
    view["data"]["key"]["unknown"] = json!(true);
    assert!(
        !check.validator("get", ONE, "200").is_valid(&view),
        "{view}"
    );

    // The slugs the document lists are exactly the API's.
    let listed = check.spec["components"]["schemas"]["ErrorSlug"]["enum"].clone();
    let all: Vec<Value> = ErrorSlug::ALL.iter().map(|s| json!(s.as_str())).collect();
    assert_eq!(listed, Value::from(all));
}

/// keygate-core names an upload refusal for the logs; the answer's slug comes from keygate-api.
/// They agree.
#[test]
fn key_refusals_log_the_slug_they_answer_with() {
    use keygate_core::public_key::{KeyRejection, MalformedReason, WeakReason};
    use keygate_server::error::ApiError;
    for rejection in [
        KeyRejection::Malformed(MalformedReason::Empty),
        KeyRejection::PrivateKeySubmitted,
        KeyRejection::NotRsa("EC"),
        KeyRejection::WrongSize {
            found: 1024,
            allowed: vec![2048],
        },
        KeyRejection::Weak(WeakReason::EvenModulus),
    ] {
        let slug = ApiError::Key(rejection.clone()).slug();
        assert_eq!(slug.as_str(), rejection.slug());
        assert_eq!(slug.status().as_u16(), 422);
    }
}
