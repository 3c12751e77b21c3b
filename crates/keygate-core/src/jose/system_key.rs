//! keygate's own RSA key for confidential request fields (docs/design.md §6, "Requests" and
//! "The system key"), its sealing under the master key, and inbound field decryption.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{
    KeySize, OaepPrivateDecryptingKey, PrivateDecryptingKey, OAEP_SHA256_MGF1SHA256,
};
use der::Decode;
use serde_json::Value;
use zeroize::Zeroizing;

use super::b64::{b64_std_decode, b64url_encode};
use super::jwe::{JweKeyAlg, ParsedJwe};
use super::splice::{splice, SpliceError, Text};
pub use crate::public_key::jwk_thumbprint;

/// The AAD binding a sealed system key to its purpose.
const SEAL_AAD: &[u8] = b"keygate system key v1";

/// Why a system key could not be made or loaded. Never carries key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SystemKeyError {
    /// Key generation failed.
    #[error("generating the RSA system key failed")]
    Generation,
    /// The bytes are not a PKCS#8 RSA private key aws-lc-rs accepts.
    #[error("the system key is not a PKCS#8 RSA private key")]
    Unparseable,
    /// The key is smaller than 2048 bits.
    #[error("the system key has {0} bits; at least 2048 are needed")]
    TooSmall(usize),
}

/// A sealed private key could not be opened: wrong master key or damaged data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealedKeyError {
    /// The AEAD tag did not verify (wrong master key, or the data was changed).
    #[error("the sealed system key cannot be opened with this master key (wrong master key, or damaged data)")]
    Open,
    /// Randomness or the cipher failed while sealing.
    #[error("sealing the system key failed")]
    Seal,
}

/// keygate's RSA key pair for inbound confidential fields.
///
/// `kid` is the RFC 7638 JWK thumbprint of the public key. `Debug` shows only the `kid`.
pub struct SystemKey {
    oaep: OaepPrivateDecryptingKey,
    pkcs8: Zeroizing<Vec<u8>>,
    spki_der: Vec<u8>,
    n: Vec<u8>,
    e: Vec<u8>,
    kid: String,
}

impl std::fmt::Debug for SystemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SystemKey {
    /// Makes a new RSA-2048 key pair.
    ///
    /// # Errors
    /// [`SystemKeyError::Generation`] if aws-lc-rs cannot make one.
    pub fn generate() -> Result<Self, SystemKeyError> {
        let key = PrivateDecryptingKey::generate(KeySize::Rsa2048)
            .map_err(|_| SystemKeyError::Generation)?;
        let pkcs8 = key.as_der().map_err(|_| SystemKeyError::Generation)?;
        Self::from_pkcs8_der(pkcs8.as_ref())
    }

    /// Loads a key pair from PKCS#8 DER (as written by [`SystemKey::to_pkcs8_der`]).
    ///
    /// # Errors
    /// [`SystemKeyError`] if the bytes are not an RSA PKCS#8 key of at least 2048 bits.
    pub fn from_pkcs8_der(pkcs8: &[u8]) -> Result<Self, SystemKeyError> {
        let private =
            PrivateDecryptingKey::from_pkcs8(pkcs8).map_err(|_| SystemKeyError::Unparseable)?;
        let bits = private.key_size_bits();
        if bits < 2048 {
            return Err(SystemKeyError::TooSmall(bits));
        }
        let spki_der = private
            .public_key()
            .as_der()
            .map_err(|_| SystemKeyError::Unparseable)?
            .as_ref()
            .to_vec();
        let (n, e) = rsa_components(&spki_der).ok_or(SystemKeyError::Unparseable)?;
        let kid = jwk_thumbprint(&n, &e);
        let oaep =
            OaepPrivateDecryptingKey::new(private).map_err(|_| SystemKeyError::Unparseable)?;
        Ok(Self {
            oaep,
            pkcs8: Zeroizing::new(pkcs8.to_vec()),
            spki_der,
            n,
            e,
            kid,
        })
    }

    /// The private key as PKCS#8 DER (zeroized when dropped). Seal it before storing it.
    #[must_use]
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        self.pkcs8.clone()
    }

    /// The public key as SubjectPublicKeyInfo DER.
    #[must_use]
    pub fn public_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The public key as SPKI PEM with 64-column base64 lines, LF line endings, ending with
    /// `-----END PUBLIC KEY-----` and no newline (the canonical form of docs/design.md §3).
    #[must_use]
    pub fn public_pem(&self) -> String {
        let pem =
            pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, &self.spki_der)
                .unwrap_or_default();
        pem.trim_end().to_owned()
    }

    /// The public key as a JWK: `kty`, `n`, `e`, `kid`, `alg` `RSA-OAEP-256`, `use` `enc`.
    #[must_use]
    pub fn jwk(&self) -> Value {
        serde_json::json!({
            "kty": "RSA",
            "n": b64url_encode(&self.n),
            "e": b64url_encode(&self.e),
            "kid": self.kid,
            "alg": "RSA-OAEP-256",
            "use": "enc",
        })
    }

    /// The RFC 7638 thumbprint (base64url SHA-256 of `{"e":…,"kty":"RSA","n":…}`).
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub(crate) fn oaep(&self) -> &OaepPrivateDecryptingKey {
        &self.oaep
    }
}

/// `n` and `e` (big-endian, no leading zeros) of an RSA SubjectPublicKeyInfo DER; `None` if it
/// is not one.
pub fn rsa_components(spki_der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der).ok()?;
    let rsa = pkcs1::RsaPublicKey::from_der(spki.subject_public_key.raw_bytes()).ok()?;
    Some((
        rsa.modulus.as_bytes().to_vec(),
        rsa.public_exponent.as_bytes().to_vec(),
    ))
}

fn master_aead(master: &[u8; 32]) -> Option<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, master)
        .ok()
        .map(LessSafeKey::new)
}

/// Seals a PKCS#8 private key under the 32-byte master key: AES-256-GCM, a random 96-bit nonce,
/// the AAD `keygate system key v1`; output `nonce || ciphertext || tag`.
///
/// # Errors
/// [`SealedKeyError::Seal`] if randomness or the cipher fails.
pub fn seal_private_key(master: &[u8; 32], pkcs8: &[u8]) -> Result<Vec<u8>, SealedKeyError> {
    let aead = master_aead(master).ok_or(SealedKeyError::Seal)?;
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SealedKeyError::Seal)?;
    let mut in_out = pkcs8.to_vec();
    aead.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(SEAL_AAD),
        &mut in_out,
    )
    .map_err(|_| SealedKeyError::Seal)?;
    let mut sealed = Vec::with_capacity(NONCE_LEN + in_out.len());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&in_out);
    Ok(sealed)
}

/// Opens what [`seal_private_key`] made.
///
/// # Errors
/// [`SealedKeyError::Open`] for a wrong master key or damaged data.
pub fn open_private_key(
    master: &[u8; 32],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealedKeyError> {
    let aead = master_aead(master).ok_or(SealedKeyError::Open)?;
    let (nonce, body) = sealed
        .split_at_checked(NONCE_LEN)
        .ok_or(SealedKeyError::Open)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealedKeyError::Open)?;
    let mut in_out = Zeroizing::new(body.to_vec());
    let len = aead
        .open_in_place(nonce, Aad::from(SEAL_AAD), &mut in_out)
        .map_err(|_| SealedKeyError::Open)?
        .len();
    in_out.truncate(len);
    Ok(in_out)
}

/// An inbound confidential field could not be decrypted (`encrypted_field_invalid`).
///
/// A unit on purpose: which step failed (shape, base64, key, padding, tag, UTF-8, JSON) is never
/// told, so the error cannot serve as a padding oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an encrypted field could not be decrypted")]
pub struct EncryptedFieldInvalid;

/// Decrypts the inbound confidential fields named by `pointers` (RFC 6901) in place with the
/// system keys (the current one first, then those in their grace period).
///
/// Each named field must be a string. Five dot-separated parts make a compact JWE (`alg`
/// `RSA-OAEP-256` and `enc` `A256GCM` only; a `kid` picks the key, else every key is tried);
/// anything else is read as standard base64 of an RSA-OAEP (SHA-256, MGF1-SHA-256, no label)
/// ciphertext, tried with every key. The field becomes the plaintext string, or, for a JWE with
/// `cty: json`, the JSON value it holds. An absent field stays absent.
///
/// **PKCS#1 v1.5 is never attempted.** Decrypting attacker-chosen PKCS#1 v1.5 ciphertexts and
/// letting the result be observed (an error, a different status, even different timing) is a
/// padding oracle: Bleichenbacher (1998) and its timing variant Marvin (2023) recover the
/// plaintext, or forge a signature, from enough such queries, and aws-lc-rs reports bad PKCS#1
/// padding as its own failure. So a PKCS#1 ciphertext sent here is only ever fed to OAEP
/// decryption, where it fails like any other garbage, with the same error.
///
/// # Errors
/// [`EncryptedFieldInvalid`] for every failure, with no detail. On error the document may be
/// partly decrypted: the caller must refuse the request, not forward it.
pub fn decrypt_fields(
    doc: &mut Value,
    pointers: &[String],
    keys: &[&SystemKey],
) -> Result<(), EncryptedFieldInvalid> {
    for pointer in pointers {
        if let Some(field) = doc.pointer_mut(pointer) {
            let Value::String(text) = field else {
                return Err(EncryptedFieldInvalid);
            };
            let plain = decrypt_one(text, keys)?;
            *field = plain;
        }
    }
    Ok(())
}

fn decrypt_one(text: &str, keys: &[&SystemKey]) -> Result<Value, EncryptedFieldInvalid> {
    serde_json::from_str(&decrypt_one_json(text, keys)?).map_err(|_| EncryptedFieldInvalid)
}

/// Decrypts one field to the JSON text that replaces it: a JSON string of the plaintext, or,
/// for a JWE with `cty: json`, the plaintext itself once checked to be one JSON value (so its
/// numbers keep every digit).
fn decrypt_one_json(text: &str, keys: &[&SystemKey]) -> Result<String, EncryptedFieldInvalid> {
    let (plaintext, is_json) = if text.split('.').count() == 5 {
        let jwe = ParsedJwe::parse(text).map_err(|_| EncryptedFieldInvalid)?;
        let candidates: Vec<&SystemKey> = match jwe.header().kid.as_deref() {
            Some(kid) => keys.iter().copied().filter(|k| k.kid() == kid).collect(),
            None => keys.to_vec(),
        };
        let decrypted = candidates
            .iter()
            .find_map(|k| jwe.decrypt(k.oaep(), JweKeyAlg::RsaOaep256).ok())
            .ok_or(EncryptedFieldInvalid)?;
        let is_json = matches!(
            decrypted.cty.as_deref(),
            Some(cty) if cty.eq_ignore_ascii_case("json") || cty.eq_ignore_ascii_case("application/json")
        );
        (decrypted.plaintext, is_json)
    } else {
        let ciphertext = b64_std_decode(text).ok_or(EncryptedFieldInvalid)?;
        let plaintext = keys
            .iter()
            .find_map(|k| {
                let mut out = Zeroizing::new(vec![0u8; k.oaep().min_output_size()]);
                let len = k
                    .oaep()
                    .decrypt(&OAEP_SHA256_MGF1SHA256, &ciphertext, &mut out, None)
                    .ok()?
                    .len();
                out.get(..len).map(<[u8]>::to_vec)
            })
            .ok_or(EncryptedFieldInvalid)?;
        (plaintext, false)
    };
    let text = String::from_utf8(plaintext).map_err(|_| EncryptedFieldInvalid)?;
    if is_json {
        serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(|_| EncryptedFieldInvalid)?;
        Ok(text)
    } else {
        serde_json::to_string(&text).map_err(|_| EncryptedFieldInvalid)
    }
}

/// Why a request body's confidential fields could not be decrypted where they stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestFieldsError {
    /// The body is not one JSON document.
    #[error("this route takes a JSON body with encrypted fields")]
    NotJson,
    /// A key on the way to a confidential field appears twice in its object, or one field lies
    /// inside another: which bytes would the upstream read?
    #[error("the JSON body is ambiguous: a key on the way to an encrypted field appears twice, or one encrypted field lies inside another")]
    Ambiguous,
    /// A field is not a string, or does not decrypt.
    #[error(transparent)]
    Invalid(#[from] EncryptedFieldInvalid),
}

/// [`decrypt_fields`] on the JSON text itself: only the named values change, every other byte
/// of the body reaches the upstream as the client sent (and signed) it — numbers beyond `f64`,
/// key order, spacing (docs/gateway.md, "Confidential fields").
///
/// # Errors
/// [`RequestFieldsError`]; the caller must then forward nothing.
pub fn decrypt_fields_in_json<'a>(
    json: &'a [u8],
    pointers: &[String],
    keys: &[&SystemKey],
) -> Result<std::borrow::Cow<'a, [u8]>, RequestFieldsError> {
    let is_json = || serde_json::from_slice::<serde::de::IgnoredAny>(json).is_ok();
    let spliced = splice(json, pointers, |_, raw| {
        let Ok(Text(text)) = serde_json::from_str::<Text<'_>>(raw) else {
            return Err(EncryptedFieldInvalid);
        };
        decrypt_one_json(&text, keys)
    });
    match spliced {
        Ok(Some(out)) => Ok(std::borrow::Cow::Owned(out)),
        Ok(None) if is_json() => Ok(std::borrow::Cow::Borrowed(json)),
        Ok(None) => Err(RequestFieldsError::NotJson),
        Err(SpliceError::Ambiguous) if is_json() => Err(RequestFieldsError::Ambiguous),
        Err(SpliceError::Ambiguous) => Err(RequestFieldsError::NotJson),
        Err(SpliceError::Replace(e)) => Err(e.into()),
    }
}
