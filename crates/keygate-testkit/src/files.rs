//! Files a test makes unwritable, and gives back when it ends; secret files with a chosen mode.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The immutable flag on a file (refused even to root, even through descriptors opened
/// before), removed when dropped: a file nobody may write.
#[derive(Debug)]
pub struct Immutable(PathBuf);

impl Immutable {
    /// Sets the flag on `file` and checks that it cannot be opened for writing.
    pub fn set(file: &Path) -> Immutable {
        let out = Command::new("chattr").arg("+i").arg(file).output();
        assert!(
            out.as_ref().is_ok_and(|o| o.status.success()),
            "this test needs `chattr +i` (root, on ext4/xfs/btrfs) to make {} unwritable: {out:?}",
            file.display()
        );
        let guard = Immutable(file.to_path_buf());
        assert!(
            std::fs::OpenOptions::new().append(true).open(file).is_err(),
            "{} is still writable",
            file.display()
        );
        guard
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).output();
    }
}

/// Makes a file unwritable for this process, even as root: the immutable flag when `chattr`
/// can set it (root), else mode 0400 (enough for any other user). Undone when dropped.
#[derive(Debug)]
pub struct Unwritable(PathBuf, bool);

impl Unwritable {
    /// Makes `file` unwritable; fails the test when it is still writable.
    pub fn make(file: &Path) -> Unwritable {
        let immutable = Command::new("chattr")
            .arg("+i")
            .arg(file)
            .output()
            .is_ok_and(|out| out.status.success());
        if !immutable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o400)).unwrap();
        }
        let guard = Unwritable(file.to_path_buf(), immutable);
        assert!(
            std::fs::OpenOptions::new().append(true).open(file).is_err(),
            "{} is still writable: the test would not exercise the failure \
             (as root it needs `chattr +i`, on a file system that supports it)",
            file.display()
        );
        guard
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        if self.1 {
            let _ = Command::new("chattr").arg("-i").arg(&self.0).output();
        }
    }
}

/// Writes `text` to `file` with mode 0600, as an operator keeps a secret (keygate refuses a
/// secret file others can read: docs/deployment.md, "Secret files").
pub fn write_secret_file(file: &Path, text: &str) {
    std::fs::write(file, text).unwrap();
    set_mode(file, 0o600);
}

/// Sets `file`'s permission bits to `mode`.
pub fn set_mode(file: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).unwrap();
}
