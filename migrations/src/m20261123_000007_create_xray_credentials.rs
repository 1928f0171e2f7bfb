use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The Xray API credentials backup jobs use. One row today (id 1); the id is part of the
/// sealed secret's additional data, so a ciphertext copied onto another row does not open.
#[derive(DeriveIden)]
enum XrayCredentials {
    Table,
    Id,
    ClientId,
    SecretSealed,
    BaseUrl,
    Version,
    UpdatedBy,
    UpdatedAt,
    LastTestOutcome,
    LastTestDetail,
    LastTestedAt,
    LastTestVersion,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(XrayCredentials::Table)
                    .col(integer(XrayCredentials::Id).primary_key())
                    .col(string_len(XrayCredentials::ClientId, 64))
                    .col(text(XrayCredentials::SecretSealed))
                    .col(string_len(XrayCredentials::BaseUrl, 2048))
                    // Bumped by every save; a save that keeps the stored secret must name the
                    // version it started from, so two edits never mix.
                    .col(big_integer(XrayCredentials::Version))
                    .col(string_len(XrayCredentials::UpdatedBy, 255))
                    .col(timestamp_with_time_zone(XrayCredentials::UpdatedAt))
                    .col(string_len_null(XrayCredentials::LastTestOutcome, 32))
                    .col(string_len_null(XrayCredentials::LastTestDetail, 512))
                    .col(timestamp_with_time_zone_null(XrayCredentials::LastTestedAt))
                    // The version the last test ran against: a result older than a save is stale.
                    .col(big_integer_null(XrayCredentials::LastTestVersion))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(XrayCredentials::Table).to_owned())
            .await
    }
}
