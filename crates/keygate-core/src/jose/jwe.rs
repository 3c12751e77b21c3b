//! Compact JWE (RFC 7516) with RSA-OAEP key wrapping and A256GCM content encryption.
//!
//! Only what keygate needs: `alg` `RSA-OAEP-256` (and `RSA-OAEP` with SHA-1, accepted solely when a
//! caller of [`decrypt_compact_jwe`] asks for it, for the RFC 7516 A.1 test vector), `enc`
//! `A256GCM`, no compression, no `crit`.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{
    OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::b64::{b64url_decode, b64url_encode};

const CEK_LEN: usize = 32;
const TAG_LEN: usize = 16;

/// The key management algorithm of a JWE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JweKeyAlg {
    /// `RSA-OAEP-256`: OAEP with SHA-256 and MGF1-SHA-256. The only one keygate accepts inbound.
    RsaOaep256,
    /// `RSA-OAEP`: OAEP with SHA-1 and MGF1-SHA-1. Only for decrypting published test vectors.
    RsaOaepSha1,
}

impl JweKeyAlg {
    /// The JOSE name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            JweKeyAlg::RsaOaep256 => "RSA-OAEP-256",
            JweKeyAlg::RsaOaepSha1 => "RSA-OAEP",
        }
    }

    fn oaep(self) -> &'static OaepAlgorithm {
        match self {
            JweKeyAlg::RsaOaep256 => &OAEP_SHA256_MGF1SHA256,
            JweKeyAlg::RsaOaepSha1 => &OAEP_SHA1_MGF1SHA1,
        }
    }
}

/// A JWE could not be decrypted. Deliberately without detail: callers must not learn which step
/// failed (a padding-oracle defence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the JWE could not be decrypted")]
pub struct JweDecryptError;

/// What a successful decryption gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptedJwe {
    /// The plaintext bytes.
    pub plaintext: Vec<u8>,
    /// The `kid` of the protected header, if any.
    pub kid: Option<String>,
    /// The `cty` of the protected header, if any (`json` for a JSON value).
    pub cty: Option<String>,
}

#[derive(Debug, Deserialize)]
struct JweHeader {
    alg: String,
    enc: String,
    kid: Option<String>,
    cty: Option<String>,
    zip: Option<serde_json::Value>,
    crit: Option<serde_json::Value>,
}

/// The parts of a compact JWE, decoded, and its header.
pub(crate) struct ParsedJwe<'a> {
    header_b64: &'a str,
    header: JweHeaderInfo,
    encrypted_key: Vec<u8>,
    iv: Vec<u8>,
    ciphertext_and_tag: Vec<u8>,
}

/// The header members callers may look at before decrypting (to pick a key).
pub(crate) struct JweHeaderInfo {
    pub(crate) alg: String,
    pub(crate) enc: String,
    pub(crate) kid: Option<String>,
    pub(crate) cty: Option<String>,
}

impl<'a> ParsedJwe<'a> {
    pub(crate) fn parse(jwe: &'a str) -> Result<Self, JweDecryptError> {
        let mut parts = jwe.split('.');
        let (Some(h), Some(k), Some(iv), Some(ct), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(JweDecryptError);
        };
        let header: JweHeader = serde_json::from_slice(&b64url_decode(h).ok_or(JweDecryptError)?)
            .map_err(|_| JweDecryptError)?;
        if header.zip.is_some() || header.crit.is_some() {
            return Err(JweDecryptError);
        }
        let encrypted_key = b64url_decode(k).ok_or(JweDecryptError)?;
        let iv = b64url_decode(iv).ok_or(JweDecryptError)?;
        let mut ciphertext_and_tag = b64url_decode(ct).ok_or(JweDecryptError)?;
        let tag = b64url_decode(tag).ok_or(JweDecryptError)?;
        if iv.len() != NONCE_LEN || tag.len() != TAG_LEN {
            return Err(JweDecryptError);
        }
        ciphertext_and_tag.extend_from_slice(&tag);
        Ok(Self {
            header_b64: h,
            header: JweHeaderInfo {
                alg: header.alg,
                enc: header.enc,
                kid: header.kid,
                cty: header.cty,
            },
            encrypted_key,
            iv,
            ciphertext_and_tag,
        })
    }

    pub(crate) fn header(&self) -> &JweHeaderInfo {
        &self.header
    }

    /// Decrypts with `key`, requiring `alg` to be `expected` and `enc` `A256GCM`.
    ///
    /// When the key unwrapping fails, a random CEK is used so the failure surfaces at the same
    /// step (the GCM tag) as any other tampering (RFC 7516 §11.5).
    pub(crate) fn decrypt(
        &self,
        key: &OaepPrivateDecryptingKey,
        expected: JweKeyAlg,
    ) -> Result<DecryptedJwe, JweDecryptError> {
        if self.header.alg != expected.name() || self.header.enc != "A256GCM" {
            return Err(JweDecryptError);
        }
        let rng = SystemRandom::new();
        let mut cek = Zeroizing::new([0u8; CEK_LEN]);
        rng.fill(cek.as_mut()).map_err(|_| JweDecryptError)?;
        let mut buf = Zeroizing::new(vec![0u8; key.min_output_size()]);
        let unwrapped_ok = match key.decrypt(expected.oaep(), &self.encrypted_key, &mut buf, None) {
            Ok(unwrapped) if unwrapped.len() == CEK_LEN => {
                cek.copy_from_slice(unwrapped);
                true
            }
            _ => false,
        };
        let aead = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, cek.as_ref()).map_err(|_| JweDecryptError)?,
        );
        let nonce = Nonce::try_assume_unique_for_key(&self.iv).map_err(|_| JweDecryptError)?;
        let mut in_out = self.ciphertext_and_tag.clone();
        let opened = aead
            .open_in_place(nonce, Aad::from(self.header_b64.as_bytes()), &mut in_out)
            .map_err(|_| JweDecryptError)?;
        let plaintext = opened.to_vec();
        if !unwrapped_ok {
            return Err(JweDecryptError);
        }
        Ok(DecryptedJwe {
            plaintext,
            kid: self.header.kid.clone(),
            cty: self.header.cty.clone(),
        })
    }
}

/// Decrypts a compact JWE with `key`, accepting only key algorithm `alg` and `enc` `A256GCM`.
///
/// This is the low-level entry point (used by clients and by the RFC 7516 A.1 test); inbound
/// request fields go through [`super::decrypt_fields`], which only ever asks for
/// [`JweKeyAlg::RsaOaep256`].
///
/// # Errors
/// [`JweDecryptError`] for every failure, without detail.
pub fn decrypt_compact_jwe(
    jwe: &str,
    key: &PrivateDecryptingKey,
    alg: JweKeyAlg,
) -> Result<DecryptedJwe, JweDecryptError> {
    let oaep = OaepPrivateDecryptingKey::new(key.clone()).map_err(|_| JweDecryptError)?;
    ParsedJwe::parse(jwe)?.decrypt(&oaep, alg)
}

/// An encryption failure (the RSA or AEAD primitive refused, or randomness failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("encryption failed")]
pub struct JweEncryptError;

/// The base64url of the protected header
/// `{"alg":"RSA-OAEP-256","enc":"A256GCM"[,"kid":…][,"cty":"json"]}` (its members in the order
/// serde_json writes them). Computed once per [`super::ClientKey`] and reused for every field.
///
/// # Errors
/// [`JweEncryptError`] if the header cannot be serialized (it always can).
pub(crate) fn protected_header_b64(
    kid: Option<&str>,
    cty_json: bool,
) -> Result<String, JweEncryptError> {
    let mut header = serde_json::Map::new();
    header.insert("alg".into(), "RSA-OAEP-256".into());
    header.insert("enc".into(), "A256GCM".into());
    if let Some(kid) = kid {
        header.insert("kid".into(), kid.into());
    }
    if cty_json {
        header.insert("cty".into(), "json".into());
    }
    let header_json = serde_json::to_vec(&header).map_err(|_| JweEncryptError)?;
    Ok(b64url_encode(header_json))
}

/// Random bytes one JWE consumes: the CEK, then the IV.
pub(crate) const JWE_RANDOM_LEN: usize = CEK_LEN + NONCE_LEN;

/// Makes a compact JWE of `plaintext` for `key`: header
/// `{"alg":"RSA-OAEP-256","enc":"A256GCM"[,"kid":…][,"cty":"json"]}`, a random 256-bit CEK
/// wrapped with RSA-OAEP-SHA-256, a random 96-bit IV, AAD = the ASCII of the encoded protected
/// header (RFC 7516 §5.1 step 14).
///
/// # Errors
/// [`JweEncryptError`] if randomness or a primitive fails.
pub fn encrypt_compact_jwe(
    key: &OaepPublicEncryptingKey,
    kid: Option<&str>,
    cty_json: bool,
    plaintext: &[u8],
) -> Result<String, JweEncryptError> {
    let header_b64 = protected_header_b64(kid, cty_json)?;
    let mut random = Zeroizing::new([0u8; JWE_RANDOM_LEN]);
    SystemRandom::new()
        .fill(random.as_mut())
        .map_err(|_| JweEncryptError)?;
    seal_compact_jwe(key, &header_b64, random.as_ref(), plaintext)
}

/// [`encrypt_compact_jwe`] with the encoded protected header and the CEK and IV
/// (`random`: [`JWE_RANDOM_LEN`] fresh random bytes, never used for anything else) given.
///
/// # Errors
/// [`JweEncryptError`] if `random` has the wrong length or a primitive fails.
pub(crate) fn seal_compact_jwe(
    key: &OaepPublicEncryptingKey,
    header_b64: &str,
    random: &[u8],
    plaintext: &[u8],
) -> Result<String, JweEncryptError> {
    if random.len() != JWE_RANDOM_LEN {
        return Err(JweEncryptError);
    }
    let (cek, iv) = random.split_at(CEK_LEN);
    let iv: [u8; NONCE_LEN] = iv.try_into().map_err(|_| JweEncryptError)?;

    // On the stack up to RSA-8192 (the largest client key keygate accepts).
    let size = key.ciphertext_size();
    let mut stack = [0u8; 1024];
    let mut heap = Vec::new();
    let buf: &mut [u8] = match stack.get_mut(..size) {
        Some(buf) => buf,
        None => {
            heap.resize(size, 0);
            &mut heap
        }
    };
    let wrapped = key
        .encrypt(&OAEP_SHA256_MGF1SHA256, cek, buf, None)
        .map_err(|_| JweEncryptError)?;

    let aead = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, cek).map_err(|_| JweEncryptError)?);
    let mut in_out = plaintext.to_vec();
    let tag = aead
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(header_b64.as_bytes()),
            &mut in_out,
        )
        .map_err(|_| JweEncryptError)?;

    let b64_len = |n: usize| (n * 4).div_ceil(3);
    let mut out = String::with_capacity(
        header_b64.len()
            + 4
            + b64_len(wrapped.len())
            + b64_len(NONCE_LEN)
            + b64_len(in_out.len())
            + b64_len(TAG_LEN),
    );
    out.push_str(header_b64);
    for part in [wrapped, &iv[..], &in_out[..], tag.as_ref()] {
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(part, &mut out);
    }
    Ok(out)
}
