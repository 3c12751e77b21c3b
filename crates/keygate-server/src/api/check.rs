//! The self-check (docs/design.md §5, "Self-check"): a developer proves an integration before
//! going live. `POST …/check` runs the gateway's own signature checks (keygate-core's
//! `check_signed_request`, the steps `verify_signed_request` runs fail-fast) on a request signed
//! exactly as a protected call would be, and reports every one; the `jti` is looked up in the
//! replay record but never written to it. `GET`/`POST …/check/encryption` hand out and take back
//! an encryption challenge (the registry's rules).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use keygate_api::{
    ChallengeAnswerBody, ChallengeCiphertexts, ChallengeResult, CheckName, EncryptionChallenge,
    Envelope, SignatureCheck,
};
use keygate_core::jose::{check_signed_request, Check, RequestFacts, SignedRequestReport};

use super::check_report::{self, Context};
use super::json::{read_body, ApiJson};
use super::view;
use crate::auth::Authenticated;
use crate::bearer::bearer_token;
use crate::error::{ok, ApiError};
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
    let api_key_id = auth.principal.api_key.id;
    let now = state.now();
    let gateway = &state.gateway;

    // key_state: the key the gateway would check against, from its own cache.
    let key = gateway
        .caches
        .key_state(&state.registry, api_key_id, now)
        .await?
        .active(now);
    let mut checks = Vec::with_capacity(Check::ALL.len() + 1);
    let keys = match key {
        Ok(keys) => keys,
        Err(refusal) => {
            checks.push(check_report::key_state_failed(&refusal));
            checks.extend(check_report::not_run_from(Check::Jws, CheckName::KeyState));
            return Ok(answer(checks));
        }
    };
    let expires_at = state
        .registry
        .active_key(api_key_id)
        .await
        .map_or(now, |record| record.expires_at);
    checks.push(check_report::key_state_ok(keys.active.kid(), expires_at));

    // jws: the header as the gateway reads it.
    let jws = match headers.get("x-request-signature").map(|v| v.to_str()) {
        Some(Ok(jws)) => jws.trim(),
        unusable => {
            checks.push(check_report::jws_header_unusable(unusable.is_none()));
            checks.extend(check_report::not_run_from(Check::Alg, CheckName::Jws));
            return Ok(answer(checks));
        }
    };
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.path(), |pq| pq.as_str());
    let facts = RequestFacts {
        method: method.as_str(),
        path_and_query,
        body: &body,
        bearer_token: token,
    };
    // The active key; during a rotation's overlap the retiring key when it is the one that
    // signed (docs/design.md §2, "Rotation"), as the gateway would accept it.
    let mut key = &keys.active;
    let mut report = check_signed_request(jws, key, &facts, now, &gateway.policy);
    if let Some(retiring) = &keys.retiring {
        let signed = |r: &SignedRequestReport| {
            r.outcome(Check::Kid).passed() && r.outcome(Check::Signature).passed()
        };
        let by_retiring = check_signed_request(jws, retiring, &facts, now, &gateway.policy);
        if !signed(&report) && signed(&by_retiring) {
            (key, report) = (retiring, by_retiring);
        }
    }
    // The jti's freshness, as the replay record would judge it, without recording it.
    let jti_used = match report.jti() {
        Some(jti) => gateway.replay.seen(api_key_id, jti, now).await?,
        None => false,
    };
    let allowed = gateway
        .policy
        .allowed_algs
        .iter()
        .map(|alg| alg.name())
        .collect::<Vec<_>>()
        .join(", ");
    let ctx = Context {
        kid: key.kid(),
        body_len: body.len(),
        allowed_algs: &allowed,
        skew: gateway.policy.max_skew_secs,
    };
    checks.extend(check_report::render(&report, &ctx, jti_used));
    Ok(answer(checks))
}

fn answer(checks: Vec<keygate_api::CheckResult>) -> Response {
    let all_ok = checks.iter().all(|c| c.ok);
    ok(StatusCode::OK, SignatureCheck { ok: all_ok, checks })
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
