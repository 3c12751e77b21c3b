//! The one error type of the HTTP layer, mapped to a status and the §4 envelope in one place.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keygate_api::{Envelope, ErrorBody, ErrorSlug};
use keygate_core::public_key::{KeyRejection, WeakReason};
use keygate_registry::{MalformedLogin, RegistryError, MAX_API_KEY_LEN, MAX_PASSWORD_LEN};

use crate::messages;

/// Which query parameter of a list was refused (`invalid_page`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageParam {
    /// `limit`: not a whole number in range.
    Limit,
    /// `cursor`: not one this server gave.
    Cursor,
}

/// Every refusal and failure the HTTP layer answers. Its status, code and slug are in
/// [`ApiError::parts`]; its text for people is the English API catalogue's entry for the slug
/// (`locales/en/api.ftl`, see [`ApiError::message`]).
#[derive(Debug)]
pub enum ApiError {
    /// The detail is the message.
    InvalidRequest(String),
    /// 415: a JSON endpoint got a body without a JSON content type.
    UnsupportedMediaType,
    /// 413: a body over `max_body_bytes`.
    PayloadTooLarge,
    /// 408: the body did not arrive within `body_read_timeout`; the connection is closed.
    RequestTimeout,
    /// 400 `invalid_page`: a list's `limit` or `cursor` is not valid.
    InvalidPage(PageParam),
    /// The detail is the message.
    NotFound(&'static str),
    /// 405: a known path, another method.
    MethodNotAllowed,
    /// 429: a login limit.
    RateLimited {
        /// Seconds for `Retry-After`.
        retry_after: u64,
    },
    /// 429 `rate_limited` too, with its own text: this API key's share of the one-node replay
    /// table is full of signed calls still inside their window (docs/gateway.md, "Replay
    /// detection").
    SignedCallsLimited {
        /// Seconds for `Retry-After`.
        retry_after: u64,
    },
    /// The detail is the message.
    Unauthorized(&'static str),
    /// 401: login with an unknown API key or a wrong password (which one is never said).
    InvalidCredentials,
    /// 422: an uploaded public key was refused; the rejection picks the `public_key_*` slug.
    Key(KeyRejection),
    /// 409 `public_key_reused`: this key was uploaded before and may not come back.
    PublicKeyReused,
    /// 409: an upload while the API key already has an active key.
    ActiveKeyExists,
    /// 404: the active key was read or revoked when there is none.
    NoActiveKey,
    /// 409 `no_active_key`: a successor was staged without an active key to succeed (the one
    /// answer whose status is not its slug's own, docs/design.md §4; upload instead).
    NoActiveKeyToSucceed,
    /// 409: a successor is already staged.
    SuccessorExists,
    /// 404: no pending successor to show, withdraw or activate.
    NoSuccessor,
    /// 401: a signed route without `X-Request-Signature`.
    SignatureMissing,
    /// 401: the signature does not verify; the detail says which check failed.
    SignatureInvalid(String),
    /// 401: `iat` outside `signature_max_skew`, or the JWT's `exp` passed or `nbf` not reached;
    /// the detail says which.
    SignatureStale(String),
    /// 401: this `jti` was already used within its window.
    SignatureReplayed,
    /// 403: the API key never had a key uploaded.
    PublicKeyRequired,
    /// 403: the API key's latest key has expired.
    PublicKeyExpired,
    /// 403: the API key's latest key was revoked.
    PublicKeyRevoked,
    /// 400: a `decrypt_request` field could not be decrypted with the system key ring.
    EncryptedFieldInvalid,
    /// 404: no self-check challenge with this id belongs to the caller.
    ChallengeUnknown,
    /// 409: the self-check challenge was answered before.
    ChallengeUsed,
    /// 410: the self-check challenge expired before it was answered.
    ChallengeExpired,
    /// 502: the upstream refused, broke the connection, failed TLS or sent an unusable answer.
    UpstreamUnavailable,
    /// 504: the upstream exchange took longer than `upstream_timeout`.
    UpstreamTimeout,
    /// Every password-check slot stayed busy for `login_queue_timeout`.
    LoginBusy {
        /// Seconds for `Retry-After`.
        retry_after: u64,
    },
    /// 503 from `/readyz` only; the detail says what is not ready.
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
    /// [`ApiError::Internal`] from any error: answered 500, the cause logged and never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    /// Seconds for `Retry-After`, for the answers that carry one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after }
            | ApiError::SignedCallsLimited { retry_after }
            | ApiError::LoginBusy { retry_after } => Some(*retry_after),
            ApiError::ServiceUnavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        }
    }

    /// A request body that could not be read: 408 when it stalled past `body_read_timeout`
    /// (`connection::TimedBody`), else `otherwise`.
    pub fn from_body_error(
        error: &(dyn std::error::Error + 'static),
        otherwise: ApiError,
    ) -> ApiError {
        if crate::connection::is_body_timeout(error) {
            ApiError::RequestTimeout
        } else {
            otherwise
        }
    }

    /// HTTP status, numeric code and stable slug (the table lives in `keygate_api::ErrorSlug`).
    pub fn parts(&self) -> (StatusCode, u32, &'static str) {
        let slug = self.slug();
        (self.status(), slug.code(), slug.as_str())
    }

    /// The HTTP status: the slug's own, except 409 `no_active_key` for a successor staged
    /// without an active key (the contract's status; `/openapi.json` documents it on that
    /// operation, `api::openapi::STATUS_EXCEPTIONS`).
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NoActiveKeyToSucceed => StatusCode::CONFLICT,
            _ => self.slug().status(),
        }
    }

    /// The refusal this error is answered with.
    pub fn slug(&self) -> ErrorSlug {
        use ApiError::*;
        match self {
            InvalidRequest(_) => ErrorSlug::InvalidRequest,
            UnsupportedMediaType => ErrorSlug::UnsupportedMediaType,
            PayloadTooLarge => ErrorSlug::PayloadTooLarge,
            RequestTimeout => ErrorSlug::RequestTimeout,
            InvalidPage(_) => ErrorSlug::InvalidPage,
            NotFound(_) => ErrorSlug::NotFound,
            MethodNotAllowed => ErrorSlug::MethodNotAllowed,
            RateLimited { .. } | SignedCallsLimited { .. } => ErrorSlug::RateLimited,
            Unauthorized(_) => ErrorSlug::Unauthorized,
            InvalidCredentials => ErrorSlug::InvalidCredentials,
            Key(rejection) => match rejection {
                KeyRejection::Malformed(_) => ErrorSlug::PublicKeyMalformed,
                KeyRejection::PrivateKeySubmitted => ErrorSlug::PrivateKeySubmitted,
                KeyRejection::NotRsa(_) => ErrorSlug::PublicKeyNotRsa,
                KeyRejection::WrongSize { .. } => ErrorSlug::PublicKeyWrongSize,
                KeyRejection::Weak(_) => ErrorSlug::PublicKeyWeak,
            },
            PublicKeyReused => ErrorSlug::PublicKeyReused,
            ActiveKeyExists => ErrorSlug::ActiveKeyExists,
            NoActiveKey | NoActiveKeyToSucceed => ErrorSlug::NoActiveKey,
            SuccessorExists => ErrorSlug::SuccessorExists,
            NoSuccessor => ErrorSlug::NoSuccessor,
            SignatureMissing => ErrorSlug::SignatureMissing,
            SignatureInvalid(_) => ErrorSlug::SignatureInvalid,
            SignatureStale(_) => ErrorSlug::SignatureStale,
            SignatureReplayed => ErrorSlug::SignatureReplayed,
            PublicKeyRequired => ErrorSlug::PublicKeyRequired,
            PublicKeyExpired => ErrorSlug::PublicKeyExpired,
            PublicKeyRevoked => ErrorSlug::PublicKeyRevoked,
            EncryptedFieldInvalid => ErrorSlug::EncryptedFieldInvalid,
            ChallengeUnknown => ErrorSlug::ChallengeUnknown,
            ChallengeUsed => ErrorSlug::ChallengeUsed,
            ChallengeExpired => ErrorSlug::ChallengeExpired,
            UpstreamUnavailable => ErrorSlug::UpstreamUnavailable,
            UpstreamTimeout => ErrorSlug::UpstreamTimeout,
            NotReady(_) => ErrorSlug::NotReady,
            LoginBusy { .. } => ErrorSlug::LoginBusy,
            ServiceUnavailable(_) => ErrorSlug::ServiceUnavailable,
            Internal(_) => ErrorSlug::InternalError,
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
            NoActiveKeyToSucceed => messages::message("no_active_key-successor", &[]),
            InvalidPage(PageParam::Limit) => messages::message(
                "invalid_page-limit",
                &[("max", &keygate_registry::MAX_AUDIT_PAGE.to_string())],
            ),
            InvalidPage(PageParam::Cursor) => messages::message("invalid_page-cursor", &[]),
            RateLimited { retry_after } | LoginBusy { retry_after } => {
                messages::message(slug, &[("retry_after", &retry_after.to_string())])
            }
            SignedCallsLimited { retry_after } => messages::message(
                "rate_limited-signed",
                &[("retry_after", &retry_after.to_string())],
            ),
            ChallengeExpired => {
                let minutes = keygate_registry::CHALLENGE_TTL_SECS / 60;
                messages::message(slug, &[("minutes", &minutes.to_string())])
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
    pub fn envelope(&self) -> ErrorBody {
        ErrorBody::new(self.slug(), self.message())
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
            RegistryError::NoActiveKeyToSucceed => ApiError::NoActiveKeyToSucceed,
            RegistryError::SuccessorExists => ApiError::SuccessorExists,
            RegistryError::NoSuccessor => ApiError::NoSuccessor,
            RegistryError::UnknownKey => {
                ApiError::NotFound("no key with this id belongs to this API key")
            }
            RegistryError::InvalidRevokeReason(e) => ApiError::InvalidRequest(e.to_string()),
            RegistryError::PublicKeyRequired => ApiError::PublicKeyRequired,
            RegistryError::PublicKeyExpired => ApiError::PublicKeyExpired,
            RegistryError::PublicKeyRevoked => ApiError::PublicKeyRevoked,
            RegistryError::MalformedLogin(e) => ApiError::InvalidRequest(match e {
                MalformedLogin::ControlCharacter => {
                    "api_client.api_key must not contain control characters".to_owned()
                }
                _ => format!(
                    "api_client.api_key and api_client.password must be non-empty (at most {MAX_API_KEY_LEN} and {MAX_PASSWORD_LEN} bytes)"
                ),
            }),
            RegistryError::ChallengeUnknown => ApiError::ChallengeUnknown,
            RegistryError::ChallengeUsed => ApiError::ChallengeUsed,
            RegistryError::ChallengeExpired => ApiError::ChallengeExpired,
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
            ReplayError::Full { retry_after } => ApiError::SignedCallsLimited { retry_after },
            ReplayError::Store(e) if e.is_unavailable() => {
                ApiError::ServiceUnavailable(e.to_string())
            }
            ReplayError::Store(e) => ApiError::internal(e),
            ReplayError::Stopped => ApiError::ServiceUnavailable(err.to_string()),
            ReplayError::Poisoned => ApiError::internal(err),
        }
    }
}

/// The success envelope: `{"success": true, "code": 0, "message": "OK", "data": ...}`.
pub fn ok(status: StatusCode, data: impl serde::Serialize) -> Response {
    (status, Json(Envelope::ok(data))).into_response()
}
