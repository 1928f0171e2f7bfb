//! Xray backups (issue 18): the job the stored Xray Credentials exist for. A run ([`run`])
//! authenticates, requests a backup, waits for Xray, downloads ([`fetch`]), verifies
//! ([`verify`]) and stores the files encrypted ([`store`]); [`service`] keeps the schedule,
//! history, health and retention, and [`scheduler`] starts the runs that are due. This module
//! holds what the page and the server share.

pub mod api;
#[cfg(feature = "ssr")]
pub mod downloads;
#[cfg(feature = "ssr")]
pub mod fetch;
pub mod page;
#[cfg(feature = "ssr")]
pub mod run;
#[cfg(feature = "ssr")]
pub mod scheduler;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod storage;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod verify;

pub use api::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::users::Role;

/// Who may open the page and start, cancel or download backups.
pub const ROLES: &[Role] = &[Role::Administrator, Role::BackupOperator];

/// Runs per history page.
pub const PER_PAGE: u64 = 10;

/// A status a run can have, as stored and shown.
pub mod status {
    pub const QUEUED: &str = "Queued";
    pub const RUNNING: &str = "Running";
    pub const SUCCEEDED: &str = "Succeeded";
    pub const WARNINGS: &str = "Succeeded with warnings";
    pub const POSTPONED: &str = "Postponed";
    pub const SKIPPED: &str = "Skipped (Xray data)";
    pub const FAILED: &str = "Failed";
    pub const CANCELLED: &str = "Cancelled";

    /// Still going: the page refreshes while one is.
    pub fn is_active(status: &str) -> bool {
        status == QUEUED || status == RUNNING
    }

    /// The lozenge a status wears.
    pub fn class(status: &str) -> &'static str {
        match status {
            SUCCEEDED => "lozenge lozenge--success",
            WARNINGS | POSTPONED | SKIPPED => "lozenge lozenge--warning",
            FAILED => "lozenge lozenge--danger",
            QUEUED | RUNNING => "lozenge lozenge--info",
            _ => "lozenge",
        }
    }
}

/// How the backups stand, from the time since the last success and the credentials' last check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthState {
    Healthy,
    Unhealthy,
    Critical,
    Never,
}

impl HealthState {
    pub fn label(self) -> &'static str {
        match self {
            HealthState::Healthy => "Healthy",
            HealthState::Unhealthy => "Unhealthy",
            HealthState::Critical => "Critical",
            HealthState::Never => "Never backed up",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            HealthState::Healthy => "lozenge lozenge--success",
            HealthState::Unhealthy => "lozenge lozenge--warning",
            HealthState::Critical => "lozenge lozenge--danger",
            HealthState::Never => "lozenge",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub state: HealthState,
    pub text: String,
    /// The credentials are the cause: the card links to their page.
    pub credentials_link: bool,
}

/// The Xray API versions a run may use (v2 first: Xray says to download large files with it).
pub const API_VERSIONS: [&str; 2] = ["v2", "v1"];

/// The schedule and what every run asks Xray for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub enabled: bool,
    /// Minutes after midnight UTC, a multiple of 30.
    pub daily_at: u32,
    /// Empty: all projects.
    pub project_ids: Vec<String>,
    pub include_attachments: bool,
    /// Only what changed since the last successful backup (`modifiedSince`).
    pub incremental: bool,
    pub keep_days: u32,
    pub keep_last: u32,
    pub api_version: String,
    pub wait_minutes: u32,
    /// The version the form was read at: a save against an older one is refused.
    pub version: i64,
    pub updated_by: String,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            enabled: false,
            daily_at: 120,
            project_ids: Vec::new(),
            include_attachments: false,
            incremental: false,
            keep_days: 30,
            keep_last: 3,
            api_version: "v2".into(),
            wait_minutes: 240,
            version: 0,
            updated_by: String::new(),
            updated_at: None,
        }
    }
}

/// Most project ids one schedule names.
pub const MAX_PROJECTS: usize = 100;

impl Schedule {
    /// "02:00".
    pub fn daily_at_text(&self) -> String {
        clock(self.daily_at)
    }

    /// Every field within its range, or the first that is not.
    pub fn validate(&self) -> Result<(), AppError> {
        if self.daily_at >= 24 * 60 || !self.daily_at.is_multiple_of(30) {
            return Err(AppError::validation(
                "daily_at",
                "Choose a time of day in 30-minute steps.",
            ));
        }
        if self.project_ids.len() > MAX_PROJECTS {
            return Err(AppError::validation(
                "project_ids",
                format!("Name at most {MAX_PROJECTS} project ids."),
            ));
        }
        if let Some(bad) = self
            .project_ids
            .iter()
            .find(|id| id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(AppError::validation(
                "project_ids",
                format!(
                    "'{}' is not a project id (digits, such as 10000).",
                    clip(bad)
                ),
            ));
        }
        if !(1..=3650).contains(&self.keep_days) {
            return Err(AppError::validation(
                "keep_days",
                "Keep backups for 1 to 3650 days.",
            ));
        }
        if !(1..=100).contains(&self.keep_last) {
            return Err(AppError::validation(
                "keep_last",
                "Always keep the last 1 to 100 successful backups.",
            ));
        }
        if !API_VERSIONS.contains(&self.api_version.as_str()) {
            return Err(AppError::validation("api_version", "Choose v2 or v1."));
        }
        if !(1..=1440).contains(&self.wait_minutes) {
            return Err(AppError::validation(
                "wait_minutes",
                "Wait at most 1 to 1440 minutes.",
            ));
        }
        Ok(())
    }

    /// The project ids a form sent: separated by commas, spaces or new lines.
    pub fn parse_projects(input: &str) -> Vec<String> {
        input
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// The start of a user's input, for a message that quotes it.
pub fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Minutes after midnight as "HH:MM".
pub fn clock(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// One run as the history table shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: i32,
    pub started_at: DateTime<Utc>,
    pub trigger: String,
    pub status: String,
    /// The step of a running run ("Waiting for Xray (40%)").
    pub step: Option<String>,
    pub message: String,
    pub tests: Option<i64>,
    pub test_executions: Option<i64>,
    /// Bytes stored (data and attachments, before encryption).
    pub size: Option<i64>,
    pub duration_secs: Option<i64>,
    pub has_data: bool,
    pub has_attachments: bool,
    /// Retention removed its files.
    pub removed: bool,
}

impl RunRow {
    /// "Running: Waiting for Xray (40%)".
    pub fn status_text(&self) -> String {
        match (&self.step, self.status.as_str()) {
            (Some(step), status::RUNNING) => format!("Running: {step}"),
            _ => self.status.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// What the Details panel shows of one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDetails {
    pub row: RunRow,
    pub started_by: String,
    pub finished_at: Option<DateTime<Utc>>,
    pub api_url: String,
    pub client_id: String,
    pub xray_job_id: Option<String>,
    /// The backup request sent (JSON).
    pub request: String,
    pub files: Vec<FileInfo>,
    pub counts: Vec<(String, u64)>,
    pub events: Vec<(DateTime<Utc>, String)>,
}

/// What the page loads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupsOverview {
    pub health: Health,
    pub schedule: Schedule,
    pub credentials_stored: bool,
    pub active: Option<RunRow>,
    pub runs: Vec<RunRow>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub details: Option<RunDetails>,
}

/// A byte count for people: "1.4 MB".
pub fn human_size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if bytes < 1_000 {
        format!("{bytes} B")
    } else if bytes < 1_000_000 {
        format!("{:.1} KB", b / 1e3)
    } else if bytes < 1_000_000_000 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.2} GB", b / 1e9)
    }
}

/// A duration for people: "42 s", "3 min 5 s", "2 h 4 min".
pub fn human_duration(secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{} min {} s", secs / 60, secs % 60)
    } else {
        format!("{} h {} min", secs / 3600, secs % 3600 / 60)
    }
}

/// How long ago, for people: "3 hours ago", "just now".
pub fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    let (n, unit) = if secs < 60 {
        return "just now".into();
    } else if secs < 3600 {
        (secs / 60, "minute")
    } else if secs < 86_400 {
        (secs / 3600, "hour")
    } else {
        (secs / 86_400, "day")
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_out_of_range_names_its_field() {
        let field = |s: Schedule| match s.validate() {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let base = Schedule::default();
        assert!(base.validate().is_ok());
        assert_eq!(
            field(Schedule {
                daily_at: 125,
                ..base.clone()
            }),
            "daily_at"
        );
        assert_eq!(
            field(Schedule {
                daily_at: 1440,
                ..base.clone()
            }),
            "daily_at"
        );
        assert_eq!(
            field(Schedule {
                project_ids: vec!["PRJ".into()],
                ..base.clone()
            }),
            "project_ids"
        );
        assert_eq!(
            field(Schedule {
                keep_days: 0,
                ..base.clone()
            }),
            "keep_days"
        );
        assert_eq!(
            field(Schedule {
                keep_last: 0,
                ..base.clone()
            }),
            "keep_last"
        );
        assert_eq!(
            field(Schedule {
                api_version: "v3".into(),
                ..base.clone()
            }),
            "api_version"
        );
        assert_eq!(
            field(Schedule {
                wait_minutes: 0,
                ..base
            }),
            "wait_minutes"
        );
        assert_eq!(
            Schedule::parse_projects("10000, 10001\n10002"),
            ["10000", "10001", "10002"]
        );
    }

    #[test]
    fn figures_read_as_people_say_them() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_400_000), "1.4 MB");
        assert_eq!(human_duration(185), "3 min 5 s");
        let now = Utc::now();
        assert_eq!(ago(now - chrono::Duration::hours(3), now), "3 hours ago");
        assert_eq!(ago(now - chrono::Duration::minutes(1), now), "1 minute ago");
        assert_eq!(ago(now, now), "just now");
    }
}
