//! Webhooks for key events (docs/webhooks.md; the choice of the audit trail as the outbox is in
//! docs/decisions.md, "Webhooks"). `[[webhooks]]` entries become [`Webhook`]s at start (the
//! secret read, the HTTP client built); every node runs the [`Relay`], its own task, which
//! turns audit events into deliveries and posts them, signed per Standard Webhooks. No request
//! waits for it.

mod backoff;
mod payload;
mod relay;
mod secret;
mod sender;

use std::time::Duration;

pub use backoff::next_attempt;
pub use payload::body;
pub use relay::Relay;
pub use secret::{SecretError, WebhookSecret};
pub use sender::{Attempt, Message, Sender};

use crate::config::Settings;

/// A configured webhook, ready to post to.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// Its identity in the database: the SHA-256 of its URL, hex ([`crate::config::WebhookUrl::id`]).
    pub id: String,
    /// Its URL without the query, for logs.
    pub display: String,
    /// The names of the event types it is sent.
    pub events: Vec<&'static str>,
    /// How long a delivery is retried, in seconds.
    pub retry_for: i64,
    /// The bound on one attempt.
    pub timeout: Duration,
    /// Signs and posts.
    pub sender: Sender,
}

/// Why the webhooks could not be set up at start.
#[derive(Debug, thiserror::Error)]
pub enum WebhookSetupError {
    /// A secret could not be read or is not a Standard Webhooks secret.
    #[error("{0}")]
    Secret(#[from] SecretError),
    /// The HTTP client could not be made (the `upstream_ca_file`).
    #[error("webhooks[{index}]: {reason}")]
    Client {
        /// The entry's place in `[[webhooks]]`.
        index: usize,
        /// Why.
        reason: String,
    },
}

/// The configured webhooks, each with its secret (from its file, or from the environment
/// through `env`) and its HTTP client (TLS as for upstreams: `upstream_ca_file`).
pub fn from_settings(
    settings: &Settings,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Webhook>, WebhookSetupError> {
    settings
        .webhooks
        .iter()
        .enumerate()
        .map(|(index, config)| {
            let secret = WebhookSecret::load(index, config, &env)?;
            let sender = Sender::new(
                config.url.url().clone(),
                secret,
                config.timeout,
                settings.upstream_ca_file.as_deref(),
            )
            .map_err(|reason| WebhookSetupError::Client { index, reason })?;
            Ok(Webhook {
                id: config.url.id(),
                display: config.url.display(),
                events: config.events.iter().map(|t| t.as_str()).collect(),
                retry_for: i64::try_from(config.retry_for.as_secs()).unwrap_or(i64::MAX),
                timeout: config.timeout,
                sender,
            })
        })
        .collect()
}
