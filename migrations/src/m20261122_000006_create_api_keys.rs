use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000001_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    ClientId,
    /// One key per user: unique.
    UserId,
    /// Self-describing hash of the Client Secret; the secret itself is never stored.
    SecretHash,
    /// Bumped at every regeneration; tokens name the generation they were issued for.
    SecretGeneration,
    CreatedAt,
    CreatedBy,
    RegeneratedAt,
    RegeneratedBy,
    LastUsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(pk_auto(ApiKeys::Id))
                    .col(char_len_uniq(ApiKeys::ClientId, 32))
                    .col(integer_uniq(ApiKeys::UserId))
                    .col(text(ApiKeys::SecretHash))
                    .col(integer(ApiKeys::SecretGeneration).default(1))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(string_len(ApiKeys::CreatedBy, 255))
                    .col(timestamp_with_time_zone_null(ApiKeys::RegeneratedAt))
                    .col(string_len_null(ApiKeys::RegeneratedBy, 255))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_keys_user")
                            .from(ApiKeys::Table, ApiKeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApiKeys::Table).to_owned())
            .await
    }
}
