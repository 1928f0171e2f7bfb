use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// SQLite's FTS5 search index writes each transaction's changes as a new segment and, by
/// default, merges segments inside the writing transaction as soon as four share a level. A bulk
/// delete of 10,000 keys paid for that merge (a quarter of its time, measured). With automatic
/// merging off, the writer only adds its segment; FTS5 still merges at once if sixteen pile up on
/// one level (`crisismerge`), and the hourly maintenance merges the rest
/// (`app::db::tidy_search_index`), so a search never reads more than a few segments.
/// PostgreSQL's trigram index has no such setting: nothing to do there.
const SET_AUTOMERGE: &str =
    "INSERT INTO api_key_search (api_key_search, rank) VALUES ('automerge', {N})";

async fn set_automerge(manager: &SchemaManager<'_>, segments: u32) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    manager
        .get_connection()
        .execute_unprepared(&SET_AUTOMERGE.replace("{N}", &segments.to_string()))
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_automerge(manager, 0).await
    }

    /// FTS5's default.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_automerge(manager, 4).await
    }
}
