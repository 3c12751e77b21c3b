//! keygate's own keys: `GET /system/public_key` and `GET /.well-known/jwks.json`, and the JWK
//! shape that key views share.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An RSA public key as a JWK (RFC 7517).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwk {
    /// Always `RSA`.
    #[schema(example = "RSA")]
    pub kty: String,
    /// The modulus, base64url.
    pub n: String,
    /// The public exponent, base64url.
    pub e: String,
    /// The key id: the RFC 7638 thumbprint for keygate's keys, the key's id for a client's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `RSA-OAEP-256` on keygate's own keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// `enc` on keygate's own keys.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

/// `data` of `/system/public_key`: the key clients encrypt confidential fields to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = SystemKeyData)]
pub struct SystemKey {
    /// The current key's id (its RFC 7638 thumbprint).
    pub kid: String,
    /// The key as SPKI PEM.
    pub public_key: String,
    /// The key as a JWK.
    pub jwk: Jwk,
    /// The encryption schemes keygate accepts: `jwe`, `rsa-oaep-256`.
    pub algorithms: Vec<String>,
}

/// The bare JWK Set of `/.well-known/jwks.json` (no envelope): the current key first, then the
/// keys still in their grace period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}
