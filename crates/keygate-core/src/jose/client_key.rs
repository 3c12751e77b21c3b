//! A client's registered RSA public key, parsed once.

use aws_lc_rs::rsa::{OaepPublicEncryptingKey, Pkcs1PublicEncryptingKey, PublicEncryptingKey};
use aws_lc_rs::signature::ParsedPublicKey;
use std::sync::OnceLock;

use uuid::Uuid;

use super::alg::SigAlg;
use super::jwe::protected_header_b64;

/// Why a SubjectPublicKeyInfo could not become a [`ClientKey`].
///
/// Upload validation (docs/design.md §3) happens before this; these errors mean the stored key is
/// not usable by aws-lc-rs at all. They never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientKeyError {
    /// The bytes are not a DER SubjectPublicKeyInfo holding an RSA key aws-lc-rs accepts.
    #[error("the public key is not an RSA SubjectPublicKeyInfo that aws-lc-rs accepts")]
    Unparseable,
    /// The modulus is outside 2048..=8192 bits.
    #[error("the RSA key has {0} bits; 2048 to 8192 are supported")]
    UnsupportedSize(usize),
}

/// A client's RSA public key with the aws-lc-rs objects the hot path needs, each parsed once,
/// when first used.
///
/// The OAEP key (response fields) is built at once; a [`ParsedPublicKey`] per signature
/// algorithm (RS256/384/512, PS256/384/512) and the PKCS#1 v1.5 key are parsed on first use and
/// kept. A client signs with one algorithm, so a cached key holds two parsed keys instead of
/// eight (about 9.4 KiB → a third of it a key; BENCHMARKS.md, "Key cache memory"), while
/// verifying a request or encrypting a field still never parses the key twice. `Send + Sync`;
/// share it in an `Arc`.
pub struct ClientKey {
    id: Uuid,
    kid: String,
    bits: usize,
    /// The SubjectPublicKeyInfo, for the keys parsed on first use.
    spki_der: Box<[u8]>,
    verifiers: [OnceLock<Option<ParsedPublicKey>>; 6],
    oaep: OaepPublicEncryptingKey,
    pkcs1: OnceLock<Option<Pkcs1PublicEncryptingKey>>,
    /// base64url of the JWE protected header for this key: `[0]` for a string field, `[1]`
    /// with `cty: json`. The same for every field, so encoded once.
    jwe_headers: [String; 2],
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("id", &self.id)
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// Parses `spki_der` (an RSA SubjectPublicKeyInfo, DER) for key `id`.
    ///
    /// # Errors
    /// [`ClientKeyError`] when the bytes are not an RSA SPKI or the size is outside 2048..=8192.
    pub fn from_spki_der(spki_der: &[u8], id: Uuid) -> Result<Self, ClientKeyError> {
        // `PublicEncryptingKey::from_der` accepts only SubjectPublicKeyInfo (RFC 5280), which
        // pins the input format; the signature keys below would also accept bare PKCS#1.
        let public =
            PublicEncryptingKey::from_der(spki_der).map_err(|_| ClientKeyError::Unparseable)?;
        let bits = public.key_size_bits();
        if !(2048..=8192).contains(&bits) {
            return Err(ClientKeyError::UnsupportedSize(bits));
        }
        // The signature keys are parsed on first use; one is tried now, so a key aws-lc-rs
        // would not verify with is refused here, as before, and not at the first call.
        ParsedPublicKey::new(SigAlg::RS256.verification_algorithm(), spki_der)
            .map_err(|_| ClientKeyError::Unparseable)?;
        let oaep = OaepPublicEncryptingKey::new(public).map_err(|_| ClientKeyError::Unparseable)?;
        let kid = id.to_string();
        let header = |cty_json| {
            protected_header_b64(Some(&kid), cty_json).map_err(|_| ClientKeyError::Unparseable)
        };
        let jwe_headers = [header(false)?, header(true)?];
        Ok(Self {
            id,
            kid,
            bits,
            spki_der: spki_der.into(),
            verifiers: Default::default(),
            oaep,
            pkcs1: OnceLock::new(),
            jwe_headers,
        })
    }

    /// The key's id (the `kid` of JWS headers and of the JWEs made for it).
    #[must_use]
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The key's id as the hyphenated lowercase string used as `kid`.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Modulus size in bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The verifying key for `alg`, parsed on first use (`None` only if aws-lc-rs refuses a
    /// key it accepted at construction: then nothing verifies).
    pub(crate) fn verifier(&self, alg: SigAlg) -> Option<&ParsedPublicKey> {
        self.verifiers
            .get(alg.index())?
            .get_or_init(|| ParsedPublicKey::new(alg.verification_algorithm(), &self.spki_der).ok())
            .as_ref()
    }

    pub(crate) fn oaep(&self) -> &OaepPublicEncryptingKey {
        &self.oaep
    }

    /// The encoded JWE protected header for this key (with `cty: json` when `cty_json`).
    pub(crate) fn jwe_header_b64(&self, cty_json: bool) -> &str {
        &self.jwe_headers[usize::from(cty_json)]
    }

    /// The PKCS#1 v1.5 encrypting key (`rsa-pkcs1` routes only), parsed on first use.
    pub(crate) fn pkcs1(&self) -> Option<&Pkcs1PublicEncryptingKey> {
        self.pkcs1
            .get_or_init(|| {
                PublicEncryptingKey::from_der(&self.spki_der)
                    .ok()
                    .and_then(|public| Pkcs1PublicEncryptingKey::new(public).ok())
            })
            .as_ref()
    }
}
