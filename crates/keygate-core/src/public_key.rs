//! Parsing an uploaded public key into a `ValidPublicKey`: a type that can only hold an RSA key
//! keygate accepts, in canonical form (docs/design.md §3).
//!
//! One file just past 400 lines on purpose: the checks of the §3 table, in their order, read
//! together (docs/architecture.md, "File size"); the tests are in `public_key/tests.rs`.
//!
//! The checks run in the order of the §3 table, so the first refusal that applies wins; a pasted
//! private key is always reported as such, whatever else is wrong with the paste.

use aws_lc_rs::digest;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use der::asn1::UintRef;
use der::{Decode, Encode};
use pkcs1::RsaPublicKey;
use spki::{AlgorithmIdentifierRef, ObjectIdentifier, SubjectPublicKeyInfoRef};

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
const X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
const DSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");

/// Why an upload was refused. Each variant is one stable error slug of docs/design.md §3.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRejection {
    /// `public_key_malformed`: not exactly one parsable PEM block; the reason says what is wrong.
    #[error("{0}")]
    Malformed(MalformedReason),
    /// `private_key_submitted`: the text holds a private key. Checked first; the caller must not
    /// store, log or echo the text.
    #[error("a private key was submitted")]
    PrivateKeySubmitted,
    /// `public_key_not_rsa`: a key of another algorithm, or RSASSA-PSS-only; the text names the
    /// algorithm found, for the message.
    #[error("the key is not an RSA key ({0})")]
    NotRsa(&'static str),
    /// `public_key_wrong_size`: the modulus size is not in [`KeyPolicy::allowed_bits`].
    #[error("the RSA key has {found} bits")]
    WrongSize {
        /// The modulus size found, in bits.
        found: u32,
        /// The sizes the policy allows, for the message to the user.
        allowed: Vec<u32>,
    },
    /// `public_key_weak`: the key is RSA of an allowed size but unsafe; the reason says why.
    #[error("{0}")]
    Weak(WeakReason),
}

/// What is wrong with a [`KeyRejection::Malformed`] paste. All share one slug; the message to
/// the user tells them apart (one message each in the Fluent catalogues).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedReason {
    /// Nothing but whitespace was given.
    #[error("the text is empty")]
    Empty,
    /// No `-----BEGIN ` line anywhere in the text.
    #[error("no PEM block (-----BEGIN PUBLIC KEY-----) was found")]
    NoPemBlock,
    /// More than one `-----BEGIN ` line (a chain, or a key pasted twice).
    #[error("more than one PEM block was found")]
    SeveralBlocks,
    /// Text other than whitespace before the BEGIN line or after the END line.
    #[error("there is text before the BEGIN line or after the END line")]
    TrailingData,
    /// The BEGIN line is broken, or the END line is missing or names another label.
    #[error("the END line is missing or does not match the BEGIN line")]
    BadEnvelope,
    /// A line with `:` inside the block (RFC 1421 headers such as `Proc-Type:`).
    #[error("the PEM block carries headers")]
    Headers,
    /// The block's body is not valid standard base64.
    #[error("the base64 inside the PEM block is invalid")]
    BadBase64,
    /// A label other than `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`.
    #[error("the PEM label is not PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE")]
    UnknownLabel,
    /// The decoded bytes are not the DER the label promises.
    #[error("the key data inside the PEM block cannot be parsed")]
    BadDer,
}

/// Why a [`KeyRejection::Weak`] key is unsafe. Checked after the size: the exponent, then the
/// modulus's parity, then its small factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakReason {
    /// The public exponent (shown) is not 65537.
    #[error("the public exponent is {0}; only 65537 is accepted")]
    Exponent(u64),
    /// The public exponent does not fit in 64 bits (so it is not 65537 either).
    #[error("the public exponent is too large; only 65537 is accepted")]
    ExponentTooLarge,
    /// The modulus is even, so 2 is one of its factors.
    #[error("the modulus is even")]
    EvenModulus,
    /// The modulus is divisible by this prime below 10,000.
    #[error("the modulus has the small prime factor {0}")]
    SmallFactor(u32),
}

impl KeyRejection {
    /// The stable error slug of docs/design.md §3.
    pub fn slug(&self) -> &'static str {
        match self {
            KeyRejection::Malformed(_) => "public_key_malformed",
            KeyRejection::PrivateKeySubmitted => "private_key_submitted",
            KeyRejection::NotRsa(_) => "public_key_not_rsa",
            KeyRejection::WrongSize { .. } => "public_key_wrong_size",
            KeyRejection::Weak(_) => "public_key_weak",
        }
    }
}

/// An RSA public key that passed every check of §3, held in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPublicKey {
    spki_der: Vec<u8>,
    canonical_pem: String,
    modulus: Vec<u8>,
    exponent: u64,
    bits: u32,
}

/// What the upload policy allows. `allowed_bits` defaults to `[2048]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPolicy {
    /// Modulus sizes accepted, in bits (`allowed_key_bits`; the configuration keeps each
    /// between 2048 and 8192). A key of any other size is [`KeyRejection::WrongSize`].
    pub allowed_bits: Vec<u32>,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        KeyPolicy {
            allowed_bits: vec![2048],
        }
    }
}

impl ValidPublicKey {
    /// Parse what a user pasted or uploaded.
    pub fn parse(input: &str, policy: &KeyPolicy) -> Result<Self, KeyRejection> {
        let text = normalize(input);
        // A private key is reported before anything else, and its text goes nowhere.
        if looks_private(&text) {
            return Err(KeyRejection::PrivateKeySubmitted);
        }
        let (label, der) = single_pem_block(&text)?;
        let (n, e) = match label.as_str() {
            "PUBLIC KEY" => rsa_from_spki(&der)?,
            "RSA PUBLIC KEY" => rsa_from_pkcs1(&der)?,
            "CERTIFICATE" => {
                let cert = x509_cert::Certificate::from_der(&der)
                    .map_err(|_| KeyRejection::Malformed(MalformedReason::BadDer))?;
                let spki = cert
                    .tbs_certificate
                    .subject_public_key_info
                    .to_der()
                    .map_err(|_| KeyRejection::Malformed(MalformedReason::BadDer))?;
                rsa_from_spki(&spki)?
            }
            _ => return Err(KeyRejection::Malformed(MalformedReason::UnknownLabel)),
        };
        Self::from_components(&n, &e, policy)
    }

    /// Validate a modulus and exponent (big-endian) against the policy and build the canonical form.
    pub fn from_components(n: &[u8], e: &[u8], policy: &KeyPolicy) -> Result<Self, KeyRejection> {
        let modulus = strip_leading_zeros(n).to_vec();
        let bits = bit_length(&modulus);
        if !policy.allowed_bits.contains(&bits) {
            return Err(KeyRejection::WrongSize {
                found: bits,
                allowed: policy.allowed_bits.clone(),
            });
        }
        let e = strip_leading_zeros(e);
        if e.len() > 8 {
            return Err(KeyRejection::Weak(WeakReason::ExponentTooLarge));
        }
        let exponent = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        if exponent != 65537 {
            return Err(KeyRejection::Weak(WeakReason::Exponent(exponent)));
        }
        if modulus.last().is_none_or(|b| b % 2 == 0) {
            return Err(KeyRejection::Weak(WeakReason::EvenModulus));
        }
        if let Some(p) = small_factor(&modulus) {
            return Err(KeyRejection::Weak(WeakReason::SmallFactor(p)));
        }
        let spki_der = encode_spki(&modulus, e)?;
        let canonical_pem = canonical_pem(&spki_der)?;
        Ok(ValidPublicKey {
            spki_der,
            canonical_pem,
            modulus,
            exponent,
            bits,
        })
    }

    /// The SubjectPublicKeyInfo DER, re-encoded canonically from (n, e).
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }
    /// `-----BEGIN PUBLIC KEY-----`, 64-column base64, no trailing newline.
    pub fn canonical_pem(&self) -> &str {
        &self.canonical_pem
    }
    /// The modulus size in bits (leading zero bytes ignored), one of the policy's sizes.
    pub fn bits(&self) -> u32 {
        self.bits
    }
    /// The public exponent: always 65537, the only one accepted.
    pub fn exponent(&self) -> u64 {
        self.exponent
    }
    /// SHA-256 of the SPKI DER, lowercase hex, colon separated.
    pub fn fingerprint_sha256(&self) -> String {
        fingerprint(&self.spki_der)
    }
    /// The public JWK members (`kty`, `n`, `e`).
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(&self.modulus),
            "e": URL_SAFE_NO_PAD.encode(strip_leading_zeros(&self.exponent.to_be_bytes())),
        })
    }
    /// RFC 7638 thumbprint of this key.
    pub fn jwk_thumbprint(&self) -> String {
        jwk_thumbprint(
            &self.modulus,
            strip_leading_zeros(&self.exponent.to_be_bytes()),
        )
    }
}

/// RFC 7638 thumbprint of an RSA key from its big-endian `n` and `e` (no leading zeros):
/// base64url SHA-256 of the required members in lexicographic order, without whitespace.
pub fn jwk_thumbprint(n: &[u8], e: &[u8]) -> String {
    // Both members are base64url, so they need no JSON escaping.
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(e),
        URL_SAFE_NO_PAD.encode(n)
    );
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
}

/// SHA-256 of some DER, lowercase hex, colon separated.
pub fn fingerprint(der: &[u8]) -> String {
    digest::digest(&digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Undo the ways a paste gets mangled: CRLF, a double-escaped `\n`, surrounding whitespace.
fn normalize(input: &str) -> String {
    input
        .replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_string()
}

fn looks_private(text: &str) -> bool {
    // Covers PKCS#8, encrypted PKCS#8, PKCS#1 (RSA), SEC1 (EC), DSA and OpenSSH private keys,
    // and PuTTY key files.
    text.contains("PRIVATE KEY") || text.contains("PuTTY-User-Key-File")
}

/// Exactly one PEM block with nothing around it; returns its label and decoded body.
fn single_pem_block(text: &str) -> Result<(String, Vec<u8>), KeyRejection> {
    use MalformedReason::*;
    let bad = KeyRejection::Malformed;
    if text.is_empty() {
        return Err(bad(Empty));
    }
    match text.matches("-----BEGIN ").count() {
        0 => return Err(bad(NoPemBlock)),
        1 => {}
        _ => return Err(bad(SeveralBlocks)),
    }
    if !text.starts_with("-----BEGIN ") {
        return Err(bad(TrailingData));
    }
    let mut lines = text.lines().map(str::trim);
    let first = lines.next().unwrap_or_default();
    let label = first
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or(bad(BadEnvelope))?
        .to_string();
    let end_line = format!("-----END {label}-----");
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if ended {
            // `text` is trimmed, so anything here is real trailing data.
            return Err(bad(TrailingData));
        }
        if line == end_line {
            ended = true;
        } else if line.starts_with("-----END ") {
            return Err(bad(BadEnvelope));
        } else if line.contains(':') {
            return Err(bad(Headers));
        } else {
            body.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
    }
    if !ended {
        return Err(bad(BadEnvelope));
    }
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| bad(BadBase64))?;
    Ok((label, der))
}

fn rsa_from_spki(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), KeyRejection> {
    let spki = SubjectPublicKeyInfoRef::from_der(der)
        .map_err(|_| KeyRejection::Malformed(MalformedReason::BadDer))?;
    let oid = spki.algorithm.oid;
    if oid != RSA_ENCRYPTION {
        return Err(KeyRejection::NotRsa(match oid {
            o if o == EC_PUBLIC_KEY => "EC",
            o if o == ED25519 => "Ed25519",
            o if o == ED448 => "Ed448",
            o if o == X25519 => "X25519",
            o if o == DSA => "DSA",
            o if o == RSASSA_PSS => "RSASSA-PSS-restricted RSA",
            _ => "unknown algorithm",
        }));
    }
    let bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or(KeyRejection::Malformed(MalformedReason::BadDer))?;
    rsa_from_pkcs1(bytes)
}

fn rsa_from_pkcs1(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), KeyRejection> {
    let key = RsaPublicKey::from_der(der)
        .map_err(|_| KeyRejection::Malformed(MalformedReason::BadDer))?;
    Ok((
        key.modulus.as_bytes().to_vec(),
        key.public_exponent.as_bytes().to_vec(),
    ))
}

fn encode_spki(n: &[u8], e: &[u8]) -> Result<Vec<u8>, KeyRejection> {
    let bad = || KeyRejection::Malformed(MalformedReason::BadDer);
    let pkcs1 = RsaPublicKey {
        modulus: UintRef::new(n).map_err(|_| bad())?,
        public_exponent: UintRef::new(e).map_err(|_| bad())?,
    }
    .to_der()
    .map_err(|_| bad())?;
    let spki = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef {
            oid: RSA_ENCRYPTION,
            parameters: Some(der::asn1::AnyRef::NULL),
        },
        subject_public_key: der::asn1::BitStringRef::from_bytes(&pkcs1).map_err(|_| bad())?,
    };
    spki.to_der().map_err(|_| bad())
}

fn canonical_pem(spki_der: &[u8]) -> Result<String, KeyRejection> {
    let pem = pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, spki_der)
        .map_err(|_| KeyRejection::Malformed(MalformedReason::BadDer))?;
    Ok(pem.trim_end().to_string())
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn bit_length(n: &[u8]) -> u32 {
    match n.first() {
        None => 0,
        Some(top) => (n.len() as u32 - 1) * 8 + (8 - top.leading_zeros()),
    }
}

/// The smallest prime below 10,000 that divides `n` (big-endian), if any.
fn small_factor(n: &[u8]) -> Option<u32> {
    (3u32..10_000)
        .filter(|c| is_prime(*c))
        .find(|p| n.iter().fold(0u32, |r, b| (r * 256 + u32::from(*b)) % p) == 0)
}

fn is_prime(c: u32) -> bool {
    c >= 2
        && (2..)
            .take_while(|d| d * d <= c)
            .all(|d| !c.is_multiple_of(d))
}

#[cfg(test)]
mod tests;
