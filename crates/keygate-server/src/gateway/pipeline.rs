//! The request pipeline (docs/gateway.md): a gateway request from route match to answer.
//!
//! Order of checks for a matched route: the bearer token (401), the key state (403), the
//! signature (401 `signature_*`), then the body rules (400 `encrypted_field_invalid`). Only
//! then is anything sent upstream; the answer's confidential fields are encrypted on the way
//! back.

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use keygate_core::jose::{
    decrypt_fields_in_json, encrypt_fields_in_json, jws_header_kid, verify_signed_request,
    verify_signed_request_by_any, ClientKey, FieldsInJson, InvalidReason, RequestFacts,
    RequestFieldsError, SignatureError, SignaturePolicy, VerifiedSignature,
};
use keygate_core::model::UnixTime;
use keygate_registry::Registry;
use uuid::Uuid;

use super::cache::{CallerKeys, Fate};
use super::headers::{
    content_coding, copy_response_headers, forward_headers, origin_headers, Forwarding,
};
use super::routes::{Matched, Route};
use super::upstream::{CallUpstream, UpstreamRequest};
use super::Gateway;
use crate::auth::caller_address;
use crate::bearer::{bearer_token, request_signature, SignatureHeader};
use crate::error::ApiError;
use crate::request_log::{GatewayRefusal, RouteLabel};

impl Gateway {
    /// Answers a request for the gateway: every path the JSON API and the web page do not
    /// serve. `now` is read from the node's one clock by the caller.
    ///
    /// The caller — the front door, or the router's fallback — has checked the request target
    /// and wraps this in what every request gets (request id, trace span, access line,
    /// metrics; `front::Front`). The URL sent upstream is checked again in
    /// [`super::upstream::HttpUpstream::url`].
    pub async fn handle(&self, registry: &Registry, now: UnixTime, request: Request) -> Response {
        let route = match self.routes.find(request.method(), request.uri().path()) {
            Matched::Route(route) => route,
            Matched::WrongMethod => {
                let mut response = refusal(ApiError::MethodNotAllowed);
                origin_headers(&mut response);
                return response;
            }
            Matched::None => {
                let mut response = refusal(ApiError::NotFound("nothing is served at this path"));
                origin_headers(&mut response);
                return response;
            }
        };
        let mut notes = Notes::default();
        let outcome = proxy(self, registry, now, route, request, &mut notes).await;
        self.count_usage(&notes, outcome.as_ref().err(), now);
        let mut response = outcome.unwrap_or_else(refusal);
        if let Some(value) = notes.expires.and_then(expiry_header) {
            response.headers_mut().insert(KEY_EXPIRES, value);
        }
        response
            .extensions_mut()
            .insert(RouteLabel(route.pattern.clone()));
        origin_headers(&mut response);
        response
    }
}

/// The answer to a refusal, marked with its slug for `/metrics` (`telemetry::observe`).
fn refusal(error: ApiError) -> Response {
    let slug = error.slug();
    let mut response = error.into_response();
    response.extensions_mut().insert(GatewayRefusal(slug));
    response
}

/// What [`proxy`] learnt about a call on its way, whatever its answer.
#[derive(Default)]
struct Notes {
    /// Set when the answer (refusals included) announces the caller's key's expiry.
    expires: Option<UnixTime>,
    /// The key a signed call counts against (docs/design.md §5, "Usage"): set once the caller's
    /// keys are known, moved to the key that signed once the signature is checked.
    usage_key: Option<Uuid>,
    /// The call was let through to the upstream: accepted, whatever the upstream answers.
    forwarded: bool,
}

impl Gateway {
    /// Counts a signed call against its key in memory (`usage`): accepted once forwarded, else
    /// refused with the answer's slug. A failure of keygate's own (5xx: the database, an
    /// upstream) is not the caller's refusal and is not counted against a key.
    fn count_usage(&self, notes: &Notes, error: Option<&ApiError>, now: UnixTime) {
        let Some(key) = notes.usage_key else { return };
        if notes.forwarded {
            self.usage.accepted(key, now);
        } else if let Some(error) = error {
            if error.status().is_client_error() {
                self.usage.refused(key, error.slug(), now);
            }
        }
    }
}

/// `X-Keygate-Key-Expires`: on every answer to an API key whose active key is in the last
/// `key_expiry_warning` of its life with no successor staged (docs/design.md §2).
pub const KEY_EXPIRES: HeaderName = HeaderName::from_static("x-keygate-key-expires");

/// The header's value: the active key's `expires_at`, RFC 3339 UTC to the second.
pub fn expiry_header(expires_at: UnixTime) -> Option<HeaderValue> {
    let at = chrono::DateTime::from_timestamp(expires_at, 0)?;
    HeaderValue::from_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).ok()
}

fn signature_error(e: SignatureError) -> ApiError {
    match e {
        SignatureError::Invalid(reason) => ApiError::SignatureInvalid(reason.to_string()),
        SignatureError::Stale(reason) => ApiError::SignatureStale(reason.to_string()),
    }
}

/// The signature check with the caller's keys (docs/design.md §2, "Rotation"): during an
/// overlap the retiring key may sign too (the `kid` picks the key, else the active key is tried
/// first); the key that verified is returned, to encrypt the answer to it. A signature made
/// with the newest key that is over is refused with that key's fate (403), not as invalid.
/// `charged` is set to the key the call counts against (docs/design.md §5, "Usage"): the key
/// that verified; on a refusal, the retiring key when the `kid` names it, the key that is over
/// when it made the signature, else (as it already holds) the active key.
fn verify_with(
    jws: &str,
    keys: &CallerKeys,
    facts: &RequestFacts<'_>,
    now: UnixTime,
    policy: &SignaturePolicy,
    charged: &mut Option<Uuid>,
) -> Result<(VerifiedSignature, Arc<ClientKey>), ApiError> {
    let outcome = match &keys.retiring {
        None => verify_signed_request(jws, &keys.active, facts, now, policy)
            .map(|verified| (verified, keys.active.clone())),
        Some(retiring) => {
            let both: [&ClientKey; 2] = [&keys.active, retiring];
            verify_signed_request_by_any(jws, &both, facts, now, policy)
                .map(|(verified, i)| {
                    let signer = if i == 0 { &keys.active } else { retiring };
                    (verified, signer.clone())
                })
                .inspect_err(|_| {
                    // Only on a refusal during an overlap: the header is read once more.
                    if jws_header_kid(jws).as_deref() == Some(retiring.kid()) {
                        *charged = Some(retiring.id());
                    }
                })
        }
    };
    match outcome {
        Ok(found) => {
            *charged = Some(found.1.id());
            Ok(found)
        }
        Err(SignatureError::Invalid(InvalidReason::KidMismatch | InvalidReason::BadSignature))
            if keys
                .previous
                .as_ref()
                .is_some_and(|old| old.signed(jws, &policy.allowed_algs)) =>
        {
            let fate = keys.previous.as_ref().map_or(Fate::Revoked, |old| old.fate);
            if let Some(old) = &keys.previous {
                *charged = Some(old.id());
            }
            Err(fate.refusal().into())
        }
        Err(e) => Err(signature_error(e)),
    }
}

/// Steps 1–6 for a matched route; the first refusal is the answer. Once the caller is known,
/// `notes` says whether its answer (refusals included) announces the key's expiry, and on a
/// signed route which key the call counts against and whether it was forwarded.
async fn proxy(
    gw: &Gateway,
    registry: &Registry,
    now: UnixTime,
    route: &Route,
    request: Request,
    notes: &mut Notes,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();

    // 1. Who: the bearer token (401).
    let token = bearer_token(&parts.headers)?;
    let principal = gw.caches.session(registry, token, now).await?;
    let api_key_id = principal.api_key.id;
    crate::request_log::set_caller(principal.client.id, api_key_id);

    // 2. The key state (403): a route with a signature or confidential fields needs an active
    //    key, and never falls back to plaintext without one. Other routes read it only for the
    //    expiry warning, and are not refused when it cannot be read.
    let client_keys = if route.needs_client_key() {
        let state = gw.caches.key_state(registry, api_key_id, now).await?;
        notes.expires = state.expiry_warning(now);
        if route.signature_required {
            notes.usage_key = state.usage_key();
        }
        Some(state.active(now)?)
    } else {
        let state = gw.caches.key_state(registry, api_key_id, now).await.ok();
        notes.expires = state.and_then(|state| state.expiry_warning(now));
        None
    };
    // The key answers are encrypted to: the one that signed the request, else the active one.
    let mut answer_key = client_keys.as_ref().map(|keys| keys.active.clone());

    let too_large = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > gw.max_body as u64);
    if too_large {
        return Err(ApiError::PayloadTooLarge);
    }
    let body = axum::body::to_bytes(body, gw.max_body)
        .await
        .map_err(|e| ApiError::from_body_error(&e, ApiError::PayloadTooLarge))?;
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());

    // 3. The signature (401), then the jti, recorded before anything is forwarded.
    if route.signature_required {
        let jws = match request_signature(&parts.headers) {
            SignatureHeader::Jws(jws) => jws,
            SignatureHeader::Missing => return Err(ApiError::SignatureMissing),
            SignatureHeader::NotAscii => {
                return Err(ApiError::SignatureInvalid(
                    "the X-Request-Signature header is not ASCII".into(),
                ))
            }
            SignatureHeader::Several => {
                return Err(ApiError::SignatureInvalid(
                    "send one X-Request-Signature header, not several".into(),
                ))
            }
        };
        let keys = client_keys.as_ref().ok_or(ApiError::PublicKeyRequired)?;
        let facts = RequestFacts {
            method: parts.method.as_str(),
            path_and_query,
            body: &body,
            bearer_token: token,
        };
        let (verified, signer) =
            verify_with(jws, keys, &facts, now, &gw.policy, &mut notes.usage_key)?;
        answer_key = Some(signer);
        let until = verified.iat.saturating_add(gw.policy.max_skew_secs);
        gw.replay
            .record(api_key_id, &verified.jti, now, until)
            .await?;
    }

    // 4. Confidential request fields (400 encrypted_field_invalid; nothing is forwarded).
    //    Only the named values change; the rest reaches the upstream byte for byte.
    let body = if !route.decrypt_request.is_empty() && !body.is_empty() {
        let ring = gw.keyring();
        match decrypt_fields_in_json(&body, &route.decrypt_request, &ring.decrypting(now)) {
            Ok(Cow::Borrowed(_)) => body,
            Ok(Cow::Owned(out)) => Bytes::from(out),
            Err(RequestFieldsError::Invalid(_)) => return Err(ApiError::EncryptedFieldInvalid),
            Err(e) => return Err(ApiError::InvalidRequest(e.to_string())),
        }
    } else {
        body
    };

    // 5. Forward.
    let headers = || {
        forward_headers(
            &parts.headers,
            &Forwarding {
                client_id: &principal.client.id.to_string(),
                api_key_id: &api_key_id.to_string(),
                address: caller_address(&parts, gw.trust_forwarded),
                trust_forwarded: gw.trust_forwarded,
                own_cookies: gw.own_cookies,
                plain_answer: !route.encrypt_response.is_empty(),
            },
        )
    };
    let request = UpstreamRequest {
        route: &route.pattern,
        method: parts.method.clone(),
        path_and_query,
        body,
        max_reply: gw.max_upstream_body,
    };
    notes.forwarded = true;
    let reply = route.upstream.call(request, headers).await?;

    // 6. Confidential response fields, encrypted to the key that signed the request (the
    //    active key on a route without a signature).
    let mut body = reply.body;
    //    The rest of the answer is passed on byte for byte. A body that is not JSON cannot
    //    have its fields found, so it is refused rather than passed on: it may hold them in
    //    plaintext (e.g. JSON with trailing bytes). Only an empty body passes.
    if let (false, Some(key)) = (route.encrypt_response.is_empty(), answer_key.as_ref()) {
        // Asked for `identity` (step 5); an upstream that compresses anyway is refused, as a
        // body that is not JSON is.
        if let Some(coding) = content_coding(&reply.headers).filter(|_| !body.is_empty()) {
            tracing::warn!(
                route = %route.pattern,
                status = reply.status.as_u16(),
                content_encoding = %coding,
                "the upstream's answer on a route with confidential fields is compressed although keygate asked for identity; refused"
            );
            return Err(ApiError::UpstreamUnavailable);
        }
        match encrypt_fields_in_json(&body, &route.encrypt_response, route.scheme, key)
            .map_err(ApiError::internal)?
        {
            FieldsInJson::Rewritten(out) => body = Bytes::from(out),
            FieldsInJson::Unchanged => {}
            FieldsInJson::NotJson if body.is_empty() => {}
            FieldsInJson::NotJson => {
                tracing::warn!(
                    route = %route.pattern,
                    status = reply.status.as_u16(),
                    "the upstream's answer on a route with confidential fields is not JSON; refused"
                );
                return Err(ApiError::UpstreamUnavailable);
            }
        }
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = reply.status;
    copy_response_headers(&reply.headers, response.headers_mut(), gw.own_cookies);
    Ok(response)
}
