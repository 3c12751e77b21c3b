//! `/openapi.json`: the OpenAPI 3.1 description of the API, derived from the `keygate-api`
//! types and the handlers' `#[utoipa::path]` annotations (docs/architecture.md, "The typed
//! API"). The refusals each operation can answer are listed once, in [`REFUSALS`], by slug: a
//! response per status is made from them, with the slugs' own descriptions.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use keygate_api::{ErrorBody, ErrorSlug};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::SchemaType;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, Required, ResponseBuilder, Schema,
    Type,
};
use utoipa::{Modify, OpenApi};

use ErrorSlug::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "keygate",
        version = "1",
        description = "Client public-key registry and signing gateway. Every JSON response uses \
            the envelope {success, code, message, data|error}. `error` slugs are stable API; \
            `message` is for humans. Times are RFC 3339 UTC. Protected gateway routes \
            (configured by the operator, see docs/gateway.md) additionally need \
            `X-Request-Signature` (the `request_signature` scheme): a compact JWS (RS256/PS256) \
            over the claims iat, jti, htm, htu, body_sha256 (optional exp, ath) made with the \
            caller's active key."
    ),
    servers((url = "/")),
    paths(
        super::auth::login,
        super::auth::logout,
        super::keys::upload,
        super::keys::current,
        super::keys::revoke,
        super::successor::stage,
        super::successor::current,
        super::successor::withdraw,
        super::successor::activate,
        super::keys::list,
        super::keys::view,
        super::audit::trail,
        super::check::check_signature,
        super::check::new_challenge,
        super::check::answer_challenge,
        super::system::public_key,
        super::system::jwks,
        super::health::healthz,
        super::health::readyz,
        crate::telemetry::metrics_endpoint,
        openapi,
    ),
    components(schemas(ErrorBody, ErrorSlug)),
    modifiers(&SecuritySchemes, &Refusals),
    tags(
        (name = "auth", description = "Log in and out with an API key"),
        (name = "public keys", description = "The API key's public keys and their lifecycle"),
        (name = "audit", description = "What was done to and with the API key: its own audit trail"),
        (name = "self-check", description = "Prove an integration before going live: a signed request's every check, and an encryption challenge"),
        (name = "system", description = "keygate's own keys"),
        (name = "operations", description = "Health, metrics and this document"),
    )
)]
struct ApiDoc;

/// What each operation can refuse with, by `operation_id`. Every answer an operation gives
/// must be listed here or in its `#[utoipa::path]` (the API tests check real answers).
const REFUSALS: &[(&str, &[ErrorSlug])] = &[
    (
        "login",
        &[
            InvalidRequest,
            InvalidCredentials,
            RequestTimeout,
            PayloadTooLarge,
            UnsupportedMediaType,
            RateLimited,
            InternalError,
            ServiceUnavailable,
            LoginBusy,
        ],
    ),
    ("logout", &[Unauthorized, InternalError, ServiceUnavailable]),
    (
        "uploadPublicKey",
        &[
            InvalidRequest,
            Unauthorized,
            RequestTimeout,
            PublicKeyReused,
            ActiveKeyExists,
            PayloadTooLarge,
            UnsupportedMediaType,
            PrivateKeySubmitted,
            PublicKeyMalformed,
            PublicKeyNotRsa,
            PublicKeyWrongSize,
            PublicKeyWeak,
            InternalError,
            ServiceUnavailable,
        ],
    ),
    (
        "currentPublicKey",
        &[Unauthorized, NoActiveKey, InternalError, ServiceUnavailable],
    ),
    (
        "revokePublicKey",
        &[
            InvalidRequest,
            Unauthorized,
            NoActiveKey,
            RequestTimeout,
            PayloadTooLarge,
            UnsupportedMediaType,
            InternalError,
            ServiceUnavailable,
        ],
    ),
    (
        "stageSuccessor",
        &[
            InvalidRequest,
            Unauthorized,
            RequestTimeout,
            PublicKeyReused,
            NoActiveKey,
            SuccessorExists,
            PayloadTooLarge,
            UnsupportedMediaType,
            PrivateKeySubmitted,
            PublicKeyMalformed,
            PublicKeyNotRsa,
            PublicKeyWrongSize,
            PublicKeyWeak,
            InternalError,
            ServiceUnavailable,
        ],
    ),
    (
        "currentSuccessor",
        &[Unauthorized, NoSuccessor, InternalError, ServiceUnavailable],
    ),
    (
        "withdrawSuccessor",
        &[Unauthorized, NoSuccessor, InternalError, ServiceUnavailable],
    ),
    (
        "activateSuccessor",
        &[Unauthorized, NoSuccessor, InternalError, ServiceUnavailable],
    ),
    (
        "listPublicKeys",
        &[Unauthorized, InternalError, ServiceUnavailable],
    ),
    (
        "auditTrail",
        &[InvalidPage, Unauthorized, InternalError, ServiceUnavailable],
    ),
    (
        "viewPublicKey",
        &[Unauthorized, NotFound, InternalError, ServiceUnavailable],
    ),
    (
        "checkSignature",
        &[
            Unauthorized,
            RequestTimeout,
            PayloadTooLarge,
            InternalError,
            ServiceUnavailable,
        ],
    ),
    (
        "newEncryptionChallenge",
        &[Unauthorized, NoActiveKey, InternalError, ServiceUnavailable],
    ),
    (
        "answerEncryptionChallenge",
        &[
            InvalidRequest,
            Unauthorized,
            RequestTimeout,
            PayloadTooLarge,
            UnsupportedMediaType,
            ChallengeUnknown,
            ChallengeUsed,
            ChallengeExpired,
            InternalError,
            ServiceUnavailable,
        ],
    ),
    ("systemPublicKey", &[InternalError]),
    ("jwks", &[InternalError]),
    ("readyz", &[NotReady]),
];

/// Refusals an operation answers with another status than their slug's own, by
/// `operation_id` (`ApiError::status`): a successor staged without an active key is 409
/// `no_active_key` (404 elsewhere).
const STATUS_EXCEPTIONS: &[(&str, ErrorSlug, u16)] = &[("stageSuccessor", NoActiveKey, 409)];

/// The status `slug` is answered with by operation `id`.
fn status_of(id: &str, slug: ErrorSlug) -> u16 {
    STATUS_EXCEPTIONS
        .iter()
        .find(|(op, s, _)| *op == id && *s == slug)
        .map_or(slug.status().as_u16(), |(_, _, status)| *status)
}

/// The answers that carry `Retry-After`.
fn retries(slug: ErrorSlug) -> bool {
    matches!(slug, RateLimited | ServiceUnavailable | LoginBusy)
}

struct Refusals;

impl Modify for Refusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                optional_body(operation);
                let id = operation.operation_id.as_deref().unwrap_or_default();
                let slugs = REFUSALS
                    .iter()
                    .find(|(op, _)| *op == id)
                    .map_or(&[][..], |(_, slugs)| *slugs);
                let mut by_status: BTreeMap<u16, Vec<ErrorSlug>> = BTreeMap::new();
                for slug in slugs {
                    by_status
                        .entry(status_of(id, *slug))
                        .or_default()
                        .push(*slug);
                }
                for (status, slugs) in by_status {
                    operation
                        .responses
                        .responses
                        .insert(status.to_string(), RefOr::T(refusal(&slugs)));
                }
            }
        }
    }
}

/// One error response: the error body, a description naming each slug, `Retry-After` if any
/// slug carries it.
fn refusal(slugs: &[ErrorSlug]) -> utoipa::openapi::Response {
    let description = slugs
        .iter()
        .map(|s| format!("`{s}`: {}", s.describe()))
        .collect::<Vec<_>>()
        .join(" ");
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Error")))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", content);
    if slugs.iter().copied().any(retries) {
        let seconds = ObjectBuilder::new().schema_type(Type::Integer);
        let header = HeaderBuilder::new()
            .schema(seconds)
            .description(Some("Seconds to wait before retrying"))
            .build();
        response = response.header("Retry-After", header);
    }
    response.build()
}

/// utoipa writes an optional body (`Option<T>`) as `oneOf: [null, T]`; what is meant is a body
/// that may be absent (a JSON `null` is refused), so the schema becomes `T`, not required.
fn optional_body(operation: &mut Operation) {
    let Some(body) = operation.request_body.as_mut() else {
        return;
    };
    if body.required.is_some() {
        return;
    }
    body.required = Some(Required::False);
    for content in body.content.values_mut() {
        if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema {
            let null = |s: &&RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
            if let [only] = one_of.items.iter().filter(|s| !null(s)).collect::<Vec<_>>()[..] {
                content.schema = Some(only.clone());
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("The access_token from POST /auth/login"))
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        let signature = ApiKeyValue::with_description(
            "X-Request-Signature",
            "On the operator's protected gateway routes (docs/gateway.md), beside the bearer \
             token: a compact JWS (RS256/PS256) over iat, jti, htm, htu, body_sha256 (optional \
             exp, ath) made with the caller's active key",
        );
        components.add_security_scheme(
            "request_signature",
            SecurityScheme::ApiKey(ApiKey::Header(signature)),
        );
    }
}

/// The document, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "the OpenAPI document could not be written");
        String::from("{}")
    })
});

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", operation_id = "openapi", tag = "operations",
    responses((status = 200, body = Object, description = "OpenAPI 3.1"))
)]
pub async fn openapi() -> Response {
    let mut response = DOCUMENT.as_str().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
