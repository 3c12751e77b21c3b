//! Configuration: a TOML file, then `KEYGATE_*` environment variables, then flags (DESIGN.md §9).
//!
//! Every layer is merged as a TOML table and parsed once into `Settings`, so a value means the
//! same thing wherever it comes from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// A route of the gateway (DESIGN.md §7).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub path: String,
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    pub upstream: String,
    #[serde(default = "default_signature")]
    pub signature: String,
    #[serde(default)]
    pub encrypt_response: Vec<String>,
    #[serde(default)]
    pub decrypt_request: Vec<String>,
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// PEM CA certificates trusted for this route's https upstream, instead of the top-level
    /// `upstream_ca_file` (beside the platform's roots).
    #[serde(default)]
    pub upstream_ca_file: Option<PathBuf>,
    /// The client certificate (PEM, chain allowed) for an upstream that requires mutual TLS.
    #[serde(default)]
    pub upstream_client_cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[serde(default)]
    pub upstream_client_key_file: Option<PathBuf>,
}

impl Default for RouteConfig {
    fn default() -> Self {
        RouteConfig {
            path: String::new(),
            methods: default_methods(),
            upstream: String::new(),
            signature: default_signature(),
            encrypt_response: Vec::new(),
            decrypt_request: Vec::new(),
            scheme: default_scheme(),
            upstream_ca_file: None,
            upstream_client_cert_file: None,
            upstream_client_key_file: None,
        }
    }
}

fn default_methods() -> Vec<String> {
    vec!["GET".into()]
}
fn default_signature() -> String {
    "required".into()
}
fn default_scheme() -> String {
    "jwe".into()
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

/// The settings a node runs with, every value parsed and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    pub key_validity: Duration,
    pub token_ttl: Duration,
    pub allowed_key_bits: Vec<u32>,
    pub signature_max_skew: Duration,
    pub max_body_bytes: usize,
    pub master_key_file: PathBuf,
    pub login_max_failures_per_key: u32,
    pub login_max_failures_per_address: u32,
    pub login_failure_window: Duration,
    /// Password checks (argon2, 19 MiB each) running at once at most; default one per core.
    pub login_max_concurrent: usize,
    /// How long a login waits for a password-check slot before a 503.
    pub login_queue_timeout: Duration,
    /// Take the client address for login limits from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Mark the session cookie `Secure` (set it when keygate is reached over TLS).
    pub cookie_secure: bool,
    pub upstream_timeout: Duration,
    /// The largest upstream answer read; a larger one answers 502 (issue 8).
    pub max_upstream_body_bytes: usize,
    /// PEM CA certificates trusted for https upstreams beside the platform's roots.
    pub upstream_ca_file: Option<PathBuf>,
    /// With `tls_key_file`: `serve` listens with TLS (the file may hold the chain).
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    pub log_format: LogFormat,
    /// One log line per request (method, route pattern, status, latency, caller, request id,
    /// bytes; never a token, signature, password, body or field value).
    pub access_log: bool,
    /// A request's headers must arrive within this, from the connection's start or the first
    /// byte of a later request (docs/decisions.md, "Connections").
    pub header_read_timeout: Duration,
    /// A request's body must arrive within this, from the end of its headers.
    pub body_read_timeout: Duration,
    /// A keep-alive connection is closed after this long without a new request.
    pub idle_timeout: Duration,
    /// Open connections at most; past it the node stops accepting until one closes.
    pub max_connections: usize,
    /// On SIGTERM / SIGINT, how long requests in flight may take to finish.
    pub shutdown_timeout: Duration,
    /// The longest a request waits for the database — a connection and its queries — before it
    /// is answered 503 `service_unavailable` (`database_timeout`, default 5s; docs/operations.md).
    pub database_timeout: Duration,
    pub routes: Vec<RouteConfig>,
    pub demo: bool,
    /// How long a rotated-out system key keeps decrypting (`system_key_grace`, default 7d).
    pub system_key_grace: Duration,
    /// The master key (base64 of 32 bytes) from `KEYGATE_MASTER_KEY`; when absent,
    /// `master_key_file` is read (and created when missing). Never read from the TOML file.
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
            routes: Vec::new(),
            demo: false,
            system_key_grace: Duration::from_secs(7 * 86_400),
            master_key: None,
        }
    }
}

/// How many password checks may run at once by default: one per core (argon2 is CPU-bound, so
/// more would only queue on the cores while holding their memory).
pub fn default_login_max_concurrent() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// The file's (and the environment's) view: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    listen: Option<String>,
    database_url: Option<String>,
    key_validity: Option<DurationValue>,
    token_ttl: Option<DurationValue>,
    allowed_key_bits: Option<BitsValue>,
    signature_max_skew: Option<DurationValue>,
    max_body_bytes: Option<u64>,
    master_key_file: Option<PathBuf>,
    login_max_failures_per_key: Option<u32>,
    login_max_failures_per_address: Option<u32>,
    login_failure_window: Option<DurationValue>,
    login_max_concurrent: Option<u64>,
    login_queue_timeout: Option<DurationValue>,
    trust_forwarded_for: Option<bool>,
    cookie_secure: Option<bool>,
    upstream_timeout: Option<DurationValue>,
    max_upstream_body_bytes: Option<u64>,
    upstream_ca_file: Option<PathBuf>,
    tls_cert_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
    log_format: Option<LogFormat>,
    access_log: Option<bool>,
    header_read_timeout: Option<DurationValue>,
    body_read_timeout: Option<DurationValue>,
    idle_timeout: Option<DurationValue>,
    max_connections: Option<u64>,
    shutdown_timeout: Option<DurationValue>,
    database_timeout: Option<DurationValue>,
    routes: Option<Vec<RouteConfig>>,
    demo: Option<bool>,
    system_key_grace: Option<DurationValue>,
}

/// The largest `max_connections` accepted (tokio's semaphore holds at most `usize::MAX >> 3`
/// permits; no node holds this many sockets anyway).
pub const MAX_CONNECTIONS_LIMIT: usize = 1 << 24;

/// Keys that may be set in the file and as `KEYGATE_<NAME>`.
pub const KEYS: &[&str] = &[
    "listen",
    "database_url",
    "key_validity",
    "token_ttl",
    "allowed_key_bits",
    "signature_max_skew",
    "max_body_bytes",
    "master_key_file",
    "login_max_failures_per_key",
    "login_max_failures_per_address",
    "login_failure_window",
    "login_max_concurrent",
    "login_queue_timeout",
    "trust_forwarded_for",
    "cookie_secure",
    "upstream_timeout",
    "max_upstream_body_bytes",
    "upstream_ca_file",
    "tls_cert_file",
    "tls_key_file",
    "log_format",
    "access_log",
    "header_read_timeout",
    "body_read_timeout",
    "idle_timeout",
    "max_connections",
    "shutdown_timeout",
    "database_timeout",
    "routes",
    "demo",
    "system_key_grace",
];

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DurationValue {
    Seconds(u64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum BitsValue {
    List(Vec<u32>),
    One(u32),
    Text(String),
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
    pub listen: Option<String>,
    pub database_url: Option<String>,
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
            if !KEYS.contains(&key.as_str()) {
                continue; // KEYGATE_MASTER_KEY and friends are read elsewhere
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
        let raw: RawSettings = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string()))?;
        let mut settings = Settings::from_raw(raw)?;
        settings.master_key = master_key;
        Ok(settings)
    }

    fn from_raw(raw: RawSettings) -> Result<Settings, ConfigError> {
        let d = Settings::default();
        let invalid = ConfigError::Invalid;
        let duration = |name: &str, value: Option<DurationValue>, default: Duration| match value {
            None => Ok(default),
            Some(DurationValue::Seconds(s)) => Ok(Duration::from_secs(s)),
            Some(DurationValue::Text(t)) => {
                parse_duration(&t).map_err(|e| invalid(format!("{name}: {e}")))
            }
        };
        let listen = match raw.listen {
            None => d.listen,
            Some(text) => text.parse().map_err(|_| {
                invalid(format!(
                    "listen: `{text}` is not an address like 127.0.0.1:8080"
                ))
            })?,
        };
        let allowed_key_bits = match raw.allowed_key_bits {
            None => d.allowed_key_bits,
            Some(BitsValue::List(list)) => list,
            Some(BitsValue::One(bits)) => vec![bits],
            Some(BitsValue::Text(text)) => text
                .split(',')
                .map(|part| part.trim().parse::<u32>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    invalid(format!(
                        "allowed_key_bits: `{text}` is not a list of sizes like 2048,3072"
                    ))
                })?,
        };
        if allowed_key_bits.is_empty() || allowed_key_bits.iter().any(|b| *b < 2048 || *b > 8192) {
            return Err(invalid(
                "allowed_key_bits: sizes must be between 2048 and 8192".into(),
            ));
        }
        let settings = Settings {
            listen,
            database_url: raw.database_url.unwrap_or(d.database_url),
            key_validity: duration("key_validity", raw.key_validity, d.key_validity)?,
            token_ttl: duration("token_ttl", raw.token_ttl, d.token_ttl)?,
            allowed_key_bits,
            signature_max_skew: duration(
                "signature_max_skew",
                raw.signature_max_skew,
                d.signature_max_skew,
            )?,
            max_body_bytes: match raw.max_body_bytes {
                None => d.max_body_bytes,
                Some(n) => {
                    usize::try_from(n).map_err(|_| invalid("max_body_bytes is too large".into()))?
                }
            },
            master_key_file: raw.master_key_file.unwrap_or(d.master_key_file),
            login_max_failures_per_key: raw
                .login_max_failures_per_key
                .unwrap_or(d.login_max_failures_per_key),
            login_max_failures_per_address: raw
                .login_max_failures_per_address
                .unwrap_or(d.login_max_failures_per_address),
            login_failure_window: duration(
                "login_failure_window",
                raw.login_failure_window,
                d.login_failure_window,
            )?,
            login_max_concurrent: match raw.login_max_concurrent {
                None => d.login_max_concurrent,
                Some(n) => usize::try_from(n)
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or_else(|| {
                        invalid("login_max_concurrent must be between 1 and 1024".into())
                    })?,
            },
            login_queue_timeout: duration(
                "login_queue_timeout",
                raw.login_queue_timeout,
                d.login_queue_timeout,
            )?,
            trust_forwarded_for: raw.trust_forwarded_for.unwrap_or(d.trust_forwarded_for),
            // With TLS on, the session cookie is Secure unless the operator says otherwise.
            cookie_secure: raw
                .cookie_secure
                .unwrap_or(raw.tls_cert_file.is_some() && raw.tls_key_file.is_some()),
            upstream_timeout: duration(
                "upstream_timeout",
                raw.upstream_timeout,
                d.upstream_timeout,
            )?,
            max_upstream_body_bytes: match raw.max_upstream_body_bytes {
                None => d.max_upstream_body_bytes,
                Some(n) => usize::try_from(n)
                    .map_err(|_| invalid("max_upstream_body_bytes is too large".into()))?,
            },
            upstream_ca_file: raw.upstream_ca_file,
            tls_cert_file: raw.tls_cert_file,
            tls_key_file: raw.tls_key_file,
            log_format: raw.log_format.unwrap_or_default(),
            access_log: raw.access_log.unwrap_or(false),
            header_read_timeout: duration(
                "header_read_timeout",
                raw.header_read_timeout,
                d.header_read_timeout,
            )?,
            body_read_timeout: duration(
                "body_read_timeout",
                raw.body_read_timeout,
                d.body_read_timeout,
            )?,
            idle_timeout: duration("idle_timeout", raw.idle_timeout, d.idle_timeout)?,
            max_connections: match raw.max_connections {
                None => d.max_connections,
                Some(n) => usize::try_from(n)
                    .ok()
                    .filter(|n| (1..=MAX_CONNECTIONS_LIMIT).contains(n))
                    .ok_or_else(|| {
                        invalid(format!(
                            "max_connections must be between 1 and {MAX_CONNECTIONS_LIMIT}"
                        ))
                    })?,
            },
            shutdown_timeout: duration(
                "shutdown_timeout",
                raw.shutdown_timeout,
                d.shutdown_timeout,
            )?,
            database_timeout: duration(
                "database_timeout",
                raw.database_timeout,
                d.database_timeout,
            )?,
            routes: raw.routes.unwrap_or_default(),
            demo: raw.demo.unwrap_or(false),
            system_key_grace: duration(
                "system_key_grace",
                raw.system_key_grace,
                d.system_key_grace,
            )?,
            master_key: None,
        };
        if settings.key_validity.is_zero() || settings.token_ttl.is_zero() {
            return Err(invalid(
                "key_validity and token_ttl must be longer than zero".into(),
            ));
        }
        if settings.max_upstream_body_bytes < 1024 {
            return Err(invalid(
                "max_upstream_body_bytes must be at least 1024".into(),
            ));
        }
        if settings.header_read_timeout.is_zero()
            || settings.body_read_timeout.is_zero()
            || settings.idle_timeout.is_zero()
        {
            return Err(invalid(
                "header_read_timeout, body_read_timeout and idle_timeout must be longer than zero"
                    .into(),
            ));
        }
        // Under 100 ms a healthy database under load would be reported down; over a minute a
        // request would hang as it did before the setting existed (docs/operations.md).
        if settings.database_timeout < Duration::from_millis(100)
            || settings.database_timeout > Duration::from_secs(60)
        {
            return Err(invalid(
                "database_timeout must be between 100ms and 60s (e.g. 5s)".into(),
            ));
        }
        if settings.tls_cert_file.is_some() != settings.tls_key_file.is_some() {
            return Err(invalid(
                "tls_cert_file and tls_key_file go together: set both to listen with TLS, or neither"
                    .into(),
            ));
        }
        if settings.max_body_bytes < 1024 {
            return Err(invalid("max_body_bytes must be at least 1024".into()));
        }
        Ok(settings)
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        let dir = std::env::temp_dir().join(format!("kg-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("keygate.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1\"\nkey_validity = \"30d\"\ntoken_ttl = \"5m\"\nallowed_key_bits = [2048, 3072]\n",
        )
        .unwrap();
        let env = vec![
            ("KEYGATE_LISTEN".to_string(), "127.0.0.1:2".to_string()),
            ("KEYGATE_TOKEN_TTL".to_string(), "3s".to_string()),
            ("KEYGATE_MAX_BODY_BYTES".to_string(), "4096".to_string()),
            ("KEYGATE_MASTER_KEY".to_string(), "ignored here".to_string()),
            ("OTHER".to_string(), "x".to_string()),
        ];
        let flags = Overrides {
            listen: Some("127.0.0.1:3".into()),
            ..Default::default()
        };
        let s = Settings::load(Some(&file), env, &flags).unwrap();
        assert_eq!(s.listen.port(), 3);
        assert_eq!(s.key_validity, Duration::from_secs(30 * 86_400));
        assert_eq!(s.token_ttl, Duration::from_secs(3));
        assert_eq!(s.max_body_bytes, 4096);
        assert_eq!(s.allowed_key_bits, vec![2048, 3072]);
    }

    #[test]
    fn bad_values_are_refused_clearly() {
        let env = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        let err = Settings::load(
            None,
            env("KEYGATE_KEY_VALIDITY", "soon"),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("key_validity"), "{err}");
        let err = Settings::load(
            None,
            env("KEYGATE_ALLOWED_KEY_BITS", "2048,abc"),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("allowed_key_bits"), "{err}");
        assert_eq!(
            Settings::load(
                None,
                env("KEYGATE_ALLOWED_KEY_BITS", "2048,3072"),
                &Overrides::default()
            )
            .unwrap()
            .allowed_key_bits,
            vec![2048, 3072]
        );
        assert_eq!(
            parse_duration("365d").unwrap(),
            Duration::from_secs(365 * 86_400)
        );
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        let err = Settings::load(
            None,
            env("KEYGATE_DATABASE_TIMEOUT", "0s"),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("database_timeout"), "{err}");
        assert_eq!(
            Settings::load(
                None,
                env("KEYGATE_DATABASE_TIMEOUT", "1500ms"),
                &Overrides::default()
            )
            .unwrap()
            .database_timeout,
            Duration::from_millis(1500)
        );
        assert_eq!(Settings::default().database_timeout, Duration::from_secs(5));
    }
}
