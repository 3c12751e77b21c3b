//! keygate's own key ring (docs/design.md §6 "The system key"): the master key, the sealed key pairs in the
//! database, first-start creation, rotation with a grace period.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use keygate_core::audit::{AuditEventType, NewAuditEvent, Origin};
use keygate_core::jose::{open_private_key, seal_private_key, SystemKey};
use keygate_core::model::UnixTime;
use keygate_store::Store;
use zeroize::Zeroizing;

use crate::config::{secret_file, SecretFileError, Settings};

/// Why the key ring could not be loaded. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// `KEYGATE_MASTER_KEY` is set but is not the base64 of 32 bytes.
    #[error("KEYGATE_MASTER_KEY must be the standard base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)")]
    MasterKeyEnv,
    /// `master_key_file` exists but is not the base64 of 32 bytes.
    #[error("the master key file {path} must hold the standard base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)")]
    MasterKeyFile {
        /// The file, as configured.
        path: String,
    },
    /// `master_key_file` could not be read, or created when missing.
    #[error("cannot read or create the master key file {path}: {source}")]
    MasterKeyIo {
        /// The file, as configured.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `master_key_file` is not a regular file, or others can read or change it.
    #[error("{0}")]
    MasterKeyFileOpen(#[from] SecretFileError),
    /// The master key given does not open the system key stored in the database (another
    /// node's master key is needed); the node refuses to start rather than make a new key.
    #[error("the master key cannot open the stored system key {kid}: this node was given a different master key than the one the system key was sealed with. Give every node sharing this database the same master key (KEYGATE_MASTER_KEY or master_key_file); keygate refuses to start rather than make a new key")]
    WrongMasterKey {
        /// The stored system key that would not open.
        kid: String,
    },
    /// A system key could not be generated, or a stored one is not a usable key.
    #[error("the system key could not be made or read: {0}")]
    Key(String),
    /// The system keys could not be read from or written to the database.
    #[error("database: {0}")]
    Store(#[from] keygate_store::StoreError),
}

/// The 32-byte master key, zeroized on drop.
pub type MasterKey = Zeroizing<[u8; 32]>;

fn decode_master(text: &str) -> Option<MasterKey> {
    let bytes = Zeroizing::new(STANDARD.decode(text.trim()).ok()?);
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return None;
    }
    key.copy_from_slice(&bytes);
    Some(key)
}

/// `KEYGATE_MASTER_KEY`, else the file `master_key_file`, created (mode 0600) with 32 random
/// bytes when missing.
pub fn load_master_key(settings: &Settings) -> Result<MasterKey, KeyringError> {
    if let Some(text) = &settings.master_key {
        return decode_master(&text.0).ok_or(KeyringError::MasterKeyEnv);
    }
    let path = &settings.master_key_file;
    let shown = path.display().to_string();
    let io = |source| KeyringError::MasterKeyIo {
        path: shown.clone(),
        source,
    };
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_master_file(path),
        Err(e) => Err(io(e)),
        Ok(metadata) => {
            // An existing file is refused when others can read or change it
            // (docs/deployment.md, "Secret files"); one keygate creates is 0600.
            secret_file::check_metadata(path, "master_key_file", &metadata)?;
            let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
            decode_master(&text).ok_or(KeyringError::MasterKeyFile { path: shown })
        }
    }
}

fn create_master_file(path: &Path) -> Result<MasterKey, KeyringError> {
    let shown = path.display().to_string();
    let io = |source| KeyringError::MasterKeyIo {
        path: shown.clone(),
        source,
    };
    let mut key = Zeroizing::new([0u8; 32]);
    aws_lc_rs::rand::fill(key.as_mut())
        .map_err(|_| KeyringError::Key("the system random generator failed".into()))?;
    let text = Zeroizing::new(STANDARD.encode(key.as_ref()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(text.as_bytes()).map_err(io)?;
            file.write_all(b"\n").map_err(io)?;
            file.sync_all().map_err(io)?;
            tracing::warn!(path = %shown, "created a new master key file; back it up: without it the system key cannot be opened");
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).map_err(io)?;
            decode_master(&text).ok_or(KeyringError::MasterKeyFile { path: shown })
        }
        Err(e) => Err(io(e)),
    }
}

/// The system keys a node holds opened: the current one (encrypts, published first) and the
/// retired ones still in their grace period (decrypt, published).
#[derive(Debug)]
pub struct Keyring {
    /// The newest key: callers encrypt confidential request fields to it; published first.
    pub current: Arc<SystemKey>,
    /// Retired keys in their grace period, with when they stop decrypting.
    pub previous: Vec<(Arc<SystemKey>, UnixTime)>,
}

impl Keyring {
    /// Every key that may decrypt at `now`: the current one first.
    pub fn decrypting(&self, now: UnixTime) -> Vec<&SystemKey> {
        std::iter::once(self.current.as_ref())
            .chain(
                self.previous
                    .iter()
                    .filter(|(_, until)| *until > now)
                    .map(|(k, _)| k.as_ref()),
            )
            .collect()
    }
}

fn open_row(
    master: &MasterKey,
    row: &keygate_store::SystemKeyRow,
) -> Result<SystemKey, KeyringError> {
    let pkcs8 = open_private_key(master, &row.sealed_private_key).map_err(|_| {
        KeyringError::WrongMasterKey {
            kid: row.kid.clone(),
        }
    })?;
    SystemKey::from_pkcs8_der(&pkcs8).map_err(|e| KeyringError::Key(e.to_string()))
}

/// A new key pair and its private half sealed under `master`.
fn seal_new(master: &MasterKey) -> Result<(SystemKey, Vec<u8>), KeyringError> {
    let key = SystemKey::generate().map_err(|e| KeyringError::Key(e.to_string()))?;
    let sealed = seal_private_key(master, &key.to_pkcs8_der())
        .map_err(|e| KeyringError::Key(e.to_string()))?;
    Ok((key, sealed))
}

/// Loads the key ring; on a database without a system key, makes the first one
/// (`create` = who makes it: keygate at start, or an operator) — concurrent first starts agree
/// on one key, and only the one that made it appends `system_key.created`.
pub async fn load_keyring(
    store: &Store,
    master: &MasterKey,
    now: UnixTime,
    grace_secs: i64,
    create: Option<&Origin>,
) -> Result<Keyring, KeyringError> {
    let mut rows = store.system_keys().await?;
    if let (true, Some(origin)) = (rows.is_empty(), create) {
        let (key, sealed) = seal_new(master)?;
        let event =
            NewAuditEvent::new(AuditEventType::SystemKeyCreated, origin).detail("kid", key.kid());
        if store
            .insert_first_system_key(key.kid(), &sealed, now, &[event])
            .await?
        {
            tracing::info!(kid = key.kid(), "made the system key");
        }
        rows = store.system_keys().await?;
    }
    let mut current = None;
    let mut previous = Vec::new();
    for row in &rows {
        match row.retired_at {
            None if current.is_none() => current = Some(Arc::new(open_row(master, row)?)),
            Some(retired) if retired.saturating_add(grace_secs) > now => {
                previous.push((
                    Arc::new(open_row(master, row)?),
                    retired.saturating_add(grace_secs),
                ));
            }
            _ => {}
        }
    }
    let current = current
        .ok_or_else(|| KeyringError::Key("the database holds no current system key".into()))?;
    Ok(Keyring { current, previous })
}

/// `keygate admin system-key rotate`: a new current key; the previous one keeps decrypting for
/// the grace period. Refuses when this master key cannot open the current key (so a node with a
/// wrong master key cannot rotate to a key the others cannot open).
pub async fn rotate(
    store: &Store,
    master: &MasterKey,
    now: UnixTime,
    origin: &Origin,
) -> Result<String, KeyringError> {
    let rows = store.system_keys().await?;
    let previous = rows.iter().find(|r| r.retired_at.is_none());
    if let Some(current) = previous {
        open_row(master, current)?;
    }
    let (key, sealed) = seal_new(master)?;
    let event = NewAuditEvent::new(AuditEventType::SystemKeyRotated, origin)
        .detail("kid", key.kid())
        .detail("previous_kid", previous.map(|r| r.kid.clone()));
    store
        .rotate_system_key(key.kid(), &sealed, now, &[event])
        .await?;
    Ok(key.kid().to_owned())
}
