use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The list's sort key on the key itself (issue 19): `api_keys.user_key_lower`, a copy of its
/// user's `users.user_key_lower`, with a unique index (one key per user, user keys unique).
///
/// The list pages in user-key order. With the order on `users`, every page had to join users
/// before it could sort: a filter that picks 1 % of the keys (Expiring soon) joined them all,
/// and PostgreSQL did it by reading the whole users table. On the key, a page is chosen from
/// `api_keys` alone (its filter index, then a sort of the few it finds, or this index walked in
/// order) and only its ten rows are joined; Next and Prev seek in this index (keyset paging).
///
/// The Expiring soon filter's index (`is_active, expires_at`) gains the sort key
/// (`idx_api_keys_expiring` replaces `idx_api_keys_active_expiry`), so that
/// filter picks and sorts its page from the index alone, without reading each key it finds.
///
/// The application writes the copy when it inserts a key (a user's key never changes after it
/// is created); a trigger carries a change of the user's over all the same, in the transaction
/// that makes it. PostgreSQL's column has no default, so an insert that leaves it out fails;
/// SQLite's needs one to be added, so a trigger refuses the empty default instead.
const SQLITE_UP: &[&str] = &[
    "ALTER TABLE api_keys ADD COLUMN user_key_lower TEXT NOT NULL DEFAULT ''",
    "UPDATE api_keys SET user_key_lower = \
     (SELECT u.user_key_lower FROM users u WHERE u.id = api_keys.user_id)",
    "CREATE UNIQUE INDEX idx_api_keys_user_key_lower ON api_keys (user_key_lower)",
    "CREATE INDEX idx_api_keys_expiring ON api_keys (is_active, expires_at, user_key_lower)",
    "DROP INDEX idx_api_keys_active_expiry",
    "CREATE TRIGGER xk_api_key_sort_key_missing BEFORE INSERT ON api_keys \
     WHEN NEW.user_key_lower = '' BEGIN \
       SELECT RAISE(ABORT, 'api_keys.user_key_lower must be set'); \
     END",
    "CREATE TRIGGER xk_user_key_changed AFTER UPDATE OF user_key_lower ON users BEGIN \
       UPDATE api_keys SET user_key_lower = NEW.user_key_lower WHERE user_id = NEW.id; \
     END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS xk_user_key_changed",
    "DROP TRIGGER IF EXISTS xk_api_key_sort_key_missing",
    "DROP INDEX IF EXISTS idx_api_keys_user_key_lower",
    "CREATE INDEX idx_api_keys_active_expiry ON api_keys (is_active, expires_at)",
    "DROP INDEX IF EXISTS idx_api_keys_expiring",
    "ALTER TABLE api_keys DROP COLUMN user_key_lower",
];

const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE api_keys ADD COLUMN user_key_lower text",
    "UPDATE api_keys k SET user_key_lower = u.user_key_lower FROM users u WHERE u.id = k.user_id",
    "ALTER TABLE api_keys ALTER COLUMN user_key_lower SET NOT NULL",
    "CREATE UNIQUE INDEX idx_api_keys_user_key_lower ON api_keys (user_key_lower)",
    "CREATE INDEX idx_api_keys_expiring ON api_keys (is_active, expires_at, user_key_lower)",
    "DROP INDEX idx_api_keys_active_expiry",
    "CREATE FUNCTION xk_user_key_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
       UPDATE api_keys SET user_key_lower = NEW.user_key_lower WHERE user_id = NEW.id; \
       RETURN NULL; END $$",
    "CREATE TRIGGER xk_user_key_changed AFTER UPDATE OF user_key_lower ON users \
     FOR EACH ROW WHEN (OLD.user_key_lower IS DISTINCT FROM NEW.user_key_lower) \
     EXECUTE FUNCTION xk_user_key_changed()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS xk_user_key_changed ON users",
    "DROP FUNCTION IF EXISTS xk_user_key_changed()",
    "DROP INDEX IF EXISTS idx_api_keys_user_key_lower",
    "CREATE INDEX idx_api_keys_active_expiry ON api_keys (is_active, expires_at)",
    "DROP INDEX IF EXISTS idx_api_keys_expiring",
    "ALTER TABLE api_keys DROP COLUMN IF EXISTS user_key_lower",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => crate::run_statements(manager, POSTGRES_UP).await,
            _ => crate::run_statements(manager, SQLITE_UP).await,
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => crate::run_statements(manager, POSTGRES_DOWN).await,
            _ => crate::run_statements(manager, SQLITE_DOWN).await,
        }
    }
}
