use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// PostgreSQL counted a key's first use (and a use taken back) in `api_key_totals` with a row
/// trigger. One statement marking many keys used then updated the one totals row once per key,
/// and each update walked the row's growing chain of versions: 500,000 keys in one statement
/// did not finish in six minutes. A statement trigger over the statement's old and new rows
/// updates the total once. PostgreSQL allows transition tables only on a trigger for every
/// column, so it runs after any update of `api_keys`; it writes the total only when the count
/// changed, as the row trigger did. SQLite keeps its row trigger (it has no statement triggers,
/// and its updates of one row in one statement do not pile up versions).
const POSTGRES_UP: &[&str] = &[
    "DROP TRIGGER IF EXISTS xk_api_key_used ON api_keys",
    "DROP FUNCTION IF EXISTS xk_api_key_used()",
    "CREATE FUNCTION xk_api_keys_used() RETURNS trigger LANGUAGE plpgsql AS $$ \
     DECLARE change bigint; BEGIN \
       SELECT (SELECT COUNT(*) FROM after_update WHERE last_used_at IS NULL) \
            - (SELECT COUNT(*) FROM before_update WHERE last_used_at IS NULL) INTO change; \
       IF change <> 0 THEN \
         UPDATE api_key_totals SET never_used = never_used + change WHERE id = 1; \
       END IF; \
       RETURN NULL; END $$",
    "CREATE TRIGGER xk_api_keys_used AFTER UPDATE ON api_keys \
     REFERENCING OLD TABLE AS before_update NEW TABLE AS after_update \
     FOR EACH STATEMENT EXECUTE FUNCTION xk_api_keys_used()",
];

/// The row trigger of `m20261205_000014_add_key_search_index`, as it was.
const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS xk_api_keys_used ON api_keys",
    "DROP FUNCTION IF EXISTS xk_api_keys_used()",
    "CREATE FUNCTION xk_api_key_used() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
       UPDATE api_key_totals SET never_used = never_used \
         + (NEW.last_used_at IS NULL)::int - (OLD.last_used_at IS NULL)::int WHERE id = 1; \
       RETURN NULL; END $$",
    "CREATE TRIGGER xk_api_key_used AFTER UPDATE OF last_used_at ON api_keys FOR EACH ROW \
     WHEN ((OLD.last_used_at IS NULL) <> (NEW.last_used_at IS NULL)) \
     EXECUTE FUNCTION xk_api_key_used()",
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
