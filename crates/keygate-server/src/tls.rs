//! TLS in (issue 11; docs/deployment.md, "TLS"): `serve` listens with rustls when
//! `tls_cert_file` and `tls_key_file` are set. TLS 1.2 and 1.3 only, rustls's safe default
//! suites on aws-lc-rs, HTTP/1.1. SIGHUP re-reads both files; the next handshake uses the new
//! certificate, open connections keep theirs, and a bad file keeps the old one (logged).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use keygate_client::tls::{load_certificates, load_private_key, TlsSetupError};
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// Builds the server configuration from the PEM files (the certificate file may hold the chain).
pub fn server_config(cert: &Path, key: &Path) -> Result<ServerConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Rustls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(load_certificates(cert)?, load_private_key(key)?)
        .map_err(|e| TlsSetupError::BadIdentity(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The node's current TLS configuration, replaced on SIGHUP.
pub struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<TlsAcceptor>,
}

impl TlsFiles {
    /// Loads both files; a start with a bad file fails, naming it.
    pub fn load(cert: &Path, key: &Path) -> Result<TlsFiles, TlsSetupError> {
        let config = server_config(cert, key)?;
        Ok(TlsFiles {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(TlsAcceptor::from(Arc::new(config))),
        })
    }

    /// The acceptor for the next handshake.
    pub fn acceptor(&self) -> TlsAcceptor {
        match self.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the files: the new certificate for new handshakes, or, when a file is bad, the
    /// old one kept and the reason logged.
    pub fn reload(&self) {
        // The key file is checked as at start (docs/deployment.md, "Secret files").
        if let Err(e) = crate::config::secret_file::check(&self.key, "tls_key_file") {
            tracing::warn!(error = %e, "the TLS key file is refused; keeping the current certificate");
            return;
        }
        match server_config(&self.cert, &self.key) {
            Ok(config) => {
                if let Ok(mut current) = self.current.write() {
                    *current = TlsAcceptor::from(Arc::new(config));
                }
                tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
            }
            Err(e) => tracing::warn!(
                error = %e,
                "the TLS certificate or key could not be loaded; keeping the current one"
            ),
        }
    }

    /// Reloads on every SIGHUP until the returned task is dropped with the node.
    pub fn reload_on_sighup(self: &Arc<Self>) -> std::io::Result<tokio::task::JoinHandle<()>> {
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let weak = Arc::downgrade(self);
        Ok(tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let Some(files) = weak.upgrade() else { break };
                files.reload();
            }
        }))
    }
}
