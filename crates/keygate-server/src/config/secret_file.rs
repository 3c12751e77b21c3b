//! Files that hold a secret — `[[webhooks]] secret_file`, `master_key_file`, `tls_key_file`, a
//! route's `upstream_client_key_file` — are checked before they are read, as ssh checks a
//! private key (docs/deployment.md, "Secret files"). A symlink is followed (Kubernetes mounts
//! secrets as symlinks): the target's kind and mode count.
//!
//! The rule, in [`verdict`] (pure, so it is unit-tested without files):
//!
//! * not a regular file (a directory, a FIFO, a device): refused;
//! * writable by the group or by others: refused — whoever can write it can swap the secret;
//! * any access for others (`o+r`, and `o+w`/`o+x` with it): refused — every local user could
//!   read it;
//! * readable by the group only (`0640`, `0440`): accepted with a warning. A group is a grant an
//!   operator makes on purpose (PostgreSQL accepts `0640` for its own key for the same reason),
//!   and Kubernetes makes a secret `0440` whatever `defaultMode` says once the pod sets
//!   `fsGroup`: refusing it would leave no way to run there.

use std::fs::Metadata;
use std::path::Path;

/// Why a secret file is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a regular file (after following symlinks).
    NotAFile,
    /// The group or others may write it.
    Writable,
    /// Others (every local user) may read it.
    OthersCanRead,
}

/// What a secret file's kind and permission bits allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Only its owner has access: read it.
    Private,
    /// Its group may read it, nobody else: read it, and warn.
    GroupReadable,
    /// Do not start.
    Refused(Refusal),
}

/// The rule of the module docs, for a file of this kind and mode (the low 12 bits of
/// `st_mode`; other bits are ignored).
pub fn verdict(is_file: bool, mode: u32) -> Verdict {
    if !is_file {
        Verdict::Refused(Refusal::NotAFile)
    } else if mode & 0o022 != 0 {
        Verdict::Refused(Refusal::Writable)
    } else if mode & 0o007 != 0 {
        Verdict::Refused(Refusal::OthersCanRead)
    } else if mode & 0o070 != 0 {
        Verdict::GroupReadable
    } else {
        Verdict::Private
    }
}

/// A secret file that keygate will not read. The text names the setting, the file and its mode,
/// and how to fix it; never the file's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretFileError {
    /// The file could not be looked at (missing, no permission to its directory, …).
    #[error("{setting} {path}: cannot read it ({reason})")]
    Unreadable {
        /// The setting that names it, e.g. `webhooks[0].secret_file`.
        setting: String,
        /// The file, as configured.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// Not a regular file.
    #[error("{setting} {path} is not a regular file: point it at the file that holds the secret")]
    NotAFile {
        /// The setting that names it.
        setting: String,
        /// The file, as configured.
        path: String,
    },
    /// Other users may read or change it.
    #[error("{setting} {path} holds a secret but {who} (mode {mode:04o}); keygate refuses to start, as ssh does with such a key. Run `chmod 600 {path}` (on Kubernetes, set `defaultMode: 0400` on the secret's volume)")]
    TooOpen {
        /// The setting that names it.
        setting: String,
        /// The file, as configured.
        path: String,
        /// Its permission bits.
        mode: u32,
        /// Who has access that they should not: words for the message.
        who: &'static str,
    },
}

/// Checks the secret file `path`, named by the setting `setting`, before it is read: refused
/// per [`verdict`], or accepted (a group-readable one with a warning in the log).
pub fn check(path: &Path, setting: &str) -> Result<(), SecretFileError> {
    // `metadata` follows symlinks: the target's kind and mode are what protect the secret.
    let metadata = std::fs::metadata(path).map_err(|e| SecretFileError::Unreadable {
        setting: setting.to_owned(),
        path: path.display().to_string(),
        reason: e.kind().to_string(),
    })?;
    check_metadata(path, setting, &metadata)
}

/// [`check`] with the file's metadata already read (following symlinks).
pub fn check_metadata(
    path: &Path,
    setting: &str,
    metadata: &Metadata,
) -> Result<(), SecretFileError> {
    let mode = mode_of(metadata);
    let shown = || path.display().to_string();
    match verdict(metadata.is_file(), mode) {
        Verdict::Private => Ok(()),
        Verdict::GroupReadable => {
            tracing::warn!(
                setting,
                file = %path.display(),
                mode = %format!("{mode:04o}"),
                "a secret file is readable by its group: make sure only keygate's service is in that group, or chmod 600 it"
            );
            Ok(())
        }
        Verdict::Refused(Refusal::NotAFile) => Err(SecretFileError::NotAFile {
            setting: setting.to_owned(),
            path: shown(),
        }),
        Verdict::Refused(refusal) => Err(SecretFileError::TooOpen {
            setting: setting.to_owned(),
            path: shown(),
            mode,
            who: match refusal {
                Refusal::Writable => "other users can change it",
                _ => "other users can read it",
            },
        }),
    }
}

/// The permission bits.
#[cfg(unix)]
fn mode_of(metadata: &Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o7777
}

/// A platform without permission bits: "owner only" (the kind is still checked).
#[cfg(not(unix))]
fn mode_of(_: &Metadata) -> u32 {
    0o600
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owner_or_its_group_may_read_and_only_the_owner_write() {
        use Refusal::*;
        use Verdict::*;
        for (mode, expected) in [
            (0o600, Private),
            (0o400, Private),
            (0o700, Private),
            (0o640, GroupReadable),
            (0o440, GroupReadable),
            (0o610, GroupReadable),
            // Kubernetes' default defaultMode, and a plain umask-022 file.
            (0o644, Refused(OthersCanRead)),
            (0o604, Refused(OthersCanRead)),
            (0o601, Refused(OthersCanRead)),
            (0o444, Refused(OthersCanRead)),
            (0o660, Refused(Writable)),
            (0o620, Refused(Writable)),
            (0o602, Refused(Writable)),
            (0o666, Refused(Writable)),
            (0o777, Refused(Writable)),
            // setuid, setgid and sticky bits say nothing about who reads it.
            (0o4600, Private),
            (0o2640, GroupReadable),
        ] {
            assert_eq!(verdict(true, mode), expected, "{mode:04o}");
        }
        for mode in [0o600, 0o644, 0o700] {
            assert_eq!(verdict(false, mode), Refused(NotAFile), "{mode:04o}");
        }
    }

    #[test]
    fn the_refusal_names_the_setting_the_file_its_mode_and_the_fix() {
        let text = SecretFileError::TooOpen {
            setting: "webhooks[0].secret_file".into(),
            path: "/etc/keygate/hooks.secret".into(),
            mode: 0o644,
            who: "other users can read it",
        }
        .to_string();
        for words in [
            "webhooks[0].secret_file /etc/keygate/hooks.secret",
            "other users can read it",
            "mode 0644",
            "chmod 600 /etc/keygate/hooks.secret",
            "defaultMode: 0400",
        ] {
            assert!(text.contains(words), "{words}: {text}");
        }
    }
}
