use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The history of Xray backup runs: one row per run, its status and current step, what Xray
/// answered (quoted in `message` and the `events` timeline), the job id, API URL and Client ID
/// used, counts, and the stored file with its size and SHA-256.
#[derive(DeriveIden)]
enum XrayBackupRuns {
    Table,
    Id,
    Trigger,
    Status,
    Step,
    Message,
    StartedAt,
    FinishedAt,
    RetryAt,
    ApiUrl,
    ClientId,
    XrayJobId,
    Tests,
    TestExecutions,
    Size,
    Sha256,
    File,
    Events,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(XrayBackupRuns::Table)
                    .col(pk_auto(XrayBackupRuns::Id))
                    .col(string_len(XrayBackupRuns::Trigger, 16))
                    .col(string_len(XrayBackupRuns::Status, 32))
                    .col(string_len_null(XrayBackupRuns::Step, 64))
                    .col(text(XrayBackupRuns::Message).default(""))
                    .col(timestamp_with_time_zone(XrayBackupRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(XrayBackupRuns::FinishedAt))
                    .col(timestamp_with_time_zone_null(XrayBackupRuns::RetryAt))
                    .col(string_len(XrayBackupRuns::ApiUrl, 512).default(""))
                    .col(string_len(XrayBackupRuns::ClientId, 64).default(""))
                    .col(string_len_null(XrayBackupRuns::XrayJobId, 64))
                    .col(big_integer_null(XrayBackupRuns::Tests))
                    .col(big_integer_null(XrayBackupRuns::TestExecutions))
                    .col(big_integer_null(XrayBackupRuns::Size))
                    .col(string_len_null(XrayBackupRuns::Sha256, 64))
                    // Relative to the backups folder.
                    .col(text_null(XrayBackupRuns::File))
                    // A JSON array of {at, text}: the run's timeline.
                    .col(text(XrayBackupRuns::Events).default("[]"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_xray_backup_runs_started")
                    .table(XrayBackupRuns::Table)
                    .col(XrayBackupRuns::StartedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(XrayBackupRuns::Table).to_owned())
            .await
    }
}
