//! `POST /api/v{1,2}/import/execution`: test results in Xray JSON, stored as a Test Execution
//! with one run per test, all or nothing. Tests are named by `testKey` or described by
//! `testInfo` (found by summary in the project, else created, as Xray does).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, Set,
};
use serde::Deserialize;

use super::{ImportedExecution, IssueType, ISSUE_ID_BASE};
use crate::db::begin_write;
use crate::entities::{standin_issues as issues, standin_projects as projects};
use crate::entities::{standin_links as links, standin_runs as runs, standin_steps as steps};
use crate::error::AppError;
use sea_orm::sea_query::OnConflict;

/// The largest import body taken, in bytes.
pub const IMPORT_LIMIT: usize = 10 * 1024 * 1024;
/// The most tests one import may carry.
pub const MAX_TESTS: usize = 10_000;

/// Xray JSON, as clients send it. Fields this stand-in does not keep (evidence, examples,
/// version, revision, step results) are accepted and ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct XrayJson {
    pub test_execution_key: Option<String>,
    pub info: Option<Info>,
    #[serde(default)]
    pub tests: Vec<TestResult>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    pub project: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub test_plan_key: Option<String>,
    #[serde(default)]
    pub test_environments: Vec<String>,
    pub start_date: Option<String>,
    pub finish_date: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub test_key: Option<String>,
    pub test_info: Option<TestInfo>,
    pub status: Option<String>,
    pub comment: Option<String>,
    pub start: Option<String>,
    pub finish: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestInfo {
    pub project_key: Option<String>,
    pub summary: Option<String>,
    #[serde(rename = "type")]
    pub test_type: Option<String>,
    /// Generic tests: what the test runs.
    pub definition: Option<String>,
    #[serde(default)]
    pub steps: Vec<StepDefinition>,
}

#[derive(Debug, Deserialize)]
pub struct StepDefinition {
    pub action: Option<String>,
    pub data: Option<String>,
    pub result: Option<String>,
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::validation("body", message)
}

/// Parses an import body: JSON of Xray's shape, or a clear 400.
pub fn parse(body: &[u8]) -> Result<XrayJson, AppError> {
    let parsed: XrayJson =
        serde_json::from_slice(body).map_err(|e| bad(format!("The body is not Xray JSON: {e}")))?;
    if parsed.tests.len() > MAX_TESTS {
        return Err(bad(format!(
            "An import may carry at most {MAX_TESTS} tests; this one has {}.",
            parsed.tests.len()
        )));
    }
    Ok(parsed)
}

/// The `info` part of a multipart import: the Test Execution's Jira fields, and Xray's own
/// (`xrayFields`: testPlanKey, environments). What it names wins over the results' `info`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssueFields {
    fields: Option<Fields>,
    xray_fields: Option<XrayFields>,
}

#[derive(Debug, Deserialize)]
struct Fields {
    project: Option<ProjectRef>,
    summary: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ProjectRef {
    key: Option<String>,
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct XrayFields {
    test_plan_key: Option<String>,
    environments: Option<Vec<String>>,
}

/// `import` with the multipart `info` part applied.
pub fn with_issue_fields(mut import: XrayJson, info: &[u8]) -> Result<XrayJson, AppError> {
    let given: IssueFields = serde_json::from_slice(info).map_err(|e| {
        AppError::validation(
            "info",
            format!("The part info is not the Test Execution's fields {{\"fields\": {{\"project\": {{\"key\": …}}, \"summary\": …}}}}: {e}"),
        )
    })?;
    let mut merged = import.info.take().unwrap_or_default();
    if let Some(fields) = given.fields {
        if let Some(project) = fields.project {
            merged.project = project.key.or(project.id).or(merged.project);
        }
        merged.summary = fields.summary.or(merged.summary);
        merged.description = fields.description.or(merged.description);
    }
    if let Some(xray) = given.xray_fields {
        merged.test_plan_key = xray.test_plan_key.or(merged.test_plan_key);
        if let Some(environments) = xray.environments {
            merged.test_environments = environments;
        }
    }
    import.info = Some(merged);
    Ok(import)
}

/// An ISO 8601 date and time as clients write it: RFC 3339 (`…+01:00`, `…Z`) or with the
/// offset's colon left out (`…+0100`, as pytest-jira-xray sends), fractions of a second allowed.
pub fn iso_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map(|t| t.with_timezone(&Utc))
        .ok()
}

fn time(value: Option<&str>, what: &str) -> Result<Option<DateTime<Utc>>, AppError> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            iso_time(v).ok_or_else(|| {
                bad(format!(
                    "{what}: '{v}' is not a date and time such as 2026-12-01T10:00:00+01:00"
                ))
            })
        })
        .transpose()
}

/// A status as Xray takes it: one of the built-in ones or a custom one, upper-case letters,
/// digits, spaces and underscores, at most 32 characters.
fn status(value: Option<&str>, what: &str) -> Result<String, AppError> {
    let status = value.map(str::trim).unwrap_or_default();
    let valid = !status.is_empty()
        && status.chars().count() <= 32
        && status
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == ' ' || c == '_');
    if valid {
        Ok(status.to_string())
    } else {
        Err(bad(format!(
            "{what}: give a status such as PASSED, FAILED, TODO, EXECUTING or ABORTED (upper case, at most 32 characters)"
        )))
    }
}

fn text(value: Option<&str>, max: usize, what: &str) -> Result<String, AppError> {
    let value = value.unwrap_or_default().trim();
    if value.chars().count() > max {
        return Err(bad(format!("{what}: at most {max} characters")));
    }
    Ok(value.to_string())
}

/// Creates an issue of `kind` in `project` with the project's next key.
async fn create_issue(
    txn: &impl ConnectionTrait,
    project: &projects::Model,
    kind: IssueType,
    summary: String,
    by: &str,
    now: DateTime<Utc>,
) -> Result<issues::Model, AppError> {
    // Numbered in the transaction that holds the project row, so two imports never share a key.
    let current = projects::Entity::find_by_id(project.id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(AppError::Internal)?;
    let number = current.next_number;
    let mut bumped: projects::ActiveModel = current.into();
    bumped.next_number = Set(number + 1);
    bumped.update(txn).await?;
    Ok(issues::ActiveModel {
        project_id: Set(project.id),
        key: Set(format!("{}-{number}", project.key)),
        issue_type: Set(kind.name().to_string()),
        summary: Set(summary),
        description: Set(String::new()),
        created_by: Set(by.to_string()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}

async fn issue_by_key(
    txn: &impl ConnectionTrait,
    key: &str,
    kind: IssueType,
) -> Result<Option<issues::Model>, AppError> {
    Ok(issues::Entity::find()
        .filter(issues::Column::Key.eq(key.trim().to_ascii_uppercase()))
        .filter(issues::Column::IssueType.eq(kind.name()))
        .one(txn)
        .await?)
}

async fn project_by_key(
    txn: &impl ConnectionTrait,
    key: &str,
) -> Result<projects::Model, AppError> {
    let by_id = key
        .trim()
        .parse::<i32>()
        .ok()
        .map(|id| id - super::PROJECT_ID_BASE);
    projects::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(projects::Column::Key.eq(key.trim().to_ascii_uppercase()))
                .add(projects::Column::Id.eq(by_id.unwrap_or(0))),
        )
        .one(txn)
        .await?
        .ok_or_else(|| bad(format!("There is no project with key '{}'.", key.trim())))
}

/// The Test a result names: by `testKey`, or by `testInfo`'s summary in its project (created
/// with its steps when there is none).
async fn test_of(
    txn: &impl ConnectionTrait,
    result: &TestResult,
    execution_project: &projects::Model,
    at: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<issues::Model, AppError> {
    if let Some(key) = result.test_key.as_deref().filter(|k| !k.trim().is_empty()) {
        return issue_by_key(txn, key, IssueType::Test)
            .await?
            .ok_or_else(|| {
                bad(format!(
                    "{at}.testKey: there is no Test with key '{}'.",
                    key.trim()
                ))
            });
    }
    let Some(info) = &result.test_info else {
        return Err(bad(format!("{at}: give a testKey or a testInfo")));
    };
    let summary = text(
        info.summary.as_deref(),
        255,
        &format!("{at}.testInfo.summary"),
    )?;
    if summary.is_empty() {
        return Err(bad(format!(
            "{at}.testInfo.summary: give the test's summary"
        )));
    }
    let definition = text(
        info.definition.as_deref(),
        10_000,
        &format!("{at}.testInfo.definition"),
    )?;
    let project = match info.project_key.as_deref().filter(|k| !k.trim().is_empty()) {
        Some(key) => project_by_key(txn, key).await?,
        None => execution_project.clone(),
    };
    // A Generic test is the same test when it runs the same thing; others by their summary.
    let same = if definition.is_empty() {
        issues::Column::Summary.eq(summary.as_str())
    } else {
        issues::Column::Definition.eq(definition.as_str())
    };
    if let Some(found) = issues::Entity::find()
        .filter(issues::Column::ProjectId.eq(project.id))
        .filter(issues::Column::IssueType.eq(IssueType::Test.name()))
        .filter(same)
        .one(txn)
        .await?
    {
        return Ok(found);
    }
    let test_type = text(
        info.test_type.as_deref(),
        32,
        &format!("{at}.testInfo.type"),
    )?;
    let created = create_issue(txn, &project, IssueType::Test, summary, by, now).await?;
    let mut typed: issues::ActiveModel = created.into();
    typed.test_type = Set(Some(if test_type.is_empty() {
        "Generic".to_string()
    } else {
        test_type
    }));
    typed.definition = Set((!definition.is_empty()).then_some(definition));
    let created = typed.update(txn).await?;
    for (position, step) in info.steps.iter().enumerate() {
        steps::ActiveModel {
            test_id: Set(created.id),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            action: Set(text(
                step.action.as_deref(),
                10_000,
                &format!("{at}.testInfo.steps[{position}].action"),
            )?),
            data: Set(text(
                step.data.as_deref(),
                10_000,
                &format!("{at}.testInfo.steps[{position}].data"),
            )?),
            result: Set(text(
                step.result.as_deref(),
                10_000,
                &format!("{at}.testInfo.steps[{position}].result"),
            )?),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(created)
}

/// Stores `import` as `by` (the API key's user): a new Test Execution, or the one
/// `testExecutionKey` names updated. All or nothing.
pub async fn import(
    db: &DatabaseConnection,
    import: XrayJson,
    by: &str,
    public_url: &str,
    now: DateTime<Utc>,
) -> Result<ImportedExecution, AppError> {
    let info = import.info.unwrap_or_default();
    let start = time(info.start_date.as_deref(), "info.startDate")?;
    let finish = time(info.finish_date.as_deref(), "info.finishDate")?;
    let txn = begin_write(db).await?;
    let (execution, project) = match import
        .test_execution_key
        .as_deref()
        .filter(|k| !k.trim().is_empty())
    {
        Some(key) => {
            let execution = issue_by_key(&txn, key, IssueType::TestExecution)
                .await?
                .ok_or_else(|| {
                    bad(format!(
                        "testExecutionKey: there is no Test Execution with key '{}'.",
                        key.trim()
                    ))
                })?;
            let project = projects::Entity::find_by_id(execution.project_id)
                .one(&txn)
                .await?
                .ok_or(AppError::Internal)?;
            (execution, project)
        }
        None => {
            let project = match info.project.as_deref().filter(|k| !k.trim().is_empty()) {
                Some(key) => project_by_key(&txn, key).await?,
                // As Xray: without a project, the execution goes where its first test is
                // (pytest-jira-xray sends no project).
                None => match first_test_project(&txn, &import.tests).await? {
                    Some(project) => project,
                    None => return Err(bad(
                        "info.project: name the project key, or give a testExecutionKey to update",
                    )),
                },
            };
            let summary = match text(info.summary.as_deref(), 255, "info.summary")? {
                s if s.is_empty() => format!("Execution results [{}]", now.timestamp_millis()),
                s => s,
            };
            let execution =
                create_issue(&txn, &project, IssueType::TestExecution, summary, by, now).await?;
            (execution, project)
        }
    };
    let mut changed: issues::ActiveModel = execution.clone().into();
    if let Some(description) = info.description.as_deref() {
        changed.description = Set(text(Some(description), 32_000, "info.description")?);
    }
    if !info.test_environments.is_empty() {
        let environments = serde_json::to_string(&info.test_environments)
            .map_err(AppError::logged("encoding test environments"))?;
        changed.test_environments = Set(Some(environments));
    }
    let mut plan_row = None;
    if let Some(plan) = info
        .test_plan_key
        .as_deref()
        .filter(|k| !k.trim().is_empty())
    {
        let plan = issue_by_key(&txn, plan, IssueType::TestPlan)
            .await?
            .ok_or_else(|| {
                bad(format!(
                    "info.testPlanKey: there is no Test Plan with key '{}'.",
                    plan.trim()
                ))
            })?;
        changed.test_plan_key = Set(Some(plan.key.clone()));
        plan_row = Some(plan.id);
    }
    changed.updated_at = Set(now);
    let execution = changed.update(&txn).await?;

    // As in Xray, the plan holds the execution and every test it ran.
    if let Some(plan) = plan_row {
        link(&txn, plan, execution.id).await?;
    }
    let mut seen = BTreeSet::new();
    for (i, result) in import.tests.iter().enumerate() {
        let at = format!("tests[{i}]");
        let run_status = status(result.status.as_deref(), &format!("{at}.status"))?;
        let test = test_of(&txn, result, &project, &at, by, now).await?;
        if !seen.insert(test.id) {
            return Err(bad(format!(
                "{at}: {} appears twice in this import",
                test.key
            )));
        }
        let comment = text(result.comment.as_deref(), 32_000, &format!("{at}.comment"))?;
        let started = time(result.start.as_deref(), &format!("{at}.start"))?.or(start);
        let finished = time(result.finish.as_deref(), &format!("{at}.finish"))?.or(finish);
        let existing = runs::Entity::find()
            .filter(runs::Column::ExecutionId.eq(execution.id))
            .filter(runs::Column::TestId.eq(test.id))
            .one(&txn)
            .await?;
        let mut run = match existing {
            Some(run) => run.into(),
            None => runs::ActiveModel {
                execution_id: Set(execution.id),
                test_id: Set(test.id),
                ..Default::default()
            },
        };
        run.status = Set(run_status);
        run.comment = Set(comment);
        run.started_at = Set(started);
        run.finished_at = Set(finished);
        run.executed_by = Set(by.to_string());
        run.updated_at = Set(now);
        run.save(&txn).await?;
        if let Some(plan) = plan_row {
            link(&txn, plan, test.id).await?;
        }
    }
    txn.commit().await?;
    let id = (ISSUE_ID_BASE + execution.id).to_string();
    Ok(ImportedExecution {
        self_url: format!("{}/rest/api/2/issue/{id}", public_url.trim_end_matches('/')),
        id,
        key: execution.key,
    })
}

/// The project of the first test a result names by `testKey`, if it exists.
async fn first_test_project(
    txn: &impl ConnectionTrait,
    tests: &[TestResult],
) -> Result<Option<projects::Model>, AppError> {
    let Some(key) = tests
        .iter()
        .find_map(|t| t.test_key.as_deref().filter(|k| !k.trim().is_empty()))
    else {
        return Ok(None);
    };
    let Some(test) = issue_by_key(txn, key, IssueType::Test).await? else {
        return Ok(None);
    };
    Ok(projects::Entity::find_by_id(test.project_id)
        .one(txn)
        .await?)
}

/// Links `child` to `parent` unless it already is (two imports may race to the same link).
async fn link(txn: &impl ConnectionTrait, parent: i32, child: i32) -> Result<(), AppError> {
    links::Entity::insert(links::ActiveModel {
        parent_id: Set(parent),
        child_id: Set(child),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([links::Column::ParentId, links::Column::ChildId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Creates a project (for tests and `standin seed`).
pub async fn create_project(
    db: &impl ConnectionTrait,
    key: &str,
    name: &str,
) -> Result<projects::Model, AppError> {
    let key = key.trim().to_ascii_uppercase();
    let valid = (2..=10).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_uppercase())
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !valid {
        return Err(AppError::validation(
            "key",
            "A project key is 2 to 10 upper-case letters and digits, starting with a letter",
        ));
    }
    Ok(projects::ActiveModel {
        key: Set(key),
        name: Set(name.trim().to_string()),
        next_number: Set(1),
        ..Default::default()
    }
    .insert(db)
    .await?)
}
