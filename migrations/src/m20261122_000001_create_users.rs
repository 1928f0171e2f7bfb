use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    UserKey,
    /// `user_key` lower-cased: uniqueness and look-ups are case-insensitive, as in Jira.
    UserKeyLower,
    DisplayName,
    DisplayNameLower,
    Email,
    IsActive,
    IsAdministrator,
    IsBackupOperator,
    PasswordHash,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_auto(Users::Id))
                    .col(string_len(Users::UserKey, 255))
                    .col(string_len_uniq(Users::UserKeyLower, 255))
                    .col(string_len(Users::DisplayName, 255))
                    .col(string_len(Users::DisplayNameLower, 255))
                    .col(string_len_null(Users::Email, 320))
                    .col(boolean(Users::IsActive).default(true))
                    .col(boolean(Users::IsAdministrator).default(false))
                    .col(boolean(Users::IsBackupOperator).default(false))
                    .col(text_null(Users::PasswordHash))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_display_name_lower")
                    .table(Users::Table)
                    .col(Users::DisplayNameLower)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}
