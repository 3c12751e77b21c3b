//! Configuration: a TOML file, then `KEYGATE_*` environment variables, then flags
//! (docs/deployment.md, "Settings to review before going live"; docs/architecture.md).
//!
//! One file past 400 lines on purpose: [`Settings`] is the list of every setting with its doc
//! line, read together (docs/architecture.md, "File size").
//!
//! Every layer is merged as a TOML table and parsed once into [`Settings`], so a value means the
//! same thing wherever it comes from. Each setting is written once: a field of [`Settings`] (its
//! doc, its type, how it is read) and its default in `Default for Settings`; the keys accepted
//! in the file and as `KEYGATE_<NAME>` are the struct's own fields ([`keys`]). Checks that span
//! fields, or bound a value, are in `Settings::check`. Every error names the key at fault.

mod de;
pub mod secret_file;
mod webhooks;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use keygate_core::jose::Scheme;
pub use secret_file::SecretFileError;
use serde::Deserialize;
pub use webhooks::{WebhookConfig, WebhookUrl, WEBHOOK_EVENTS};

/// Why the settings could not be loaded; the text names the setting (or file) at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file given could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file, as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A value (in the file, the environment or a flag) is malformed, out of range or unknown.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Does a gateway route verify the caller's `X-Request-Signature`?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Signature {
    /// `required` (the default): a signed request, checked before anything is forwarded.
    #[default]
    Required,
    /// `none`: the bearer token alone.
    None,
}

/// A route of the gateway (docs/gateway.md, "Configuration added").
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RouteConfig {
    /// The path pattern, e.g. `/cards/{id}` (`{name}` matches one non-empty segment); the first
    /// matching route wins.
    pub path: String,
    /// HTTP methods the route takes (default `GET`); another method on its path is 405.
    pub methods: Vec<String>,
    /// `http(s)://host:port[/base]` (the path and query are appended as received) or
    /// `keygate:demo`.
    pub upstream: String,
    /// Whether callers must sign (`required`, the default) or need only a bearer token (`none`).
    #[serde(deserialize_with = "de::signature")]
    pub signature: Signature,
    /// JSON pointers of upstream answer fields encrypted to the caller's active key.
    pub encrypt_response: Vec<String>,
    /// JSON pointers of request fields the caller encrypted to the system key; decrypted before
    /// forwarding.
    pub decrypt_request: Vec<String>,
    /// How `encrypt_response` fields are encrypted (`jwe`, the default, or `rsa-oaep-256`).
    #[serde(deserialize_with = "de::scheme")]
    pub scheme: Scheme,
    /// PEM CA certificates trusted for this route's https upstream, instead of the top-level
    /// `upstream_ca_file` (beside the platform's roots).
    pub upstream_ca_file: Option<PathBuf>,
    /// The client certificate (PEM, chain allowed) for an upstream that requires mutual TLS.
    pub upstream_client_cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub upstream_client_key_file: Option<PathBuf>,
}

impl Default for RouteConfig {
    fn default() -> Self {
        RouteConfig {
            path: String::new(),
            methods: vec!["GET".into()],
            upstream: String::new(),
            signature: Signature::Required,
            encrypt_response: Vec::new(),
            decrypt_request: Vec::new(),
            scheme: Scheme::Jwe,
            upstream_ca_file: None,
            upstream_client_cert_file: None,
            upstream_client_key_file: None,
        }
    }
}

/// How log lines are written (docs/operations.md, "Logs").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line: RFC 3339 time, level, target, message, fields, the request's id.
    Json,
}

/// The settings a node runs with, every value parsed and checked. A missing key takes its
/// value from `Default`; an unknown key is refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `ADDR:PORT` to listen on (default `127.0.0.1:8080`; port 0 picks a free port).
    #[serde(deserialize_with = "de::address")]
    pub listen: SocketAddr,
    /// `sqlite://PATH` or `postgres://…` (default `sqlite://keygate.db`); other schemes refused.
    pub database_url: String,
    /// How long an uploaded key stays active: `expires_at = issued_at + key_validity` (default
    /// `365d`, more than zero).
    #[serde(deserialize_with = "de::duration")]
    pub key_validity: Duration,
    /// How long the previous key is still accepted (RETIRING) after a successor is activated;
    /// then it is revoked (default `0s`: at once, the seeds' behaviour; less than
    /// `key_validity`; docs/design.md §2, "Rotation").
    #[serde(deserialize_with = "de::duration")]
    pub rotation_overlap: Duration,
    /// In this last part of the active key's life, with no successor staged, every gateway
    /// answer carries `X-Keygate-Key-Expires` (default `30d`).
    #[serde(deserialize_with = "de::duration")]
    pub key_expiry_warning: Duration,
    /// How long a bearer token or web session lasts after login (default `15m`, more than zero).
    #[serde(deserialize_with = "de::duration")]
    pub token_ttl: Duration,
    /// RSA key sizes accepted at upload, 2048 to 8192.
    #[serde(deserialize_with = "de::key_bits")]
    pub allowed_key_bits: Vec<u32>,
    /// How far a signature's `iat` may be from now, either way; a `jti` is kept until
    /// `iat + signature_max_skew` for the replay check (default `300s`).
    #[serde(deserialize_with = "de::duration")]
    pub signature_max_skew: Duration,
    /// The largest request body read, API and gateway alike; over it is 413 (default 1 MiB, at
    /// least 1024).
    pub max_body_bytes: usize,
    /// Where the master key is read from (and created, mode 0600, when missing) unless
    /// `KEYGATE_MASTER_KEY` is set; every node of a database needs the same key.
    pub master_key_file: PathBuf,
    /// Failed logins per API key identifier within `login_failure_window` before 429 (default 10).
    pub login_max_failures_per_key: u32,
    /// Failed logins per client address within `login_failure_window` before 429 (default 100).
    pub login_max_failures_per_address: u32,
    /// The window the login failure limits count over (default `15m`).
    #[serde(deserialize_with = "de::duration")]
    pub login_failure_window: Duration,
    /// Password checks (argon2, 19 MiB each) running at once at most; default one per core.
    pub login_max_concurrent: usize,
    /// How long a login waits for a password-check slot before a 503.
    #[serde(deserialize_with = "de::duration")]
    pub login_queue_timeout: Duration,
    /// Take the client address from the last `X-Forwarded-For` entry, and pass the proxy's
    /// forwarding headers upstream (only behind a trusted proxy that writes them).
    pub trust_forwarded_for: bool,
    /// Mark the session cookie `Secure` (set it when keygate is reached over TLS). When not
    /// given: on exactly when `serve` listens with TLS (see `load`).
    pub cookie_secure: bool,
    /// The bound on a whole upstream exchange; past it the gateway answers 504 (default `10s`).
    #[serde(deserialize_with = "de::duration")]
    pub upstream_timeout: Duration,
    /// The largest upstream answer read; a larger one answers 502 (issue 8).
    pub max_upstream_body_bytes: usize,
    /// PEM CA certificates trusted for https upstreams beside the platform's roots.
    pub upstream_ca_file: Option<PathBuf>,
    /// With `tls_key_file`: `serve` listens with TLS (the file may hold the chain).
    pub tls_cert_file: Option<PathBuf>,
    /// With `tls_cert_file`: the certificate's private key (PEM); reloaded with it on SIGHUP.
    pub tls_key_file: Option<PathBuf>,
    /// `text` (the default) or `json` log lines.
    pub log_format: LogFormat,
    /// One log line per request (method, route pattern, status, latency, caller, request id,
    /// bytes; never a token, signature, password, body or field value).
    pub access_log: bool,
    /// A request's headers must arrive within this, from the connection's start or the first
    /// byte of a later request (docs/decisions.md, "Connections").
    #[serde(deserialize_with = "de::duration")]
    pub header_read_timeout: Duration,
    /// A request's body must arrive within this, from the end of its headers.
    #[serde(deserialize_with = "de::duration")]
    pub body_read_timeout: Duration,
    /// A keep-alive connection is closed after this long without a new request.
    #[serde(deserialize_with = "de::duration")]
    pub idle_timeout: Duration,
    /// Open connections at most; past it the node stops accepting until one closes.
    pub max_connections: usize,
    /// On SIGTERM / SIGINT, how long requests in flight may take to finish.
    #[serde(deserialize_with = "de::duration")]
    pub shutdown_timeout: Duration,
    /// The longest a request waits for the database — a connection and its queries — before it
    /// is answered 503 `service_unavailable` (`database_timeout`, default 5s; docs/operations.md).
    #[serde(deserialize_with = "de::duration")]
    pub database_timeout: Duration,
    /// How often each node adds the usage it counted in memory to the database
    /// (`usage_flush_interval`, default 5s; docs/design.md §5, "Usage"). The status table shows
    /// a call at most this long after it was made.
    #[serde(deserialize_with = "de::duration")]
    pub usage_flush_interval: Duration,
    /// The gateway's `[[routes]]`, in order (docs/gateway.md).
    pub routes: Vec<RouteConfig>,
    /// The `[[webhooks]]` key events are posted to, signed (docs/webhooks.md).
    pub webhooks: Vec<WebhookConfig>,
    /// How often the webhook relay looks for work when nothing woke it (default `1s`, 100ms to
    /// 1m): a new event wakes it at once, so this bounds only retries coming due, a lost
    /// wake-up and, on SQLite, events appended by `keygate admin` (docs/webhooks.md).
    #[serde(deserialize_with = "de::duration")]
    pub webhook_poll_interval: Duration,
    /// `--demo`: add the sample card API's routes and create the `demo` client at start.
    pub demo: bool,
    /// How long a rotated-out system key keeps decrypting (`system_key_grace`, default 7d).
    #[serde(deserialize_with = "de::duration")]
    pub system_key_grace: Duration,
    /// How long audit events are kept before the sweep prunes them behind a checkpoint
    /// (`audit_retention`, default `400d`: over the 12 months PCI DSS 10.5.1 asks; docs/audit.md).
    #[serde(deserialize_with = "de::duration")]
    pub audit_retention: Duration,
    /// How often a node looks for time-driven audit events (`key.expiring`, `key.expired`, the
    /// end of an overlap, a successor's takeover) and prunes (default `30s`, 1s to 1h).
    #[serde(deserialize_with = "de::duration")]
    pub audit_sweep_interval: Duration,
    /// The master key (base64 of 32 bytes) from `KEYGATE_MASTER_KEY`; when absent,
    /// `master_key_file` is read (and created when missing). Never read from the TOML file.
    #[serde(skip)]
    pub master_key: Option<MasterKeyText>,
}

/// The base64 master key text; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKeyText(pub String);

impl std::fmt::Debug for MasterKeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKeyText(..)")
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://keygate.db".into(),
            key_validity: Duration::from_secs(365 * 86_400),
            rotation_overlap: Duration::ZERO,
            key_expiry_warning: Duration::from_secs(30 * 86_400),
            token_ttl: Duration::from_secs(15 * 60),
            allowed_key_bits: vec![2048],
            signature_max_skew: Duration::from_secs(300),
            max_body_bytes: 1024 * 1024,
            master_key_file: PathBuf::from("keygate-master.key"),
            login_max_failures_per_key: 10,
            login_max_failures_per_address: 100,
            login_failure_window: Duration::from_secs(15 * 60),
            login_max_concurrent: default_login_max_concurrent(),
            login_queue_timeout: Duration::from_secs(2),
            trust_forwarded_for: false,
            cookie_secure: false,
            upstream_timeout: Duration::from_secs(10),
            max_upstream_body_bytes: 4 * 1024 * 1024,
            upstream_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            log_format: LogFormat::Text,
            access_log: false,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(75),
            max_connections: 4096,
            shutdown_timeout: Duration::from_secs(20),
            database_timeout: Duration::from_secs(5),
            usage_flush_interval: Duration::from_secs(5),
            routes: Vec::new(),
            webhooks: Vec::new(),
            webhook_poll_interval: Duration::from_secs(1),
            demo: false,
            system_key_grace: Duration::from_secs(7 * 86_400),
            audit_retention: Duration::from_secs(400 * 86_400),
            audit_sweep_interval: Duration::from_secs(30),
            master_key: None,
        }
    }
}

/// How many password checks may run at once by default: one per core (argon2 is CPU-bound, so
/// more would only queue on the cores while holding their memory).
pub fn default_login_max_concurrent() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// The largest `max_connections` accepted (tokio's semaphore holds at most `usize::MAX >> 3`
/// permits; no node holds this many sockets anyway).
pub const MAX_CONNECTIONS_LIMIT: usize = 1 << 24;

/// Keys that may be set in the file and as `KEYGATE_<NAME>`: the fields of [`Settings`].
pub fn keys() -> &'static [&'static str] {
    de::field_names::<Settings>()
}

/// Parse `365d`, `15m`, `3s`, `1h 30m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration like 365d, 15m or 3s ({e})"))
}

/// Values from the command line, applied last.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`, parsed like the `listen` setting.
    pub listen: Option<String>,
    /// `--database-url`, replacing `database_url`.
    pub database_url: Option<String>,
    /// `--demo`: turns `demo` on (a flag cannot turn it off).
    pub demo: bool,
}

impl Settings {
    /// Load: file (if given), then the environment, then the flags.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Settings, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                toml::from_str::<toml::Table>(&text)
                    .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        let keys = keys();
        let mut master_key = None;
        for (name, value) in env {
            let Some(key) = name.strip_prefix("KEYGATE_") else {
                continue;
            };
            if key == "MASTER_KEY" {
                master_key = Some(MasterKeyText(value));
                continue;
            }
            let key = key.to_ascii_lowercase();
            if !keys.contains(&key.as_str()) {
                continue; // KEYGATE_URL and friends belong to the client
            }
            table.insert(key, env_value(&value));
        }
        if let Some(listen) = &overrides.listen {
            table.insert("listen".into(), toml::Value::String(listen.clone()));
        }
        if let Some(url) = &overrides.database_url {
            table.insert("database_url".into(), toml::Value::String(url.clone()));
        }
        if overrides.demo {
            table.insert("demo".into(), toml::Value::Boolean(true));
        }
        // With TLS on, the session cookie is Secure unless the operator says otherwise.
        if !table.contains_key("cookie_secure") {
            let tls = table.contains_key("tls_cert_file") && table.contains_key("tls_key_file");
            table.insert("cookie_secure".into(), toml::Value::Boolean(tls));
        }
        let mut settings: Settings = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.inner().message().to_string();
                // A value's own text gets its key in front; serde's (unknown key, wrong type)
                // already names what is wrong.
                ConfigError::Invalid(if path == "." || message.contains(&format!("`{path}`")) {
                    message
                } else {
                    format!("{path}: {message}")
                })
            })?;
        settings.check()?;
        settings.master_key = master_key;
        Ok(settings)
    }

    /// The checks that bound a value or span several keys.
    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |text: &str| Err(ConfigError::Invalid(text.to_owned()));
        let bits = &self.allowed_key_bits;
        if bits.is_empty() || bits.iter().any(|b| *b < 2048 || *b > 8192) {
            return invalid("allowed_key_bits: sizes must be between 2048 and 8192");
        }
        if !(1..=1024).contains(&self.login_max_concurrent) {
            return invalid("login_max_concurrent must be between 1 and 1024");
        }
        if !(1..=MAX_CONNECTIONS_LIMIT).contains(&self.max_connections) {
            return Err(ConfigError::Invalid(format!(
                "max_connections must be between 1 and {MAX_CONNECTIONS_LIMIT}"
            )));
        }
        if self.key_validity.is_zero() || self.token_ttl.is_zero() {
            return invalid("key_validity and token_ttl must be longer than zero");
        }
        if self.rotation_overlap >= self.key_validity {
            return invalid("rotation_overlap must be shorter than key_validity");
        }
        if self.max_upstream_body_bytes < 1024 {
            return invalid("max_upstream_body_bytes must be at least 1024");
        }
        if self.header_read_timeout.is_zero()
            || self.body_read_timeout.is_zero()
            || self.idle_timeout.is_zero()
        {
            return invalid(
                "header_read_timeout, body_read_timeout and idle_timeout must be longer than zero",
            );
        }
        // Under 100 ms a healthy database under load would be reported down; over a minute a
        // request would hang as it did before the setting existed (docs/operations.md).
        if self.database_timeout < Duration::from_millis(100)
            || self.database_timeout > Duration::from_secs(60)
        {
            return invalid("database_timeout must be between 100ms and 60s (e.g. 5s)");
        }
        // Under 100 ms the flush would be a database write per burst of calls; over an hour the
        // status table would say little about today.
        if self.usage_flush_interval < Duration::from_millis(100)
            || self.usage_flush_interval > Duration::from_secs(3600)
        {
            return invalid("usage_flush_interval must be between 100ms and 1h (e.g. 5s)");
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return invalid(
                "tls_cert_file and tls_key_file go together: set both to listen with TLS, or neither",
            );
        }
        if self.max_body_bytes < 1024 {
            return invalid("max_body_bytes must be at least 1024");
        }
        if self.audit_retention.is_zero() {
            return invalid("audit_retention must be longer than zero (e.g. 400d)");
        }
        if self.audit_sweep_interval < Duration::from_secs(1)
            || self.audit_sweep_interval > Duration::from_secs(3600)
        {
            return invalid("audit_sweep_interval must be between 1s and 1h (e.g. 30s)");
        }
        // Under 100 ms the poll would be a database read per webhook for nothing; over a
        // minute a retry would wait long past its due time (docs/webhooks.md).
        if self.webhook_poll_interval < Duration::from_millis(100)
            || self.webhook_poll_interval > Duration::from_secs(60)
        {
            return invalid("webhook_poll_interval must be between 100ms and 1m (e.g. 1s)");
        }
        for (i, webhook) in self.webhooks.iter().enumerate() {
            webhook
                .check(&format!("webhooks[{i}]"))
                .map_err(ConfigError::Invalid)?;
            // The URL is the webhook's identity in the database (its cursor, its deliveries).
            if let Some(j) = self.webhooks[..i].iter().position(|w| w.url == webhook.url) {
                return Err(ConfigError::Invalid(format!(
                    "webhooks[{i}].url is the same as webhooks[{j}].url: list each URL once, with all its events"
                )));
            }
        }
        Ok(())
    }
}

/// An environment value is read as a TOML value when it is one (`[2048, 3072]`, `300`, `true`,
/// a JSON-like array of routes), and as a plain string otherwise (`365d`, `127.0.0.1:8080`).
fn env_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

#[cfg(test)]
mod tests;
