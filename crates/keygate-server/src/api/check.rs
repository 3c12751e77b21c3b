//! The self-check (docs/design.md §5, "Self-check"): a developer proves an integration before
//! going live. `POST …/check` checks the request itself, signed exactly as a protected call
//! would be (the shared run is `crate::self_check`, which the page uses too). `GET`/`POST
//! …/check/encryption` hand out and take back an encryption challenge (the registry's rules).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use keygate_api::{
    ChallengeAnswerBody, ChallengeCiphertexts, ChallengeResult, EncryptionChallenge, Envelope,
    SignatureCheck,
};

use super::json::{read_body, ApiJson};
use super::view;
use crate::auth::Authenticated;
use crate::bearer::{bearer_token, request_signature};
use crate::error::{ok, ApiError};
use crate::messages::message;
use crate::self_check::{self, Attempt};
use crate::state::AppState;

/// Check a signed request: send it exactly as a protected call (bearer token,
/// `X-Request-Signature` made for this method, path and body; any body). Answers 200 with every
/// check, passed or not; the `jti` is not recorded, so the check can be repeated.
#[utoipa::path(
    post, path = "/clients/api_key/public_key/check", operation_id = "checkSignature",
    tag = "self-check", security(("bearer" = [], "request_signature" = [])),
    request_body(content = Option<String>, content_type = "*/*", description = "Any body (or none), the bytes signed in body_sha256"),
    responses((status = 200, body = Envelope<SignatureCheck>, description = "Every check, in order"))
)]
pub async fn check_signature(
    State(state): State<AppState>,
    auth: Authenticated,
    req: Request,
) -> Result<Response, ApiError> {
    let (method, uri, headers) = (
        req.method().clone(),
        req.uri().clone(),
        req.headers().clone(),
    );
    let body = read_body(req, &state).await?;
    let token = bearer_token(&headers)?;
    let attempt = Attempt {
        method: method.as_str(),
        path_and_query: uri
            .path_and_query()
            .map_or_else(|| uri.path(), |pq| pq.as_str()),
        body: &body,
        signature: request_signature(&headers),
        bearer_token: Some(token),
    };
    let report =
        self_check::check_signature(&state, auth.principal.api_key.id, &attempt, &message).await?;
    Ok(ok(StatusCode::OK, report))
}

/// A new encryption challenge: one random text encrypted to the active key in every scheme
/// (`jwe`, `rsa-oaep-256`, `rsa-pkcs1`), to be answered once within five minutes.
#[utoipa::path(
    get, path = "/clients/api_key/public_key/check/encryption", operation_id = "newEncryptionChallenge",
    tag = "self-check", security(("bearer" = [])),
    responses((status = 200, body = Envelope<EncryptionChallenge>, description = "A new challenge"))
)]
pub async fn new_challenge(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Response, ApiError> {
    let challenge = state
        .registry
        .new_challenge(auth.principal.api_key.id)
        .await?;
    Ok(ok(
        StatusCode::OK,
        EncryptionChallenge {
            challenge_id: challenge.id,
            key_id: challenge.key_id,
            expires_at: view::time(challenge.expires_at),
            ciphertexts: ChallengeCiphertexts {
                jwe: challenge.jwe,
                rsa_oaep_256: challenge.rsa_oaep_256,
                rsa_pkcs1: challenge.rsa_pkcs1,
            },
        },
    ))
}

/// Answer an encryption challenge with its decrypted text: `data.ok` says whether it is right.
/// Any answer uses the challenge up.
#[utoipa::path(
    post, path = "/clients/api_key/public_key/check/encryption", operation_id = "answerEncryptionChallenge",
    tag = "self-check", security(("bearer" = [])),
    request_body = ChallengeAnswerBody,
    responses((status = 200, body = Envelope<ChallengeResult>, description = "Whether the text is right"))
)]
pub async fn answer_challenge(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<ChallengeAnswerBody>,
) -> Result<Response, ApiError> {
    let right = state
        .registry
        .answer_challenge(
            auth.principal.api_key.id,
            &body.challenge_id,
            &body.plaintext,
        )
        .await?;
    Ok(ok(StatusCode::OK, ChallengeResult { ok: right }))
}
