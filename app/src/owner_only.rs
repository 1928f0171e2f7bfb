//! Files and folders only this server's user may open: the database, the key files, the Xray
//! backups (which hold plaintext while a run downloads and verifies them). Folders are 0700 and
//! files 0600 on Unix; elsewhere the platform's defaults apply.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `path` and its missing parents as owner-only folders, and makes `path` itself
/// owner-only if it was there already (a folder an older release made with the default mode).
pub fn create_dir(path: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(path)?;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    builder.create(path)
}

/// Opens `path` for writing, emptied, creating it owner-only when missing.
pub fn create_file(path: &Path) -> io::Result<File> {
    options().truncate(true).open(path)
}

/// Creates `path` owner-only; fails if something is there already.
pub fn create_new_file(path: &Path) -> io::Result<File> {
    let mut options = options();
    options.create_new(true);
    options.open(path)
}

fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &std::path::Path) -> std::io::Result<u32> {
        Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
    }

    #[test]
    fn new_folders_and_files_are_the_owners_only_and_an_old_folder_is_tightened(
    ) -> std::io::Result<()> {
        let root =
            std::env::temp_dir().join(format!("xk-owner-only-{:016x}", rand::random::<u64>()));
        let nested = root.join("a/b");
        super::create_dir(&nested)?;
        assert_eq!(mode(&root.join("a"))?, 0o700);
        assert_eq!(mode(&nested)?, 0o700);

        let old = root.join("old");
        std::fs::create_dir(&old)?;
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755))?;
        super::create_dir(&old)?;
        assert_eq!(mode(&old)?, 0o700);

        let file = nested.join("f");
        super::create_file(&file)?;
        assert_eq!(mode(&file)?, 0o600);
        assert!(super::create_new_file(&file).is_err());
        std::fs::remove_dir_all(&root)
    }
}
