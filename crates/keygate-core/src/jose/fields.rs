//! Confidential response fields (DESIGN §6, "Responses").

use aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256;
use serde_json::Value;

use super::b64::b64_std_encode;
use super::client_key::ClientKey;
use super::jwe::encrypt_compact_jwe;

/// How a confidential field is encrypted, chosen per route.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Scheme {
    /// Compact JWE, `RSA-OAEP-256` + `A256GCM`, `kid` = the key's id, `cty: json` for
    /// non-strings. The default.
    #[default]
    #[serde(rename = "jwe")]
    Jwe,
    /// Standard base64 (padded) of the raw RSA-OAEP (SHA-256, MGF1-SHA-256, no label) ciphertext.
    #[serde(rename = "rsa-oaep-256")]
    RsaOaep256,
    /// Standard base64 (padded) of an RSA PKCS#1 v1.5 ciphertext. Legacy; responses only.
    #[serde(rename = "rsa-pkcs1")]
    RsaPkcs1,
}

impl Scheme {
    /// The configuration name (`jwe`, `rsa-oaep-256`, `rsa-pkcs1`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Jwe => "jwe",
            Scheme::RsaOaep256 => "rsa-oaep-256",
            Scheme::RsaPkcs1 => "rsa-pkcs1",
        }
    }

    /// Parses a configuration name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Scheme> {
        [Scheme::Jwe, Scheme::RsaOaep256, Scheme::RsaPkcs1]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// Why response fields could not be encrypted. Never carries plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// The pointer is not an RFC 6901 JSON pointer (empty or starting with `/`).
    #[error("{0:?} is not a JSON pointer (RFC 6901)")]
    InvalidPointer(String),
    /// The value is too long for a raw RSA scheme (`rsa-oaep-256`, `rsa-pkcs1`).
    #[error("the field at {pointer:?} is {len} bytes; the {scheme} scheme holds at most {max} with this key")]
    PlaintextTooLong {
        /// The pointer.
        pointer: String,
        /// The scheme.
        scheme: &'static str,
        /// The plaintext length.
        len: usize,
        /// The most the key can hold.
        max: usize,
    },
    /// The primitive or randomness failed.
    #[error("encrypting the field at {0:?} failed")]
    Encryption(String),
}

/// The bytes a field is encrypted as: a string's UTF-8 text, any other value's compact JSON.
/// The flag says whether it is JSON (`cty: json`).
fn plaintext_of(value: &Value) -> (Vec<u8>, bool) {
    match value {
        Value::String(s) => (s.as_bytes().to_vec(), false),
        other => (other.to_string().into_bytes(), true),
    }
}

/// Encrypts one JSON value for `key` with `scheme`, giving the string that replaces it.
///
/// # Errors
/// [`FieldError::PlaintextTooLong`] (raw RSA schemes) or [`FieldError::Encryption`]; `pointer`
/// only labels the error.
pub fn encrypt_value(
    value: &Value,
    scheme: Scheme,
    key: &ClientKey,
    pointer: &str,
) -> Result<String, FieldError> {
    let (plaintext, is_json) = plaintext_of(value);
    let too_long = |max: usize| FieldError::PlaintextTooLong {
        pointer: pointer.to_owned(),
        scheme: scheme.name(),
        len: plaintext.len(),
        max,
    };
    let failed = || FieldError::Encryption(pointer.to_owned());
    match scheme {
        Scheme::Jwe => encrypt_compact_jwe(key.oaep(), Some(key.kid()), is_json, &plaintext)
            .map_err(|_| failed()),
        Scheme::RsaOaep256 => {
            let oaep = key.oaep();
            let max = oaep.max_plaintext_size(&OAEP_SHA256_MGF1SHA256);
            if plaintext.len() > max {
                return Err(too_long(max));
            }
            let mut out = vec![0u8; oaep.ciphertext_size()];
            let ct = oaep
                .encrypt(&OAEP_SHA256_MGF1SHA256, &plaintext, &mut out, None)
                .map_err(|_| failed())?;
            Ok(b64_std_encode(ct))
        }
        Scheme::RsaPkcs1 => {
            let pkcs1 = key.pkcs1();
            let max = pkcs1.max_plaintext_size();
            if plaintext.len() > max {
                return Err(too_long(max));
            }
            let mut out = vec![0u8; pkcs1.ciphertext_size()];
            let ct = pkcs1.encrypt(&plaintext, &mut out).map_err(|_| failed())?;
            Ok(b64_std_encode(ct))
        }
    }
}

/// Replaces each field named by `pointers` (RFC 6901) with its ciphertext for `key`.
///
/// A string is encrypted as its UTF-8 text, any other value as its compact JSON text. A pointer
/// naming nothing leaves the document as it is. Pointers are applied in order.
///
/// # Errors
/// [`FieldError`]. On error the document may be partly encrypted and partly not: the caller must
/// not send it (answer with an error instead; never fall back to plaintext).
pub fn encrypt_fields(
    doc: &mut Value,
    pointers: &[String],
    scheme: Scheme,
    key: &ClientKey,
) -> Result<(), FieldError> {
    for pointer in pointers {
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            return Err(FieldError::InvalidPointer(pointer.clone()));
        }
        if let Some(field) = doc.pointer_mut(pointer) {
            let ciphertext = encrypt_value(field, scheme, key, pointer)?;
            *field = Value::String(ciphertext);
        }
    }
    Ok(())
}
