//! Passwords, bearer tokens, login limits, and the `Authenticated` extractor.

use std::net::{IpAddr, SocketAddr};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use aws_lc_rs::{digest, rand};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keygate_core::model::{Principal, UnixTime};
use keygate_store::{LoginAttempt, LoginAttemptKey};

use crate::error::ApiError;
use crate::state::AppState;

/// argon2id with the crate's default (OWASP) parameters.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// `n` random bytes, base64url: API key identifiers, passwords, tokens.
pub fn random_secret(n: usize) -> Result<String, ApiError> {
    let mut bytes = vec![0u8; n];
    rand::fill(&mut bytes).map_err(|_| ApiError::internal("the system random generator failed"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A new API key's login identifier and password. The password never starts with `-`, which a
/// command line (`keygate client login --password ...`) would read as an option.
pub fn new_credentials() -> Result<(String, String), ApiError> {
    let login = format!("kg_{}", random_secret(18)?);
    let password = random_secret(24)?;
    let password = match password.strip_prefix('-') {
        Some(rest) => format!("_{rest}"),
        None => password,
    };
    Ok((login, password))
}

/// Tokens are stored only as their SHA-256, so a database dump holds no usable token.
pub fn token_hash(token: &str) -> String {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Drops expired sessions and login failures older than the window, once a minute, so neither
/// table grows without bound. Runs while the node serves.
pub async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        let now = state.now();
        let window =
            i64::try_from(state.settings.login_failure_window.as_secs()).unwrap_or(i64::MAX);
        if let Err(e) = state.store.purge_expired_sessions(now).await {
            tracing::warn!(error = %e, "purging expired sessions failed");
        }
        if let Err(e) = state
            .store
            .purge_login_failures(now.saturating_sub(window))
            .await
        {
            tracing::warn!(error = %e, "purging old login failures failed");
        }
    }
}

/// A successful login.
pub struct Session {
    pub token: String,
    pub expires_in: u64,
    pub principal: Principal,
}

/// Count the attempt, then check the API key and the password; open a session, or leave the
/// attempt counted as a failure. Shared by the JSON API and the web page.
///
/// Two bounds make a flood of logins cheap to refuse (docs/decisions.md, "Login limits"): the
/// attempt is counted *before* its password is checked, atomically with the check of the
/// limits, so concurrent attempts cannot pass them together; and at most
/// `login_max_concurrent` argon2 checks (19 MiB each) run at once, the rest waiting up to
/// `login_queue_timeout` before a 503 with `Retry-After`.
pub async fn login(
    state: &AppState,
    api_key: &str,
    password: &str,
    address: IpAddr,
) -> Result<Session, ApiError> {
    let now = state.now();
    let settings = &state.settings;
    let window = settings.login_failure_window.as_secs();
    let since = now.saturating_sub(i64::try_from(window).unwrap_or(i64::MAX));
    let address = address.to_string();
    let attempt = LoginAttemptKey {
        api_key_login: api_key,
        address: &address,
    };
    let limits = (
        settings.login_max_failures_per_key,
        settings.login_max_failures_per_address,
    );
    let seq = match state
        .store
        .begin_login_attempt(&attempt, now, since, limits)
        .await?
    {
        LoginAttempt::Recorded(seq) => seq,
        LoginAttempt::Refused => {
            return Err(ApiError::RateLimited {
                retry_after: window,
            })
        }
    };
    let found = state.store.find_login(api_key).await?;
    let permit = match tokio::time::timeout(
        settings.login_queue_timeout,
        state.password_checks.clone().acquire_owned(),
    )
    .await
    {
        Ok(Ok(permit)) => permit,
        _ => {
            // Never checked, so not a failure: take the attempt back.
            state.store.forget_login_attempt(seq).await?;
            return Err(ApiError::LoginBusy {
                retry_after: LOGIN_BUSY_RETRY_AFTER,
            });
        }
    };
    // Always run one argon2 verification, against a dummy hash for an unknown API key, so the
    // two failures cost the same.
    let hash = match &found {
        Some((_, _, hash)) => hash.clone(),
        None => state.dummy_password_hash.to_string(),
    };
    let candidate = password.to_string();
    // The permit moves into the blocking task: a check that outlives its request (the client
    // went away) still holds its slot until argon2 is done, so the bound is on memory in use.
    let matches = tokio::task::spawn_blocking(move || {
        let matches = verify_password(&candidate, &hash);
        drop(permit);
        matches
    })
    .await
    .map_err(ApiError::internal)?;
    match found {
        Some((api_key_record, client, _)) if matches => {
            if let Err(e) = state.store.forget_login_attempt(seq).await {
                // The login stands; its attempt stays counted as a failure until the window ends.
                tracing::warn!(error = %e, "could not take back a successful login attempt");
            }
            let token = random_secret(32)?;
            let ttl = settings.token_ttl.as_secs();
            state
                .store
                .create_session(
                    &token_hash(&token),
                    api_key_record.id,
                    now,
                    now + ttl as i64,
                )
                .await?;
            Ok(Session {
                token,
                expires_in: ttl,
                principal: Principal {
                    client,
                    api_key: api_key_record,
                },
            })
        }
        _ => Err(ApiError::InvalidCredentials),
    }
}

/// `Retry-After` of a login refused because the password checks are all busy: the queue
/// drains in well under a second per core, so a second is enough to try again.
const LOGIN_BUSY_RETRY_AFTER: u64 = 1;

/// How many password checks may run at once by default: one per core (argon2 is CPU-bound, so
/// more would only queue on the cores while holding their memory).
pub fn default_login_max_concurrent() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// End a session: the row goes (so every node refuses the token) and this node's cache entry
/// with it. Shared by the JSON API and the web page.
pub async fn logout(state: &AppState, token_hash: &str) -> Result<(), ApiError> {
    state.store.delete_session(token_hash).await?;
    state.gateway.caches.invalidate_session(token_hash);
    Ok(())
}

/// Resolve a bearer token to who it speaks for; shared by the API and the web page.
pub async fn authenticate_token(
    state: &AppState,
    token: &str,
) -> Result<(Principal, UnixTime), ApiError> {
    let found = state
        .store
        .find_session(&token_hash(token), state.now())
        .await?
        .ok_or(ApiError::Unauthorized(
            "the token is expired, logged out or unknown; log in again",
        ))?;
    crate::request_log::set_caller(found.0.client.id, found.0.api_key.id);
    Ok(found)
}

/// The caller's address for login limits: the peer, or `X-Forwarded-For` behind a trusted proxy.
pub fn client_address(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trust_forwarded_for: bool,
) -> IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| {
            headers
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .split(',')
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .flatten();
    forwarded
        .or(peer.map(|p| p.ip()))
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// The bearer token of a request, if it carries one that is well-formed.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(
            "this endpoint needs Authorization: Bearer <token>; log in at POST /auth/login",
        ))?;
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 512)
        .ok_or(ApiError::Unauthorized(
            "the Authorization header must be `Bearer <token>`",
        ))
}

/// A request with a valid bearer token.
pub struct Authenticated {
    pub principal: Principal,
    pub token_hash: String,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        let (principal, _) = authenticate_token(state, token).await?;
        Ok(Authenticated {
            principal,
            token_hash: token_hash(token),
        })
    }
}

/// The peer address, when the server was started with connect info.
pub struct PeerAddress(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_safe_on_a_command_line() {
        // 1 in 64 raw base64url secrets starts with `-`; 2,000 draws meet that case ~31 times.
        for _ in 0..2000 {
            let (login, password) = new_credentials().unwrap();
            assert!(login.starts_with("kg_") && login.len() == 27, "{login}");
            assert!(!password.starts_with('-'), "{password}");
            assert_eq!(password.len(), 32);
        }
    }
}
