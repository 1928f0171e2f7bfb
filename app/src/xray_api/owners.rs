//! Who owns a Client Id, cached per instance for as long as the database provably has not
//! changed, so `whoami` needs no database round trip and revocation stays immediate.
//!
//! On SQLite (WAL mode) every committed write transaction, from this process or another (the
//! command line), rewrites the WAL-index header at the start of the `-shm` file: its change
//! counter, last frame and salts (<https://www.sqlite.org/walformat.html>). A cached answer is used
//! only while that header, read with one `pread`, is byte-for-byte the one read *before* the query
//! that produced the answer. Any commit in between, of whatever table, sends the next request back
//! to the database. Without a readable `-shm` file (another journal mode, PostgreSQL) nothing is
//! cached and every request asks the database.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// The WAL-index header is stored twice (48 bytes each); SQLite writes the second copy, then the
/// first. Two equal copies are a consistent header.
const HEADER_COPY: usize = 48;
/// Bounds memory: beyond this many Client Ids the cache starts afresh.
const MAX_ENTRIES: usize = 100_000;

/// The facts about a key that decide whether its token is alive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub secret_generation: i32,
    pub user_key: String,
    pub display_name: String,
    pub is_active: bool,
    pub signing_kid: Option<String>,
}

/// A point in the database's history; equal stamps mean no commit happened between them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    header: [u8; HEADER_COPY],
    inode: u64,
}

pub struct OwnerCache {
    shm: Option<PathBuf>,
    entries: Mutex<HashMap<String, (Stamp, Owner)>>,
}

impl OwnerCache {
    /// Caches only for a SQLite file database (whose `-shm` file shows commits).
    pub fn for_sqlite_file(db_path: Option<PathBuf>) -> Self {
        OwnerCache {
            shm: db_path.map(|p| {
                let mut name = p.into_os_string();
                name.push("-shm");
                PathBuf::from(name)
            }),
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn disabled() -> Self {
        Self::for_sqlite_file(None)
    }

    /// The database's current stamp, or `None` when it cannot be known (then do not cache).
    pub fn stamp(&self) -> Option<Stamp> {
        read_stamp(self.shm.as_ref()?)
    }

    /// The cached owner of `client_id`, if nothing was committed since it was read.
    pub fn get(&self, client_id: &str, now: Option<Stamp>) -> Option<Owner> {
        let now = now?;
        let entries = self.entries.lock().ok()?;
        match entries.get(client_id) {
            Some((stamp, owner)) if *stamp == now => Some(owner.clone()),
            _ => None,
        }
    }

    /// Remembers `owner` as read from the database after `before` was taken.
    pub fn put(&self, client_id: &str, before: Option<Stamp>, owner: Owner) {
        let Some(before) = before else { return };
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(client_id.to_string(), (before, owner));
        }
    }
}

#[cfg(unix)]
fn read_stamp(shm: &std::path::Path) -> Option<Stamp> {
    use std::os::unix::fs::{FileExt, MetadataExt};
    let file = std::fs::File::open(shm).ok()?;
    let mut both = [0u8; 2 * HEADER_COPY];
    file.read_exact_at(&mut both, 0).ok()?;
    let (first, second) = both.split_at(HEADER_COPY);
    // A writer is halfway through: no stamp, ask the database.
    if first != second {
        return None;
    }
    // isInit (byte 12) is 0 while the index is being rebuilt.
    if first[12] == 0 {
        return None;
    }
    let mut header = [0u8; HEADER_COPY];
    header.copy_from_slice(first);
    // A new -shm file (after every connection closed) is another history, even if its header
    // happened to match.
    let inode = file.metadata().ok()?.ino();
    Some(Stamp { header, inode })
}

#[cfg(not(unix))]
fn read_stamp(_shm: &std::path::Path) -> Option<Stamp> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(g: i32) -> Owner {
        Owner {
            secret_generation: g,
            user_key: "u".into(),
            display_name: "U".into(),
            is_active: true,
            signing_kid: Some("k".into()),
        }
    }

    #[test]
    fn without_a_shm_file_nothing_is_cached() {
        let cache = OwnerCache::disabled();
        assert!(cache.stamp().is_none());
        cache.put("A", cache.stamp(), owner(1));
        assert!(cache.get("A", cache.stamp()).is_none());
        let missing = OwnerCache::for_sqlite_file(Some("/nonexistent/x.db".into()));
        assert!(missing.stamp().is_none());
    }

    #[test]
    fn an_entry_is_used_only_under_the_stamp_it_was_read_under() {
        let dir = tempfile_dir();
        let db = dir.join("t.db");
        let shm = dir.join("t.db-shm");
        let mut header = vec![0u8; 136];
        header[12] = 1;
        header[60] = 1;
        std::fs::write(&shm, &header).unwrap();
        let cache = OwnerCache::for_sqlite_file(Some(db));
        let s1 = cache.stamp().unwrap();
        cache.put("A", Some(s1), owner(1));
        assert_eq!(cache.get("A", cache.stamp()), Some(owner(1)));
        // A commit: both copies of the header change.
        header[16] = 7;
        header[16 + 48] = 7;
        std::fs::write(&shm, &header).unwrap();
        assert!(cache.get("A", cache.stamp()).is_none());
        // Halfway through a write (copies differ): no stamp at all.
        header[16] = 8;
        std::fs::write(&shm, &header).unwrap();
        assert!(cache.stamp().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xk-owners-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
