//! `[[webhooks]]`: where key events are posted, which ones, and where the signing secret is
//! read from (docs/webhooks.md, docs/design.md §9). The values are parsed here into types
//! that hold only valid values; the secret itself is read when the node starts
//! (`crate::webhooks::WebhookSecret::load`), never from the TOML file.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use keygate_core::audit::AuditEventType;
use serde::de::{Deserializer, Error};
use serde::Deserialize;

/// The event types a webhook may ask for, of the audit trail's (docs/design.md §12).
pub use keygate_core::audit::WEBHOOK_EVENTS;

/// One `[[webhooks]]` entry.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where events are posted: `https://…`, or `http://` to a loopback address only (a
    /// receiver on the same host); no user or password in it.
    #[serde(deserialize_with = "url")]
    pub url: WebhookUrl,
    /// The event types sent: a non-empty subset of [`WEBHOOK_EVENTS`].
    #[serde(deserialize_with = "events")]
    pub events: Vec<AuditEventType>,
    /// A file holding the `whsec_<base64>` secret (exactly one of `secret_file`, `secret_env`).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// An environment variable holding the `whsec_<base64>` secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// How long an event is retried, with exponential backoff, before its delivery is dead
    /// (default `1d`, from 1 second to 7 days).
    #[serde(
        default = "default_retry_for",
        deserialize_with = "super::de::duration"
    )]
    pub retry_for: Duration,
    /// The bound on one attempt: connection, request and answer (default `10s`, 1 to 60 s).
    #[serde(default = "default_timeout", deserialize_with = "super::de::duration")]
    pub timeout: Duration,
}

fn default_retry_for() -> Duration {
    Duration::from_secs(86_400)
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

impl WebhookConfig {
    /// The checks that span this entry's keys; `at` is its place (`webhooks[0]`) for messages.
    pub(super) fn check(&self, at: &str) -> Result<(), String> {
        match (&self.secret_file, &self.secret_env) {
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                return Err(format!(
                    "{at}: set exactly one of secret_file and secret_env (the whsec_ secret)"
                ))
            }
        }
        if self.retry_for < Duration::from_secs(1)
            || self.retry_for > Duration::from_secs(7 * 86_400)
        {
            return Err(format!("{at}.retry_for must be between 1s and 7d"));
        }
        if self.timeout < Duration::from_secs(1) || self.timeout > Duration::from_secs(60) {
            return Err(format!("{at}.timeout must be between 1s and 60s"));
        }
        Ok(())
    }
}

/// A webhook's URL, checked: `https`, or `http` to a loopback host; no user, password or
/// fragment. `Debug` and [`WebhookUrl::display`] show it without its query (which may hold a
/// token the receiver gave).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(reqwest::Url);

impl WebhookUrl {
    /// Parse and check a configured URL.
    pub fn parse(text: &str) -> Result<WebhookUrl, String> {
        let url = reqwest::Url::parse(text)
            .map_err(|e| format!("url: {:?} is not a URL ({e})", shown(text)))?;
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err("url: no user, password or #fragment in a webhook URL".into());
        }
        match url.scheme() {
            "https" => {}
            // Plain http would show every event (and let anyone on the path forge answers): only
            // to a receiver on this host (docs/webhooks.md).
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(format!(
                    "url: {} must be https (http only to a loopback address such as 127.0.0.1)",
                    shown(text)
                ))
            }
            other => return Err(format!("url: the scheme must be https, not {other:?}")),
        }
        Ok(WebhookUrl(url))
    }

    /// The URL to post to.
    pub fn url(&self) -> &reqwest::Url {
        &self.0
    }

    /// The URL without its query: what logs, metrics-free messages and the admin CLI show.
    pub fn display(&self) -> String {
        let mut url = self.0.clone();
        url.set_query(None);
        url.to_string()
    }

    /// The webhook's identity in the database: the SHA-256 of its whole URL, hex (the relay's
    /// cursor and deliveries are kept per URL; the URL itself is not stored, as its query may
    /// hold a token).
    pub fn id(&self) -> String {
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, self.0.as_str().as_bytes());
        digest.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({})", self.display())
    }
}

/// `text` up to its query, for messages.
fn shown(text: &str) -> &str {
    text.split('?').next().unwrap_or(text)
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn url<'de, D: Deserializer<'de>>(d: D) -> Result<WebhookUrl, D::Error> {
    let text = String::deserialize(d)?;
    WebhookUrl::parse(&text).map_err(D::Error::custom)
}

/// A non-empty list of known event names, each once; an unknown name is refused by name.
fn events<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<AuditEventType>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    let known = || {
        WEBHOOK_EVENTS
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if names.is_empty() {
        return Err(D::Error::custom(format!(
            "list at least one event of {}",
            known()
        )));
    }
    let mut chosen = Vec::new();
    for name in names {
        let Some(event) = AuditEventType::parse(&name).filter(|t| WEBHOOK_EVENTS.contains(t))
        else {
            return Err(D::Error::custom(format!(
                "unknown event {name:?}; the events are {}",
                known()
            )));
        };
        if !chosen.contains(&event) {
            chosen.push(event);
        }
    }
    Ok(chosen)
}
