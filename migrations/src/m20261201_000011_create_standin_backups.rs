use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The rest of the Xray Cloud stand-in: links between issues (a Test's preconditions, the
/// tests of a set or plan, a plan's executions), backup jobs with their files, the one-time
/// download links of v2, and the faults an operator switched on from the command line.
#[derive(DeriveIden)]
enum StandinLinks {
    Table,
    Id,
    ParentId,
    ChildId,
}

#[derive(DeriveIden)]
enum StandinBackups {
    Table,
    Id,
    JobId,
    RequestedBy,
    RequestedAt,
    ReadyAt,
    ProjectIds,
    ModifiedSince,
    WithAttachment,
    Data,
    Attachments,
}

#[derive(DeriveIden)]
enum StandinDownloads {
    Table,
    Id,
    TokenHash,
    BackupId,
    Attachment,
    OtherOrigin,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum StandinFaults {
    Table,
    Id,
    Target,
    Fault,
    Remaining,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StandinIssues {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The parent is the Pre-Condition, Test Set or Test Plan; the child a Test (or, for a
        // plan, a Test Execution).
        manager
            .create_table(
                Table::create()
                    .table(StandinLinks::Table)
                    .col(pk_auto(StandinLinks::Id))
                    .col(integer(StandinLinks::ParentId))
                    .col(integer(StandinLinks::ChildId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StandinLinks::Table, StandinLinks::ParentId)
                            .to(StandinIssues::Table, StandinIssues::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(StandinLinks::Table, StandinLinks::ChildId)
                            .to(StandinIssues::Table, StandinIssues::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_standin_links_parent_child")
                    .table(StandinLinks::Table)
                    .col(StandinLinks::ParentId)
                    .col(StandinLinks::ChildId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_standin_links_child")
                    .table(StandinLinks::Table)
                    .col(StandinLinks::ChildId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StandinBackups::Table)
                    .col(pk_auto(StandinBackups::Id))
                    .col(string_len_uniq(StandinBackups::JobId, 32))
                    .col(string_len(StandinBackups::RequestedBy, 255))
                    .col(timestamp_with_time_zone(StandinBackups::RequestedAt))
                    // Until then the job is "working"; its files are built when first asked for.
                    .col(timestamp_with_time_zone(StandinBackups::ReadyAt))
                    .col(text_null(StandinBackups::ProjectIds))
                    .col(timestamp_with_time_zone_null(StandinBackups::ModifiedSince))
                    .col(boolean(StandinBackups::WithAttachment).default(false))
                    .col(blob_null(StandinBackups::Data))
                    .col(blob_null(StandinBackups::Attachments))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StandinDownloads::Table)
                    .col(pk_auto(StandinDownloads::Id))
                    // SHA-256 of the link's token: the link itself is never stored.
                    .col(string_len_uniq(StandinDownloads::TokenHash, 64))
                    .col(integer(StandinDownloads::BackupId))
                    .col(boolean(StandinDownloads::Attachment))
                    // Handed out under the redirect-other-origin fault: a request to it that
                    // carries a token is a client leaking it.
                    .col(boolean(StandinDownloads::OtherOrigin).default(false))
                    .col(timestamp_with_time_zone(StandinDownloads::ExpiresAt))
                    .col(timestamp_with_time_zone_null(StandinDownloads::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StandinDownloads::Table, StandinDownloads::BackupId)
                            .to(StandinBackups::Table, StandinBackups::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StandinFaults::Table)
                    .col(pk_auto(StandinFaults::Id))
                    .col(string_len(StandinFaults::Target, 32))
                    .col(string_len(StandinFaults::Fault, 32))
                    // How many more requests it answers; NULL: until cleared.
                    .col(integer_null(StandinFaults::Remaining))
                    .col(timestamp_with_time_zone(StandinFaults::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            StandinFaults::Table.into_iden(),
            StandinDownloads::Table.into_iden(),
            StandinBackups::Table.into_iden(),
            StandinLinks::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
