use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The Xray Cloud stand-in's tenant: projects, issues of Xray's types (Test, Pre-Condition,
/// Test Set, Test Plan, Test Execution) with Jira-like keys, test steps, and test runs (one per
/// test in an execution). Shared by every instance, like everything else.
#[derive(DeriveIden)]
enum StandinProjects {
    Table,
    Id,
    Key,
    Name,
    NextNumber,
}

#[derive(DeriveIden)]
enum StandinIssues {
    Table,
    Id,
    ProjectId,
    Key,
    IssueType,
    Summary,
    Description,
    TestType,
    Definition,
    TestEnvironments,
    TestPlanKey,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StandinSteps {
    Table,
    Id,
    TestId,
    Position,
    Action,
    Data,
    Result,
}

#[derive(DeriveIden)]
enum StandinRuns {
    Table,
    Id,
    ExecutionId,
    TestId,
    Status,
    Comment,
    StartedAt,
    FinishedAt,
    ExecutedBy,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StandinProjects::Table)
                    .col(pk_auto(StandinProjects::Id))
                    .col(string_len_uniq(StandinProjects::Key, 10))
                    .col(string_len(StandinProjects::Name, 255))
                    // The number of the project's next issue key (XK-<n>), taken in the
                    // transaction that creates the issue.
                    .col(integer(StandinProjects::NextNumber).default(1))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StandinIssues::Table)
                    .col(pk_auto(StandinIssues::Id))
                    .col(integer(StandinIssues::ProjectId))
                    .col(string_len_uniq(StandinIssues::Key, 32))
                    .col(string_len(StandinIssues::IssueType, 32))
                    .col(string_len(StandinIssues::Summary, 255))
                    .col(text(StandinIssues::Description).default(""))
                    .col(string_len_null(StandinIssues::TestType, 32))
                    // Generic tests: what the test runs (JUnit's `classname.name`).
                    .col(text_null(StandinIssues::Definition))
                    .col(text_null(StandinIssues::TestEnvironments))
                    .col(string_len_null(StandinIssues::TestPlanKey, 32))
                    .col(string_len(StandinIssues::CreatedBy, 255))
                    .col(timestamp_with_time_zone(StandinIssues::CreatedAt))
                    .col(timestamp_with_time_zone(StandinIssues::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StandinIssues::Table, StandinIssues::ProjectId)
                            .to(StandinProjects::Table, StandinProjects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_standin_issues_project_type")
                    .table(StandinIssues::Table)
                    .col(StandinIssues::ProjectId)
                    .col(StandinIssues::IssueType)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StandinSteps::Table)
                    .col(pk_auto(StandinSteps::Id))
                    .col(integer(StandinSteps::TestId))
                    .col(integer(StandinSteps::Position))
                    .col(text(StandinSteps::Action))
                    .col(text(StandinSteps::Data).default(""))
                    .col(text(StandinSteps::Result).default(""))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StandinSteps::Table, StandinSteps::TestId)
                            .to(StandinIssues::Table, StandinIssues::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StandinRuns::Table)
                    .col(pk_auto(StandinRuns::Id))
                    .col(integer(StandinRuns::ExecutionId))
                    .col(integer(StandinRuns::TestId))
                    .col(string_len(StandinRuns::Status, 32))
                    .col(text(StandinRuns::Comment).default(""))
                    .col(timestamp_with_time_zone_null(StandinRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(StandinRuns::FinishedAt))
                    .col(string_len(StandinRuns::ExecutedBy, 255))
                    .col(timestamp_with_time_zone(StandinRuns::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StandinRuns::Table, StandinRuns::ExecutionId)
                            .to(StandinIssues::Table, StandinIssues::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(StandinRuns::Table, StandinRuns::TestId)
                            .to(StandinIssues::Table, StandinIssues::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One run per test in an execution: a re-import updates it.
        manager
            .create_index(
                Index::create()
                    .name("idx_standin_runs_execution_test")
                    .table(StandinRuns::Table)
                    .col(StandinRuns::ExecutionId)
                    .col(StandinRuns::TestId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            StandinRuns::Table.into_iden(),
            StandinSteps::Table.into_iden(),
            StandinIssues::Table.into_iden(),
            StandinProjects::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
