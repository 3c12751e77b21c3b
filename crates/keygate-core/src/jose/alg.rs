//! The RSA signature algorithms of JWS. Below [`super::client_key`] and [`super::jws`], which
//! both name them: imports in `jose` point one way (docs/architecture.md).

use aws_lc_rs::signature::{self, RsaParameters};

/// The RSA JWS algorithms keygate can verify (RFC 7518 §3.3 and §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SigAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, 32-byte salt.
    PS256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384, 48-byte salt.
    PS384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512, 64-byte salt.
    PS512,
}

impl SigAlg {
    /// Every algorithm, in a fixed order.
    pub const ALL: [SigAlg; 6] = [
        SigAlg::RS256,
        SigAlg::RS384,
        SigAlg::RS512,
        SigAlg::PS256,
        SigAlg::PS384,
        SigAlg::PS512,
    ];

    /// The JOSE name (`RS256`, …).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SigAlg::RS256 => "RS256",
            SigAlg::RS384 => "RS384",
            SigAlg::RS512 => "RS512",
            SigAlg::PS256 => "PS256",
            SigAlg::PS384 => "PS384",
            SigAlg::PS512 => "PS512",
        }
    }

    /// Parses a JOSE name; `None` for anything else (including `none` and `HS*`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<SigAlg> {
        SigAlg::ALL.into_iter().find(|alg| alg.name() == name)
    }

    pub(crate) fn index(self) -> usize {
        match self {
            SigAlg::RS256 => 0,
            SigAlg::RS384 => 1,
            SigAlg::RS512 => 2,
            SigAlg::PS256 => 3,
            SigAlg::PS384 => 4,
            SigAlg::PS512 => 5,
        }
    }

    /// The aws-lc-rs verification parameters (2048–8192-bit keys; PSS salt = hash length).
    #[must_use]
    pub fn verification_algorithm(self) -> &'static RsaParameters {
        match self {
            SigAlg::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            SigAlg::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            SigAlg::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            SigAlg::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            SigAlg::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
            SigAlg::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        }
    }

    /// The aws-lc-rs signing encoding for this algorithm (used by clients and tests).
    #[must_use]
    pub fn signing_encoding(self) -> &'static dyn signature::RsaEncoding {
        match self {
            SigAlg::RS256 => &signature::RSA_PKCS1_SHA256,
            SigAlg::RS384 => &signature::RSA_PKCS1_SHA384,
            SigAlg::RS512 => &signature::RSA_PKCS1_SHA512,
            SigAlg::PS256 => &signature::RSA_PSS_SHA256,
            SigAlg::PS384 => &signature::RSA_PSS_SHA384,
            SigAlg::PS512 => &signature::RSA_PSS_SHA512,
        }
    }
}

impl std::fmt::Display for SigAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
