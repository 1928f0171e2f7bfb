use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What a backup run gains for the page: who started it, a cancel request, the request sent,
/// every stored file (name, size, SHA-256), counts per entity type, and when retention removed
/// its files.
#[derive(DeriveIden)]
enum XrayBackupRuns {
    Table,
    StartedBy,
    CancelRequested,
    Request,
    Files,
    Counts,
    RemovedAt,
}

/// The one backup schedule (row 1), with the settings each run uses.
#[derive(DeriveIden)]
enum XrayBackupSchedule {
    Table,
    Id,
    Enabled,
    /// Minutes after midnight UTC, in 30-minute steps.
    DailyAt,
    /// Comma-separated project ids; empty: all projects.
    ProjectIds,
    IncludeAttachments,
    Incremental,
    KeepDays,
    KeepLast,
    ApiVersion,
    WaitMinutes,
    UpdatedBy,
    UpdatedAt,
    Version,
}

/// What happened to backups, for notifications: a run's ending and a change of health.
#[derive(DeriveIden)]
enum XrayBackupEvents {
    Table,
    Id,
    At,
    Kind,
    RunId,
    Text,
}

/// Every check of the stored Xray Credentials: a connection test, a scheduled check, a run's
/// authenticate.
#[derive(DeriveIden)]
enum XrayCredentialChecks {
    Table,
    Id,
    CheckedAt,
    Source,
    Outcome,
    Detail,
    Ok,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns: [ColumnDef; 6] = [
            string_len(XrayBackupRuns::StartedBy, 255)
                .default("")
                .to_owned(),
            boolean(XrayBackupRuns::CancelRequested)
                .default(false)
                .to_owned(),
            text(XrayBackupRuns::Request).default("{}").to_owned(),
            text(XrayBackupRuns::Files).default("[]").to_owned(),
            text(XrayBackupRuns::Counts).default("{}").to_owned(),
            timestamp_with_time_zone_null(XrayBackupRuns::RemovedAt),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(XrayBackupRuns::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(XrayBackupSchedule::Table)
                    .col(integer(XrayBackupSchedule::Id).primary_key())
                    .col(boolean(XrayBackupSchedule::Enabled).default(false))
                    .col(integer(XrayBackupSchedule::DailyAt).default(120))
                    .col(text(XrayBackupSchedule::ProjectIds).default(""))
                    .col(boolean(XrayBackupSchedule::IncludeAttachments).default(false))
                    .col(boolean(XrayBackupSchedule::Incremental).default(false))
                    .col(integer(XrayBackupSchedule::KeepDays).default(30))
                    .col(integer(XrayBackupSchedule::KeepLast).default(3))
                    .col(string_len(XrayBackupSchedule::ApiVersion, 4).default("v2"))
                    .col(integer(XrayBackupSchedule::WaitMinutes).default(240))
                    .col(string_len(XrayBackupSchedule::UpdatedBy, 255).default(""))
                    .col(timestamp_with_time_zone(XrayBackupSchedule::UpdatedAt))
                    .col(big_integer(XrayBackupSchedule::Version).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(XrayBackupEvents::Table)
                    .col(pk_auto(XrayBackupEvents::Id))
                    .col(timestamp_with_time_zone(XrayBackupEvents::At))
                    .col(string_len(XrayBackupEvents::Kind, 32))
                    .col(integer_null(XrayBackupEvents::RunId))
                    .col(text(XrayBackupEvents::Text))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(XrayCredentialChecks::Table)
                    .col(pk_auto(XrayCredentialChecks::Id))
                    .col(timestamp_with_time_zone(XrayCredentialChecks::CheckedAt))
                    .col(string_len(XrayCredentialChecks::Source, 64))
                    .col(string_len(XrayCredentialChecks::Outcome, 32))
                    .col(text_null(XrayCredentialChecks::Detail))
                    .col(boolean(XrayCredentialChecks::Ok))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_xray_credential_checks_at")
                    .table(XrayCredentialChecks::Table)
                    .col(XrayCredentialChecks::CheckedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            XrayCredentialChecks::Table.into_iden(),
            XrayBackupEvents::Table.into_iden(),
            XrayBackupSchedule::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            XrayBackupRuns::RemovedAt,
            XrayBackupRuns::Counts,
            XrayBackupRuns::Files,
            XrayBackupRuns::Request,
            XrayBackupRuns::CancelRequested,
            XrayBackupRuns::StartedBy,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(XrayBackupRuns::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
