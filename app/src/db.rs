//! Opening the database and starting write transactions.

use std::time::Duration;

use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::{DatabaseKind, DatabaseUrl};

/// How long a SQLite writer waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// A pooled connection idle for this long is pinged before it is handed out, so one that a
/// database restart or a cut network broke while it sat idle is replaced before a request meets
/// it. A busy connection is not: sqlx pings every connection as it comes back to the pool, and a
/// ping on every checkout too was one more round trip per statement (a page of keys makes three).
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);
/// Rows a SQLite connection's thread may read ahead of the task that takes them (sqlx: 50).
const SQLITE_ROW_BUFFER: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot create the SQLite database at {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Open(DbErr),
}

/// Opens a pool on `url`. SQLite runs in WAL mode (readers never wait for the writer) with
/// `synchronous=FULL` (a commit is on disk before it is acknowledged, so a power loss cannot
/// bring back a revoked key), a busy timeout and foreign keys on. A missing SQLite file is
/// created readable by its owner only (its WAL and shared-memory files take the same mode), and
/// a missing parent folder likewise.
pub async fn connect(url: &DatabaseUrl) -> Result<DatabaseConnection, ConnectError> {
    connect_with(url, SqliteDurability::Full).await
}

/// How SQLite makes a commit durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqliteDurability {
    /// What the server runs: the WAL is synced at every commit.
    Full,
    /// Synced only at checkpoints: a power cut can undo the last commits. Only the benchmark
    /// uses it, to show what `Full` costs.
    Normal,
}

/// [`connect`] with the given SQLite durability (PostgreSQL ignores it).
pub async fn connect_with(
    url: &DatabaseUrl,
    durability: SqliteDurability,
) -> Result<DatabaseConnection, ConnectError> {
    if let Some(path) = url.sqlite_path() {
        create_private_file(&path).map_err(|source| ConnectError::CreateDir {
            path: path.display().to_string(),
            source,
        })?;
    }
    let mut options = ConnectOptions::new(url.expose().to_string());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire_if_idle_for(PING_AFTER_IDLE);
    match url.kind() {
        DatabaseKind::Sqlite => {
            options.max_connections(8).min_connections(1);
            options.map_sqlx_sqlite_opts(move |opts| {
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(match durability {
                        SqliteDurability::Full => SqliteSynchronous::Full,
                        SqliteDurability::Normal => SqliteSynchronous::Normal,
                    })
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true)
                    // sqlx runs each SQLite connection on a thread of its own and hands rows
                    // over a channel; with room for a whole page of rows (100) the thread
                    // finishes the statement without waiting for the reader to take them.
                    .row_buffer_size(SQLITE_ROW_BUFFER)
            });
        }
        DatabaseKind::Postgres => {
            options.max_connections(16).min_connections(1);
        }
    }
    Database::connect(options).await.map_err(ConnectError::Open)
}

/// Creates `path` (mode 0600) and its missing folders (0700), leaving existing ones as they are.
fn create_private_file(path: &std::path::Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            crate::owner_only::create_dir(dir)?;
        }
    }
    match crate::owner_only::create_new_file(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Brings the query planner's statistics up to date, so it picks the index that suits each
/// list and filter at any size. SQLite reads a bounded sample of each index
/// (`analysis_limit`), so this takes milliseconds even at a million keys; PostgreSQL's
/// autovacuum does the same on its own, and this only makes it happen now.
pub async fn refresh_statistics(db: &DatabaseConnection) -> Result<(), DbErr> {
    match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            // One transaction, so both run on the same pooled connection.
            let txn = db.begin().await?;
            txn.execute_unprepared("PRAGMA analysis_limit = 1000")
                .await?;
            txn.execute_unprepared("ANALYZE").await?;
            // Without samples (sqlite_stat4) the planner picks the same indexes from
            // sqlite_stat1 alone; with them, every statement comparing an indexed column to a
            // bound value (the clock, in every list) is parsed and planned again whenever that
            // value changes: a third of the API Keys page's database time. `ANALYZE
            // sqlite_schema` reloads the statistics without the samples.
            let has_samples = txn
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Sqlite,
                    "SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat4'",
                ))
                .await?
                .is_some();
            if has_samples {
                txn.execute_unprepared("DELETE FROM sqlite_stat4").await?;
            }
            txn.execute_unprepared("ANALYZE sqlite_schema").await?;
            txn.commit().await?;
        }
        _ => {
            db.execute_unprepared("ANALYZE api_keys, users, api_key_search")
                .await?;
        }
    }
    Ok(())
}

/// Index entries of removed keys taken out per transaction: each batch holds the write lock for
/// about 50 ms.
const SEARCH_REMOVALS_PER_BATCH: u64 = 2_000;

/// Tidies SQLite's search index (FTS5), at start and hourly: takes out the entries of keys removed
/// since the last call (a deleting transaction only notes them, see migration
/// `m20261207_000021_defer_key_search_removals`), in batches, then merges the segments writers
/// gathered (see `m20261206_000017_defer_key_search_merges`), writing at most about 500 pages of
/// the index. A no-op when there is nothing to do, and on PostgreSQL.
pub async fn tidy_search_index(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(());
    }
    let batch = format!(
        "SELECT id FROM api_key_search_removed ORDER BY id LIMIT {SEARCH_REMOVALS_PER_BATCH}"
    );
    loop {
        let txn = begin_write(db).await?;
        txn.execute_unprepared(&format!(
            "DELETE FROM api_key_search WHERE rowid IN ({batch})"
        ))
        .await?;
        let taken = txn
            .execute_unprepared(&format!(
                "DELETE FROM api_key_search_removed WHERE id IN ({batch})"
            ))
            .await?
            .rows_affected();
        txn.commit().await?;
        if taken < SEARCH_REMOVALS_PER_BATCH {
            break;
        }
    }
    db.execute_unprepared(
        "INSERT INTO api_key_search (api_key_search, rank) VALUES ('merge', 500)",
    )
    .await?;
    Ok(())
}

/// The rowids of SQLite's FTS5 trigram table `table` whose text contains `search`, as a
/// subquery. Three characters at least: the trigram tokenizer matches no shorter phrase.
pub fn trigram_matches(table: &'static str, search: &str) -> SelectStatement {
    // An FTS5 phrase: the text in double quotes, a quote inside doubled.
    let phrase = format!("\"{}\"", search.replace('"', "\"\""));
    Query::select()
        .expr(Expr::cust("rowid"))
        .from(Alias::new(table))
        .and_where(Expr::cust_with_values(format!("{table} MATCH ?"), [phrase]))
        .to_owned()
}

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`), so it waits for other writers up front under the busy timeout instead of
/// failing with SQLITE_BUSY halfway through; PostgreSQL ignores the SQLite mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Whether `err` is a unique-key violation: another writer got there first.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// `conflict()` when `err` is a unique-key violation (a race the caller can name to the user),
/// otherwise the usual mapping of a database error.
pub fn conflict_or(
    err: DbErr,
    conflict: impl FnOnce() -> crate::error::AppError,
) -> crate::error::AppError {
    if is_unique_violation(&err) {
        conflict()
    } else {
        err.into()
    }
}

/// Whether the database answers a trivial query (readiness probe).
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// The page to show: `requested`, kept within 1..=the last page of `total` items (an empty list
/// has one, empty, page). Past the end shows the last page; and the offset `(page - 1) *
/// per_page` can then never overflow, whatever number arrives in an address.
pub fn page_in_range(requested: u64, total: u64, per_page: u64) -> u64 {
    let last = total.div_ceil(per_page.max(1)).max(1);
    requested.clamp(1, last)
}

/// One page of a list: how many items there are in all, the page shown (kept in range by
/// [`page_in_range`]) and its rows.
pub struct Page<T> {
    pub total: u64,
    pub page: u64,
    pub rows: Vec<T>,
}

/// Page `requested` of `select` (ordered by the caller), `per_page` rows a page.
pub async fn fetch_page<'db, C, S>(
    select: S,
    db: &'db C,
    requested: u64,
    per_page: u64,
) -> Result<Page<<S::Selector as sea_orm::SelectorTrait>::Item>, DbErr>
where
    C: ConnectionTrait,
    S: sea_orm::PaginatorTrait<'db, C>,
{
    let paginator = select.paginate(db, per_page);
    let total = paginator.num_items().await?;
    let page = page_in_range(requested, total, per_page);
    let rows = paginator.fetch_page(page - 1).await?;
    Ok(Page { total, page, rows })
}

#[cfg(test)]
mod tests {
    use super::page_in_range;

    #[test]
    fn pages_stay_in_range() {
        assert_eq!(page_in_range(0, 25, 10), 1);
        assert_eq!(page_in_range(2, 25, 10), 2);
        assert_eq!(page_in_range(3, 25, 10), 3);
        assert_eq!(page_in_range(4, 25, 10), 3);
        assert_eq!(page_in_range(u64::MAX, 25, 10), 3);
        assert_eq!(page_in_range(u64::MAX, 0, 10), 1);
        assert_eq!(page_in_range(7, u64::MAX, 100), 7);
    }
}
