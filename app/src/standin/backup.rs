//! Backup REST as Xray Cloud answers it: `POST …/backup` starts a job (one per 6 hours per
//! tenant, refused with Xray's own text), `GET …/backup/{jobId}/status` says `working` with a
//! progress and then `successful` with the file URLs, `GET …/backup/file` and
//! `…/backup/file/attachment` give zips of JSON files built from the tenant. v2's file
//! endpoints answer with a one-time link (good once, for 5 minutes, without a token).

use std::io::Write;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Deserialize;
use serde_json::json;

use super::{iso, IssueType, ISSUE_ID_BASE, PROJECT_ID_BASE};
use crate::entities::{standin_backups as backups, standin_downloads as downloads};
use crate::entities::{standin_issues as issues, standin_links as links};
use crate::entities::{standin_runs as runs, standin_steps as steps};
use crate::error::AppError;

/// Xray allows one backup per tenant this often.
pub const BACKUP_INTERVAL: Duration = Duration::hours(6);
/// How long a one-time download link works.
pub const LINK_LIFETIME: Duration = Duration::minutes(5);
const BACKUP_LEASE: &str = "standin-backup";
/// What a link on another origin answers a request that carries a bearer token.
pub const LEAKED_TOKEN: &str = "Only one auth mechanism allowed: this link carries its own. An Authorization header was sent to another origin.";

/// The body of `POST …/backup`; every field may be left out.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupRequest {
    pub project_ids: Option<Vec<String>>,
    pub modified_since: Option<String>,
    pub with_attachment: Option<bool>,
}

/// Xray's refusal, word for word: "… you can create a new one in: 5 hours, 56 minutes and 47
/// seconds." Singular forms for 1 (Xray's own for them is unverified).
pub fn six_hour_refusal(wait: Duration) -> String {
    let secs = wait.num_seconds().max(1);
    let part = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "A backup can be created once every 6 hours, you can create a new one in: {}, {} and {}.",
        part(secs / 3600, "hour", "hours"),
        part(secs / 60 % 60, "minute", "minutes"),
        part(secs % 60, "second", "seconds"),
    )
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::validation("body", message)
}

/// Reads a backup request body: empty, or JSON of Xray's shape.
pub fn parse(body: &[u8]) -> Result<BackupRequest, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(BackupRequest::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        bad(format!(
            "The body is not {{\"projectIds\": […], \"modifiedSince\": \"…\", \"withAttachment\": true|false}}: {e}"
        ))
    })
}

/// Starts a backup job for `by`; `Err` with Xray's 400 when the last one is not 6 hours old.
pub async fn request(
    db: &DatabaseConnection,
    asked: BackupRequest,
    by: &str,
    working_for: Duration,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let modified_since = asked
        .modified_since
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            super::import::iso_time(v).ok_or_else(|| {
                bad(format!(
                    "modifiedSince: '{v}' is not a date and time such as 2026-12-01T00:00:00Z"
                ))
            })
        })
        .transpose()?;
    let project_ids = match asked.project_ids {
        Some(ids) => {
            if let Some(wrong) = ids.iter().find(|id| id.trim().parse::<u32>().is_err()) {
                return Err(bad(format!(
                    "projectIds: '{wrong}' is not a project id such as \"10001\""
                )));
            }
            Some(serde_json::to_string(&ids).map_err(AppError::logged("encoding project ids"))?)
        }
        None => None,
    };
    let job_id = crate::crypto::random_hex(16)?;
    // The lease is the rule: taken atomically across instances, held for 6 hours by the job.
    if !crate::lease::acquire(db, BACKUP_LEASE, &job_id, now, BACKUP_INTERVAL).await? {
        let until = crate::entities::leases::Entity::find_by_id(BACKUP_LEASE.to_string())
            .one(db)
            .await?
            .map_or(now + BACKUP_INTERVAL, |l| l.expires_at);
        return Err(bad(six_hour_refusal(until - now)));
    }
    backups::ActiveModel {
        job_id: Set(job_id.clone()),
        requested_by: Set(by.to_string()),
        requested_at: Set(now),
        ready_at: Set(now + working_for),
        project_ids: Set(project_ids),
        modified_since: Set(modified_since),
        with_attachment: Set(asked.with_attachment.unwrap_or(false)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(job_id)
}

/// What `GET …/backup/{jobId}/status` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Working { percent: u32 },
    Successful { with_attachment: bool },
}

pub async fn status(
    db: &DatabaseConnection,
    job_id: &str,
    now: DateTime<Utc>,
) -> Result<Status, AppError> {
    let job = backups::Entity::find()
        .filter(backups::Column::JobId.eq(job_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("job not found.".into()))?;
    if now >= job.ready_at {
        return Ok(Status::Successful {
            with_attachment: job.with_attachment,
        });
    }
    Ok(Status::Working {
        percent: progress(job.requested_at, job.ready_at, now),
    })
}

/// How far a working job is, in tens as Xray reports it ("10%", "40%"), never 100 while working.
pub fn progress(requested_at: DateTime<Utc>, ready_at: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
    let whole = (ready_at - requested_at).num_milliseconds().max(1);
    let done = (now - requested_at).num_milliseconds().clamp(0, whole);
    u32::try_from(done * 10 / whole * 10).unwrap_or(0).min(90)
}

/// The newest finished backup, with its files built (once; every later download is the same).
pub async fn latest(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<backups::Model, AppError> {
    let job = backups::Entity::find()
        .filter(backups::Column::ReadyAt.lte(now))
        .order_by_desc(backups::Column::ReadyAt)
        .order_by_desc(backups::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no finished backup to download.".into()))?;
    if job.data.is_some() {
        return Ok(job);
    }
    let (data, attachments) = build(db, &job).await?;
    // Two instances may build at once: the first stored file wins, both serve it.
    backups::Entity::update_many()
        .col_expr(backups::Column::Data, Expr::value(data))
        .col_expr(backups::Column::Attachments, Expr::value(attachments))
        .filter(backups::Column::Id.eq(job.id))
        .filter(backups::Column::Data.is_null())
        .exec(db)
        .await?;
    backups::Entity::find_by_id(job.id)
        .one(db)
        .await?
        .ok_or(AppError::Internal)
}

fn issue_id(row: i32) -> String {
    (ISSUE_ID_BASE + row).to_string()
}

/// The data zip (one JSON file per entity type) and the attachments zip of `job`.
async fn build(
    db: &DatabaseConnection,
    job: &backups::Model,
) -> Result<(Vec<u8>, Vec<u8>), AppError> {
    let mut chosen = Condition::all();
    if let Some(ids) = job.project_ids.as_deref() {
        let ids: Vec<String> = serde_json::from_str(ids).unwrap_or_default();
        let rows: Vec<i32> = ids
            .iter()
            .filter_map(|id| id.trim().parse::<i32>().ok())
            .map(|id| id - PROJECT_ID_BASE)
            .collect();
        chosen = chosen.add(issues::Column::ProjectId.is_in(rows));
    }
    if let Some(since) = job.modified_since {
        chosen = chosen.add(issues::Column::UpdatedAt.gte(since));
    }
    let all = issues::Entity::find()
        .filter(chosen)
        .order_by_asc(issues::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i32> = all.iter().map(|i| i.id).collect();
    let mut all_links = Vec::new();
    let mut all_steps = Vec::new();
    let mut all_runs = Vec::new();
    // In chunks: a database takes only so many bound values in one statement.
    for chunk in ids.chunks(5_000) {
        all_links.extend(
            links::Entity::find()
                .filter(links::Column::ParentId.is_in(chunk.to_vec()))
                .all(db)
                .await?,
        );
        all_steps.extend(
            steps::Entity::find()
                .filter(steps::Column::TestId.is_in(chunk.to_vec()))
                .order_by_asc(steps::Column::Position)
                .all(db)
                .await?,
        );
        all_runs.extend(
            runs::Entity::find()
                .filter(runs::Column::ExecutionId.is_in(chunk.to_vec()))
                .order_by_asc(runs::Column::Id)
                .all(db)
                .await?,
        );
    }
    let of_kind = |kind: IssueType| all.iter().filter(move |i| i.issue_type == kind.name());
    let children = |parent: i32, kind: Option<&str>| -> Vec<String> {
        all_links
            .iter()
            .filter(|l| l.parent_id == parent)
            .filter(|l| {
                kind.is_none_or(|k| {
                    all.iter()
                        .find(|i| i.id == l.child_id)
                        .is_none_or(|i| i.issue_type == k)
                })
            })
            .map(|l| issue_id(l.child_id))
            .collect()
    };
    let common = |i: &issues::Model| {
        json!({
            "id": issue_id(i.id),
            "key": i.key,
            "projectId": (PROJECT_ID_BASE + i.project_id).to_string(),
            "summary": i.summary,
            "description": i.description,
            "created": iso(i.created_at),
            "lastModified": iso(i.updated_at),
        })
    };
    let with = |mut base: serde_json::Value, extra: serde_json::Value| {
        if let (Some(base), serde_json::Value::Object(extra)) = (base.as_object_mut(), extra) {
            base.extend(extra);
        }
        base
    };
    let tests: Vec<_> = of_kind(IssueType::Test)
        .map(|t| {
            let preconditions: Vec<String> = all_links
                .iter()
                .filter(|l| l.child_id == t.id)
                .filter(|l| {
                    all.iter().any(|i| {
                        i.id == l.parent_id && i.issue_type == IssueType::Precondition.name()
                    })
                })
                .map(|l| issue_id(l.parent_id))
                .collect();
            let steps: Vec<_> = all_steps
                .iter()
                .filter(|s| s.test_id == t.id)
                .map(|s| json!({ "id": s.id.to_string(), "action": s.action, "data": s.data, "result": s.result }))
                .collect();
            with(
                common(t),
                json!({
                    "testType": t.test_type.as_deref().unwrap_or("Manual"),
                    "definition": t.definition,
                    "steps": steps,
                    "preConditionTargetIssueIds": preconditions,
                }),
            )
        })
        .collect();
    let preconditions: Vec<_> = of_kind(IssueType::Precondition)
        .map(|p| with(common(p), json!({ "testIds": children(p.id, None) })))
        .collect();
    let test_sets: Vec<_> = of_kind(IssueType::TestSet)
        .map(|s| with(common(s), json!({ "testIds": children(s.id, None) })))
        .collect();
    let test_plans: Vec<_> = of_kind(IssueType::TestPlan)
        .map(|p| {
            with(
                common(p),
                json!({
                    "testIds": children(p.id, Some(IssueType::Test.name())),
                    "testExecutionIds": children(p.id, Some(IssueType::TestExecution.name())),
                }),
            )
        })
        .collect();
    let executions: Vec<_> = of_kind(IssueType::TestExecution)
        .map(|e| {
            let environments: Vec<String> = e
                .test_environments
                .as_deref()
                .and_then(|v| serde_json::from_str(v).ok())
                .unwrap_or_default();
            let runs: Vec<_> = all_runs
                .iter()
                .filter(|r| r.execution_id == e.id)
                .map(|r| {
                    json!({
                        "id": r.id.to_string(),
                        "testId": issue_id(r.test_id),
                        "status": r.status,
                        "comment": r.comment,
                        "startedOn": r.started_at.map(iso),
                        "finishedOn": r.finished_at.map(iso),
                        "executedBy": r.executed_by,
                    })
                })
                .collect();
            with(
                common(e),
                json!({ "testEnvironments": environments, "testPlanKey": e.test_plan_key, "testRuns": runs }),
            )
        })
        .collect();
    let counts = json!({
        "tests": tests.len(),
        "preconditions": preconditions.len(),
        "testSets": test_sets.len(),
        "testPlans": test_plans.len(),
        "testExecutions": executions.len(),
        "testRuns": executions.iter().map(|e| e["testRuns"].as_array().map_or(0, Vec::len)).sum::<usize>(),
    });
    let info = json!({
        "jobId": job.job_id,
        "createdAt": iso(job.ready_at),
        "projectIds": job.project_ids.as_deref().and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok()),
        "modifiedSince": job.modified_since.map(iso),
        "counts": counts,
        "simulation": "Made by the xray-keys Xray Cloud stand-in, not by Xray.",
    });
    let data = zip_of(&[
        ("backup-info.json", info),
        ("tests.json", json!({ "tests": tests })),
        (
            "preconditions.json",
            json!({ "preconditions": preconditions }),
        ),
        ("testsets.json", json!({ "testSets": test_sets })),
        ("testplans.json", json!({ "testPlans": test_plans })),
        (
            "testexecutions.json",
            json!({ "testExecutions": executions }),
        ),
    ])?;
    // The stand-in keeps no attachments: the file lists none, so a reader still finds its shape.
    let attachments = zip_of(&[("attachments.json", json!({ "attachments": [] }))])?;
    Ok((data, attachments))
}

fn zip_of(files: &[(&str, serde_json::Value)]) -> Result<Vec<u8>, AppError> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, value) in files {
        writer
            .start_file(*name, options)
            .map_err(AppError::logged("starting a backup zip entry"))?;
        let bytes =
            serde_json::to_vec(value).map_err(AppError::logged("encoding a backup file"))?;
        writer
            .write_all(&bytes)
            .map_err(AppError::logged("writing a backup zip entry"))?;
    }
    Ok(writer
        .finish()
        .map_err(AppError::logged("finishing a backup zip"))?
        .into_inner())
}

/// A one-time link token for a file of `job`; only its hash is stored.
pub async fn one_time_link(
    db: &DatabaseConnection,
    job: &backups::Model,
    attachment: bool,
    other_origin: bool,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let token = crate::crypto::random_hex(32)?;
    downloads::ActiveModel {
        token_hash: Set(crate::crypto::digest(&token)),
        backup_id: Set(job.id),
        attachment: Set(attachment),
        other_origin: Set(other_origin),
        expires_at: Set(now + LINK_LIFETIME),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The file a one-time link gives, using the link up (a second use, or one after 5 minutes,
/// is refused as the storage behind Xray's links refuses it). `with_token`: the request
/// carried an Authorization header, which a link on another origin refuses without using it up.
pub async fn redeem(
    db: &DatabaseConnection,
    token: &str,
    with_token: bool,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, AppError> {
    let gone = || AppError::NotFound("This download link has expired or was already used.".into());
    let link = downloads::Entity::find()
        .filter(downloads::Column::TokenHash.eq(crate::crypto::digest(token)))
        .one(db)
        .await?
        .ok_or_else(gone)?;
    if link.expires_at <= now || link.used_at.is_some() {
        return Err(gone());
    }
    if link.other_origin && with_token {
        return Err(AppError::BadRequest(LEAKED_TOKEN.into()));
    }
    // Conditional, so two requests with one link cannot both get the file.
    let used = downloads::Entity::update_many()
        .col_expr(downloads::Column::UsedAt, Expr::value(Some(now)))
        .filter(downloads::Column::Id.eq(link.id))
        .filter(downloads::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if used.rows_affected != 1 {
        return Err(gone());
    }
    let job = backups::Entity::find_by_id(link.backup_id)
        .one(db)
        .await?
        .ok_or_else(gone)?;
    let file = if link.attachment {
        job.attachments
    } else {
        job.data
    };
    file.ok_or(AppError::Internal)
}

/// Lets a test or `fault clear`-style reset start a backup before 6 hours are over.
pub async fn forget_interval(db: &DatabaseConnection) -> Result<(), AppError> {
    crate::entities::leases::Entity::delete_by_id(BACKUP_LEASE.to_string())
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_xrays_text() {
        assert_eq!(
            six_hour_refusal(Duration::seconds(5 * 3600 + 56 * 60 + 47)),
            "A backup can be created once every 6 hours, you can create a new one in: 5 hours, 56 minutes and 47 seconds."
        );
        assert!(
            six_hour_refusal(Duration::seconds(3661)).ends_with("1 hour, 1 minute and 1 second.")
        );
    }
}
