//! JOSE for keygate: signed requests (JWS, docs/design.md §5) and confidential fields (JWE and
//! raw RSA, docs/design.md §6), built on aws-lc-rs only.
//!
//! Everything here is pure: no I/O, no clock (`now` is an argument), no async. Randomness comes
//! from `aws_lc_rs::rand`.
//!
//! * [`ClientKey`]: a client's registered RSA public key, parsed once into every aws-lc-rs object
//!   the hot path needs.
//! * [`verify_signed_request`]: the `X-Request-Signature` check of §5 (replay detection is the
//!   caller's job, using the returned `jti`); [`check_signed_request`], the same steps reported
//!   one by one for the self-check.
//! * [`encrypt_fields_in_json`] (and [`encrypt_fields`] on a parsed `Value`): response field
//!   encryption of §6 (`jwe`, `rsa-oaep-256`, `rsa-pkcs1`).
//! * [`SystemKey`] and [`decrypt_fields`]: keygate's own key for inbound confidential fields
//!   (`jwe` and `rsa-oaep-256` only; never PKCS#1 v1.5).
//!
//! Imports between the modules point one way, each naming only those before it:
//! `b64`, `alg`, `signature_error`, `jwe`, `client_key`, `jws`, `steps`, `signed_request`,
//! `self_check`, `fields`, `splice`, `system_key` (docs/architecture.md).

mod alg;
mod b64;
mod client_key;
mod fields;
mod jwe;
mod jws;
mod self_check;
mod signature_error;
mod signed_request;
mod splice;
mod steps;
mod system_key;

#[cfg(test)]
mod splice_tests;
#[cfg(test)]
mod test_vectors;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wycheproof_tests;

pub use alg::SigAlg;
pub use b64::{b64_std_decode, b64_std_encode, b64url_decode, b64url_encode, sha256_b64url};
pub use client_key::{ClientKey, ClientKeyError};
pub use fields::{encrypt_fields, encrypt_value, FieldError, Scheme};
pub use jwe::{
    decrypt_compact_jwe, encrypt_compact_jwe, DecryptedJwe, JweDecryptError, JweEncryptError,
    JweKeyAlg,
};
pub use jws::{jws_header_kid, verify_jws_signature, JwsHeader, VerifiedJws};
pub use self_check::{check_signed_request, Outcome, SignedRequestReport};
pub use signature_error::{InvalidReason, SignatureError, StaleReason};
pub use signed_request::{
    verify_signed_request, verify_signed_request_by_any, RequestFacts, SignaturePolicy,
    VerifiedSignature,
};
pub use splice::{encrypt_fields_in_json, FieldsInJson};
pub use steps::{Check, Found};
pub use system_key::{
    decrypt_fields, decrypt_fields_in_json, jwk_thumbprint, open_private_key, rsa_components,
    seal_private_key, EncryptedFieldInvalid, RequestFieldsError, SealedKeyError, SystemKey,
    SystemKeyError,
};
