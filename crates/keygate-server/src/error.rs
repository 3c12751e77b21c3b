//! The one error type of the HTTP layer, mapped to a status and the §4 envelope in one place.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keygate_core::public_key::{KeyRejection, WeakReason};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("this endpoint takes a JSON body: send Content-Type: application/json")]
    UnsupportedMediaType,
    #[error(
        "the request body is larger than this server accepts (max_body_bytes); send a smaller body"
    )]
    PayloadTooLarge,
    #[error("the request body did not arrive in time (body_read_timeout); send the whole body with the request")]
    RequestTimeout,
    #[error("{0}")]
    NotFound(&'static str),
    #[error("this method is not allowed on this path")]
    MethodNotAllowed,
    #[error("too many failed attempts; try again after {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("the API key or the password is wrong")]
    InvalidCredentials,
    #[error(transparent)]
    Key(#[from] KeyRejection),
    #[error("this public key was registered before; a key can be registered only once, so generate a new key pair and upload its public key")]
    PublicKeyReused,
    #[error("this API key already has an active public key; revoke it first, or wait until it expires, then upload the new one")]
    ActiveKeyExists,
    #[error("this API key has no active public key; upload one")]
    NoActiveKey,
    #[error("this route needs a signed request: send X-Request-Signature with a JWS made with the private key of your active key (see GET /system/public_key and the docs)")]
    SignatureMissing,
    #[error("the request signature is invalid: {0}")]
    SignatureInvalid(String),
    #[error("the request signature is stale: {0}; sign each request when you send it, with iat the current time")]
    SignatureStale(String),
    #[error("this jti was already used; every signed request needs a new, unique jti")]
    SignatureReplayed,
    #[error("this API key has no public key yet; upload one at POST /clients/api_key/public_key before calling protected APIs")]
    PublicKeyRequired,
    #[error("this API key's public key has expired; upload a new public key before calling protected APIs")]
    PublicKeyExpired,
    #[error("this API key's public key was revoked; upload a new public key before calling protected APIs")]
    PublicKeyRevoked,
    #[error("an encrypted field could not be decrypted; encrypt confidential fields to the key of GET /system/public_key as a compact JWE (RSA-OAEP-256, A256GCM) or base64 RSA-OAEP-SHA256")]
    EncryptedFieldInvalid,
    #[error("the upstream service is unavailable; try again later")]
    UpstreamUnavailable,
    #[error("the upstream service did not answer in time; try again later")]
    UpstreamTimeout,
    /// Every password-check slot stayed busy for `login_queue_timeout` (`auth::login`).
    #[error("too many logins are being checked at once; try again in {retry_after} s")]
    LoginBusy { retry_after: u64 },
    #[error("the service is not ready: {0}")]
    NotReady(&'static str),
    /// The database cannot be reached (or written) within `database_timeout`. The cause is
    /// logged, never sent; the answer carries `Retry-After` (docs/operations.md).
    #[error("the service is temporarily unavailable: its database cannot be reached; try again in a few seconds")]
    ServiceUnavailable(String),
    /// Anything we did not expect. The cause is logged once, here, and never sent.
    #[error("an internal error occurred; it has been logged")]
    Internal(String),
}

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

    /// The message for humans: what went wrong and what to do next.
    pub fn message(&self) -> String {
        match self {
            ApiError::Key(rejection) => key_rejection_message(rejection),
            other => other.to_string(),
        }
    }
}

/// Messages for upload refusals, shared by the JSON API and the web page (which translates them).
pub fn key_rejection_message(rejection: &KeyRejection) -> String {
    match rejection {
        KeyRejection::Malformed(reason) => format!(
            "This is not a PEM public key: {reason}. Paste the whole public key, from -----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY----- (for example the output of `openssl rsa -in private.pem -pubout`)."
        ),
        KeyRejection::PrivateKeySubmitted => "You submitted a PRIVATE key. It was not stored, but it must now be treated as compromised: generate a new key pair, keep the private key secret, and upload only the public key (`openssl rsa -in private.pem -pubout`).".to_string(),
        KeyRejection::NotRsa(kind) => format!(
            "This is an {kind} key; keygate accepts RSA keys only. Generate one with `openssl genrsa -out private.pem 2048`, then upload its public key."
        ),
        KeyRejection::WrongSize { found, allowed } => format!(
            "This RSA key has {found} bits; the allowed size{} {}. Generate a key of an allowed size (e.g. `openssl genrsa -out private.pem {}`).",
            if allowed.len() == 1 { " is" } else { "s are" },
            allowed.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
            allowed.first().copied().unwrap_or(2048),
        ),
        KeyRejection::Weak(reason) => {
            let advice = match reason {
                WeakReason::Exponent(_) | WeakReason::ExponentTooLarge => "",
                WeakReason::EvenModulus | WeakReason::SmallFactor(_) => " The key is broken or was not generated correctly.",
            };
            format!("This RSA key is weak: {reason}.{advice} Generate a new key pair with `openssl genrsa -out private.pem 2048` and upload its public key.")
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
