//! A backup run (issue 18, "The run"): one at a time across instances (a lease), the stored
//! credentials, authenticate, request the backup (Xray's 6-hour rule postpones it), poll its
//! status, download the files ([`super::fetch`]), verify them ([`super::verify`]) and store them
//! encrypted ([`super::store`]). Every step is recorded with its time in the run's history row;
//! Xray's answers are quoted, never a token or secret. A run checks for a cancel request at
//! every step and every few seconds while it waits.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};

use super::fetch::Fetcher;
use super::{status, Schedule};
use crate::credentials::connection::Tester;
use crate::credentials::{service as credentials, BaseUrl, Outcome};
use crate::entities::xray_backup_runs as runs;
use crate::error::AppError;
use crate::vault::MasterKey;

const LEASE: &str = "xray-backup-run";
/// How long a run's lease lasts without renewal (longer than its longest wait between two
/// requests); a crashed instance's run is found stale after it.
pub const LEASE_LENGTH: chrono::Duration = chrono::Duration::minutes(20);
/// How often a waiting run looks for a cancel request.
const CANCEL_CHECK: Duration = Duration::from_secs(2);
/// What a run still Queued or Running under an expired lease ends with.
pub const STOPPED: &str = "The server running this backup stopped.";

/// What started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Scheduled,
    Manual,
    Cli,
}

impl Trigger {
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Scheduled => "Scheduled",
            Trigger::Manual => "Manual",
            Trigger::Cli => "CLI",
        }
    }
}

/// How a run ended (`Queued`, `Running` while it goes), as stored and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    SucceededWithWarnings,
    Postponed,
    Skipped,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub const ALL: [RunStatus; 8] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::SucceededWithWarnings,
        RunStatus::Postponed,
        RunStatus::Skipped,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Queued => status::QUEUED,
            RunStatus::Running => status::RUNNING,
            RunStatus::Succeeded => status::SUCCEEDED,
            RunStatus::SucceededWithWarnings => status::WARNINGS,
            RunStatus::Postponed => status::POSTPONED,
            RunStatus::Skipped => status::SKIPPED,
            RunStatus::Failed => status::FAILED,
            RunStatus::Cancelled => status::CANCELLED,
        }
    }

    /// The status stored as `name` (an unknown one reads as Failed).
    pub fn of(name: &str) -> RunStatus {
        RunStatus::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .unwrap_or(RunStatus::Failed)
    }

    pub fn succeeded(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::SucceededWithWarnings
        )
    }

    /// The command line's exit code for a finished run.
    pub fn exit_code(self) -> i32 {
        match self {
            RunStatus::Succeeded => 0,
            RunStatus::SucceededWithWarnings => 10,
            RunStatus::Postponed => 20,
            RunStatus::Skipped => 30,
            RunStatus::Queued | RunStatus::Running | RunStatus::Failed | RunStatus::Cancelled => 40,
        }
    }

    /// The notification event a run that ended so records.
    pub fn event_kind(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "backup succeeded",
            RunStatus::SucceededWithWarnings => "backup warning",
            RunStatus::Postponed => "backup postponed",
            RunStatus::Skipped => "backup skipped",
            RunStatus::Cancelled => "backup cancelled",
            RunStatus::Queued | RunStatus::Running | RunStatus::Failed => "backup failed",
        }
    }
}

/// One line of a run's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub text: String,
}

/// How a run waits for Xray.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    pub first_poll: Duration,
    pub poll_every: Duration,
    /// A cap on the schedule's "Wait at most" (tests shorten it).
    pub wait_at_most: Duration,
}

impl Pacing {
    /// Issue 18's: after 5 s, then every 30 s; the schedule says how long at most.
    pub const XRAY: Pacing = Pacing {
        first_poll: Duration::from_secs(5),
        poll_every: Duration::from_secs(30),
        wait_at_most: Duration::MAX,
    };

    /// Polling every `seconds` (the server's setting): the first poll comes no later.
    pub fn every(seconds: u64) -> Pacing {
        let poll_every = Duration::from_secs(seconds.max(1));
        Pacing {
            first_poll: Pacing::XRAY.first_poll.min(poll_every),
            poll_every,
            ..Pacing::XRAY
        }
    }
}

/// How a run retries a request that did not get through.
#[derive(Clone, Debug)]
pub struct Retries {
    /// Xray unreachable (no connection, time-out): wait these in turn, then fail.
    pub unreachable: Vec<Duration>,
    /// A 5xx answer: wait these in turn, then take the answer.
    pub server_error: Vec<Duration>,
    /// 429 without `Retry-After`: the first wait, doubled each time.
    pub too_many_first: Duration,
    pub too_many_times: u32,
    /// The longest single wait (a longer `Retry-After` is cut to it).
    pub longest: Duration,
}

impl Retries {
    /// Issue 18's: unreachable after 1, 5 and 15 minutes; 5xx after 10 s, 60 s and 5 minutes;
    /// 429 after `Retry-After` (else 60 s, doubling) up to 5 times.
    pub fn xray() -> Self {
        Retries {
            unreachable: vec![
                Duration::from_secs(60),
                Duration::from_secs(300),
                Duration::from_secs(900),
            ],
            server_error: vec![
                Duration::from_secs(10),
                Duration::from_secs(60),
                Duration::from_secs(300),
            ],
            too_many_first: Duration::from_secs(60),
            too_many_times: 5,
            longest: Duration::from_secs(900),
        }
    }
}

/// Where and how a run works.
#[derive(Clone)]
pub struct RunSettings {
    /// Runs' files go under `<folder>/<run id>/` (their work folder, and their storage
    /// without a bucket).
    pub folder: PathBuf,
    /// The bucket the sealed files go to, if any.
    pub bucket: Option<super::storage::Bucket>,
    pub tester: Tester,
    pub pacing: Pacing,
    pub retries: Retries,
    /// The largest backup file taken.
    pub max_bytes: u64,
    /// Origins plain http may go to (this server under its names).
    pub this_server: Vec<String>,
    /// Who holds the lease (this instance); each run adds its own mark.
    pub holder: String,
}

impl RunSettings {
    /// Where the server keeps the backups.
    pub fn folder_of(config: &crate::config::Config) -> PathBuf {
        config.data_dir.join("xray-backups")
    }

    /// As the server's settings say.
    pub fn for_server(config: &crate::config::Config, holder: String) -> Self {
        let mut tester = Tester::for_server(config);
        tester.timeout = Duration::from_secs(60);
        RunSettings {
            folder: RunSettings::folder_of(config),
            bucket: config.backup_bucket.clone(),
            this_server: vec![config.public_url.clone(), tester.self_root.clone()],
            tester,
            pacing: Pacing::every(config.backup_poll_seconds),
            retries: Retries::xray(),
            max_bytes: config.backup_max_bytes,
            holder,
        }
    }
}

/// Why a run stopped before its end.
enum Stop {
    /// Someone asked; the text says who.
    Cancelled(String),
    App(AppError),
}

impl From<AppError> for Stop {
    fn from(e: AppError) -> Self {
        Stop::App(e)
    }
}

impl From<sea_orm::DbErr> for Stop {
    fn from(e: sea_orm::DbErr) -> Self {
        Stop::App(e.into())
    }
}

type Step<T> = Result<T, Stop>;

/// A run as it goes: its row, and the timeline kept in it.
struct Recorder<'a> {
    db: &'a DatabaseConnection,
    holder: String,
    row: runs::Model,
    events: Vec<Event>,
}

impl Recorder<'_> {
    /// `Err(Cancelled)` once someone asked the run to stop.
    async fn check_cancel(&self) -> Step<()> {
        let current = runs::Entity::find_by_id(self.row.id).one(self.db).await?;
        match current {
            Some(row) if row.cancel_requested => Err(Stop::Cancelled(row.message)),
            _ => Ok(()),
        }
    }

    /// Waits `length`, looking for a cancel request every few seconds and renewing the lease.
    async fn pause(&self, length: Duration) -> Step<()> {
        let until = tokio::time::Instant::now() + length;
        loop {
            let now = tokio::time::Instant::now();
            if now >= until {
                break;
            }
            tokio::time::sleep((until - now).min(CANCEL_CHECK)).await;
            self.check_cancel().await?;
        }
        crate::lease::acquire(self.db, LEASE, &self.holder, Utc::now(), LEASE_LENGTH).await?;
        Ok(())
    }

    async fn step(&mut self, step: &str, text: String) -> Step<()> {
        self.check_cancel().await?;
        self.events.push(Event {
            at: Utc::now(),
            text: text.clone(),
        });
        let mut row: runs::ActiveModel = self.row.clone().into();
        row.step = Set(Some(step.to_string()));
        row.events =
            Set(serde_json::to_string(&self.events).map_err(AppError::logged("run events"))?);
        self.row = row.update(self.db).await?;
        Ok(())
    }

    /// Sends the request `make` builds, retrying as `settings.retries` says (each wait is in
    /// the timeline). The inner `Err` is the category of a request that never got an answer.
    async fn send(
        &mut self,
        settings: &RunSettings,
        what: &str,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Step<Result<Reply, String>> {
        let retries = &settings.retries;
        let (mut unreachable, mut server_error, mut limited) = (0usize, 0usize, 0u32);
        loop {
            let answer = read(make().send().await).await;
            let wait = match &answer {
                Err(why) => retries.unreachable.get(unreachable).map(|w| {
                    unreachable += 1;
                    (*w, format!("{what}: Xray could not be reached ({why})"))
                }),
                Ok(reply) if reply.status == 429 && limited < retries.too_many_times => {
                    let doubled = retries.too_many_first * 2u32.saturating_pow(limited);
                    limited += 1;
                    let wait = reply.retry_after.map_or(doubled, Duration::from_secs);
                    Some((
                        wait,
                        format!("{what}: Xray answered 429 (too many requests)"),
                    ))
                }
                Ok(reply) if (500..600).contains(&reply.status) => {
                    retries.server_error.get(server_error).map(|w| {
                        server_error += 1;
                        (*w, format!("{what}: Xray answered {}", reply.status))
                    })
                }
                Ok(_) => None,
            };
            let Some((wait, why)) = wait else {
                return Ok(answer);
            };
            let wait = wait.min(retries.longest);
            self.step(
                "Retrying",
                format!("{why}; trying again in {} s", wait.as_secs_f32()),
            )
            .await?;
            self.pause(wait).await?;
        }
    }

    /// Downloads `url` into `folder/name`, retrying as `settings.retries` says: no connection
    /// or a time-out, a 5xx and a 429 are tried again (a v2 link is asked for afresh each time).
    async fn download(
        &mut self,
        settings: &RunSettings,
        fetcher: &Fetcher,
        url: &str,
        token: &str,
        folder: &std::path::Path,
        name: &str,
    ) -> Step<Result<super::fetch::Fetched, super::fetch::FetchError>> {
        use super::fetch::FetchError;
        let what = format!("the download of {name}");
        let retries = &settings.retries;
        let (mut unreachable, mut server_error, mut limited) = (0usize, 0usize, 0u32);
        loop {
            let fetched = fetcher.fetch(url, token, folder, name).await;
            let wait = match &fetched {
                Err(FetchError::Unreachable | FetchError::TimedOut) => {
                    retries.unreachable.get(unreachable).map(|w| {
                        unreachable += 1;
                        *w
                    })
                }
                Err(FetchError::Status { status, .. }) if (500..600).contains(status) => {
                    retries.server_error.get(server_error).map(|w| {
                        server_error += 1;
                        *w
                    })
                }
                Err(FetchError::Status { status: 429, .. }) if limited < retries.too_many_times => {
                    let doubled = retries.too_many_first * 2u32.saturating_pow(limited);
                    limited += 1;
                    Some(doubled)
                }
                _ => None,
            };
            let (Some(wait), Err(e)) = (wait, &fetched) else {
                return Ok(fetched);
            };
            let wait = wait.min(retries.longest);
            self.step(
                "Retrying",
                format!(
                    "{what}: {} Trying again in {} s",
                    e.message(),
                    wait.as_secs_f32()
                ),
            )
            .await?;
            self.pause(wait).await?;
        }
    }

    /// Ends the run as Failed because Xray never answered (after the retries).
    async fn unreachable(&mut self, why: &str) -> Step<runs::Model> {
        self.finish(
            RunStatus::Failed,
            format!("Xray could not be reached ({why})."),
            |_| {},
        )
        .await
    }

    async fn fail(&mut self, message: String) -> Step<runs::Model> {
        self.finish(RunStatus::Failed, message, |_| {}).await
    }

    async fn finish(
        &mut self,
        status: RunStatus,
        message: String,
        change: impl FnOnce(&mut runs::ActiveModel),
    ) -> Step<runs::Model> {
        self.events.push(Event {
            at: Utc::now(),
            text: format!("{}: {message}", status.name()),
        });
        let mut row: runs::ActiveModel = self.row.clone().into();
        row.status = Set(status.name().to_string());
        row.step = Set(None);
        row.message = Set(message);
        row.finished_at = Set(Some(Utc::now()));
        row.events =
            Set(serde_json::to_string(&self.events).map_err(AppError::logged("run events"))?);
        change(&mut row);
        self.row = row.update(self.db).await?;
        Ok(self.row.clone())
    }
}

/// Parses Xray's "… you can create a new one in: 5 hours, 56 minutes and 47 seconds.".
pub fn six_hour_wait(text: &str) -> Option<chrono::Duration> {
    let rest = text.split("create a new one in:").nth(1)?;
    let mut seconds = 0i64;
    let mut found = false;
    let words: Vec<&str> = rest
        .split(|c: char| c.is_whitespace() || c == ',' || c == '.')
        .filter(|w| !w.is_empty() && *w != "and")
        .collect();
    for pair in words.chunks(2) {
        let [n, unit] = pair else { return None };
        let n: i64 = n.parse().ok()?;
        seconds += n * match unit.trim_end_matches('s') {
            "hour" => 3600,
            "minute" => 60,
            "second" => 1,
            _ => return None,
        };
        found = true;
    }
    found.then(|| chrono::Duration::seconds(seconds))
}

fn error_text(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| body.trim().chars().take(300).collect())
}

/// Why authenticate refused, as the run records it (a skip: the credentials are the cause).
fn refusal(status: u16, body: &str) -> String {
    let text = error_text(body);
    let lower = text.to_ascii_lowercase();
    if lower.contains("region") {
        "Xray data is in another region. Choose that region's URL on the Xray Credentials page."
            .into()
    } else if lower.contains("license") || lower.contains("licence") {
        "Xray says its licence is not valid.".into()
    } else {
        format!("Xray rejected the Client ID and Client secret ({status}: {text}).")
    }
}

/// The failed credential check a refused authenticate is, as the Xray Credentials page shows it.
fn check_of(status: u16, body: &str) -> crate::credentials::Outcome {
    use crate::credentials::Outcome;
    let text = error_text(body).to_ascii_lowercase();
    if text.contains("region") {
        Outcome::OtherRegion {
            detail: format!("a backup's authenticate answered {status} about the region"),
        }
    } else if text.contains("license") || text.contains("licence") {
        Outcome::Unexpected {
            status,
            step: "authenticate (the Xray licence is not valid)".into(),
        }
    } else if status == 401 {
        Outcome::InvalidCredentials
    } else {
        Outcome::Unexpected {
            status,
            step: "authenticate".into(),
        }
    }
}

/// What a run asks Xray for, from the schedule.
#[derive(Clone, Debug)]
pub struct Plan {
    pub body: serde_json::Value,
    pub version: String,
    pub attachments: bool,
    pub wait_at_most: Duration,
}

impl Plan {
    /// `since`: when the last successful backup started (for an incremental one).
    pub fn of(schedule: &Schedule, since: Option<DateTime<Utc>>) -> Plan {
        let mut body = serde_json::Map::new();
        if !schedule.project_ids.is_empty() {
            body.insert("projectIds".into(), serde_json::json!(schedule.project_ids));
        }
        if schedule.incremental {
            if let Some(since) = since {
                body.insert(
                    "modifiedSince".into(),
                    since.format("%Y-%m-%dT%H:%M:%SZ").to_string().into(),
                );
            }
        }
        if schedule.include_attachments {
            body.insert("withAttachment".into(), true.into());
        }
        Plan {
            body: body.into(),
            version: schedule.api_version.clone(),
            attachments: schedule.include_attachments,
            wait_at_most: Duration::from_secs(u64::from(schedule.wait_minutes) * 60),
        }
    }
}

/// The message of a refused start: which run is active.
async fn already_running(db: &DatabaseConnection) -> Result<AppError, AppError> {
    let started = super::service::active_run(db)
        .await?
        .map(|r| r.started_at.format(" (started %H:%M UTC)").to_string())
        .unwrap_or_default();
    Ok(AppError::Conflict(format!(
        "A backup is already running{started}."
    )))
}

/// A lease holder for one caller: the instance's name and a mark of its own, so two requests
/// on one instance do not share a lease.
fn holder_for(instance: &str) -> String {
    let mut holder: String = instance.chars().take(48).collect();
    holder.push_str(&format!(":{:08x}", rand::random::<u32>()));
    holder
}

async fn release(db: &DatabaseConnection, holder: &str) -> Result<(), AppError> {
    crate::entities::leases::Entity::delete_many()
        .filter(crate::entities::leases::Column::Name.eq(LEASE))
        .filter(crate::entities::leases::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}

/// Holding the lease: every run still Running belongs to an instance that stopped, and so does
/// a run Queued longer than a lease lasts. They end Failed, and their half-written files go.
async fn fail_stale(
    db: &DatabaseConnection,
    settings: &RunSettings,
    now: DateTime<Utc>,
    queued_too: bool,
) -> Result<(), AppError> {
    let mut statuses = vec![status::RUNNING];
    if queued_too {
        statuses.push(status::QUEUED);
    }
    let stale = runs::Entity::find()
        .filter(runs::Column::Status.is_in(statuses))
        .all(db)
        .await?;
    for row in stale {
        if row.status == status::QUEUED && now - row.started_at < LEASE_LENGTH {
            continue;
        }
        let mut events: Vec<Event> = serde_json::from_str(&row.events).unwrap_or_default();
        events.push(Event {
            at: now,
            text: format!("{}: {STOPPED}", status::FAILED),
        });
        let id = row.id;
        let mut ended: runs::ActiveModel = row.into();
        ended.status = Set(status::FAILED.into());
        ended.step = Set(None);
        ended.message = Set(STOPPED.into());
        ended.finished_at = Set(Some(now));
        ended.events = Set(serde_json::to_string(&events).unwrap_or_else(|_| "[]".into()));
        let ended = ended.update(db).await?;
        remove_files(settings, id).await;
        super::service::after_run(db, settings, &ended, now).await?;
    }
    Ok(())
}

/// Removes what a run that stored no backup left on disk.
async fn remove_files(settings: &RunSettings, run_id: i32) {
    super::storage::remove(settings.bucket.as_ref(), &settings.folder, run_id).await;
}

/// What must not have happened for a queued run to be wanted (checked under the lease).
#[derive(Clone, Copy, Debug)]
pub enum Guard {
    /// No scheduled run started since this time (the schedule's slot).
    ScheduledSince(DateTime<Utc>),
    /// No run after this one (a postponed run's retry).
    NoneAfter(i32),
}

/// Queues a run. `Err(Conflict)` while another is queued or running.
pub async fn queue(
    db: &DatabaseConnection,
    settings: &RunSettings,
    trigger: Trigger,
    started_by: &str,
) -> Result<runs::Model, AppError> {
    queue_unless(db, settings, trigger, started_by, None)
        .await?
        .ok_or(AppError::Internal)
}

/// [`queue`], unless `guard` says the run is no longer wanted (`Ok(None)`).
pub async fn queue_unless(
    db: &DatabaseConnection,
    settings: &RunSettings,
    trigger: Trigger,
    started_by: &str,
    guard: Option<Guard>,
) -> Result<Option<runs::Model>, AppError> {
    let now = Utc::now();
    // Taken only to decide: a run holds it while it works, so holding it means none does.
    let holder = holder_for(&settings.holder);
    if !crate::lease::acquire(db, LEASE, &holder, now, LEASE_LENGTH).await? {
        return Err(already_running(db).await?);
    }
    let queued = async {
        fail_stale(db, settings, now, true).await?;
        let waiting = runs::Entity::find()
            .filter(runs::Column::Status.eq(status::QUEUED))
            .one(db)
            .await?;
        if waiting.is_some() {
            return Err(already_running(db).await?);
        }
        let done_already = match guard {
            None => false,
            Some(Guard::ScheduledSince(slot)) => runs::Entity::find()
                .filter(runs::Column::Trigger.eq(Trigger::Scheduled.name()))
                .filter(runs::Column::StartedAt.gte(slot))
                .one(db)
                .await?
                .is_some(),
            Some(Guard::NoneAfter(id)) => runs::Entity::find()
                .filter(runs::Column::Id.gt(id))
                .one(db)
                .await?
                .is_some(),
        };
        if done_already {
            return Ok(None);
        }
        Ok(Some(
            runs::ActiveModel {
                trigger: Set(trigger.name().to_string()),
                status: Set(status::QUEUED.to_string()),
                message: Set(String::new()),
                started_at: Set(now),
                events: Set(serde_json::to_string(&[Event {
                    at: now,
                    text: format!("Queued ({}) by {started_by}", trigger.name()),
                }])
                .map_err(AppError::logged("run events"))?),
                started_by: Set(started_by.chars().take(255).collect()),
                ..Default::default()
            }
            .insert(db)
            .await?,
        ))
    }
    .await;
    release(db, &holder).await?;
    queued
}

/// Takes the lease and the oldest queued run, if there is one and no run is going.
pub async fn claim(
    db: &DatabaseConnection,
    settings: &RunSettings,
) -> Result<Option<(runs::Model, String)>, AppError> {
    let now = Utc::now();
    let holder = holder_for(&settings.holder);
    if !crate::lease::acquire(db, LEASE, &holder, now, LEASE_LENGTH).await? {
        return Ok(None);
    }
    let claimed = async {
        fail_stale(db, settings, now, false).await?;
        runs::Entity::find()
            .filter(runs::Column::Status.eq(status::QUEUED))
            .order_by_asc(runs::Column::Id)
            .one(db)
            .await
            .map_err(AppError::from)
    }
    .await;
    match claimed {
        Ok(Some(row)) => Ok(Some((row, holder))),
        other => {
            release(db, &holder).await?;
            other.map(|_| None)
        }
    }
}

/// Queues a run and runs it here, to its end (the command line, tests).
pub async fn run(
    db: &DatabaseConnection,
    master_key: &MasterKey,
    settings: &RunSettings,
    trigger: Trigger,
    started_by: &str,
) -> Result<runs::Model, AppError> {
    let queued = queue(db, settings, trigger, started_by).await?;
    match claim(db, settings).await? {
        Some((row, holder)) if row.id == queued.id => {
            execute(db, master_key, settings, row, holder).await
        }
        Some((_, holder)) => {
            release(db, &holder).await?;
            Err(already_running(db).await?)
        }
        // Another instance took it meanwhile: it runs there.
        None => Err(already_running(db).await?),
    }
}

/// Runs a claimed run to its end, then releases the lease. Whatever happens, the run's row
/// ends with a status and a message.
pub async fn execute(
    db: &DatabaseConnection,
    master_key: &MasterKey,
    settings: &RunSettings,
    row: runs::Model,
    holder: String,
) -> Result<runs::Model, AppError> {
    let events = serde_json::from_str(&row.events).unwrap_or_default();
    let mut recorder = Recorder {
        db,
        holder: holder.clone(),
        row,
        events,
    };
    let outcome = match go(&mut recorder, master_key, settings).await {
        Ok(done) => Ok(done),
        Err(Stop::Cancelled(said)) => {
            let said = if said.is_empty() {
                "Cancelled.".to_string()
            } else {
                said
            };
            recorder
                .finish(RunStatus::Cancelled, said, |_| {})
                .await
                .map_err(app_error)
        }
        Err(Stop::App(e)) => {
            tracing::error!(error = %e, run = recorder.row.id, "a backup run stopped on an error");
            recorder
                .fail(
                    "An error inside this server stopped the backup. The details were logged."
                        .into(),
                )
                .await
                .map_err(|_| e)
        }
    };
    let released = release(db, &holder).await;
    let done = outcome?;
    released?;
    if !RunStatus::of(&done.status).succeeded() {
        remove_files(settings, done.id).await;
    }
    super::service::after_run(db, settings, &done, Utc::now()).await?;
    Ok(done)
}

fn app_error(stop: Stop) -> AppError {
    match stop {
        Stop::App(e) => e,
        Stop::Cancelled(_) => AppError::Internal,
    }
}

async fn go(
    run: &mut Recorder<'_>,
    master_key: &MasterKey,
    settings: &RunSettings,
) -> Step<runs::Model> {
    run.check_cancel().await?;
    let mut row: runs::ActiveModel = run.row.clone().into();
    row.status = Set(status::RUNNING.into());
    run.row = row.update(run.db).await?;
    crate::lease::acquire(run.db, LEASE, &run.holder, Utc::now(), LEASE_LENGTH).await?;
    steps(run, master_key, settings).await
}

/// Records a check of the stored credentials that this run made.
async fn record_check(
    run: &Recorder<'_>,
    stored: &crate::entities::xray_credentials::Model,
    outcome: &Outcome,
) -> Step<()> {
    let source = format!("Backup run {}", run.row.id);
    credentials::store_outcome(run.db, stored, outcome, &source).await?;
    Ok(())
}

async fn steps(
    run: &mut Recorder<'_>,
    master_key: &MasterKey,
    settings: &RunSettings,
) -> Step<runs::Model> {
    let db = run.db;
    let (stored, secret) = match credentials::read_stored(db, master_key).await {
        Ok(Some(pair)) => pair,
        Ok(None) => {
            return run
                .finish(
                    RunStatus::Skipped,
                    "No Xray Credentials are stored. Add them on the Xray Credentials page.".into(),
                    |_| {},
                )
                .await
        }
        // The stored secret does not open for its Client ID and URL: it must be entered again.
        Err(AppError::Conflict(message)) => {
            return run.finish(RunStatus::Skipped, message, |_| {}).await
        }
        Err(e) => return Err(e.into()),
    };
    let schedule = super::service::load_schedule(db).await?;
    let since = super::service::last_success(db)
        .await?
        .map(|r| r.started_at);
    let plan = Plan::of(&schedule, since);
    let wait_at_most = plan.wait_at_most.min(settings.pacing.wait_at_most);
    let base = BaseUrl::from_stored(&stored.base_url);
    let (client, root) = match settings.tester.client_for(&base).await {
        Ok(pair) => pair,
        Err(outcome) => {
            record_check(run, &stored, &outcome).await?;
            return run
                .fail(format!("Xray could not be reached: {}.", outcome.badge()))
                .await;
        }
    };
    let api = format!("{root}/{}", plan.version);
    {
        let mut row: runs::ActiveModel = run.row.clone().into();
        row.api_url = Set(root.clone());
        row.client_id = Set(stored.client_id.clone());
        row.request = Set(plan.body.to_string());
        run.row = row.update(db).await?;
    }
    run.step(
        "Authenticating",
        format!("Authenticating at {api}/authenticate"),
    )
    .await?;
    let credentials_body =
        serde_json::json!({ "client_id": stored.client_id, "client_secret": secret.expose() })
            .to_string();
    let authenticate = || {
        client
            .post(format!("{api}/authenticate"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(credentials_body.clone())
    };
    let authenticated = run.send(settings, "authenticate", authenticate).await?;
    let mut token = match token_of(authenticated) {
        Ok(token) => token,
        Err(Answer::Status(status, body)) => {
            // The credentials page says the same as the run: the stored credentials failed.
            record_check(run, &stored, &check_of(status, &body)).await?;
            return run
                .finish(RunStatus::Skipped, refusal(status, &body), |_| {})
                .await;
        }
        Err(Answer::Unreachable(why)) => return run.unreachable(&why).await,
    };
    record_check(run, &stored, &Outcome::Connected { as_user: None }).await?;

    run.step(
        "Requesting backup",
        format!("Requesting a backup at {api}/backup: {}", plan.body),
    )
    .await?;
    let request_body = plan.body.to_string();
    let asked = {
        let token = token.clone();
        run.send(settings, "the backup request", || {
            client
                .post(format!("{api}/backup"))
                .bearer_auth(&token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(request_body.clone())
        })
        .await?
    };
    let (status, body) = match asked {
        Ok(reply) => (reply.status, reply.body),
        Err(why) => return run.unreachable(&why).await,
    };
    let job_id = match status {
        200 => match serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("jobId").and_then(|j| j.as_str()).map(str::to_string))
        {
            Some(id) => id,
            None => {
                return run
                    .fail("Xray's answer to the backup request held no jobId.".into())
                    .await
            }
        },
        400 if body.contains("once every 6 hours") => {
            let text = error_text(&body);
            let wait = six_hour_wait(&text).unwrap_or(chrono::Duration::hours(6));
            let again = Utc::now() + wait + chrono::Duration::minutes(1);
            let message = format!(
                "Xray allows one backup every 6 hours; trying again at {}.",
                again.format("%H:%M UTC")
            );
            return run
                .finish(RunStatus::Postponed, message, |row| {
                    row.retry_at = Set(Some(again));
                })
                .await;
        }
        401 | 403 => {
            record_check(run, &stored, &check_of(status, &body)).await?;
            return run
                .finish(RunStatus::Skipped, refusal(status, &body), |_| {})
                .await;
        }
        other => {
            let message = format!(
                "Xray refused the backup request ({other}: {}).",
                error_text(&body)
            );
            return run.fail(message).await;
        }
    };
    {
        let mut row: runs::ActiveModel = run.row.clone().into();
        row.xray_job_id = Set(Some(job_id.clone()));
        run.row = row.update(db).await?;
    }

    // Poll: first after a short wait, then at a steady pace, for at most the configured time.
    let started = std::time::Instant::now();
    let mut wait = settings.pacing.first_poll;
    let mut authenticated_again = false;
    let answer = loop {
        run.pause(wait).await?;
        wait = settings.pacing.poll_every;
        if started.elapsed() > wait_at_most {
            let limit = wait_at_most.as_secs();
            let message = if limit >= 60 {
                format!(
                    "Xray did not finish backup job {job_id} within {} minutes.",
                    limit / 60
                )
            } else {
                format!("Xray did not finish backup job {job_id} within {limit} seconds.")
            };
            return run.fail(message).await;
        }
        let polled = {
            let token = token.clone();
            run.send(settings, "the status request", || {
                client
                    .get(format!("{api}/backup/{job_id}/status"))
                    .bearer_auth(&token)
            })
            .await?
        };
        let (status, body) = match polled {
            Ok(reply) => (reply.status, reply.body),
            Err(why) => return run.unreachable(&why).await,
        };
        match status {
            200 => {}
            404 => {
                return run
                    .fail(format!("Xray no longer knows backup job {job_id}."))
                    .await
            }
            // A token can expire during a long wait: authenticate once more.
            401 if !authenticated_again => {
                authenticated_again = true;
                run.step(
                    "Authenticating",
                    "Xray no longer accepted the token; authenticating again".into(),
                )
                .await?;
                let again = run.send(settings, "authenticate", authenticate).await?;
                match token_of(again) {
                    Ok(fresh) => {
                        token = fresh;
                        wait = Duration::ZERO;
                        continue;
                    }
                    Err(Answer::Status(status, body)) => {
                        record_check(run, &stored, &check_of(status, &body)).await?;
                        return run
                            .fail("The Xray Credentials stopped working during the backup.".into())
                            .await;
                    }
                    Err(Answer::Unreachable(why)) => return run.unreachable(&why).await,
                }
            }
            401 | 403 => {
                record_check(run, &stored, &check_of(status, &body)).await?;
                return run
                    .fail("The Xray Credentials stopped working during the backup.".into())
                    .await;
            }
            other => {
                let message = format!(
                    "Xray answered the status request with {other}: {}",
                    error_text(&body)
                );
                return run.fail(message).await;
            }
        }
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        match answer.get("status").and_then(|s| s.as_str()) {
            Some("working") => {
                let progress = answer
                    .get("progressValue")
                    .and_then(|p| p.as_str())
                    .unwrap_or("")
                    .chars()
                    .take(8)
                    .collect::<String>();
                run.step(
                    &format!("Waiting for Xray ({progress})"),
                    format!("Xray is working ({progress})"),
                )
                .await?;
            }
            Some("successful") => break answer,
            other => {
                let message = format!("Xray answered an unknown status {:?}.", other.unwrap_or(""));
                return run.fail(message).await;
            }
        }
    };
    let Some(file_url) = answer.get("fileUrl").and_then(|u| u.as_str()) else {
        return run
            .fail("Xray said successful without a fileUrl.".into())
            .await;
    };

    run.step("Downloading data", format!("Downloading {file_url}"))
        .await?;
    let folder = settings.folder.join(run.row.id.to_string());
    // Plaintext lands here until it is sealed: the whole tree is the server user's only, also
    // when an older release made the folder with the default mode.
    if let Err(e) = crate::owner_only::create_dir(&settings.folder) {
        let message = match e.kind() {
            std::io::ErrorKind::StorageFull => super::fetch::FetchError::DiskFull.message(),
            _ => {
                tracing::error!(error = %e, folder = %settings.folder.display(), "the backups folder");
                super::storage::STORAGE_FAILED.to_string()
            }
        };
        return run.fail(message).await;
    }
    let fetcher = match Fetcher::new(
        &settings.this_server,
        settings.max_bytes,
        settings.tester.timeout,
    ) {
        Ok(f) => f,
        Err(e) => return run.fail(e.message()).await,
    };
    let data = match run
        .download(settings, &fetcher, file_url, &token, &folder, "data.zip")
        .await?
    {
        Ok(f) => f,
        Err(e) => return run.fail(e.message()).await,
    };
    let mut warnings = Vec::new();
    let mut attachments = None;
    if plan.attachments {
        match answer.get("attachmentUrl").and_then(|u| u.as_str()) {
            None => warnings.push("Xray sent no attachments file.".to_string()),
            Some(url) => {
                run.step("Downloading attachments", format!("Downloading {url}"))
                    .await?;
                let fetched = run
                    .download(settings, &fetcher, url, &token, &folder, "attachments.zip")
                    .await?;
                match fetched {
                    Ok(f) => attachments = Some(f),
                    Err(super::fetch::FetchError::DiskFull) => {
                        return run.fail(super::fetch::FetchError::DiskFull.message()).await
                    }
                    Err(e) => warnings.push(format!(
                        "The attachments were not downloaded: {}",
                        e.message()
                    )),
                }
            }
        }
    }

    run.step(
        "Verifying",
        format!("Verifying {} bytes, SHA-256 {}", data.size, data.sha256),
    )
    .await?;
    let path = data.path.clone();
    let verified = match tokio::task::spawn_blocking(move || super::verify::verify(&path)).await {
        Ok(Ok(v)) => v,
        Ok(Err(message)) => return run.fail(message).await,
        Err(_) => return Err(AppError::Internal.into()),
    };
    warnings.extend(verified.warnings.iter().cloned());
    let count = |name: &str| {
        verified
            .counts
            .get(name)
            .map(|n| i64::try_from(*n).unwrap_or(i64::MAX))
    };
    let (status, message) = if warnings.is_empty() {
        (
            RunStatus::Succeeded,
            format!(
                "Backed up {} tests and {} test executions.",
                count("tests").unwrap_or(0),
                count("testExecutions").unwrap_or(0)
            ),
        )
    } else {
        (RunStatus::SucceededWithWarnings, warnings.join(" "))
    };
    run.step("Storing", "Encrypting the files and their manifest".into())
        .await?;
    let mut files = vec![super::FileInfo {
        name: "data.zip".into(),
        size: data.size,
        sha256: data.sha256.clone(),
    }];
    let mut plain = vec![("data.zip".to_string(), data.path.clone())];
    if let Some(a) = &attachments {
        files.push(super::FileInfo {
            name: "attachments.zip".into(),
            size: a.size,
            sha256: a.sha256.clone(),
        });
        plain.push(("attachments.zip".to_string(), a.path.clone()));
    }
    let files_json = serde_json::json!(files
        .iter()
        .map(|f| serde_json::json!({ "name": f.name, "size": f.size, "sha256": f.sha256 }))
        .collect::<Vec<_>>());
    let manifest = serde_json::json!({
        "run": run.row.id,
        "trigger": run.row.trigger,
        "started_by": run.row.started_by,
        "started_at": run.row.started_at,
        "stored_at": Utc::now(),
        "api_url": run.row.api_url,
        "api_version": plan.version,
        "client_id": run.row.client_id,
        "xray_job_id": run.row.xray_job_id,
        "request": plan.body,
        "files": files_json,
        "counts": verified.counts,
        "warnings": warnings,
    });
    let (key, run_id, target) = (master_key.clone(), run.row.id, folder.clone());
    let stored_files =
        tokio::task::spawn_blocking(move || store_sealed(&key, run_id, &target, &plain, &manifest))
            .await
            .map_err(|_| AppError::Internal)?;
    if let Err(e) = stored_files {
        return run.fail(e.to_string()).await;
    }
    let mut sealed: Vec<String> = files.iter().map(|f| format!("{}.xk", f.name)).collect();
    sealed.push("manifest.json.xk".into());
    if let Some(bucket) = &settings.bucket {
        run.step("Storing", format!("Uploading to {}", bucket.url))
            .await?;
    }
    if let Err(message) =
        super::storage::keep(settings.bucket.as_ref(), &settings.folder, run_id, &sealed).await
    {
        return run.fail(message).await;
    }
    let total: u64 = files.iter().map(|f| f.size).sum();
    let counts = serde_json::to_string(&verified.counts).map_err(AppError::logged("counts"))?;
    run.finish(status, message, |row| {
        row.tests = Set(count("tests"));
        row.test_executions = Set(count("testExecutions"));
        row.size = Set(Some(i64::try_from(total).unwrap_or(i64::MAX)));
        row.sha256 = Set(Some(data.sha256.clone()));
        row.file = Set(Some(format!("{run_id}/data.zip.xk")));
        row.files = Set(files_json.to_string());
        row.counts = Set(counts);
    })
    .await
}

/// Seals the downloaded `plain` files and the manifest into `folder`, then removes the
/// plaintext: what stays on disk is only ever sealed.
fn store_sealed(
    key: &MasterKey,
    run_id: i32,
    folder: &std::path::Path,
    plain: &[(String, PathBuf)],
    manifest: &serde_json::Value,
) -> Result<(), super::store::StoreError> {
    use super::store::{io, seal_file};
    use std::io::Write;
    let outcome = (|| {
        for (name, path) in plain {
            seal_file(key, run_id, name, path, &folder.join(format!("{name}.xk")))?;
        }
        let manifest_plain = folder.join(".manifest.json");
        crate::owner_only::create_file(&manifest_plain)
            .and_then(|mut f| f.write_all(manifest.to_string().as_bytes()))
            .map_err(io)?;
        let sealed = seal_file(
            key,
            run_id,
            "manifest.json",
            &manifest_plain,
            &folder.join("manifest.json.xk"),
        );
        let _ = std::fs::remove_file(&manifest_plain);
        sealed
    })();
    for (_, path) in plain {
        let _ = std::fs::remove_file(path);
    }
    outcome
}

enum Answer {
    Status(u16, String),
    Unreachable(String),
}

/// An answer as a run reads it.
struct Reply {
    status: u16,
    /// `Retry-After` in seconds, when given.
    retry_after: Option<u64>,
    body: String,
}

async fn read(sent: Result<reqwest::Response, reqwest::Error>) -> Result<Reply, String> {
    let response = sent.map_err(|e| category(&e))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = response.text().await.map_err(|e| category(&e))?;
    Ok(Reply {
        status,
        retry_after,
        body: body.chars().take(64 * 1024).collect(),
    })
}

/// A failed request's category, never the operating system's text.
fn category(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "no connection".into()
    } else {
        "the connection failed".into()
    }
}

/// The token in authenticate's answer (a bare JSON string).
fn token_of(answer: Result<Reply, String>) -> Result<String, Answer> {
    let reply = answer.map_err(Answer::Unreachable)?;
    if reply.status != 200 {
        return Err(Answer::Status(reply.status, reply.body));
    }
    serde_json::from_str::<String>(&reply.body)
        .map_err(|_| Answer::Status(reply.status, "no token in the answer".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xrays_wait_is_read_from_its_text() {
        let text = "A backup can be created once every 6 hours, you can create a new one in: 5 hours, 56 minutes and 47 seconds.";
        assert_eq!(
            six_hour_wait(text),
            Some(chrono::Duration::seconds(5 * 3600 + 56 * 60 + 47))
        );
        assert_eq!(
            six_hour_wait("… create a new one in: 1 hour, 1 minute and 1 second."),
            Some(chrono::Duration::seconds(3661))
        );
        assert_eq!(
            six_hour_wait("A backup can be created once every 6 hours."),
            None
        );
        assert_eq!(six_hour_wait("… create a new one in: soon."), None);
    }
}
