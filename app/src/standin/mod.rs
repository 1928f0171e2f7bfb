//! The Xray Cloud stand-in: for tokens this server issued, a simulation of Xray Cloud's public
//! API, so CI clients and backup jobs complete their flow offline. Off unless
//! `XRAY_KEYS_XRAY_STANDIN=on`; when off, its paths answer 404 like any unknown path.
//!
//! The tenant's tables, `xray-keys standin seed`, imports (Xray JSON, JUnit XML, multipart) and
//! GraphQL. Wire formats follow Xray's documentation and what its clients send
//! (`xray-cloud-api.md` names the sources).

pub mod api;
#[cfg(feature = "ssr")]
pub mod backup;
#[cfg(feature = "ssr")]
pub mod faults;
#[cfg(feature = "ssr")]
pub mod graphql;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod jql;
#[cfg(feature = "ssr")]
pub mod junit;
pub mod page;
#[cfg(feature = "ssr")]
pub mod routes;
#[cfg(feature = "ssr")]
pub mod seed;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// Xray's issue types, as it names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueType {
    Test,
    Precondition,
    TestSet,
    TestPlan,
    TestExecution,
}

impl IssueType {
    pub fn name(self) -> &'static str {
        match self {
            IssueType::Test => "Test",
            IssueType::Precondition => "Pre-Condition",
            IssueType::TestSet => "Test Set",
            IssueType::TestPlan => "Test Plan",
            IssueType::TestExecution => "Test Execution",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            IssueType::Test,
            IssueType::Precondition,
            IssueType::TestSet,
            IssueType::TestPlan,
            IssueType::TestExecution,
        ]
        .into_iter()
        .find(|kind| kind.name() == name)
    }
}

/// What an import answers, as Xray: the Test Execution's issue id, key and Jira address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedExecution {
    pub id: String,
    pub key: String,
    #[serde(rename = "self")]
    pub self_url: String,
}

/// A time as the stand-in's answers and files write it: RFC 3339 in UTC with milliseconds.
#[cfg(feature = "ssr")]
pub fn iso(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Issue ids start here, as Jira's do, so an id never looks like a small counter.
pub const ISSUE_ID_BASE: i32 = 10_000;
/// Project ids likewise (project 1 is "10001"), as `projectId` and backups' `projectIds` name them.
pub const PROJECT_ID_BASE: i32 = 10_000;

/// What the stand-in page shows: a simulation's state, never a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandinOverview {
    /// "Standard: 300 requests per 5 minutes".
    pub plan: String,
    pub projects: Vec<ProjectRow>,
    pub executions: Vec<ExecutionRow>,
    pub total_executions: u64,
    pub page: u64,
    pub per_page: u64,
    pub faults: Vec<FaultRow>,
    pub backups: Vec<BackupRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRow {
    pub key: String,
    pub id: String,
    pub name: String,
    pub tests: u64,
    pub issues: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionRow {
    pub key: String,
    pub summary: String,
    pub imported_by: String,
    /// "2026-12-01 10:00 UTC", formatted on the server so both renders agree.
    pub imported_at: String,
    /// Runs per status, most first.
    pub statuses: Vec<(String, u64)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRow {
    pub target: String,
    pub fault: String,
    /// "2 more requests" or "Until cleared".
    pub remaining: String,
    pub since: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRow {
    pub job_id: String,
    pub requested_by: String,
    pub requested_at: String,
    /// "Working (40%)" or "Successful".
    pub status: String,
}

/// Test executions a page of the stand-in page lists.
pub const EXECUTIONS_PER_PAGE: u64 = 20;
