//! What the stand-in page reads: projects with their counts, test executions newest first with
//! their runs per status, the faults in force and the latest backup jobs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{
    BackupRow, ExecutionRow, FaultRow, IssueType, ProjectRow, StandinOverview, EXECUTIONS_PER_PAGE,
    PROJECT_ID_BASE,
};
use crate::entities::{standin_backups as backups, standin_issues as issues};
use crate::entities::{standin_projects as projects, standin_runs as runs};
use crate::error::AppError;

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub async fn overview(
    db: &DatabaseConnection,
    requests_per_5_minutes: i32,
    page: u64,
    now: DateTime<Utc>,
) -> Result<StandinOverview, AppError> {
    let mut project_rows = Vec::new();
    for project in projects::Entity::find()
        .order_by_asc(projects::Column::Key)
        .all(db)
        .await?
    {
        let in_project = issues::Entity::find().filter(issues::Column::ProjectId.eq(project.id));
        project_rows.push(ProjectRow {
            id: (PROJECT_ID_BASE + project.id).to_string(),
            tests: in_project
                .clone()
                .filter(issues::Column::IssueType.eq(IssueType::Test.name()))
                .count(db)
                .await?,
            issues: in_project.count(db).await?,
            key: project.key,
            name: project.name,
        });
    }

    let executions = issues::Entity::find()
        .filter(issues::Column::IssueType.eq(IssueType::TestExecution.name()));
    let total_executions = executions.clone().count(db).await?;
    let pages = total_executions.div_ceil(EXECUTIONS_PER_PAGE).max(1);
    let page = page.clamp(1, pages);
    let listed = executions
        .order_by_desc(issues::Column::UpdatedAt)
        .order_by_desc(issues::Column::Id)
        .offset((page - 1) * EXECUTIONS_PER_PAGE)
        .limit(EXECUTIONS_PER_PAGE)
        .all(db)
        .await?;
    let ids: Vec<i32> = listed.iter().map(|e| e.id).collect();
    let mut statuses: BTreeMap<i32, BTreeMap<String, u64>> = BTreeMap::new();
    for run in runs::Entity::find()
        .filter(runs::Column::ExecutionId.is_in(ids))
        .all(db)
        .await?
    {
        *statuses
            .entry(run.execution_id)
            .or_default()
            .entry(run.status)
            .or_default() += 1;
    }
    let execution_rows = listed
        .into_iter()
        .map(|e| {
            let mut counted: Vec<(String, u64)> = statuses
                .remove(&e.id)
                .unwrap_or_default()
                .into_iter()
                .collect();
            counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            ExecutionRow {
                key: e.key,
                summary: e.summary,
                imported_by: e.created_by,
                imported_at: when(e.updated_at),
                statuses: counted,
            }
        })
        .collect();

    let faults = super::faults::in_force(db)
        .await?
        .into_iter()
        .map(|f| FaultRow {
            remaining: match f.remaining {
                Some(1) => "1 more request".to_string(),
                Some(n) => format!("{n} more requests"),
                None => "Until cleared".to_string(),
            },
            since: when(f.since),
            target: f.target,
            fault: f.fault,
        })
        .collect();

    // Only the columns the page shows: a job's files may be large.
    let jobs: Vec<(String, String, DateTime<Utc>, DateTime<Utc>)> = backups::Entity::find()
        .select_only()
        .columns([
            backups::Column::JobId,
            backups::Column::RequestedBy,
            backups::Column::RequestedAt,
            backups::Column::ReadyAt,
        ])
        .order_by_desc(backups::Column::Id)
        .limit(10)
        .into_tuple()
        .all(db)
        .await?;
    let backup_rows = jobs
        .into_iter()
        .map(|(job_id, requested_by, requested_at, ready_at)| BackupRow {
            status: if now >= ready_at {
                "Successful".to_string()
            } else {
                format!(
                    "Working ({}%)",
                    super::backup::progress(requested_at, ready_at, now)
                )
            },
            job_id,
            requested_by,
            requested_at: when(requested_at),
        })
        .collect();

    Ok(StandinOverview {
        plan: if requests_per_5_minutes >= 1000 {
            format!("Enterprise: {requests_per_5_minutes} requests per 5 minutes")
        } else {
            format!("Standard: {requests_per_5_minutes} requests per 5 minutes")
        },
        projects: project_rows,
        executions: execution_rows,
        total_executions,
        page,
        per_page: EXECUTIONS_PER_PAGE,
        faults,
        backups: backup_rows,
    })
}
