//! The self-check of a signed request (docs/design.md §5, "Self-check"), shared by the JSON API
//! (`POST /clients/api_key/public_key/check`: the request itself is the one checked) and the
//! page (`/self-check`: the developer pastes the parts of a request they mean to send). Both run
//! the gateway's own signature checks (keygate-core's `check_signed_request`, the steps
//! `verify_signed_request` runs fail-fast) and report every one; the `jti` is looked up in the
//! replay record but never written to it. The words come from `locales/*/checks.ftl`
//! ([`report`]).

pub mod report;

use keygate_api::{CheckName, CheckResult, SignatureCheck};
use keygate_core::jose::{check_signed_request, Check, RequestFacts, SignedRequestReport};
use uuid::Uuid;

pub use crate::bearer::SignatureHeader as SentSignature;
use crate::error::ApiError;
use crate::state::AppState;
use report::{Context, Words};

/// A request to check: what the gateway would see of it.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The method, e.g. `POST`.
    pub method: &'a str,
    /// The path and query, as sent.
    pub path_and_query: &'a str,
    /// The body's bytes.
    pub body: &'a [u8],
    /// The signature header.
    pub signature: SentSignature<'a>,
    /// The bearer token sent with it; `None` on the page when none was pasted (then a signed
    /// `ath` cannot be compared, and the report says so).
    pub bearer_token: Option<&'a str>,
}

/// Runs every check on `attempt` for `api_key_id`, as the gateway of this node would judge it
/// now, in the words of `words`.
///
/// # Errors
/// The registry or the replay record could not be read ([`ApiError::ServiceUnavailable`] and kin); a
/// failed check is never an error, it is reported.
pub async fn check_signature(
    state: &AppState,
    api_key_id: Uuid,
    attempt: &Attempt<'_>,
    words: Words<'_>,
) -> Result<SignatureCheck, ApiError> {
    let checks = run(state, api_key_id, attempt, words).await?;
    Ok(SignatureCheck {
        ok: checks.iter().all(|c| c.ok),
        checks,
    })
}

async fn run(
    state: &AppState,
    api_key_id: Uuid,
    attempt: &Attempt<'_>,
    words: Words<'_>,
) -> Result<Vec<CheckResult>, ApiError> {
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
            checks.push(report::key_state_failed(words, &refusal));
            checks.extend(report::not_run_from(words, Check::Jws, CheckName::KeyState));
            return Ok(checks);
        }
    };
    let expires_at = state
        .registry
        .active_key(api_key_id)
        .await
        .map_or(now, |record| record.expires_at);
    checks.push(report::key_state_ok(words, keys.active.kid(), expires_at));

    // jws: the header as the gateway reads it.
    let jws = match attempt.signature {
        SentSignature::Jws(jws) => jws,
        unusable => {
            checks.push(report::jws_header_unusable(words, unusable));
            checks.extend(report::not_run_from(words, Check::Alg, CheckName::Jws));
            return Ok(checks);
        }
    };
    let facts = RequestFacts {
        method: attempt.method,
        path_and_query: attempt.path_and_query,
        body: attempt.body,
        bearer_token: attempt.bearer_token.unwrap_or_default(),
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
        body_len: attempt.body.len(),
        allowed_algs: &allowed,
        skew: gateway.policy.max_skew_secs,
        token_given: attempt.bearer_token.is_some(),
    };
    checks.extend(report::render(words, &report, &ctx, jti_used));
    Ok(checks)
}
