use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The Expiring soon page chooses its keys' ids from `idx_api_keys_expiring` (is_active,
/// expires_at, user_key_lower). On SQLite every index holds the row's id (the rowid), so the
/// page is read from the index alone. A PostgreSQL index holds only the row's place in the heap:
/// the planner read the matching keys' rows one by one instead (or took the one-column
/// `expires_at` index and did the same), about 1,000 random reads at 100,000 keys. With the id
/// in the index too (`INCLUDE`), the counts are index-only scans; the page, as measured, is still
/// planned through the one-column `expires_at` index.
const POSTGRES_UP: &[&str] = &[
    "CREATE INDEX idx_api_keys_expiring_ids ON api_keys (is_active, expires_at, user_key_lower) \
     INCLUDE (id)",
    "DROP INDEX IF EXISTS idx_api_keys_expiring",
];

const POSTGRES_DOWN: &[&str] = &[
    "CREATE INDEX idx_api_keys_expiring ON api_keys (is_active, expires_at, user_key_lower)",
    "DROP INDEX IF EXISTS idx_api_keys_expiring_ids",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_on_postgres(manager, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_on_postgres(manager, POSTGRES_DOWN).await
    }
}
