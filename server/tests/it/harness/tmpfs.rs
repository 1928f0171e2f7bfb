//! A small tmpfs of the test's own, to fill a disk for real: a write past its size fails with
//! ENOSPC as on a full disk. Mounting needs root (CI runs as root) or password-less sudo; a
//! machine with neither fails the test with a message saying so, rather than skipping it.

use std::process::Command;

pub struct Tmpfs {
    dir: tempfile::TempDir,
    sudo: bool,
}

impl Tmpfs {
    /// A tmpfs of `bytes` (rounded up to whole pages) on a new temporary folder.
    pub fn mount(bytes: u64) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let options = format!("size={bytes},mode=0755");
        let target = dir.path().to_str().unwrap().to_string();
        let args = [
            "-t",
            "tmpfs",
            "-o",
            options.as_str(),
            "tmpfs",
            target.as_str(),
        ];
        let direct = Command::new("mount").args(args).status();
        let sudo = match direct {
            Ok(s) if s.success() => false,
            _ => {
                let status = Command::new("sudo")
                    .arg("-n")
                    .arg("mount")
                    .args(args)
                    .status();
                assert!(
                    status.is_ok_and(|s| s.success()),
                    "mounting a tmpfs needs root or password-less sudo"
                );
                true
            }
        };
        Tmpfs { dir, sudo }
    }

    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = self.dir.path().to_str().unwrap_or_default().to_string();
        let _ = if self.sudo {
            Command::new("sudo")
                .args(["-n", "umount", &target])
                .status()
        } else {
            Command::new("umount").arg(&target).status()
        };
    }
}
