//! The one error type of the HTTP layer, mapped to a status and the §4 envelope in one place.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keygate_core::public_key::{KeyRejection, WeakReason};
use keygate_registry::RegistryError;
use serde_json::json;

use crate::messages;

/// Every refusal and failure the HTTP layer answers. Its status, code and slug are in
/// [`ApiError::parts`]; its text for people is the English API catalogue's entry for the slug
/// (`locales/en/api.ftl`, see [`ApiError::message`]).
#[derive(Debug)]
pub enum ApiError {
    /// The detail is the message.
    InvalidRequest(String),
    UnsupportedMediaType,
    PayloadTooLarge,
    RequestTimeout,
    /// The detail is the message.
    NotFound(&'static str),
    MethodNotAllowed,
    RateLimited {
        retry_after: u64,
    },
    /// The detail is the message.
    Unauthorized(&'static str),
    InvalidCredentials,
    Key(KeyRejection),
    PublicKeyReused,
    ActiveKeyExists,
    NoActiveKey,
    SignatureMissing,
    SignatureInvalid(String),
    SignatureStale(String),
    SignatureReplayed,
    PublicKeyRequired,
    PublicKeyExpired,
    PublicKeyRevoked,
    EncryptedFieldInvalid,
    UpstreamUnavailable,
    UpstreamTimeout,
    /// Every password-check slot stayed busy for `login_queue_timeout`.
    LoginBusy {
        retry_after: u64,
    },
    NotReady(&'static str),
    /// The database cannot be reached (or written) within `database_timeout`. The cause is
    /// logged, never sent; the answer carries `Retry-After` (docs/operations.md).
    ServiceUnavailable(String),
    /// Anything we did not expect. The cause is logged once, here, and never sent.
    Internal(String),
}

impl From<KeyRejection> for ApiError {
    fn from(rejection: KeyRejection) -> Self {
        ApiError::Key(rejection)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    /// Seconds for `Retry-After`, for the answers that carry one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after } | ApiError::LoginBusy { retry_after } => {
                Some(*retry_after)
            }
            ApiError::ServiceUnavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        }
    }

    /// A request body that could not be read: 408 when it stalled past `body_read_timeout`
    /// (`serve::TimedBody`), else `otherwise`.
    pub fn from_body_error(
        error: &(dyn std::error::Error + 'static),
        otherwise: ApiError,
    ) -> ApiError {
        if crate::serve::is_body_timeout(error) {
            ApiError::RequestTimeout
        } else {
            otherwise
        }
    }

    /// HTTP status, numeric code and stable slug.
    pub fn parts(&self) -> (StatusCode, u32, &'static str) {
        use ApiError::*;
        match self {
            InvalidRequest(_) => (StatusCode::BAD_REQUEST, 1001, "invalid_request"),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                1002,
                "unsupported_media_type",
            ),
            PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, 1003, "payload_too_large"),
            RequestTimeout => (StatusCode::REQUEST_TIMEOUT, 1007, "request_timeout"),
            NotFound(_) => (StatusCode::NOT_FOUND, 1004, "not_found"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, 1005, "method_not_allowed"),
            RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, 1006, "rate_limited"),
            Unauthorized(_) => (StatusCode::UNAUTHORIZED, 2001, "unauthorized"),
            InvalidCredentials => (StatusCode::UNAUTHORIZED, 2002, "invalid_credentials"),
            Key(rejection) => {
                let code = match rejection {
                    KeyRejection::Malformed(_) => 3001,
                    KeyRejection::PrivateKeySubmitted => 3002,
                    KeyRejection::NotRsa(_) => 3003,
                    KeyRejection::WrongSize { .. } => 3004,
                    KeyRejection::Weak(_) => 3005,
                };
                (StatusCode::UNPROCESSABLE_ENTITY, code, rejection.slug())
            }
            PublicKeyReused => (StatusCode::CONFLICT, 3006, "public_key_reused"),
            ActiveKeyExists => (StatusCode::CONFLICT, 3007, "active_key_exists"),
            NoActiveKey => (StatusCode::NOT_FOUND, 3008, "no_active_key"),
            SignatureMissing => (StatusCode::UNAUTHORIZED, 4001, "signature_missing"),
            SignatureInvalid(_) => (StatusCode::UNAUTHORIZED, 4002, "signature_invalid"),
            SignatureStale(_) => (StatusCode::UNAUTHORIZED, 4003, "signature_stale"),
            SignatureReplayed => (StatusCode::UNAUTHORIZED, 4004, "signature_replayed"),
            PublicKeyRequired => (StatusCode::FORBIDDEN, 4010, "public_key_required"),
            PublicKeyExpired => (StatusCode::FORBIDDEN, 4011, "public_key_expired"),
            PublicKeyRevoked => (StatusCode::FORBIDDEN, 4012, "public_key_revoked"),
            EncryptedFieldInvalid => (StatusCode::BAD_REQUEST, 4020, "encrypted_field_invalid"),
            UpstreamUnavailable => (StatusCode::BAD_GATEWAY, 5002, "upstream_unavailable"),
            UpstreamTimeout => (StatusCode::GATEWAY_TIMEOUT, 5004, "upstream_timeout"),
            NotReady(_) => (StatusCode::SERVICE_UNAVAILABLE, 5003, "not_ready"),
            LoginBusy { .. } => (StatusCode::SERVICE_UNAVAILABLE, 5005, "login_busy"),
            ServiceUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, 5001, "service_unavailable"),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, 5000, "internal_error"),
        }
    }

    /// The message for humans: what went wrong and what to do next, from the English API
    /// catalogue by slug (a detail-carrying answer's detail is its message).
    pub fn message(&self) -> String {
        use ApiError::*;
        let slug = self.parts().2;
        match self {
            InvalidRequest(detail) => detail.clone(),
            NotFound(detail) | Unauthorized(detail) => (*detail).to_owned(),
            Key(rejection) => key_rejection_message(rejection),
            SignatureInvalid(detail) | SignatureStale(detail) => {
                messages::message(slug, &[("detail", detail)])
            }
            NotReady(detail) => messages::message(slug, &[("detail", detail)]),
            RateLimited { retry_after } | LoginBusy { retry_after } => {
                messages::message(slug, &[("retry_after", &retry_after.to_string())])
            }
            _ => messages::message(slug, &[]),
        }
    }
}

/// Messages for upload refusals, from the English API catalogue (the web page words them for
/// people in its own catalogues, `web::i18n`).
pub fn key_rejection_message(rejection: &KeyRejection) -> String {
    let slug = rejection.slug();
    match rejection {
        KeyRejection::Malformed(reason) => {
            messages::message(slug, &[("reason", &reason.to_string())])
        }
        KeyRejection::PrivateKeySubmitted => messages::message(slug, &[]),
        KeyRejection::NotRsa(kind) => messages::message(slug, &[("kind", kind)]),
        KeyRejection::WrongSize { found, allowed } => {
            let list = allowed
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let example = allowed.first().copied().unwrap_or(2048).to_string();
            let count = if allowed.len() == 1 { "one" } else { "other" };
            messages::message(
                slug,
                &[
                    ("found", &found.to_string()),
                    ("count", count),
                    ("allowed", &list),
                    ("example", &example),
                ],
            )
        }
        KeyRejection::Weak(reason) => {
            let id = match reason {
                WeakReason::Exponent(_) | WeakReason::ExponentTooLarge => "public_key_weak",
                WeakReason::EvenModulus | WeakReason::SmallFactor(_) => "public_key_weak-broken",
            };
            messages::message(id, &[("reason", &reason.to_string())])
        }
    }
}

impl ApiError {
    /// The §4 error envelope (never carries the internal cause).
    pub fn envelope(&self) -> serde_json::Value {
        let (_, code, slug) = self.parts();
        json!({
            "success": false,
            "code": code,
            "message": self.message(),
            "error": slug,
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.parts().0;
        match &self {
            ApiError::Internal(cause) => tracing::error!(%cause, "internal error"),
            ApiError::ServiceUnavailable(cause) => {
                // One line per request would flood the log during an outage: the node logs the outage
                // itself once (gateway::listener), and /metrics counts the 503s.
                tracing::debug!(%cause, "database unavailable; answered 503")
            }
            _ => {}
        }
        let mut response = (status, Json(self.envelope())).into_response();
        if let Some(retry_after) = self.retry_after() {
            if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        if let ApiError::RequestTimeout = self {
            // The rest of the body may still come; the connection cannot be reused.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// Seconds a client should wait before retrying a 503 `service_unavailable`: an outage is
/// usually seconds long, and every node answers within `database_timeout` anyway.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

/// A database that cannot be reached in time is the service's condition (503, retry), anything
/// else from the store is unexpected (500, logged).
impl From<keygate_store::StoreError> for ApiError {
    fn from(err: keygate_store::StoreError) -> Self {
        if err.is_unavailable() {
            ApiError::ServiceUnavailable(err.to_string())
        } else {
            ApiError::internal(err)
        }
    }
}

/// The registry's refusals and failures as answers: the one place a [`RegistryError`] becomes
/// a status, a slug and a text (the web page maps the same errors for people, `web`).
impl From<RegistryError> for ApiError {
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::KeyRejected(rejection) => ApiError::Key(rejection),
            RegistryError::PublicKeyReused => ApiError::PublicKeyReused,
            RegistryError::ActiveKeyExists => ApiError::ActiveKeyExists,
            RegistryError::NoActiveKey => ApiError::NoActiveKey,
            RegistryError::UnknownKey => {
                ApiError::NotFound("no key with this id belongs to this API key")
            }
            RegistryError::InvalidRevokeReason(e) => ApiError::InvalidRequest(e.to_string()),
            RegistryError::PublicKeyRequired => ApiError::PublicKeyRequired,
            RegistryError::PublicKeyExpired => ApiError::PublicKeyExpired,
            RegistryError::PublicKeyRevoked => ApiError::PublicKeyRevoked,
            RegistryError::InvalidCredentials => ApiError::InvalidCredentials,
            RegistryError::RateLimited { retry_after } => ApiError::RateLimited { retry_after },
            RegistryError::LoginBusy { retry_after } => ApiError::LoginBusy { retry_after },
            RegistryError::SessionUnknown => {
                ApiError::Unauthorized("the token is expired, logged out or unknown; log in again")
            }
            RegistryError::InvalidAlias(text) => ApiError::InvalidRequest(text),
            e @ RegistryError::InvalidClientName => ApiError::InvalidRequest(e.to_string()),
            RegistryError::Unavailable(e) => ApiError::ServiceUnavailable(e.to_string()),
            // Not reachable over HTTP (operator commands), or unexpected: logged, never sent.
            other => ApiError::internal(other),
        }
    }
}

/// A `jti` that could not be recorded: seen before (401), a full table (429), or the store.
impl From<crate::gateway::replay::ReplayError> for ApiError {
    fn from(err: crate::gateway::replay::ReplayError) -> Self {
        use crate::gateway::replay::ReplayError;
        match err {
            ReplayError::Replayed => ApiError::SignatureReplayed,
            ReplayError::Full { retry_after } => ApiError::RateLimited { retry_after },
            ReplayError::Store(e) => e.into(),
            ReplayError::Poisoned => ApiError::internal(err),
        }
    }
}

/// The success envelope: `{"success": true, "code": 0, "message": "OK", "data": ...}`.
pub fn ok(status: StatusCode, data: impl serde::Serialize) -> Response {
    #[derive(serde::Serialize)]
    struct Envelope<T> {
        success: bool,
        code: u32,
        message: &'static str,
        data: T,
    }
    let envelope = Envelope {
        success: true,
        code: 0,
        message: "OK",
        data,
    };
    (status, Json(envelope)).into_response()
}

#[cfg(test)]
mod message_tests {
    use keygate_core::public_key::{KeyRejection, MalformedReason, WeakReason};

    use super::ApiError;

    /// Every answer's `message`, byte for byte: moving the texts into the catalogue
    /// (`locales/en/api.ftl`) must not change one.
    #[test]
    fn messages_are_unchanged() {
        let cases: Vec<(ApiError, &str)> = vec![
            (ApiError::InvalidRequest("a detail".into()), "a detail"),
            (ApiError::UnsupportedMediaType, "this endpoint takes a JSON body: send Content-Type: application/json"),
            (ApiError::PayloadTooLarge, "the request body is larger than this server accepts (max_body_bytes); send a smaller body"),
            (ApiError::RequestTimeout, "the request body did not arrive in time (body_read_timeout); send the whole body with the request"),
            (ApiError::NotFound("nothing here"), "nothing here"),
            (ApiError::MethodNotAllowed, "this method is not allowed on this path"),
            (ApiError::RateLimited { retry_after: 900 }, "too many failed attempts; try again after 900 seconds"),
            (ApiError::Unauthorized("log in"), "log in"),
            (ApiError::InvalidCredentials, "the API key or the password is wrong"),
            (ApiError::PublicKeyReused, "this public key was registered before; a key can be registered only once, so generate a new key pair and upload its public key"),
            (ApiError::ActiveKeyExists, "this API key already has an active public key; revoke it first, or wait until it expires, then upload the new one"),
            (ApiError::NoActiveKey, "this API key has no active public key; upload one"),
            (ApiError::SignatureMissing, "this route needs a signed request: send X-Request-Signature with a JWS made with the private key of your active key (see GET /system/public_key and the docs)"),
            (ApiError::SignatureInvalid("bad alg".into()), "the request signature is invalid: bad alg"),
            (ApiError::SignatureStale("iat is 400 s old".into()), "the request signature is stale: iat is 400 s old; sign each request when you send it, with iat the current time"),
            (ApiError::SignatureReplayed, "this jti was already used; every signed request needs a new, unique jti"),
            (ApiError::PublicKeyRequired, "this API key has no public key yet; upload one at POST /clients/api_key/public_key before calling protected APIs"),
            (ApiError::PublicKeyExpired, "this API key's public key has expired; upload a new public key before calling protected APIs"),
            (ApiError::PublicKeyRevoked, "this API key's public key was revoked; upload a new public key before calling protected APIs"),
            (ApiError::EncryptedFieldInvalid, "an encrypted field could not be decrypted; encrypt confidential fields to the key of GET /system/public_key as a compact JWE (RSA-OAEP-256, A256GCM) or base64 RSA-OAEP-SHA256"),
            (ApiError::UpstreamUnavailable, "the upstream service is unavailable; try again later"),
            (ApiError::UpstreamTimeout, "the upstream service did not answer in time; try again later"),
            (ApiError::LoginBusy { retry_after: 1 }, "too many logins are being checked at once; try again in 1 s"),
            (ApiError::NotReady("the database cannot be written"), "the service is not ready: the database cannot be written"),
            (ApiError::ServiceUnavailable("cause".into()), "the service is temporarily unavailable: its database cannot be reached; try again in a few seconds"),
            (ApiError::Internal("cause".into()), "an internal error occurred; it has been logged"),
            (ApiError::Key(KeyRejection::Malformed(MalformedReason::Empty)), "This is not a PEM public key: the text is empty. Paste the whole public key, from -----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY----- (for example the output of `openssl rsa -in private.pem -pubout`)."),
            (ApiError::Key(KeyRejection::PrivateKeySubmitted), "You submitted a PRIVATE key. It was not stored, but it must now be treated as compromised: generate a new key pair, keep the private key secret, and upload only the public key (`openssl rsa -in private.pem -pubout`)."),
            (ApiError::Key(KeyRejection::NotRsa("EC")), "This is an EC key; keygate accepts RSA keys only. Generate one with `openssl genrsa -out private.pem 2048`, then upload its public key."),
            (ApiError::Key(KeyRejection::WrongSize { found: 1024, allowed: vec![2048] }), "This RSA key has 1024 bits; the allowed size is 2048. Generate a key of an allowed size (e.g. `openssl genrsa -out private.pem 2048`)."),
            (ApiError::Key(KeyRejection::WrongSize { found: 1024, allowed: vec![3072, 4096] }), "This RSA key has 1024 bits; the allowed sizes are 3072, 4096. Generate a key of an allowed size (e.g. `openssl genrsa -out private.pem 3072`)."),
            (ApiError::Key(KeyRejection::Weak(WeakReason::Exponent(3))), "This RSA key is weak: the public exponent is 3; only 65537 is accepted. Generate a new key pair with `openssl genrsa -out private.pem 2048` and upload its public key."),
            (ApiError::Key(KeyRejection::Weak(WeakReason::SmallFactor(7))), "This RSA key is weak: the modulus has the small prime factor 7. The key is broken or was not generated correctly. Generate a new key pair with `openssl genrsa -out private.pem 2048` and upload its public key."),
        ];
        for (error, expected) in cases {
            assert_eq!(error.message(), expected, "{error:?}");
            assert_eq!(error.envelope()["message"], expected, "{error:?}");
        }
    }
}
