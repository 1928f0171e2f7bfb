use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// An API key's lifecycle: a description, an expiry, active or not, at most one previous secret
/// still working until a time, and the last failed authentication. Events the periodic sweep
/// records (for notifications to read later) and the lease that lets one instance run it.
#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Description,
    ExpiresAt,
    IsActive,
    DeactivatedAt,
    DeactivatedBy,
    PreviousSecretHash,
    PreviousSecretExpiresAt,
    LastFailedAt,
    LastFailedReason,
}

#[derive(DeriveIden)]
enum KeyEvents {
    Table,
    Id,
    ClientId,
    Kind,
    At,
    Detail,
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Name,
    Holder,
    ExpiresAt,
}

fn new_columns() -> Vec<ColumnDef> {
    vec![
        string_len(ApiKeys::Description, 200).default("").to_owned(),
        timestamp_with_time_zone_null(ApiKeys::ExpiresAt),
        boolean(ApiKeys::IsActive).default(true).to_owned(),
        timestamp_with_time_zone_null(ApiKeys::DeactivatedAt),
        string_len_null(ApiKeys::DeactivatedBy, 255),
        string_len_null(ApiKeys::PreviousSecretHash, 255),
        timestamp_with_time_zone_null(ApiKeys::PreviousSecretExpiresAt),
        timestamp_with_time_zone_null(ApiKeys::LastFailedAt),
        string_len_null(ApiKeys::LastFailedReason, 32),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite alters one thing at a time.
        for mut column in new_columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(ApiKeys::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_api_keys_expires_at")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KeyEvents::Table)
                    .col(pk_auto(KeyEvents::Id))
                    .col(string_len(KeyEvents::ClientId, 64))
                    .col(string_len(KeyEvents::Kind, 32))
                    .col(timestamp_with_time_zone(KeyEvents::At))
                    .col(string_len_null(KeyEvents::Detail, 255))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_key_events_client_kind")
                    .table(KeyEvents::Table)
                    .col(KeyEvents::ClientId)
                    .col(KeyEvents::Kind)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Leases::Table)
                    .col(string_len(Leases::Name, 64).primary_key())
                    .col(string_len(Leases::Holder, 64))
                    .col(timestamp_with_time_zone(Leases::ExpiresAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Leases::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(KeyEvents::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_api_keys_expires_at")
                    .table(ApiKeys::Table)
                    .to_owned(),
            )
            .await?;
        for column in new_columns().into_iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(ApiKeys::Table)
                        .drop_column(column.get_column_name())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
