//! Login, logout and session lookup (docs/decisions.md, "Login limits").
//!
//! Two bounds make a flood of logins cheap to refuse: the attempt is counted *before* its
//! password is checked, atomically with the check of the limits, so concurrent attempts cannot
//! pass them together; and at most `login_max_concurrent` argon2 checks (19 MiB each) run at
//! once, the rest waiting up to `login_queue_timeout` before [`RegistryError::LoginBusy`].

use std::net::IpAddr;

use keygate_core::audit::{Actor, AuditEventType, NewAuditEvent, Origin};
use keygate_core::model::{ApiKey, Client, Principal, UnixTime};
use keygate_store::{LoginAttempt, LoginAttemptKey};

use crate::credentials::{random_secret, token_hash, verify_password};
use crate::{secs, Registry, RegistryError};

/// A successful login: the bearer token (shown once; the store keeps only its hash), its
/// lifetime and who it speaks for.
pub struct Session {
    /// The bearer token.
    pub token: String,
    /// Seconds until the session ends (`token_ttl`).
    pub expires_in: u64,
    /// Who the token speaks for.
    pub principal: Principal,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("expires_in", &self.expires_in)
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

/// Why a login's input was refused before anything was counted or looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedLogin {
    /// The API key or the password is empty, or longer than [`MAX_API_KEY_LEN`] /
    /// [`MAX_PASSWORD_LEN`] bytes.
    #[error("the API key and the password must be non-empty (at most {MAX_API_KEY_LEN} and {MAX_PASSWORD_LEN} bytes)")]
    Missing,
    /// The API key holds a control character: no API key does (and PostgreSQL text cannot
    /// hold NUL, issue 8).
    #[error("the API key must not contain control characters")]
    ControlCharacter,
}

/// The longest API key a login may name (issued keys are 27 characters).
pub const MAX_API_KEY_LEN: usize = 256;
/// The longest password a login may carry (argon2 work is bounded by it).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// The one shape rule of a login's input, for the JSON API and the web page alike: checked
/// before the attempt is counted, so a malformed login costs nothing and counts nothing.
///
/// # Errors
/// The [`MalformedLogin`] that names what is wrong.
pub fn check_login_input(api_key: &str, password: &str) -> Result<(), MalformedLogin> {
    if api_key.is_empty()
        || password.is_empty()
        || api_key.len() > MAX_API_KEY_LEN
        || password.len() > MAX_PASSWORD_LEN
    {
        return Err(MalformedLogin::Missing);
    }
    if api_key.chars().any(char::is_control) {
        return Err(MalformedLogin::ControlCharacter);
    }
    Ok(())
}

/// `Retry-After` of a login refused because the password checks are all busy: the queue
/// drains in well under a second per core, so a second is enough to try again.
const LOGIN_BUSY_RETRY_AFTER: u64 = 1;

impl Registry {
    /// Make the dummy password hash now (a start-up step), so the first login naming an
    /// unknown API key costs no more than any other.
    ///
    /// # Errors
    /// [`RegistryError::Internal`] if hashing fails.
    pub async fn prepare_login(&self) -> Result<(), RegistryError> {
        self.dummy_hash().await.map(|_| ())
    }

    async fn dummy_hash(&self) -> Result<String, RegistryError> {
        self.dummy_hash
            .get_or_try_init(|| async {
                let password = random_secret(24)?;
                crate::credentials::hash_password_blocking(&password).await
            })
            .await
            .cloned()
    }

    /// Count the attempt, then check the API key and the password; open a session, or leave
    /// the attempt counted as a failure. `address` is the caller's, for the per-address limit.
    ///
    /// # Errors
    /// [`RegistryError::MalformedLogin`] (nothing counted), [`RegistryError::RateLimited`],
    /// [`RegistryError::LoginBusy`], [`RegistryError::InvalidCredentials`], or a store failure.
    pub async fn login(
        &self,
        api_key: &str,
        password: &str,
        address: IpAddr,
    ) -> Result<Session, RegistryError> {
        check_login_input(api_key, password)?;
        let now = self.now();
        let settings = &self.settings;
        let window = settings.login_failure_window.as_secs();
        let since = now.saturating_sub(secs(settings.login_failure_window));
        let address = address.to_string();
        let attempt = LoginAttemptKey {
            api_key_login: api_key,
            address: &address,
        };
        let limits = (
            settings.login_max_failures_per_key,
            settings.login_max_failures_per_address,
        );
        let (seq, locks) = match self
            .store
            .begin_login_attempt(&attempt, now, since, limits)
            .await?
        {
            LoginAttempt::Recorded(seq, locks) => (seq, locks),
            LoginAttempt::Refused => {
                return Err(RegistryError::RateLimited {
                    retry_after: window,
                })
            }
        };
        let found = self.store.find_login(api_key).await?;
        let permit = match tokio::time::timeout(
            settings.login_queue_timeout,
            self.password_checks.clone().acquire_owned(),
        )
        .await
        {
            Ok(Ok(permit)) => permit,
            _ => {
                // Never checked, so not a failure: take the attempt back.
                self.store.forget_login_attempt(seq).await?;
                return Err(RegistryError::LoginBusy {
                    retry_after: LOGIN_BUSY_RETRY_AFTER,
                });
            }
        };
        // Always run one argon2 verification, against a dummy hash for an unknown API key, so
        // the two failures cost the same.
        let hash = match &found {
            Some((_, _, hash)) => hash.clone(),
            None => self.dummy_hash().await?,
        };
        let candidate = password.to_string();
        // The permit moves into the blocking task: a check that outlives its request (the
        // client went away) still holds its slot until argon2 is done, so the bound is on
        // memory in use.
        let matches = tokio::task::spawn_blocking(move || {
            let matches = verify_password(&candidate, &hash);
            drop(permit);
            matches
        })
        .await
        .map_err(RegistryError::internal)?;
        match found {
            Some((api_key_record, client, _)) if matches => {
                if let Err(e) = self.store.forget_login_attempt(seq).await {
                    // The login stands; its attempt stays counted as a failure until the
                    // window ends.
                    tracing::warn!(error = %e, "could not take back a successful login attempt");
                }
                let token = random_secret(32)?;
                let ttl = settings.token_ttl.as_secs();
                let origin = Origin::api_key(api_key_record.id, Some(address.clone()));
                let succeeded = NewAuditEvent::new(AuditEventType::LoginSucceeded, &origin)
                    .api_key(client.id, api_key_record.id);
                self.store
                    .create_session(
                        &token_hash(&token),
                        api_key_record.id,
                        now,
                        now.saturating_add(secs(settings.token_ttl)),
                        &[succeeded],
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
            found => {
                self.record_login_failure(found.map(|(k, c, _)| (k, c)), address, locks)
                    .await?;
                Err(RegistryError::InvalidCredentials)
            }
        }
    }

    /// `login.failed`, and `login.locked` when this failure reaches a limit (docs/design.md
    /// §11): the identifier is named (as the API key's id and login) only when it is a known
    /// API key, so a password typed into the wrong field is never recorded.
    async fn record_login_failure(
        &self,
        found: Option<(ApiKey, Client)>,
        address: String,
        (locks_key, locks_address): (bool, bool),
    ) -> Result<(), RegistryError> {
        let origin = Origin {
            actor: found
                .as_ref()
                .map_or(Actor::Anonymous, |(k, _)| Actor::ApiKey(k.id)),
            source: Some(address),
        };
        let about = |event: NewAuditEvent| match &found {
            Some((k, c)) => event
                .api_key(c.id, k.id)
                .detail("api_key", k.api_key.as_str()),
            None => event,
        };
        let mut events = vec![about(NewAuditEvent::new(
            AuditEventType::LoginFailed,
            &origin,
        ))];
        let window = secs(self.settings.login_failure_window);
        if locks_key && found.is_some() {
            events.push(
                about(NewAuditEvent::new(AuditEventType::LoginLocked, &origin))
                    .detail("limit", "api_key")
                    .detail("seconds", window),
            );
        }
        if locks_address {
            events.push(
                about(NewAuditEvent::new(AuditEventType::LoginLocked, &origin))
                    .detail("limit", "address")
                    .detail("seconds", window),
            );
        }
        self.record(&events).await
    }

    /// End a session: the row goes (so every node refuses the token) and this node's cache
    /// entry with it. `token_hash`: [`token_hash`] of the bearer token.
    ///
    /// # Errors
    /// A store failure.
    pub async fn logout(
        &self,
        principal: &Principal,
        token_hash: &str,
        origin: &Origin,
    ) -> Result<(), RegistryError> {
        let event = NewAuditEvent::new(AuditEventType::Logout, origin)
            .api_key(principal.client.id, principal.api_key.id);
        self.store
            .delete_session(token_hash, self.now(), &[event])
            .await?;
        self.caches.session_ended(token_hash);
        Ok(())
    }

    /// Who a bearer token speaks for, and when its session ends.
    ///
    /// # Errors
    /// [`RegistryError::SessionUnknown`], or a store failure.
    pub async fn session(&self, token: &str) -> Result<(Principal, UnixTime), RegistryError> {
        self.session_at(token, self.now()).await
    }

    /// [`Registry::session`] at `now` (the gateway reads *now* once per request).
    ///
    /// # Errors
    /// [`RegistryError::SessionUnknown`], or a store failure.
    pub async fn session_at(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<(Principal, UnixTime), RegistryError> {
        self.store
            .find_session(&token_hash(token), now)
            .await?
            .ok_or(RegistryError::SessionUnknown)
    }

    /// Drop expired sessions, login failures older than the window and expired self-check
    /// challenges, so no table grows without bound (run once a minute while the node serves).
    pub async fn purge_expired(&self) {
        let now = self.now();
        if let Err(e) = self.store.purge_expired_sessions(now).await {
            tracing::warn!(error = %e, "purging expired sessions failed");
        }
        let since = now.saturating_sub(secs(self.settings.login_failure_window));
        if let Err(e) = self.store.purge_login_failures(since).await {
            tracing::warn!(error = %e, "purging old login failures failed");
        }
        if let Err(e) = self.store.purge_check_challenges(now).await {
            tracing::warn!(error = %e, "purging expired self-check challenges failed");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::test_support::{registry_with, settings};

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[tokio::test]
    async fn login_opens_a_session_until_it_expires_or_ends() {
        let (registry, hand, principal, (login, password), _guard) =
            registry_with(settings()).await;
        assert!(matches!(
            registry.login(&login, "wrong", HOME).await,
            Err(RegistryError::InvalidCredentials)
        ));
        assert!(matches!(
            registry.login("kg_nobody", &password, HOME).await,
            Err(RegistryError::InvalidCredentials)
        ));
        let session = registry.login(&login, &password, HOME).await.unwrap();
        assert_eq!(session.principal, principal);
        assert_eq!(session.expires_in, 900);
        let (who, _) = registry.session(&session.token).await.unwrap();
        assert_eq!(who, principal);

        // The session ends with the clock, no sleeping.
        hand.advance(900);
        assert!(matches!(
            registry.session(&session.token).await,
            Err(RegistryError::SessionUnknown)
        ));
        hand.advance(-900);
        registry
            .logout(
                &session.principal,
                &token_hash(&session.token),
                &crate::test_support::me(&session.principal),
            )
            .await
            .unwrap();
        assert!(matches!(
            registry.session(&session.token).await,
            Err(RegistryError::SessionUnknown)
        ));
    }

    #[tokio::test]
    async fn failures_lock_the_api_key_out_for_the_window() {
        let mut s = settings();
        s.login_max_failures_per_key = 2;
        let (registry, hand, _, (login, password), _guard) = registry_with(s).await;
        for _ in 0..2 {
            assert!(matches!(
                registry.login(&login, "wrong", HOME).await,
                Err(RegistryError::InvalidCredentials)
            ));
        }
        // Refused before the password is even checked, with the window as Retry-After.
        assert!(matches!(
            registry.login(&login, &password, HOME).await,
            Err(RegistryError::RateLimited { retry_after: 900 })
        ));
        hand.advance(901);
        assert!(registry.login(&login, &password, HOME).await.is_ok());
    }

    #[tokio::test]
    async fn a_login_waits_for_a_password_slot_then_is_busy() {
        let mut s = settings();
        s.login_max_concurrent = 1;
        s.login_queue_timeout = std::time::Duration::from_millis(50);
        let (registry, _hand, _, (login, password), _guard) = registry_with(s).await;
        let held = Arc::clone(&registry.password_checks)
            .acquire_owned()
            .await
            .unwrap();
        assert!(matches!(
            registry.login(&login, &password, HOME).await,
            Err(RegistryError::LoginBusy { retry_after: 1 })
        ));
        drop(held);
        // The busy attempt was taken back: it does not count as a failure.
        assert!(registry.login(&login, &password, HOME).await.is_ok());
    }
}

#[cfg(test)]
mod input_tests {
    use super::*;

    #[test]
    fn the_login_input_rule() {
        assert_eq!(check_login_input("kg_abc", "pw"), Ok(()));
        for (key, password) in [
            ("", "pw"),
            ("kg_abc", ""),
            (&*"k".repeat(MAX_API_KEY_LEN + 1), "pw"),
            ("kg_abc", &*"p".repeat(MAX_PASSWORD_LEN + 1)),
        ] {
            assert_eq!(
                check_login_input(key, password),
                Err(MalformedLogin::Missing),
                "{key:.10} {password:.10}"
            );
        }
        assert_eq!(
            check_login_input(&"k".repeat(MAX_API_KEY_LEN), &"p".repeat(MAX_PASSWORD_LEN)),
            Ok(())
        );
        for key in ["kg\0abc", "kg\nabc", "kg\u{7f}", "kg\u{85}x"] {
            assert_eq!(
                check_login_input(key, "pw"),
                Err(MalformedLogin::ControlCharacter)
            );
        }
    }
}
