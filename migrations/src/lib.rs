//! The schema's source of truth. Run at server start and by `xray-keys migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_users;
mod m20261122_000002_create_sessions;
mod m20261122_000003_create_audit_log;
mod m20261122_000004_create_throttle;
mod m20261122_000005_create_settings;
mod m20261122_000006_create_api_keys;
mod m20261123_000007_create_xray_credentials;
mod m20261123_000008_create_change_triggers;
mod m20261201_000009_add_key_lifecycle;
mod m20261201_000010_create_standin;
mod m20261201_000011_create_standin_backups;
mod m20261201_000012_create_xray_backup_runs;
mod m20261201_000013_add_xray_backup_schedule;
mod m20261205_000014_add_key_search_index;
mod m20261206_000015_add_key_sort_key;
mod m20261206_000016_count_first_uses_per_statement;
mod m20261206_000017_defer_key_search_merges;
mod m20261206_000018_cover_expiring_index;
mod m20261206_000019_cover_expiry_index;
mod m20261206_000020_add_user_search_index;
mod m20261207_000021_defer_key_search_removals;

/// Runs `statements` in order: the raw SQL of a migration written for one database.
async fn run_statements(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    for statement in statements {
        manager
            .get_connection()
            .execute_unprepared(statement)
            .await?;
    }
    Ok(())
}

/// [`run_statements`] on PostgreSQL; nothing on SQLite (for a migration only PostgreSQL needs).
async fn run_on_postgres(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    if manager.get_database_backend() != sea_orm_migration::sea_orm::DbBackend::Postgres {
        return Ok(());
    }
    run_statements(manager, statements).await
}

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_users::Migration),
            Box::new(m20261122_000002_create_sessions::Migration),
            Box::new(m20261122_000003_create_audit_log::Migration),
            Box::new(m20261122_000004_create_throttle::Migration),
            Box::new(m20261122_000005_create_settings::Migration),
            Box::new(m20261122_000006_create_api_keys::Migration),
            Box::new(m20261123_000007_create_xray_credentials::Migration),
            Box::new(m20261123_000008_create_change_triggers::Migration),
            Box::new(m20261201_000009_add_key_lifecycle::Migration),
            Box::new(m20261201_000010_create_standin::Migration),
            Box::new(m20261201_000011_create_standin_backups::Migration),
            Box::new(m20261201_000012_create_xray_backup_runs::Migration),
            Box::new(m20261201_000013_add_xray_backup_schedule::Migration),
            Box::new(m20261205_000014_add_key_search_index::Migration),
            Box::new(m20261206_000015_add_key_sort_key::Migration),
            Box::new(m20261206_000016_count_first_uses_per_statement::Migration),
            Box::new(m20261206_000017_defer_key_search_merges::Migration),
            Box::new(m20261206_000018_cover_expiring_index::Migration),
            Box::new(m20261206_000019_cover_expiry_index::Migration),
            Box::new(m20261206_000020_add_user_search_index::Migration),
            Box::new(m20261207_000021_defer_key_search_removals::Migration),
        ]
    }
}
