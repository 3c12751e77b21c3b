//! The webhook signing secret and the Standard Webhooks signature (docs/webhooks.md, "How a
//! receiver verifies"): `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with
//! the bytes of the `whsec_<base64>` secret.

use std::fmt;

use aws_lc_rs::hmac;
use base64::alphabet::STANDARD as ALPHABET;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use zeroize::Zeroizing;

use crate::config::{secret_file, SecretFileError, WebhookConfig};

/// Standard base64, with or without its `=` padding (secrets are shared both ways).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &ALPHABET,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The Standard Webhooks bounds on a secret's length, in bytes.
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Why a webhook's secret could not be had. The texts name where it was looked for, never
/// what was found.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// `secret_file` could not be read.
    #[error("webhooks[{index}].secret_file {path}: cannot read it ({reason})")]
    File {
        /// The entry's place in `[[webhooks]]`.
        index: usize,
        /// The file, as configured.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// `secret_env` names a variable that is not set (or not UTF-8).
    #[error("webhooks[{index}].secret_env: the environment variable {name} is not set")]
    Env {
        /// The entry's place in `[[webhooks]]`.
        index: usize,
        /// The variable's name.
        name: String,
    },
    /// `secret_file` is not a regular file, or others can read or change it.
    #[error("{0}")]
    Unsafe(#[from] SecretFileError),
    /// The value is not `whsec_` followed by the base64 of 24 to 64 bytes.
    #[error("webhooks[{index}]: the secret must be whsec_ followed by the base64 of 24 to 64 random bytes (Standard Webhooks)")]
    Malformed {
        /// The entry's place in `[[webhooks]]`.
        index: usize,
    },
}

/// A webhook's signing key, zeroized on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl WebhookSecret {
    /// Parse `whsec_<base64>` (surrounding whitespace, such as a file's last newline, ignored).
    /// `None` when it is not one.
    pub fn parse(text: &str) -> Option<WebhookSecret> {
        let encoded = text.trim().strip_prefix("whsec_")?;
        let bytes = Zeroizing::new(LENIENT.decode(encoded).ok()?);
        SECRET_BYTES
            .contains(&bytes.len())
            .then_some(WebhookSecret(bytes))
    }

    /// The secret of the `index`th `[[webhooks]]` entry, from its file or from the environment
    /// (`env` looks a variable up: `std::env::var` in production).
    pub fn load(
        index: usize,
        config: &WebhookConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<WebhookSecret, SecretError> {
        let text = Zeroizing::new(match (&config.secret_file, &config.secret_env) {
            (Some(path), _) => {
                // Refused when others can read or change it (docs/webhooks.md, "Configure").
                secret_file::check(path, &format!("webhooks[{index}].secret_file"))?;
                std::fs::read_to_string(path).map_err(|e| SecretError::File {
                    index,
                    path: path.display().to_string(),
                    reason: e.kind().to_string(),
                })?
            }
            (None, Some(name)) => env(name).ok_or_else(|| SecretError::Env {
                index,
                name: name.clone(),
            })?,
            // The configuration's check refuses an entry with neither.
            (None, None) => return Err(SecretError::Malformed { index }),
        });
        WebhookSecret::parse(&text).ok_or(SecretError::Malformed { index })
    }

    /// The `webhook-signature` value for a message: `v1,<base64 HMAC-SHA256 of
    /// "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut context = hmac::Context::with_key(&key);
        context.update(format!("{id}.{timestamp}.").as_bytes());
        context.update(body);
        format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's example: its secret, message id, timestamp and
    /// payload, and the signature it gives.
    #[test]
    fn signs_the_specifications_example() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn only_whsec_secrets_of_24_to_64_bytes_are_taken() {
        let b64 = |n: usize| STANDARD.encode(vec![7u8; n]);
        assert!(WebhookSecret::parse(&format!("whsec_{}\n", b64(24))).is_some());
        assert!(WebhookSecret::parse(&format!("whsec_{}", b64(64))).is_some());
        // Unpadded base64 is the same secret.
        let padded = format!("whsec_{}", b64(32));
        let unpadded = padded.trim_end_matches('=');
        assert_ne!(padded, unpadded);
        assert_eq!(
            WebhookSecret::parse(&padded).unwrap().sign("a", 1, b"b"),
            WebhookSecret::parse(unpadded).unwrap().sign("a", 1, b"b")
        );
        for bad in [
            b64(32),                      // no prefix
            format!("whsec_{}", b64(23)), // too short
            format!("whsec_{}", b64(65)), // too long
            "whsec_not base64!".to_string(),
            "whsec_".to_string(),
        ] {
            assert!(WebhookSecret::parse(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn loading_says_where_never_what() {
        let config = |file: Option<&str>, env: Option<&str>| WebhookConfig {
            url: crate::config::WebhookUrl::parse("https://example.com/hook").unwrap(),
            events: vec![keygate_core::audit::AuditEventType::KeyRevoked],
            secret_file: file.map(Into::into),
            secret_env: env.map(Into::into),
            retry_for: std::time::Duration::from_secs(60),
            timeout: std::time::Duration::from_secs(5),
        };
        let good = format!("whsec_{}", STANDARD.encode([1u8; 32]));
        let from_env = WebhookSecret::load(0, &config(None, Some("HOOK")), |name| {
            (name == "HOOK").then(|| good.clone())
        });
        assert!(from_env.is_ok());
        assert_eq!(format!("{:?}", from_env.unwrap()), "WebhookSecret(..)");
        let missing = WebhookSecret::load(2, &config(None, Some("NOPE")), |_| None).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "webhooks[2].secret_env: the environment variable NOPE is not set"
        );
        let leaked = "whsec_short-and-secret";
        let bad = WebhookSecret::load(1, &config(None, Some("HOOK")), |_| Some(leaked.into()))
            .unwrap_err();
        assert!(!bad.to_string().contains("short-and-secret"), "{bad}");
        let no_file =
            WebhookSecret::load(0, &config(Some("/nonexistent/hook.secret"), None), |_| None)
                .unwrap_err();
        assert!(
            no_file.to_string().contains("/nonexistent/hook.secret"),
            "{no_file}"
        );
    }
}
