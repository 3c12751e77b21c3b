//! One delivery attempt: the signed POST and what came of it (docs/webhooks.md). The HTTP
//! client speaks TLS as the gateway's upstreams do (`upstream_ca_file` beside the platform's
//! roots), follows no redirect, and bounds the whole exchange by the webhook's `timeout`.

use std::path::Path;
use std::time::Duration;

use keygate_client::tls::TlsClientOptions;
use reqwest::header::{HeaderValue, CONTENT_TYPE, USER_AGENT};

use super::secret::WebhookSecret;

/// The longest failure reason kept (`last_error`): a status or a transport error, never a
/// secret or the receiver's answer.
const MAX_REASON: usize = 300;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The receiver answered 2xx.
    Delivered,
    /// Anything else: a non-2xx status, a timeout, a refused connection or a TLS failure; the
    /// reason names which (no URL query, no secret, no answer body).
    Failed(String),
}

/// A message ready to post: its id (the `webhook-id`, the same on every attempt) and its JSON
/// body.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// The `webhook-id`: the audit event's id.
    pub id: &'a str,
    /// The body, signed byte for byte.
    pub body: &'a [u8],
}

/// Posts signed messages to one webhook.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: WebhookSecret,
}

impl Sender {
    /// A sender to `url` signing with `secret`, each attempt bounded by `timeout`, trusting
    /// `ca_file` (the top-level `upstream_ca_file`) beside the platform's roots.
    pub fn new(
        url: reqwest::Url,
        secret: WebhookSecret,
        timeout: Duration,
        ca_file: Option<&Path>,
    ) -> Result<Sender, String> {
        let tls = TlsClientOptions {
            ca_file: ca_file.map(Path::to_path_buf),
            identity: None,
        };
        let client = keygate_client::tls::http_builder(&tls)
            .map_err(|e| e.to_string())?
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Sender {
            client,
            url,
            secret,
        })
    }

    /// Post `message`, signed at `timestamp` (Unix seconds, the `webhook-timestamp`).
    pub async fn send(&self, message: &Message<'_>, timestamp: i64) -> Attempt {
        let signature = self.secret.sign(message.id, timestamp, message.body);
        let headers = [
            ("webhook-id", message.id.to_owned()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ];
        let mut request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
            .body(message.body.to_vec());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => Attempt::Delivered,
            Ok(response) => Attempt::Failed(format!("HTTP {}", response.status())),
            Err(e) => Attempt::Failed(reason(&e)),
        }
    }
}

/// `keygate/<version>`.
const USER_AGENT_VALUE: &str = concat!("keygate/", env!("CARGO_PKG_VERSION"));

/// A transport error and its causes, without the URL (its query may hold a token), bounded.
fn reason(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    if text.len() > MAX_REASON {
        let mut end = MAX_REASON;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
