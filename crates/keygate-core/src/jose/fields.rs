//! Confidential response fields (docs/design.md §6, "Responses").

use std::borrow::Cow;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256;
use serde_json::Value;
use zeroize::Zeroizing;

use super::b64::b64_std_encode;
use super::client_key::ClientKey;
use super::jwe::{seal_compact_jwe, JWE_RANDOM_LEN};

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
fn plaintext_of(value: &Value) -> (Cow<'_, [u8]>, bool) {
    match value {
        Value::String(s) => (Cow::Borrowed(s.as_bytes()), false),
        other => (Cow::Owned(other.to_string().into_bytes()), true),
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
    encrypt_value_with(value, scheme, key, pointer, None)
}

/// [`encrypt_value`]; for [`Scheme::Jwe`], `jwe_random` may give the CEK and IV
/// ([`JWE_RANDOM_LEN`] fresh random bytes used for this value only).
fn encrypt_value_with(
    value: &Value,
    scheme: Scheme,
    key: &ClientKey,
    pointer: &str,
    jwe_random: Option<&[u8]>,
) -> Result<String, FieldError> {
    let (plaintext, is_json) = plaintext_of(value);
    encrypt_plaintext(&plaintext, is_json, scheme, key, pointer, jwe_random)
}

/// Encrypts the bytes of one field (`is_json`: they are JSON text, not a string's UTF-8).
pub(crate) fn encrypt_plaintext(
    plaintext: &[u8],
    is_json: bool,
    scheme: Scheme,
    key: &ClientKey,
    pointer: &str,
    jwe_random: Option<&[u8]>,
) -> Result<String, FieldError> {
    let too_long = |max: usize| FieldError::PlaintextTooLong {
        pointer: pointer.to_owned(),
        scheme: scheme.name(),
        len: plaintext.len(),
        max,
    };
    let failed = || FieldError::Encryption(pointer.to_owned());
    match scheme {
        Scheme::Jwe => {
            let header = key.jwe_header_b64(is_json);
            match jwe_random {
                Some(random) => seal_compact_jwe(key.oaep(), header, random, plaintext),
                None => {
                    let mut random = Zeroizing::new([0u8; JWE_RANDOM_LEN]);
                    SystemRandom::new()
                        .fill(random.as_mut())
                        .map_err(|_| failed())?;
                    seal_compact_jwe(key.oaep(), header, random.as_ref(), plaintext)
                }
            }
            .map_err(|_| failed())
        }
        Scheme::RsaOaep256 => {
            let oaep = key.oaep();
            let max = oaep.max_plaintext_size(&OAEP_SHA256_MGF1SHA256);
            if plaintext.len() > max {
                return Err(too_long(max));
            }
            let mut out = vec![0u8; oaep.ciphertext_size()];
            let ct = oaep
                .encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, None)
                .map_err(|_| failed())?;
            Ok(b64_std_encode(ct))
        }
        Scheme::RsaPkcs1 => {
            let pkcs1 = key.pkcs1().ok_or_else(failed)?;
            let max = pkcs1.max_plaintext_size();
            if plaintext.len() > max {
                return Err(too_long(max));
            }
            let mut out = vec![0u8; pkcs1.ciphertext_size()];
            let ct = pkcs1.encrypt(plaintext, &mut out).map_err(|_| failed())?;
            Ok(b64_std_encode(ct))
        }
    }
}

/// Refuses a pointer that is not RFC 6901 (neither empty nor starting with `/`).
pub(crate) fn check_pointers(pointers: &[String]) -> Result<(), FieldError> {
    match pointers
        .iter()
        .find(|p| !(p.is_empty() || p.starts_with('/')))
    {
        Some(bad) => Err(FieldError::InvalidPointer(bad.clone())),
        None => Ok(()),
    }
}

/// The CEKs and IVs of all the fields of one response from one call to the random number
/// generator: field i's at `[i * JWE_RANDOM_LEN, (i + 1) * JWE_RANDOM_LEN)`. Empty unless
/// `scheme` is JWE.
pub(crate) fn jwe_randomness(
    scheme: Scheme,
    pointers: &[String],
) -> Result<Zeroizing<Vec<u8>>, FieldError> {
    let mut random = Zeroizing::new(Vec::new());
    if scheme == Scheme::Jwe && !pointers.is_empty() {
        random.resize(pointers.len() * JWE_RANDOM_LEN, 0);
        SystemRandom::new()
            .fill(random.as_mut_slice())
            .map_err(|_| FieldError::Encryption(pointers.first().cloned().unwrap_or_default()))?;
    }
    Ok(random)
}

/// Replaces each field named by `pointers` (RFC 6901) with its ciphertext for `key`.
///
/// A string is encrypted as its UTF-8 text, any other value as its compact JSON text. A pointer
/// naming nothing leaves the document as it is. Pointers are applied in order. With
/// [`Scheme::Jwe`], the CEKs and IVs of all the fields come from one call to the random number
/// generator (each field its own bytes).
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
    check_pointers(pointers)?;
    let random = jwe_randomness(scheme, pointers)?;
    let mut chunks = random.chunks_exact(JWE_RANDOM_LEN);
    for pointer in pointers {
        let field_random = chunks.next();
        if let Some(field) = doc.pointer_mut(pointer) {
            let ciphertext = encrypt_value_with(field, scheme, key, pointer, field_random)?;
            *field = Value::String(ciphertext);
        }
    }
    Ok(())
}
