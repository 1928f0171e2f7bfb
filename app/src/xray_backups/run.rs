//! A backup run, steps 1–7 of issue 18: one run at a time across instances (a lease), the
//! stored credentials, authenticate, request the backup (Xray's 6-hour rule postpones it),
//! poll its status, download the file ([`super::fetch`]) and verify it ([`super::verify`]).
//! Every step is recorded with its time in the run's history row; Xray's answers are quoted,
//! never a token or secret.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};

use super::fetch::Fetcher;
use crate::credentials::connection::Tester;
use crate::credentials::{service as credentials, BaseUrl};
use crate::entities::xray_backup_runs as runs;
use crate::error::AppError;
use crate::vault::MasterKey;

const LEASE: &str = "xray-backup-run";
/// How long a run's lease lasts without renewal (longer than its longest wait between two
/// requests); a crashed instance's run is found stale after it.
const LEASE_LENGTH: chrono::Duration = chrono::Duration::minutes(20);

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

/// How a run ended (`Running` while it runs), as stored and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Succeeded,
    SucceededWithWarnings,
    Postponed,
    Skipped,
    Failed,
}

impl RunStatus {
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "Running",
            RunStatus::Succeeded => "Succeeded",
            RunStatus::SucceededWithWarnings => "Succeeded with warnings",
            RunStatus::Postponed => "Postponed",
            RunStatus::Skipped => "Skipped (Xray data)",
            RunStatus::Failed => "Failed",
        }
    }

    /// The command line's exit code for a finished run.
    pub fn exit_code(self) -> i32 {
        match self {
            RunStatus::Succeeded => 0,
            RunStatus::SucceededWithWarnings => 10,
            RunStatus::Postponed => 20,
            RunStatus::Skipped => 30,
            RunStatus::Running | RunStatus::Failed => 40,
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
    pub wait_at_most: Duration,
}

impl Pacing {
    /// Issue 18's: after 5 s, then every 30 s, at most 240 minutes.
    pub const XRAY: Pacing = Pacing {
        first_poll: Duration::from_secs(5),
        poll_every: Duration::from_secs(30),
        wait_at_most: Duration::from_secs(240 * 60),
    };
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
pub struct RunSettings {
    /// Runs' files go under `<folder>/<run id>/`.
    pub folder: PathBuf,
    pub tester: Tester,
    pub pacing: Pacing,
    pub retries: Retries,
    /// The largest backup file taken.
    pub max_bytes: u64,
    /// Origins plain http may go to (this server under its names).
    pub this_server: Vec<String>,
    /// Who holds the lease (this instance).
    pub holder: String,
}

/// A run as it goes: its row, and the timeline kept in it.
struct Recorder<'a> {
    db: &'a DatabaseConnection,
    row: runs::Model,
    events: Vec<Event>,
}

impl Recorder<'_> {
    async fn step(&mut self, step: &str, text: String) -> Result<(), AppError> {
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
    /// the timeline, and the lease is renewed after it). The inner `Err` is the category of a
    /// request that never got an answer.
    async fn send(
        &mut self,
        settings: &RunSettings,
        what: &str,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Result<Reply, String>, AppError> {
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
            tokio::time::sleep(wait).await;
            crate::lease::acquire(self.db, LEASE, &settings.holder, Utc::now(), LEASE_LENGTH)
                .await?;
        }
    }

    /// Ends the run as Failed because Xray never answered (after the retries).
    async fn unreachable(self, why: &str) -> Result<runs::Model, AppError> {
        self.finish(
            RunStatus::Failed,
            format!("Xray could not be reached ({why})."),
            |_| {},
        )
        .await
    }

    async fn finish(
        mut self,
        status: RunStatus,
        message: String,
        change: impl FnOnce(&mut runs::ActiveModel),
    ) -> Result<runs::Model, AppError> {
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
        Ok(row.update(self.db).await?)
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

/// Runs one backup now. `Err(Conflict)` when another run holds the lease.
pub async fn run(
    db: &DatabaseConnection,
    master_key: &MasterKey,
    settings: &RunSettings,
    trigger: Trigger,
) -> Result<runs::Model, AppError> {
    let now = Utc::now();
    if !crate::lease::acquire(db, LEASE, &settings.holder, now, LEASE_LENGTH).await? {
        let started = runs::Entity::find()
            .filter(runs::Column::Status.eq(RunStatus::Running.name()))
            .one(db)
            .await?
            .map(|r| r.started_at.format(" (started %H:%M UTC)").to_string())
            .unwrap_or_default();
        return Err(AppError::Conflict(format!(
            "A backup is already running{started}."
        )));
    }
    // Holding the lease, any run still "Running" belongs to an instance that stopped.
    runs::Entity::update_many()
        .col_expr(
            runs::Column::Status,
            sea_orm::sea_query::Expr::value(RunStatus::Failed.name()),
        )
        .col_expr(
            runs::Column::Message,
            sea_orm::sea_query::Expr::value("The server running this backup stopped."),
        )
        .col_expr(
            runs::Column::FinishedAt,
            sea_orm::sea_query::Expr::value(Some(now)),
        )
        .filter(runs::Column::Status.eq(RunStatus::Running.name()))
        .exec(db)
        .await?;
    let row = runs::ActiveModel {
        trigger: Set(trigger.name().to_string()),
        status: Set(RunStatus::Running.name().to_string()),
        message: Set(String::new()),
        started_at: Set(now),
        events: Set("[]".into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let recorder = Recorder {
        db,
        row,
        events: Vec::new(),
    };
    let outcome = steps(recorder, master_key, settings).await;
    crate::entities::leases::Entity::delete_many()
        .filter(crate::entities::leases::Column::Name.eq(LEASE))
        .filter(crate::entities::leases::Column::Holder.eq(settings.holder.as_str()))
        .exec(db)
        .await?;
    outcome
}

async fn steps(
    mut run: Recorder<'_>,
    master_key: &MasterKey,
    settings: &RunSettings,
) -> Result<runs::Model, AppError> {
    let db = run.db;
    let Some((stored, secret)) = credentials::read_stored(db, master_key).await? else {
        return run
            .finish(
                RunStatus::Skipped,
                "No Xray Credentials are stored. Add them on the Xray Credentials page.".into(),
                |_| {},
            )
            .await;
    };
    let base = BaseUrl::from_stored(&stored.base_url);
    let (client, root) = match settings.tester.client_for(&base).await {
        Ok(pair) => pair,
        Err(outcome) => {
            return run
                .finish(
                    RunStatus::Failed,
                    format!("Xray could not be reached: {}.", outcome.badge()),
                    |_| {},
                )
                .await
        }
    };
    {
        let mut row: runs::ActiveModel = run.row.clone().into();
        row.api_url = Set(root.clone());
        row.client_id = Set(stored.client_id.clone());
        run.row = row.update(db).await?;
    }
    run.step(
        "Authenticating",
        format!("Authenticating at {root}/v2/authenticate"),
    )
    .await?;
    let credentials_body =
        serde_json::json!({ "client_id": stored.client_id, "client_secret": secret.expose() })
            .to_string();
    let authenticated = run
        .send(settings, "authenticate", || {
            client
                .post(format!("{root}/v2/authenticate"))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(credentials_body.clone())
        })
        .await?;
    let token = match token_of(authenticated) {
        Ok(token) => token,
        Err(Answer::Status(status, body)) => {
            // The credentials page says the same as the run: the stored credentials failed.
            credentials::store_outcome(db, &stored, &check_of(status, &body)).await?;
            return run
                .finish(RunStatus::Skipped, refusal(status, &body), |_| {})
                .await;
        }
        Err(Answer::Unreachable(why)) => return run.unreachable(&why).await,
    };

    run.step(
        "Requesting backup",
        format!("Requesting a backup at {root}/v2/backup"),
    )
    .await?;
    let asked = run
        .send(settings, "the backup request", || {
            client
                .post(format!("{root}/v2/backup"))
                .bearer_auth(&token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body("{}")
        })
        .await?;
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
                    .finish(
                        RunStatus::Failed,
                        "Xray's answer to the backup request held no jobId.".into(),
                        |_| {},
                    )
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
            return run
                .finish(RunStatus::Skipped, refusal(status, &body), |_| {})
                .await
        }
        other => {
            let message = format!(
                "Xray refused the backup request ({other}: {}).",
                error_text(&body)
            );
            return run.finish(RunStatus::Failed, message, |_| {}).await;
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
    let file_url = loop {
        tokio::time::sleep(wait).await;
        wait = settings.pacing.poll_every;
        if started.elapsed() > settings.pacing.wait_at_most {
            let limit = settings.pacing.wait_at_most.as_secs();
            let message = if limit >= 60 {
                format!(
                    "Xray did not finish backup job {job_id} within {} minutes.",
                    limit / 60
                )
            } else {
                format!("Xray did not finish backup job {job_id} within {limit} seconds.")
            };
            return run.finish(RunStatus::Failed, message, |_| {}).await;
        }
        // Still this run's: a crashed instance's lease would let another start.
        crate::lease::acquire(db, LEASE, &settings.holder, Utc::now(), LEASE_LENGTH).await?;
        let polled = run
            .send(settings, "the status request", || {
                client
                    .get(format!("{root}/v2/backup/{job_id}/status"))
                    .bearer_auth(&token)
            })
            .await?;
        let (status, body) = match polled {
            Ok(reply) => (reply.status, reply.body),
            Err(why) => return run.unreachable(&why).await,
        };
        match status {
            200 => {}
            404 => {
                let message = format!("Xray no longer knows backup job {job_id}.");
                return run.finish(RunStatus::Failed, message, |_| {}).await;
            }
            401 | 403 => {
                let message = "The Xray Credentials stopped working during the backup.".to_string();
                return run.finish(RunStatus::Failed, message, |_| {}).await;
            }
            other => {
                let message = format!(
                    "Xray answered the status request with {other}: {}",
                    error_text(&body)
                );
                return run.finish(RunStatus::Failed, message, |_| {}).await;
            }
        }
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        match answer.get("status").and_then(|s| s.as_str()) {
            Some("working") => {
                let progress = answer
                    .get("progressValue")
                    .and_then(|p| p.as_str())
                    .unwrap_or("");
                run.step(
                    &format!("Waiting for Xray ({progress})"),
                    format!("Xray is working ({progress})"),
                )
                .await?;
            }
            Some("successful") => match answer.get("fileUrl").and_then(|u| u.as_str()) {
                Some(url) => break url.to_string(),
                None => {
                    return run
                        .finish(
                            RunStatus::Failed,
                            "Xray said successful without a fileUrl.".into(),
                            |_| {},
                        )
                        .await
                }
            },
            other => {
                let message = format!("Xray answered an unknown status {:?}.", other.unwrap_or(""));
                return run.finish(RunStatus::Failed, message, |_| {}).await;
            }
        }
    };

    run.step("Downloading data", format!("Downloading {file_url}"))
        .await?;
    let folder = settings.folder.join(run.row.id.to_string());
    let fetcher = match Fetcher::new(
        &settings.this_server,
        settings.max_bytes,
        settings.tester.timeout,
    ) {
        Ok(f) => f,
        Err(e) => return run.finish(RunStatus::Failed, e.message(), |_| {}).await,
    };
    let fetched = match fetcher.fetch(&file_url, &token, &folder, "data.zip").await {
        Ok(f) => f,
        Err(e) => return run.finish(RunStatus::Failed, e.message(), |_| {}).await,
    };

    run.step(
        "Verifying",
        format!(
            "Verifying {} bytes, SHA-256 {}",
            fetched.size, fetched.sha256
        ),
    )
    .await?;
    let path = fetched.path.clone();
    let verified = match tokio::task::spawn_blocking(move || super::verify::verify(&path)).await {
        Ok(Ok(v)) => v,
        Ok(Err(message)) => {
            let _ = tokio::fs::remove_file(&fetched.path).await;
            return run.finish(RunStatus::Failed, message, |_| {}).await;
        }
        Err(_) => return Err(AppError::Internal),
    };
    let count = |name: &str| {
        verified
            .counts
            .get(name)
            .map(|n| i64::try_from(*n).unwrap_or(i64::MAX))
    };
    let (status, message) = if verified.warnings.is_empty() {
        (
            RunStatus::Succeeded,
            format!(
                "Backed up {} tests and {} test executions.",
                count("tests").unwrap_or(0),
                count("testExecutions").unwrap_or(0)
            ),
        )
    } else {
        (
            RunStatus::SucceededWithWarnings,
            verified.warnings.join(" "),
        )
    };
    run.step("Storing", "Encrypting the file and its manifest".into())
        .await?;
    let manifest = serde_json::json!({
        "run": run.row.id,
        "trigger": run.row.trigger,
        "started_at": run.row.started_at,
        "stored_at": Utc::now(),
        "api_url": run.row.api_url,
        "client_id": run.row.client_id,
        "xray_job_id": run.row.xray_job_id,
        "request": {},
        "files": [{ "name": "data.zip", "size": fetched.size, "sha256": fetched.sha256 }],
        "counts": verified.counts,
        "warnings": verified.warnings,
    });
    let (key, run_id, plain) = (master_key.clone(), run.row.id, fetched.path.clone());
    let sealed_name = format!("{}/data.zip.xk", run.row.id);
    let stored = tokio::task::spawn_blocking(move || store_sealed(&key, run_id, &plain, &manifest))
        .await
        .map_err(|_| AppError::Internal)?;
    if let Err(e) = stored {
        return run.finish(RunStatus::Failed, e.to_string(), |_| {}).await;
    }
    run.finish(status, message, |row| {
        row.tests = Set(count("tests"));
        row.test_executions = Set(count("testExecutions"));
        row.size = Set(Some(i64::try_from(fetched.size).unwrap_or(i64::MAX)));
        row.sha256 = Set(Some(fetched.sha256.clone()));
        row.file = Set(Some(sealed_name));
    })
    .await
}

/// Seals the downloaded `plain` file and the manifest beside it, then removes the plaintext:
/// what stays on disk is only ever sealed.
fn store_sealed(
    key: &MasterKey,
    run_id: i32,
    plain: &std::path::Path,
    manifest: &serde_json::Value,
) -> Result<(), super::store::StoreError> {
    use super::store::{seal_file, StoreError};
    let folder = plain.parent().ok_or(StoreError::Io)?;
    let outcome = (|| {
        seal_file(key, run_id, "data.zip", plain, &folder.join("data.zip.xk"))?;
        let manifest_plain = folder.join(".manifest.json");
        std::fs::write(&manifest_plain, manifest.to_string()).map_err(|_| StoreError::Io)?;
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
    let _ = std::fs::remove_file(plain);
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
