//! SQLite: a removed key's entry in the search index (`api_key_search`, FTS5) is noted in
//! `api_key_search_removed` by the deleting transaction and taken out of the index later, in
//! batches, by the hourly task (`app::db::tidy_search_index`). Taking an entry out of an FTS5
//! index tokenizes its text again: about half of a 10,000-key bulk delete's time.
//!
//! Searches stay exact at every commit: they read keys whose id the index returns, and a removed
//! key's row is gone in the same transaction. Key ids are never reused (`AUTOINCREMENT`), so a
//! left-over entry cannot stand for a later key. PostgreSQL is unchanged: its search table's rows
//! go with their keys (`ON DELETE CASCADE`) at no such cost.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE api_key_search_removed (id INTEGER PRIMARY KEY)",
    "DROP TRIGGER xk_api_key_removed",
    "CREATE TRIGGER xk_api_key_removed AFTER DELETE ON api_keys BEGIN \
       INSERT OR IGNORE INTO api_key_search_removed (id) VALUES (OLD.id); \
       UPDATE api_key_totals SET keys = keys - 1, \
         never_used = never_used - (OLD.last_used_at IS NULL) WHERE id = 1; \
     END",
];

const SQLITE_DOWN: &[&str] = &[
    "DELETE FROM api_key_search WHERE rowid IN (SELECT id FROM api_key_search_removed)",
    "DROP TRIGGER xk_api_key_removed",
    "CREATE TRIGGER xk_api_key_removed AFTER DELETE ON api_keys BEGIN \
       DELETE FROM api_key_search WHERE rowid = OLD.id; \
       UPDATE api_key_totals SET keys = keys - 1, \
         never_used = never_used - (OLD.last_used_at IS NULL) WHERE id = 1; \
     END",
    "DROP TABLE api_key_search_removed",
];

async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on one connection, on SQLite too: a trigger is dropped and created again
    /// under the same name, and another pooled connection could still see the old one.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, SQLITE_DOWN).await
    }
}
