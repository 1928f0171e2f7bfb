//! The backups' schedule, history, health and retention, and what follows every run: its audit
//! entry, its notification event and a change of health.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::run::{RunSettings, RunStatus};
use super::{
    ago, status, BackupsOverview, FileInfo, Health, HealthState, RunDetails, RunRow, Schedule,
    PER_PAGE,
};
use crate::audit::service::{record, Actor};
use crate::audit::{action, Outcome as AuditOutcome};
use crate::entities::xray_backup_events as events;
use crate::entities::xray_backup_runs as runs;
use crate::entities::xray_backup_schedule as schedules;
use crate::entities::xray_credentials as creds;
use crate::error::AppError;

const SCHEDULE_ID: i32 = 1;
pub const HEALTH_CHANGED: &str = "backup health changed";

pub async fn load_schedule(db: &impl ConnectionTrait) -> Result<Schedule, AppError> {
    let Some(row) = schedules::Entity::find_by_id(SCHEDULE_ID).one(db).await? else {
        return Ok(Schedule::default());
    };
    Ok(Schedule {
        enabled: row.enabled,
        daily_at: u32::try_from(row.daily_at).unwrap_or(120),
        project_ids: Schedule::parse_projects(&row.project_ids),
        include_attachments: row.include_attachments,
        incremental: row.incremental,
        keep_days: u32::try_from(row.keep_days).unwrap_or(30),
        keep_last: u32::try_from(row.keep_last).unwrap_or(3),
        api_version: row.api_version,
        wait_minutes: u32::try_from(row.wait_minutes).unwrap_or(240),
        version: row.version,
        updated_by: row.updated_by,
        updated_at: Some(row.updated_at),
    })
}

/// Saves `schedule` if nobody saved another since it was read (`schedule.version`).
pub async fn save_schedule(
    db: &DatabaseConnection,
    actor: &Actor,
    schedule: Schedule,
) -> Result<Schedule, AppError> {
    schedule.validate()?;
    if schedule.enabled && creds::Entity::find().one(db).await?.is_none() {
        return Err(AppError::validation(
            "enabled",
            "Store Xray Credentials first: scheduled backups use them.",
        ));
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let current = schedules::Entity::find_by_id(SCHEDULE_ID).one(&txn).await?;
    let stored_version = current.as_ref().map_or(0, |c| c.version);
    if stored_version != schedule.version {
        return Err(AppError::Conflict(
            "Someone else changed the schedule since you opened it, so nothing was saved. \
             Reload the page to see their change."
                .into(),
        ));
    }
    let values = schedules::ActiveModel {
        id: Set(SCHEDULE_ID),
        enabled: Set(schedule.enabled),
        daily_at: Set(i32::try_from(schedule.daily_at).unwrap_or(120)),
        project_ids: Set(schedule.project_ids.join(",")),
        include_attachments: Set(schedule.include_attachments),
        incremental: Set(schedule.incremental),
        keep_days: Set(i32::try_from(schedule.keep_days).unwrap_or(30)),
        keep_last: Set(i32::try_from(schedule.keep_last).unwrap_or(3)),
        api_version: Set(schedule.api_version.clone()),
        wait_minutes: Set(i32::try_from(schedule.wait_minutes).unwrap_or(240)),
        updated_by: Set(actor.name.clone()),
        updated_at: Set(now),
        version: Set(stored_version + 1),
    };
    if current.is_some() {
        values.update(&txn).await?;
    } else {
        values.insert(&txn).await?;
    }
    record(
        &txn,
        actor,
        action::XRAY_BACKUP_SCHEDULE,
        None,
        AuditOutcome::Success,
        Some(summary(&schedule)),
    )
    .await?;
    txn.commit().await?;
    load_schedule(db).await
}

/// The schedule in one line, for the audit trail.
fn summary(s: &Schedule) -> String {
    format!(
        "{} at {} UTC; {}; {}attachments; {}; keep {} days, at least {}; API {}; wait at most {} min",
        if s.enabled { "daily" } else { "off" },
        s.daily_at_text(),
        if s.project_ids.is_empty() {
            "all projects".to_string()
        } else {
            format!("projects {}", s.project_ids.join(", "))
        },
        if s.include_attachments { "" } else { "no " },
        if s.incremental { "incremental" } else { "full" },
        s.keep_days,
        s.keep_last,
        s.api_version,
        s.wait_minutes
    )
}

/// The run that is queued or running, if any (one at a time).
pub async fn active_run(db: &impl ConnectionTrait) -> Result<Option<runs::Model>, AppError> {
    Ok(runs::Entity::find()
        .filter(runs::Column::Status.is_in([status::QUEUED, status::RUNNING]))
        .order_by_desc(runs::Column::Id)
        .one(db)
        .await?)
}

/// The newest run that stored a backup.
pub async fn last_success(db: &impl ConnectionTrait) -> Result<Option<runs::Model>, AppError> {
    Ok(runs::Entity::find()
        .filter(runs::Column::Status.is_in([status::SUCCEEDED, status::WARNINGS]))
        .order_by_desc(runs::Column::Id)
        .one(db)
        .await?)
}

/// How the backups stand at `now`.
pub async fn health(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Health, AppError> {
    let credentials = creds::Entity::find().one(db).await?;
    let failing = credentials.as_ref().is_some_and(|c| {
        c.last_test_version == Some(c.version)
            && c.last_test_outcome
                .as_deref()
                .is_some_and(|o| o != "connected")
    });
    if failing {
        return Ok(Health {
            state: HealthState::Critical,
            text: "Xray Credentials are no longer valid. Update them on the Xray Credentials page."
                .into(),
            credentials_link: true,
        });
    }
    let last_finished = runs::Entity::find()
        .filter(runs::Column::Status.is_not_in([status::QUEUED, status::RUNNING]))
        .order_by_desc(runs::Column::Id)
        .one(db)
        .await?;
    let Some(success) = last_success(db).await? else {
        let text = match &last_finished {
            Some(run) => format!(
                "No backup has succeeded yet. The last run: {}. {}",
                run.status, run.message
            ),
            None => "No backup has run yet.".into(),
        };
        return Ok(Health {
            state: HealthState::Never,
            text,
            credentials_link: false,
        });
    };
    let at = success.finished_at.unwrap_or(success.started_at);
    let since = now - at;
    let health = |state, text: String| Health {
        state,
        text,
        credentials_link: false,
    };
    if since > chrono::Duration::hours(48) {
        return Ok(health(
            HealthState::Critical,
            "No successful backup in the last 48 hours.".into(),
        ));
    }
    if since > chrono::Duration::hours(24) {
        return Ok(health(
            HealthState::Unhealthy,
            "No successful backup in the last 24 hours.".into(),
        ));
    }
    match last_finished.as_ref().map(|r| RunStatus::of(&r.status)) {
        Some(RunStatus::Postponed) => {
            let message = last_finished.map(|r| r.message).unwrap_or_default();
            return Ok(health(
                HealthState::Unhealthy,
                format!("The last backup was postponed. {message}"),
            ));
        }
        Some(RunStatus::SucceededWithWarnings) => {
            return Ok(health(
                HealthState::Unhealthy,
                format!(
                    "The last backup succeeded with warnings: {}",
                    success.message
                ),
            ));
        }
        _ => {}
    }
    Ok(health(
        HealthState::Healthy,
        format!("Last successful backup {}.", ago(at, now)),
    ))
}

pub fn row_of(run: &runs::Model) -> RunRow {
    let files: Vec<FileInfo> = files_of(run);
    RunRow {
        id: run.id,
        started_at: run.started_at,
        trigger: run.trigger.clone(),
        status: run.status.clone(),
        step: run.step.clone(),
        message: run.message.clone(),
        tests: run.tests,
        test_executions: run.test_executions,
        size: run.size,
        duration_secs: run.finished_at.map(|f| (f - run.started_at).num_seconds()),
        has_data: run.file.is_some() && run.removed_at.is_none(),
        has_attachments: run.file.is_some()
            && run.removed_at.is_none()
            && files.iter().any(|f| f.name == "attachments.zip"),
        removed: run.removed_at.is_some(),
    }
}

fn files_of(run: &runs::Model) -> Vec<FileInfo> {
    serde_json::from_str::<Vec<serde_json::Value>>(&run.files)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| {
            Some(FileInfo {
                name: f.get("name")?.as_str()?.to_string(),
                size: f.get("size")?.as_u64()?,
                sha256: f.get("sha256")?.as_str()?.to_string(),
            })
        })
        .collect()
}

pub fn details_of(run: &runs::Model) -> RunDetails {
    let events: Vec<super::run::Event> = serde_json::from_str(&run.events).unwrap_or_default();
    let counts: std::collections::BTreeMap<String, u64> =
        serde_json::from_str(&run.counts).unwrap_or_default();
    RunDetails {
        row: row_of(run),
        started_by: run.started_by.clone(),
        finished_at: run.finished_at,
        api_url: run.api_url.clone(),
        client_id: run.client_id.clone(),
        xray_job_id: run.xray_job_id.clone(),
        request: run.request.clone(),
        files: files_of(run),
        counts: counts.into_iter().collect(),
        events: events.into_iter().map(|e| (e.at, e.text)).collect(),
    }
}

pub async fn find_run(db: &impl ConnectionTrait, id: i32) -> Result<runs::Model, AppError> {
    runs::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no backup run {id}.")))
}

/// The page: health, schedule, the active run, one page of history and, when asked, one run's
/// details.
pub async fn overview(
    db: &DatabaseConnection,
    page: u64,
    details: Option<i32>,
    now: DateTime<Utc>,
) -> Result<BackupsOverview, AppError> {
    let page = page.max(1);
    let total = runs::Entity::find().count(db).await?;
    let listed = runs::Entity::find()
        .order_by_desc(runs::Column::Id)
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
        .all(db)
        .await?;
    let active = active_run(db).await?;
    let details = match details {
        Some(id) => Some(details_of(&find_run(db, id).await?)),
        None => None,
    };
    Ok(BackupsOverview {
        health: health(db, now).await?,
        schedule: load_schedule(db).await?,
        credentials_stored: creds::Entity::find().one(db).await?.is_some(),
        active: active.as_ref().map(row_of),
        runs: listed.iter().map(row_of).collect(),
        total,
        page,
        per_page: PER_PAGE,
        details,
    })
}

/// Asks the active run to stop; it ends "Cancelled" at its next step or within seconds of a
/// wait.
pub async fn cancel(db: &DatabaseConnection, actor: &Actor) -> Result<RunRow, AppError> {
    let Some(active) = active_run(db).await? else {
        return Err(AppError::NotFound("No backup is running.".into()));
    };
    let said = format!("Cancelled by {}.", actor.name);
    runs::Entity::update_many()
        .col_expr(
            runs::Column::CancelRequested,
            sea_orm::sea_query::Expr::value(true),
        )
        .col_expr(runs::Column::Message, sea_orm::sea_query::Expr::value(said))
        .filter(runs::Column::Id.eq(active.id))
        .exec(db)
        .await?;
    record(
        db,
        actor,
        action::XRAY_BACKUP_CANCEL,
        Some(&format!("run {}", active.id)),
        AuditOutcome::Success,
        None,
    )
    .await?;
    Ok(row_of(&find_run(db, active.id).await?))
}

/// After a run ended: its audit entry and event, retention after a success, and a change of
/// health.
pub async fn after_run(
    db: &DatabaseConnection,
    settings: &RunSettings,
    done: &runs::Model,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let ended = RunStatus::of(&done.status);
    let actor = Actor {
        name: if done.started_by.is_empty() {
            "system".into()
        } else {
            done.started_by.clone()
        },
        client_addr: None,
    };
    record(
        db,
        &actor,
        action::XRAY_BACKUP_RUN,
        Some(&format!("run {}", done.id)),
        if ended.succeeded() {
            AuditOutcome::Success
        } else {
            AuditOutcome::Failure
        },
        Some(format!(
            "{} ({}): {}",
            done.status, done.trigger, done.message
        )),
    )
    .await?;
    add_event(
        db,
        ended.event_kind(),
        Some(done.id),
        format!("Run {}: {}: {}", done.id, done.status, done.message),
    )
    .await?;
    if ended.succeeded() {
        let schedule = load_schedule(db).await?;
        apply_retention(db, settings, &schedule, now).await?;
    }
    note_health(db, now).await
}

async fn add_event(
    db: &impl ConnectionTrait,
    kind: &str,
    run_id: Option<i32>,
    text: String,
) -> Result<(), AppError> {
    events::ActiveModel {
        at: Set(Utc::now()),
        kind: Set(kind.to_string()),
        run_id: Set(run_id),
        text: Set(text),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Records "backup health changed" when the health's state differs from the last one recorded
/// (none recorded reads as "Never backed up").
pub async fn note_health(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<(), AppError> {
    let current = health(db, now).await?;
    let last = events::Entity::find()
        .filter(events::Column::Kind.eq(HEALTH_CHANGED))
        .order_by_desc(events::Column::Id)
        .one(db)
        .await?;
    let was = last
        .as_ref()
        .and_then(|e| e.text.split(':').next())
        .unwrap_or(HealthState::Never.label());
    if was != current.state.label() {
        add_event(
            db,
            HEALTH_CHANGED,
            None,
            format!("{}: {} (was {was})", current.state.label(), current.text),
        )
        .await?;
    }
    Ok(())
}

/// Removes the files of successful runs older than "Keep backups for", never those of the last
/// "Always keep the last" successful runs (so never the newest).
pub async fn apply_retention(
    db: &DatabaseConnection,
    settings: &RunSettings,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let kept = runs::Entity::find()
        .filter(runs::Column::Status.is_in([status::SUCCEEDED, status::WARNINGS]))
        .filter(runs::Column::File.is_not_null())
        .filter(runs::Column::RemovedAt.is_null())
        .order_by_desc(runs::Column::Id)
        .all(db)
        .await?;
    let cutoff = now - chrono::Duration::days(i64::from(schedule.keep_days));
    let keep_last = usize::try_from(schedule.keep_last.max(1)).unwrap_or(usize::MAX);
    let mut removed = 0;
    for run in kept.into_iter().skip(keep_last) {
        if run.finished_at.unwrap_or(run.started_at) >= cutoff {
            continue;
        }
        super::storage::remove(settings.bucket.as_ref(), &settings.folder, run.id).await;
        let mut events: Vec<super::run::Event> =
            serde_json::from_str(&run.events).unwrap_or_default();
        events.push(super::run::Event {
            at: now,
            text: format!(
                "Files removed: older than {} days (retention)",
                schedule.keep_days
            ),
        });
        let mut row: runs::ActiveModel = run.into();
        row.removed_at = Set(Some(now));
        row.events = Set(serde_json::to_string(&events).unwrap_or_else(|_| "[]".into()));
        row.update(db).await?;
        removed += 1;
    }
    Ok(removed)
}

/// The notification events, newest first (for the next turn's notifications, and tests).
pub async fn recent_events(
    db: &impl ConnectionTrait,
    n: u64,
) -> Result<Vec<events::Model>, AppError> {
    Ok(events::Entity::find()
        .order_by_desc(events::Column::Id)
        .limit(n)
        .all(db)
        .await?)
}

/// A run's timeline as a text file (Download log).
pub fn log_of(run: &runs::Model) -> String {
    let details = details_of(run);
    let mut out = format!(
        "Xray backup run {}\nTrigger: {} (by {})\nStatus: {}\nMessage: {}\nAPI URL: {}\nClient ID: {}\nXray job id: {}\nRequest: {}\n\n",
        run.id,
        run.trigger,
        run.started_by,
        run.status,
        run.message,
        run.api_url,
        run.client_id,
        run.xray_job_id.as_deref().unwrap_or("-"),
        run.request
    );
    for (at, text) in details.events {
        out.push_str(&format!("{}  {text}\n", at.format("%Y-%m-%d %H:%M:%S UTC")));
    }
    for f in details.files {
        out.push_str(&format!(
            "\nFile {}: {} bytes, SHA-256 {}",
            f.name, f.size, f.sha256
        ));
    }
    out.push('\n');
    out
}
