//! Who owns a Client Id, cached per instance for as long as the database provably has not
//! changed, so `whoami` needs no database round trip and revocation stays immediate.
//!
//! On SQLite (WAL mode) every committed write transaction, from this process or another (the
//! command line), rewrites the WAL-index header at the start of the `-shm` file: its change
//! counter, last frame and salts (<https://www.sqlite.org/walformat.html>). A cached answer is used
//! only while that header, read with one `pread`, is byte-for-byte the one read *before* the query
//! that produced the answer. Any commit in between, of whatever table, sends the next request back
//! to the database. Without a readable `-shm` file (another journal mode) nothing is cached.
//!
//! On PostgreSQL, triggers on `api_keys`, `users` and `settings` send a notification in the
//! committing transaction (whoever commits: any instance, the command line, plain SQL); each
//! instance listens and moves its epoch on every one. Answers are kept only while the listener is
//! connected and the epoch has not moved; while it is not connected every request asks the
//! database. Another instance learns of a change when PostgreSQL delivers the notification, not
//! earlier; this instance's own changes move the epoch before they answer.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The channel the change triggers notify (see the migration that creates them).
pub const CHANGE_CHANNEL: &str = "xk_changes";

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
    /// The user's state.
    pub is_active: bool,
    pub signing_kid: Option<String>,
    /// The key's own state and times: the cached answer is judged against the clock each time,
    /// so an expiry or a grace period's end needs no change to take effect.
    pub key_active: bool,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub deactivated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub previous_secret_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A point in the database's history; equal stamps mean no commit happened between them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    Sqlite {
        header: [u8; HEADER_COPY],
        inode: u64,
        local: u64,
    },
    Postgres(u64),
}

/// PostgreSQL's change notifications as this instance has received them.
#[derive(Default)]
pub struct ChangeFeed {
    live: AtomicBool,
    epoch: AtomicU64,
}

impl ChangeFeed {
    /// Whether the listener is connected (answers may be cached).
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    fn moved(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    fn set_live(&self, live: bool) {
        // Whatever was cached before a (re)connection may have missed notifications.
        self.moved();
        self.live.store(live, Ordering::SeqCst);
        self.moved();
    }
}

enum Source {
    None,
    SqliteShm(PathBuf),
    Postgres(Arc<ChangeFeed>),
}

pub struct OwnerCache {
    source: Source,
    /// Moved by this instance's own revocations, so they hold before the change notification of
    /// any database arrives.
    local: AtomicU64,
    entries: Mutex<HashMap<String, (Stamp, Owner)>>,
}

impl OwnerCache {
    fn with(source: Source) -> Self {
        OwnerCache {
            source,
            local: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Caches only for a SQLite file database (whose `-shm` file shows commits).
    pub fn for_sqlite_file(db_path: Option<PathBuf>) -> Self {
        Self::with(match db_path {
            Some(p) => {
                let mut name = p.into_os_string();
                name.push("-shm");
                Source::SqliteShm(PathBuf::from(name))
            }
            None => Source::None,
        })
    }

    /// Caches while `feed`'s listener is connected.
    pub fn for_postgres(feed: Arc<ChangeFeed>) -> Self {
        Self::with(Source::Postgres(feed))
    }

    pub fn disabled() -> Self {
        Self::with(Source::None)
    }

    /// Forgets every answer: call after this instance changed a key, a user or the signing key.
    pub fn invalidate(&self) {
        self.local.fetch_add(1, Ordering::SeqCst);
        if let Source::Postgres(feed) = &self.source {
            feed.moved();
        }
    }

    /// The database's current stamp, or `None` when it cannot be known (then do not cache).
    pub fn stamp(&self) -> Option<Stamp> {
        match &self.source {
            Source::None => None,
            Source::SqliteShm(shm) => read_stamp(shm, self.local.load(Ordering::SeqCst)),
            Source::Postgres(feed) => feed.is_live().then(|| Stamp::Postgres(feed.epoch())),
        }
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
fn read_stamp(shm: &std::path::Path, local: u64) -> Option<Stamp> {
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
    Some(Stamp::Sqlite {
        header,
        inode,
        local,
    })
}

#[cfg(not(unix))]
fn read_stamp(_shm: &std::path::Path, _local: u64) -> Option<Stamp> {
    None
}

/// Listens for the change triggers' notifications on `db` (PostgreSQL only) for as long as the
/// process runs, reconnecting after a failure; `feed` is live only while connected.
pub fn spawn_change_listener(db: &sea_orm::DatabaseConnection, feed: Arc<ChangeFeed>) {
    use sea_orm::sqlx::postgres::PgListener;
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    tokio::spawn(async move {
        loop {
            match PgListener::connect_with(&pool).await {
                Ok(mut listener) => match listener.listen(CHANGE_CHANNEL).await {
                    Ok(()) => {
                        feed.set_live(true);
                        // `Ok(None)`: the connection was lost; notifications may have been missed.
                        while let Ok(Some(_)) = listener.try_recv().await {
                            feed.moved();
                        }
                        feed.set_live(false);
                        tracing::warn!("lost the database change listener; whoami asks the database on every request until it is back");
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot listen for database changes"),
                },
                Err(e) => tracing::warn!(error = %e, "cannot connect the database change listener"),
            }
            feed.set_live(false);
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
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
            key_active: true,
            expires_at: None,
            deactivated_at: None,
            previous_secret_expires_at: None,
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
