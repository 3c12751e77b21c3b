//! What a client of keygate does with its own RSA key: make one, sign requests (docs/design.md §5),
//! decrypt confidential response fields and encrypt confidential request fields (§6).
//!
//! All RSA is aws-lc-rs. The client may decrypt PKCS#1 v1.5 (`rsa-pkcs1`) because it owns the
//! key and is not answering anyone's decryption queries; keygate itself never does.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    KeySize, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, Pkcs1PrivateDecryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey, OAEP_SHA256_MGF1SHA256,
};
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair};
use keygate_core::jose::{
    b64_std_decode, b64_std_encode, b64url_encode, decrypt_compact_jwe, encrypt_compact_jwe,
    sha256_b64url, JweKeyAlg, Scheme, SigAlg,
};
use serde_json::Value;

/// A client-side cryptography failure. Never carries key material or plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientCryptoError {
    /// The PEM is not one block of the expected kind.
    #[error("the PEM is not a {0} block")]
    Pem(&'static str),
    /// aws-lc-rs refused the key.
    #[error("the key is not an RSA key aws-lc-rs accepts")]
    KeyRejected,
    /// Key generation failed.
    #[error("generating the RSA key failed")]
    Generation,
    /// Signing failed.
    #[error("signing failed")]
    Sign,
    /// Encryption failed, or the plaintext is too long for a raw RSA scheme.
    #[error("encryption failed (for rsa-oaep-256 the plaintext must fit in one RSA block)")]
    Encrypt,
    /// Decryption failed.
    #[error("the field could not be decrypted")]
    Decrypt,
    /// The scheme cannot be used in this direction (`rsa-pkcs1` toward keygate).
    #[error("keygate does not accept rsa-pkcs1 in requests; use jwe or rsa-oaep-256")]
    SchemeNotAllowed,
}

/// A client's RSA private key, parsed once for signing and decrypting.
pub struct ClientPrivateKey {
    signing: RsaKeyPair,
    decrypting: PrivateDecryptingKey,
}

impl std::fmt::Debug for ClientPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientPrivateKey").finish_non_exhaustive()
    }
}

impl ClientPrivateKey {
    /// From PKCS#8 DER.
    ///
    /// # Errors
    /// [`ClientCryptoError::KeyRejected`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, ClientCryptoError> {
        Ok(Self {
            signing: RsaKeyPair::from_pkcs8(der).map_err(|_| ClientCryptoError::KeyRejected)?,
            decrypting: PrivateDecryptingKey::from_pkcs8(der)
                .map_err(|_| ClientCryptoError::KeyRejected)?,
        })
    }

    /// From PKCS#1 `RSAPrivateKey` DER.
    ///
    /// # Errors
    /// [`ClientCryptoError::KeyRejected`].
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, ClientCryptoError> {
        let signing = RsaKeyPair::from_der(der).map_err(|_| ClientCryptoError::KeyRejected)?;
        let pkcs8 = signing
            .as_der()
            .map_err(|_| ClientCryptoError::KeyRejected)?;
        Self::from_pkcs8_der(pkcs8.as_ref())
    }

    /// From a `-----BEGIN PRIVATE KEY-----` (PKCS#8) PEM, what `openssl genrsa` writes in
    /// OpenSSL 3.
    ///
    /// # Errors
    /// [`ClientCryptoError::Pem`] or [`ClientCryptoError::KeyRejected`].
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, ClientCryptoError> {
        let der = decode_pem(pem, "PRIVATE KEY")?;
        Self::from_pkcs8_der(&der)
    }

    /// From a `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1) PEM.
    ///
    /// # Errors
    /// [`ClientCryptoError::Pem`] or [`ClientCryptoError::KeyRejected`].
    pub fn from_pkcs1_pem(pem: &str) -> Result<Self, ClientCryptoError> {
        let der = decode_pem(pem, "RSA PRIVATE KEY")?;
        Self::from_pkcs1_der(&der)
    }

    /// SHA-256 of this key's public half as a SubjectPublicKeyInfo, in the status table's
    /// `fingerprint_sha256` form: which registered key this private key belongs to.
    ///
    /// # Errors
    /// [`ClientCryptoError::KeyRejected`] if the public half cannot be encoded.
    pub fn public_fingerprint_sha256(&self) -> Result<String, ClientCryptoError> {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair;
        let spki = self
            .signing
            .public_key()
            .as_der()
            .map_err(|_| ClientCryptoError::KeyRejected)?;
        Ok(keygate_core::public_key::fingerprint(spki.as_ref()))
    }

    /// From either PEM form, chosen by its label.
    ///
    /// # Errors
    /// [`ClientCryptoError::Pem`] or [`ClientCryptoError::KeyRejected`].
    pub fn from_pem(pem: &str) -> Result<Self, ClientCryptoError> {
        match pem_rfc7468::decode_label(pem.trim().as_bytes()) {
            Ok("RSA PRIVATE KEY") => Self::from_pkcs1_pem(pem),
            _ => Self::from_pkcs8_pem(pem),
        }
    }

    /// The public half as SubjectPublicKeyInfo DER.
    ///
    /// # Errors
    /// [`ClientCryptoError::KeyRejected`] if it cannot be encoded.
    pub fn public_spki_der(&self) -> Result<Vec<u8>, ClientCryptoError> {
        self.signing
            .public_key()
            .as_der()
            .map(|der| der.as_ref().to_vec())
            .map_err(|_| ClientCryptoError::KeyRejected)
    }
}

fn decode_pem(pem: &str, label: &'static str) -> Result<Vec<u8>, ClientCryptoError> {
    let (found, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes())
        .map_err(|_| ClientCryptoError::Pem(label))?;
    if found != label {
        return Err(ClientCryptoError::Pem(label));
    }
    Ok(der)
}

fn encode_pem(label: &str, der: &[u8]) -> Result<String, ClientCryptoError> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
        .map_err(|_| ClientCryptoError::Generation)
}

/// A freshly made key pair, as PEM.
#[derive(Clone)]
pub struct GeneratedKeyPair {
    /// `-----BEGIN PRIVATE KEY-----` (PKCS#8). Keep it secret.
    pub private_pkcs8_pem: String,
    /// `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo): what you upload to keygate.
    pub public_spki_pem: String,
}

impl std::fmt::Debug for GeneratedKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKeyPair")
            .field("public_spki_pem", &self.public_spki_pem)
            .finish_non_exhaustive()
    }
}

/// Makes an RSA-2048 key pair (e = 65537).
///
/// # Errors
/// [`ClientCryptoError::Generation`].
pub fn generate_rsa_2048() -> Result<GeneratedKeyPair, ClientCryptoError> {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| ClientCryptoError::Generation)?;
    let pkcs8 = pair.as_der().map_err(|_| ClientCryptoError::Generation)?;
    let spki = pair
        .public_key()
        .as_der()
        .map_err(|_| ClientCryptoError::Generation)?;
    Ok(GeneratedKeyPair {
        private_pkcs8_pem: encode_pem("PRIVATE KEY", pkcs8.as_ref())?,
        public_spki_pem: encode_pem("PUBLIC KEY", spki.as_ref())?,
    })
}

/// Makes the `X-Request-Signature` JWS of docs/design.md §5: header `{"alg":…,"typ":"JWT"[,"kid":…]}`,
/// claims `iat`, `jti`, `htm`, `htu`, `body_sha256` and, when a bearer token is given, `ath`.
///
/// # Errors
/// [`ClientCryptoError::Sign`].
#[allow(clippy::too_many_arguments)]
pub fn sign_request(
    key: &ClientPrivateKey,
    alg: SigAlg,
    kid: Option<&str>,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    bearer_token: Option<&str>,
    now: i64,
    jti: &str,
) -> Result<String, ClientCryptoError> {
    let mut header = serde_json::Map::new();
    header.insert("alg".into(), alg.name().into());
    header.insert("typ".into(), "JWT".into());
    if let Some(kid) = kid {
        header.insert("kid".into(), kid.into());
    }
    let mut claims = serde_json::Map::new();
    claims.insert("iat".into(), now.into());
    claims.insert("jti".into(), jti.into());
    claims.insert("htm".into(), method.into());
    claims.insert("htu".into(), path_and_query.into());
    claims.insert("body_sha256".into(), sha256_b64url(body).into());
    if let Some(token) = bearer_token {
        claims.insert("ath".into(), sha256_b64url(token.as_bytes()).into());
    }
    sign_jws(key, alg, &Value::Object(header), &Value::Object(claims))
}

/// Signs any JSON header and claims as a compact JWS with `alg` (the header's `alg` is not
/// checked against it: this is also how tests make deliberately wrong tokens).
///
/// # Errors
/// [`ClientCryptoError::Sign`].
pub fn sign_jws(
    key: &ClientPrivateKey,
    alg: SigAlg,
    header: &Value,
    claims: &Value,
) -> Result<String, ClientCryptoError> {
    let signing_input = format!(
        "{}.{}",
        b64url_encode(header.to_string()),
        b64url_encode(claims.to_string())
    );
    let mut signature = vec![0u8; key.signing.public_modulus_len()];
    key.signing
        .sign(
            alg.signing_encoding(),
            &SystemRandom::new(),
            signing_input.as_bytes(),
            &mut signature,
        )
        .map_err(|_| ClientCryptoError::Sign)?;
    Ok(format!("{signing_input}.{}", b64url_encode(signature)))
}

/// Decrypts a confidential response field made with `scheme`, giving its plaintext text (for a
/// non-string value, its compact JSON text).
///
/// # Errors
/// [`ClientCryptoError::Decrypt`].
pub fn decrypt_field(
    key: &ClientPrivateKey,
    value: &str,
    scheme: Scheme,
) -> Result<String, ClientCryptoError> {
    let plaintext = match scheme {
        Scheme::Jwe => {
            decrypt_compact_jwe(value, &key.decrypting, JweKeyAlg::RsaOaep256)
                .map_err(|_| ClientCryptoError::Decrypt)?
                .plaintext
        }
        Scheme::RsaOaep256 => {
            let ct = b64_std_decode(value).ok_or(ClientCryptoError::Decrypt)?;
            let oaep = OaepPrivateDecryptingKey::new(key.decrypting.clone())
                .map_err(|_| ClientCryptoError::Decrypt)?;
            let mut out = vec![0u8; oaep.min_output_size()];
            oaep.decrypt(&OAEP_SHA256_MGF1SHA256, &ct, &mut out, None)
                .map_err(|_| ClientCryptoError::Decrypt)?
                .to_vec()
        }
        Scheme::RsaPkcs1 => {
            let ct = b64_std_decode(value).ok_or(ClientCryptoError::Decrypt)?;
            let pkcs1 = Pkcs1PrivateDecryptingKey::new(key.decrypting.clone())
                .map_err(|_| ClientCryptoError::Decrypt)?;
            let mut out = vec![0u8; pkcs1.min_output_size()];
            pkcs1
                .decrypt(&ct, &mut out)
                .map_err(|_| ClientCryptoError::Decrypt)?
                .to_vec()
        }
    };
    String::from_utf8(plaintext).map_err(|_| ClientCryptoError::Decrypt)
}

/// keygate's system public key, from `GET /system/public_key`, as PEM or DER.
fn system_public_key(system_key: &[u8]) -> Result<OaepPublicEncryptingKey, ClientCryptoError> {
    let der = match std::str::from_utf8(system_key) {
        Ok(pem) if pem.trim_start().starts_with("-----BEGIN") => decode_pem(pem, "PUBLIC KEY")?,
        _ => system_key.to_vec(),
    };
    let public = PublicEncryptingKey::from_der(&der).map_err(|_| ClientCryptoError::KeyRejected)?;
    OaepPublicEncryptingKey::new(public).map_err(|_| ClientCryptoError::KeyRejected)
}

/// Encrypts a confidential request field's text for keygate's system key (`system_key`: its
/// SPKI as DER or PEM) with `jwe` (`kid` goes into the header) or `rsa-oaep-256`.
///
/// # Errors
/// [`ClientCryptoError::SchemeNotAllowed`] for `rsa-pkcs1`; [`ClientCryptoError::KeyRejected`];
/// [`ClientCryptoError::Encrypt`].
pub fn encrypt_for_system(
    system_key: &[u8],
    plaintext: &str,
    scheme: Scheme,
    kid: Option<&str>,
) -> Result<String, ClientCryptoError> {
    encrypt_bytes_for_system(system_key, plaintext.as_bytes(), false, scheme, kid)
}

/// Like [`encrypt_for_system`] for any JSON value: a string as its text, anything else as its
/// compact JSON (with `cty: json` in a JWE, so keygate restores the value).
///
/// # Errors
/// As [`encrypt_for_system`].
pub fn encrypt_value_for_system(
    system_key: &[u8],
    value: &Value,
    scheme: Scheme,
    kid: Option<&str>,
) -> Result<String, ClientCryptoError> {
    match value {
        Value::String(s) => encrypt_for_system(system_key, s, scheme, kid),
        other => {
            encrypt_bytes_for_system(system_key, other.to_string().as_bytes(), true, scheme, kid)
        }
    }
}

fn encrypt_bytes_for_system(
    system_key: &[u8],
    plaintext: &[u8],
    cty_json: bool,
    scheme: Scheme,
    kid: Option<&str>,
) -> Result<String, ClientCryptoError> {
    let key = system_public_key(system_key)?;
    match scheme {
        Scheme::Jwe => encrypt_compact_jwe(&key, kid, cty_json, plaintext)
            .map_err(|_| ClientCryptoError::Encrypt),
        Scheme::RsaOaep256 => {
            let mut out = vec![0u8; key.ciphertext_size()];
            let ct = key
                .encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, None)
                .map_err(|_| ClientCryptoError::Encrypt)?;
            Ok(b64_std_encode(ct))
        }
        Scheme::RsaPkcs1 => Err(ClientCryptoError::SchemeNotAllowed),
    }
}

#[cfg(test)]
mod tests;
