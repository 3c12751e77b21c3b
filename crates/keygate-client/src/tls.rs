//! TLS for keygate's outbound HTTPS (the client toward keygate, keygate toward its upstreams):
//! rustls on aws-lc-rs, the platform's roots plus an optional private CA, an optional client
//! certificate. Hostname verification is always on; TLS 1.2 and 1.3 only (rustls's defaults).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

/// Why a TLS client configuration could not be made. Names files, never their contents.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A CA, certificate or key file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file, as configured.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A CA or client-certificate file was read but holds no `CERTIFICATE` block.
    #[error("{path} holds no PEM certificate")]
    NoCertificate {
        /// The file, as configured.
        path: PathBuf,
    },
    /// The client-key file holds no private key in a PEM form rustls reads.
    #[error("{path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    NoPrivateKey {
        /// The file, as configured.
        path: PathBuf,
    },
    /// A certificate in the CA file was refused by the root store.
    #[error("{path}: a certificate is not usable as a trust anchor: {reason}")]
    BadCa {
        /// The CA file, as configured.
        path: PathBuf,
        /// rustls's reason (never the certificate's bytes).
        reason: String,
    },
    /// The client certificate and key were read but rustls refused them as a pair.
    #[error("the client certificate and key do not make a usable identity: {0}")]
    BadIdentity(String),
    /// rustls refused the configuration for another reason (its message).
    #[error("TLS setup failed: {0}")]
    Rustls(String),
}

/// What a TLS client trusts and shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsClientOptions {
    /// A PEM file of extra trusted CA certificates (a bank's internal CA), beside the
    /// platform's roots.
    pub ca_file: Option<PathBuf>,
    /// A client certificate (PEM, chain allowed) and its private key, for mutual TLS.
    pub identity: Option<(PathBuf, PathBuf)>,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsSetupError> {
    std::fs::read(path).map_err(|source| TlsSetupError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The certificates of a PEM file (at least one).
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let pem = read(path)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The private key of a PEM file.
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsSetupError::NoPrivateKey {
        path: path.to_owned(),
    })
}

/// A rustls client configuration: the platform's roots plus `ca_file`, and the identity.
pub fn client_config(options: &TlsClientOptions) -> Result<ClientConfig, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    // The platform's store; certificates it cannot parse are skipped, as browsers do.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = &options.ca_file {
        for cert in load_certificates(path)? {
            roots.add(cert).map_err(|e| TlsSetupError::BadCa {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        }
    }
    // An empty store (a container without CA roots, no CA file) is allowed: plain HTTP still
    // works, and an https peer then fails its handshake with "unknown issuer".
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?
        .with_root_certificates(roots);
    let mut config = match &options.identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(load_certificates(cert)?, load_private_key(key)?)
            .map_err(|e| TlsSetupError::BadIdentity(e.to_string()))?,
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Makes aws-lc-rs rustls's process-wide provider, so that any `reqwest::Client` made without
/// [`http_builder`] speaks TLS with it too (reqwest is built without a provider of its own:
/// one crypto library in the process). Idempotent.
pub fn install_crypto_provider() {
    // Err only when a provider is installed already, which is what we want.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A `reqwest` client builder that speaks TLS with `options`.
pub fn http_builder(options: &TlsClientOptions) -> Result<reqwest::ClientBuilder, TlsSetupError> {
    install_crypto_provider();
    let config = if *options == TlsClientOptions::default() {
        default_config()?
    } else {
        client_config(options)?
    };
    Ok(reqwest::Client::builder().use_preconfigured_tls(config))
}

/// The platform-roots configuration, read once per process (the store is a few hundred files).
fn default_config() -> Result<ClientConfig, TlsSetupError> {
    static DEFAULT: std::sync::OnceLock<Result<ClientConfig, String>> = std::sync::OnceLock::new();
    DEFAULT
        .get_or_init(|| client_config(&TlsClientOptions::default()).map_err(|e| e.to_string()))
        .clone()
        .map_err(TlsSetupError::Rustls)
}
