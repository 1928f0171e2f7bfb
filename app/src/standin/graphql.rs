//! `POST /api/v{1,2}/graphql`: the stand-in's GraphQL, served by async-graphql from a typed
//! schema with Xray's queries and argument lists (`getTests`, `getTest`, `getTestExecutions`,
//! `getTestExecution`, `getTestRuns`, `getTestPlans`, `getTestSets`, `getPreconditions`), each
//! list answering `{total start limit results warnings}`. As Xray: `limit` is required and
//! 1–100, one call asks for at most [`MAX_ITEMS`] items counted with nested connections
//! multiplied, and errors are answered with HTTP 200 and an `errors` array.

use std::sync::OnceLock;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{
    ComplexObject, Context, EmptyMutation, EmptySubscription, InputObject, Json, Object,
    OutputType, Schema, SimpleObject, Value, Variables,
};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition, Query as SqlQuery, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::jql::{self, Clause};
use super::{iso, IssueType, ISSUE_ID_BASE, PROJECT_ID_BASE};
use crate::entities::standin_steps as steps;
use crate::entities::{standin_issues as issues, standin_links as links};
use crate::entities::{standin_projects as projects, standin_runs as runs};

/// The most items one call may ask for, nested connections multiplied (Xray's rule).
pub const MAX_ITEMS: u64 = 10_000;
/// The largest `limit` a connection takes.
pub const MAX_LIMIT: i32 = 100;

pub type StandinSchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

/// The schema, built once: its types never change while the server runs.
pub fn schema() -> &'static StandinSchema {
    static SCHEMA: OnceLock<StandinSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::build(QueryRoot, EmptyMutation, EmptySubscription)
            .limit_depth(16)
            .finish()
    })
}

/// What every resolver reads from: the tenant's database.
pub struct Tenant {
    pub db: DatabaseConnection,
}

type Result<T> = async_graphql::Result<T>;

fn db<'a>(ctx: &Context<'a>) -> Result<&'a DatabaseConnection> {
    Ok(&ctx.data::<Tenant>()?.db)
}

/// The cause is logged; the caller reads only that the stand-in failed.
fn internal(cause: sea_orm::DbErr) -> async_graphql::Error {
    tracing::error!(error = %cause, "stand-in GraphQL read");
    async_graphql::Error::new("The stand-in could not read its data. The details were logged.")
}

fn issue_id(model: &issues::Model) -> String {
    (ISSUE_ID_BASE + model.id).to_string()
}

fn project_id(model: &issues::Model) -> String {
    (PROJECT_ID_BASE + model.project_id).to_string()
}

/// A row id from an issue id ("10001"), `None` for anything that is not one.
fn row_of_issue_id(id: &str) -> Option<i32> {
    id.trim()
        .parse::<i32>()
        .ok()
        .and_then(|n| n.checked_sub(ISSUE_ID_BASE))
        .filter(|n| *n > 0)
}

fn row_of_project_id(id: &str) -> Option<i32> {
    id.trim()
        .parse::<i32>()
        .ok()
        .and_then(|n| n.checked_sub(PROJECT_ID_BASE))
        .filter(|n| *n > 0)
}

fn window(start: Option<i32>, limit: i32) -> Result<(u64, u64)> {
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(async_graphql::Error::new(format!(
            "The limit must be between 1 and {MAX_LIMIT}; it was {limit}."
        )));
    }
    let start = start.unwrap_or(0);
    if start < 0 {
        return Err(async_graphql::Error::new(format!(
            "The start must be 0 or more; it was {start}."
        )));
    }
    Ok((start as u64, limit as u64))
}

fn since(text: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    text.filter(|t| !t.trim().is_empty())
        .map(|t| {
            super::import::iso_time(t).ok_or_else(|| {
                async_graphql::Error::new(format!(
                    "modifiedSince \"{t}\" is not a date and time such as 2026-12-01T10:00:00Z."
                ))
            })
        })
        .transpose()
}

/// How the issues of one list are chosen.
#[derive(Default)]
struct Filter {
    jql: Option<String>,
    issue_ids: Option<Vec<String>>,
    project_id: Option<String>,
    modified_since: Option<String>,
    test_type: Option<String>,
    /// Only the children of this issue (the tests of a set, …).
    children_of: Option<i32>,
    /// Only the parents of this issue (the preconditions of a test, …).
    parents_of: Option<i32>,
    /// Only issues with these row ids (the tests or executions a run table names).
    rows_in: Option<SelectStatement>,
}

fn ids_or_keys(values: &[String]) -> Condition {
    let rows: Vec<i32> = values.iter().filter_map(|v| row_of_issue_id(v)).collect();
    let keys: Vec<String> = values
        .iter()
        .map(|v| v.trim().to_ascii_uppercase())
        .collect();
    Condition::any()
        .add(issues::Column::Id.is_in(rows))
        .add(issues::Column::Key.is_in(keys))
}

async fn condition(db: &DatabaseConnection, kind: IssueType, filter: Filter) -> Result<Condition> {
    let mut condition = Condition::all().add(issues::Column::IssueType.eq(kind.name()));
    if let Some(text) = filter.jql.as_deref().filter(|j| !j.trim().is_empty()) {
        for clause in jql::parse(text).map_err(async_graphql::Error::new)? {
            condition = condition.add(match clause {
                Clause::Project(wanted) => {
                    let keys: Vec<String> = wanted.iter().map(|k| k.to_ascii_uppercase()).collect();
                    let rows: Vec<i32> =
                        wanted.iter().filter_map(|v| row_of_project_id(v)).collect();
                    let found: Vec<i32> = projects::Entity::find()
                        .filter(
                            Condition::any()
                                .add(projects::Column::Key.is_in(keys))
                                .add(projects::Column::Id.is_in(rows)),
                        )
                        .all(db)
                        .await
                        .map_err(internal)?
                        .into_iter()
                        .map(|p| p.id)
                        .collect();
                    if found.is_empty() {
                        return Err(async_graphql::Error::new(format!(
                            "The value '{}' does not exist for the field 'project'.",
                            wanted.join(", ")
                        )));
                    }
                    issues::Column::ProjectId.is_in(found).into_condition()
                }
                Clause::Keys(keys) => issues::Column::Key
                    .is_in(keys.iter().map(|k| k.to_ascii_uppercase()))
                    .into_condition(),
                Clause::Issues(values) => ids_or_keys(&values),
                Clause::UpdatedSince(at) => issues::Column::UpdatedAt.gte(at).into_condition(),
            });
        }
    }
    if let Some(ids) = filter.issue_ids {
        let rows: Vec<i32> = ids.iter().filter_map(|v| row_of_issue_id(v)).collect();
        condition = condition.add(issues::Column::Id.is_in(rows));
    }
    if let Some(project) = filter.project_id.as_deref() {
        let project = projects::Entity::find()
            .filter(
                Condition::any()
                    .add(projects::Column::Id.eq(row_of_project_id(project).unwrap_or(0)))
                    .add(projects::Column::Key.eq(project.trim().to_ascii_uppercase())),
            )
            .one(db)
            .await
            .map_err(internal)?;
        condition = condition.add(issues::Column::ProjectId.eq(project.map_or(0, |p| p.id)));
    }
    if let Some(at) = since(filter.modified_since.as_deref())? {
        condition = condition.add(issues::Column::UpdatedAt.gte(at));
    }
    if let Some(name) = filter.test_type {
        condition = condition.add(issues::Column::TestType.eq(name));
    }
    if let Some(parent) = filter.children_of {
        condition = condition.add(
            issues::Column::Id.in_subquery(
                SqlQuery::select()
                    .column(links::Column::ChildId)
                    .from(links::Entity)
                    .and_where(Expr::col(links::Column::ParentId).eq(parent))
                    .to_owned(),
            ),
        );
    }
    if let Some(child) = filter.parents_of {
        condition = condition.add(
            issues::Column::Id.in_subquery(
                SqlQuery::select()
                    .column(links::Column::ParentId)
                    .from(links::Entity)
                    .and_where(Expr::col(links::Column::ChildId).eq(child))
                    .to_owned(),
            ),
        );
    }
    if let Some(rows) = filter.rows_in {
        condition = condition.add(issues::Column::Id.in_subquery(rows));
    }
    Ok(condition)
}

/// How a nested connection's issues relate to the issue it hangs off.
enum Related {
    /// The tests of a set or plan, a plan's executions, a precondition's tests.
    ChildrenOf(i32),
    /// A test's preconditions, sets and plans; an execution's plans.
    ParentsOf(i32),
    /// The tests an execution ran, or the executions that ran a test.
    InRuns(Box<SelectStatement>),
}

async fn related<T: OutputType>(
    ctx: &Context<'_>,
    related: Related,
    kind: IssueType,
    issue_ids: Option<Vec<String>>,
    start: Option<i32>,
    limit: i32,
    wrap: fn(issues::Model) -> T,
) -> Result<Results<T>> {
    let mut filter = Filter {
        issue_ids,
        ..Default::default()
    };
    match related {
        Related::ChildrenOf(id) => filter.children_of = Some(id),
        Related::ParentsOf(id) => filter.parents_of = Some(id),
        Related::InRuns(rows) => filter.rows_in = Some(*rows),
    }
    page(db(ctx)?, kind, filter, start, limit, wrap).await
}

/// One page of a list: `{total start limit results warnings}`.
#[derive(SimpleObject)]
#[graphql(concrete(name = "TestResults", params(Test)))]
#[graphql(concrete(name = "PreconditionResults", params(Precondition)))]
#[graphql(concrete(name = "TestSetResults", params(TestSet)))]
#[graphql(concrete(name = "TestPlanResults", params(TestPlan)))]
#[graphql(concrete(name = "TestExecutionResults", params(TestExecution)))]
#[graphql(concrete(name = "TestRunResults", params(TestRun)))]
pub struct Results<T: OutputType> {
    total: i32,
    start: i32,
    limit: i32,
    results: Vec<T>,
    warnings: Vec<String>,
}

async fn page<T: OutputType>(
    db: &DatabaseConnection,
    kind: IssueType,
    filter: Filter,
    start: Option<i32>,
    limit: i32,
    wrap: fn(issues::Model) -> T,
) -> Result<Results<T>> {
    let (start, limit) = window(start, limit)?;
    let condition = condition(db, kind, filter).await?;
    let total = issues::Entity::find()
        .filter(condition.clone())
        .count(db)
        .await
        .map_err(internal)?;
    let rows = issues::Entity::find()
        .filter(condition)
        .order_by_asc(issues::Column::Id)
        .offset(start)
        .limit(limit)
        .all(db)
        .await
        .map_err(internal)?;
    Ok(Results {
        total: i32::try_from(total).unwrap_or(i32::MAX),
        start: i32::try_from(start).unwrap_or(i32::MAX),
        limit: i32::try_from(limit).unwrap_or(i32::MAX),
        results: rows.into_iter().map(wrap).collect(),
        warnings: Vec::new(),
    })
}

async fn one(
    db: &DatabaseConnection,
    kind: IssueType,
    issue_id: Option<String>,
    jql: Option<String>,
) -> Result<Option<issues::Model>> {
    let filter = Filter {
        jql,
        issue_ids: issue_id.map(|id| vec![id]),
        ..Default::default()
    };
    let condition = condition(db, kind, filter).await?;
    issues::Entity::find()
        .filter(condition)
        .order_by_asc(issues::Column::Id)
        .one(db)
        .await
        .map_err(internal)
}

/// The Jira fields a `jira(fields: […])` asks for, of those the stand-in keeps.
async fn jira_fields(
    db: &DatabaseConnection,
    issue: &issues::Model,
    fields: &[String],
) -> Result<serde_json::Value> {
    let mut out = serde_json::Map::new();
    let project = projects::Entity::find_by_id(issue.project_id)
        .one(db)
        .await
        .map_err(internal)?;
    for field in fields {
        let value = match field.as_str() {
            "key" => serde_json::json!(issue.key),
            "summary" => serde_json::json!(issue.summary),
            "description" => serde_json::json!(issue.description),
            "issuetype" => {
                serde_json::json!({ "name": IssueType::from_name(&issue.issue_type).map_or("", IssueType::name) })
            }
            "project" => serde_json::json!({
                "id": project_id(issue),
                "key": project.as_ref().map(|p| p.key.clone()),
                "name": project.as_ref().map(|p| p.name.clone()),
            }),
            "created" => serde_json::json!(iso(issue.created_at)),
            "updated" => serde_json::json!(iso(issue.updated_at)),
            "reporter" => serde_json::json!({ "displayName": issue.created_by }),
            _ => continue,
        };
        out.insert(field.clone(), value);
    }
    Ok(serde_json::Value::Object(out))
}

#[derive(SimpleObject)]
pub struct TestType {
    name: String,
    kind: String,
}

fn test_type_of(name: Option<&str>) -> TestType {
    let name = name.unwrap_or("Manual").to_string();
    let kind = match name.as_str() {
        "Manual" => "Steps",
        "Cucumber" => "Gherkin",
        _ => "Unstructured",
    }
    .to_string();
    TestType { name, kind }
}

#[derive(SimpleObject)]
pub struct Step {
    id: String,
    action: String,
    data: String,
    result: String,
}

#[derive(SimpleObject)]
pub struct Folder {
    path: String,
    name: String,
}

/// Every test sits in the repository's root: the stand-in keeps no folders.
fn root_folder() -> Folder {
    Folder {
        path: "/".into(),
        name: String::new(),
    }
}

#[derive(InputObject)]
pub struct FolderSearchInput {
    path: String,
    include_descendants: Option<bool>,
}

#[derive(InputObject)]
pub struct TestTypeInput {
    name: Option<String>,
    kind: Option<String>,
}

/// A folder filter: the root (with descendants, or alone) holds every test, any other none.
fn folder_matches(folder: Option<&FolderSearchInput>) -> bool {
    folder.is_none_or(|f| {
        let _ = f.include_descendants;
        f.path.trim() == "/" || f.path.trim().is_empty()
    })
}

/// A test type filter as a test-type name, or `Err` with the kind the stand-in knows nothing of.
fn type_filter(input: Option<TestTypeInput>) -> Option<String> {
    input.and_then(|t| {
        t.name.or(t.kind.map(|k| {
            match k.as_str() {
                "Steps" => "Manual",
                "Gherkin" => "Cucumber",
                _ => "Generic",
            }
            .to_string()
        }))
    })
}

/// A filter that matches nothing (a folder no test is in).
fn nothing() -> Filter {
    Filter {
        issue_ids: Some(Vec::new()),
        ..Default::default()
    }
}

/// An issue type's GraphQL object: the fields every issue has, then its own. (A macro that
/// writes the whole `#[Object]` impl, since the attribute does not expand macros inside it.)
macro_rules! issue_object {
    ($ty:ident, $($own:tt)*) => {
        #[Object]
        impl $ty {
        async fn issue_id(&self) -> String {
            issue_id(&self.0)
        }

        async fn project_id(&self) -> String {
            project_id(&self.0)
        }

        async fn last_modified(&self) -> String {
            iso(self.0.updated_at)
        }

        /// The Jira fields asked for (key, summary, description, issuetype, project, created,
        /// updated, reporter).
        async fn jira(&self, ctx: &Context<'_>, fields: Vec<String>) -> Result<Json<serde_json::Value>> {
            Ok(Json(jira_fields(db(ctx)?, &self.0, &fields).await?))
        }

        $($own)*
        }
    };
}

pub struct Test(issues::Model);
pub struct Precondition(issues::Model);
pub struct TestSet(issues::Model);
pub struct TestPlan(issues::Model);
pub struct TestExecution(issues::Model);

fn runs_of(column: runs::Column, id: i32, pick: runs::Column) -> SelectStatement {
    SqlQuery::select()
        .column(pick)
        .from(runs::Entity)
        .and_where(Expr::col(column).eq(id))
        .to_owned()
}

issue_object! {
    Test,

    async fn test_type(&self) -> TestType {
        test_type_of(self.0.test_type.as_deref())
    }

    async fn steps(&self, ctx: &Context<'_>) -> Result<Vec<Step>> {
        let rows = steps::Entity::find()
            .filter(steps::Column::TestId.eq(self.0.id))
            .order_by_asc(steps::Column::Position)
            .all(db(ctx)?)
            .await
            .map_err(internal)?;
        Ok(rows
            .into_iter()
            .map(|s| Step {
                id: s.id.to_string(),
                action: s.action,
                data: s.data,
                result: s.result,
            })
            .collect())
    }

    async fn gherkin(&self) -> Option<String> {
        None
    }

    /// What a Generic test runs.
    async fn unstructured(&self) -> Option<String> {
        self.0.definition.clone()
    }

    async fn folder(&self) -> Folder {
        root_folder()
    }

    async fn preconditions(
        &self,
        ctx: &Context<'_>,
        issue_ids: Option<Vec<String>>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<Precondition>> {
        related(
            ctx,
            Related::ParentsOf(self.0.id),
            IssueType::Precondition,
            issue_ids,
            start,
            limit,
            Precondition,
        )
        .await
    }

    async fn test_sets(
        &self,
        ctx: &Context<'_>,
        issue_ids: Option<Vec<String>>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<TestSet>> {
        related(
            ctx,
            Related::ParentsOf(self.0.id),
            IssueType::TestSet,
            issue_ids,
            start,
            limit,
            TestSet,
        )
        .await
    }

    async fn test_plans(
        &self,
        ctx: &Context<'_>,
        issue_ids: Option<Vec<String>>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<TestPlan>> {
        related(
            ctx,
            Related::ParentsOf(self.0.id),
            IssueType::TestPlan,
            issue_ids,
            start,
            limit,
            TestPlan,
        )
        .await
    }

    async fn test_executions(
        &self,
        ctx: &Context<'_>,
        issue_ids: Option<Vec<String>>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<TestExecution>> {
        related(
            ctx,
            Related::InRuns(Box::new(runs_of(runs::Column::TestId, self.0.id, runs::Column::ExecutionId))),
            IssueType::TestExecution,
            issue_ids,
            start,
            limit,
            TestExecution,
        )
        .await
    }

    async fn test_runs(
        &self,
        ctx: &Context<'_>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<TestRun>> {
        run_page(db(ctx)?, runs::Column::TestId.eq(self.0.id).into_condition(), start, limit).await
    }
}

issue_object! {
    Precondition,

    async fn precondition_type(&self) -> TestType {
        test_type_of(Some(self.0.test_type.as_deref().unwrap_or("Manual")))
    }

    async fn definition(&self) -> String {
        self.0.definition.clone().unwrap_or_else(|| self.0.description.clone())
    }

    async fn folder(&self) -> Folder {
        root_folder()
    }

    async fn tests(
        &self,
        ctx: &Context<'_>,
        issue_ids: Option<Vec<String>>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<Test>> {
        related(
            ctx,
            Related::ChildrenOf(self.0.id),
            IssueType::Test,
            issue_ids,
            start,
            limit,
            Test,
        )
        .await
    }
}

issue_object! {
    TestSet,

    async fn tests(
        &self,
        ctx: &Context<'_>,
        issue_ids: Option<Vec<String>>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<Test>> {
        related(
            ctx,
            Related::ChildrenOf(self.0.id),
            IssueType::Test,
            issue_ids,
            start,
            limit,
            Test,
        )
        .await
    }
}

issue_object! {
    TestPlan,

    async fn tests(
        &self,
        ctx: &Context<'_>,
        issue_ids: Option<Vec<String>>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<Test>> {
        related(
            ctx,
            Related::ChildrenOf(self.0.id),
            IssueType::Test,
            issue_ids,
            start,
            limit,
            Test,
        )
        .await
    }

    async fn test_executions(
        &self,
        ctx: &Context<'_>,
        issue_ids: Option<Vec<String>>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<TestExecution>> {
        related(
            ctx,
            Related::ChildrenOf(self.0.id),
            IssueType::TestExecution,
            issue_ids,
            start,
            limit,
            TestExecution,
        )
        .await
    }
}

issue_object! {
    TestExecution,

    async fn test_environments(&self) -> Vec<String> {
        self.0
            .test_environments
            .as_deref()
            .and_then(|e| serde_json::from_str(e).ok())
            .unwrap_or_default()
    }

    async fn tests(
        &self,
        ctx: &Context<'_>,
        issue_ids: Option<Vec<String>>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<Test>> {
        related(
            ctx,
            Related::InRuns(Box::new(runs_of(runs::Column::ExecutionId, self.0.id, runs::Column::TestId))),
            IssueType::Test,
            issue_ids,
            start,
            limit,
            Test,
        )
        .await
    }

    async fn test_runs(
        &self,
        ctx: &Context<'_>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<TestRun>> {
        let condition = runs::Column::ExecutionId.eq(self.0.id).into_condition();
        run_page(db(ctx)?, condition, start, limit).await
    }

    async fn test_plans(
        &self,
        ctx: &Context<'_>,
        issue_ids: Option<Vec<String>>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<TestPlan>> {
        related(
            ctx,
            Related::ParentsOf(self.0.id),
            IssueType::TestPlan,
            issue_ids,
            start,
            limit,
            TestPlan,
        )
        .await
    }
}

#[derive(SimpleObject)]
pub struct StepStatus {
    name: String,
    color: String,
    description: String,
}

fn status_of(name: &str) -> StepStatus {
    let (color, description) = match name {
        "PASSED" => ("#95C160", "The test run has passed"),
        "FAILED" => ("#D45D52", "The test run has failed"),
        "TODO" => ("#A2A6AE", "The test run has not started"),
        "EXECUTING" => ("#F1E069", "The test run is currently being executed"),
        "ABORTED" => ("#111111", "The test run was aborted"),
        _ => ("#6F7782", "A custom status"),
    };
    StepStatus {
        name: name.to_string(),
        color: color.to_string(),
        description: description.to_string(),
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TestRun {
    id: String,
    status: StepStatus,
    comment: String,
    started_on: Option<String>,
    finished_on: Option<String>,
    /// The user of the API key the results were imported with.
    executed_by_id: String,
    assignee_id: Option<String>,
    defects: Vec<String>,
    last_modified: String,
    #[graphql(skip)]
    test_row: i32,
    #[graphql(skip)]
    execution_row: i32,
}

impl TestRun {
    fn of(run: runs::Model) -> Self {
        TestRun {
            id: run.id.to_string(),
            status: status_of(&run.status),
            comment: run.comment,
            started_on: run.started_at.map(iso),
            finished_on: run.finished_at.map(iso),
            executed_by_id: run.executed_by,
            assignee_id: None,
            defects: Vec::new(),
            last_modified: iso(run.updated_at),
            test_row: run.test_id,
            execution_row: run.execution_id,
        }
    }
}

#[ComplexObject]
impl TestRun {
    async fn test(&self, ctx: &Context<'_>) -> Result<Option<Test>> {
        Ok(issues::Entity::find_by_id(self.test_row)
            .one(db(ctx)?)
            .await
            .map_err(internal)?
            .map(Test))
    }

    async fn test_execution(&self, ctx: &Context<'_>) -> Result<Option<TestExecution>> {
        Ok(issues::Entity::find_by_id(self.execution_row)
            .one(db(ctx)?)
            .await
            .map_err(internal)?
            .map(TestExecution))
    }
}

async fn run_page(
    db: &DatabaseConnection,
    condition: Condition,
    start: Option<i32>,
    limit: i32,
) -> Result<Results<TestRun>> {
    let (start, limit) = window(start, limit)?;
    let total = runs::Entity::find()
        .filter(condition.clone())
        .count(db)
        .await
        .map_err(internal)?;
    let rows = runs::Entity::find()
        .filter(condition)
        .order_by_asc(runs::Column::Id)
        .offset(start)
        .limit(limit)
        .all(db)
        .await
        .map_err(internal)?;
    Ok(Results {
        total: i32::try_from(total).unwrap_or(i32::MAX),
        start: i32::try_from(start).unwrap_or(i32::MAX),
        limit: i32::try_from(limit).unwrap_or(i32::MAX),
        results: rows.into_iter().map(TestRun::of).collect(),
        warnings: Vec::new(),
    })
}

pub struct QueryRoot;

// Xray's argument lists are the schema: each argument is one the clients send.
#[allow(clippy::too_many_arguments)]
#[Object]
impl QueryRoot {
    async fn get_tests(
        &self,
        ctx: &Context<'_>,
        jql: Option<String>,
        issue_ids: Option<Vec<String>>,
        project_id: Option<String>,
        test_type: Option<TestTypeInput>,
        modified_since: Option<String>,
        start: Option<i32>,
        limit: i32,
        folder: Option<FolderSearchInput>,
    ) -> Result<Results<Test>> {
        let filter = if folder_matches(folder.as_ref()) {
            Filter {
                jql,
                issue_ids,
                project_id,
                modified_since,
                test_type: type_filter(test_type),
                ..Default::default()
            }
        } else {
            nothing()
        };
        page(db(ctx)?, IssueType::Test, filter, start, limit, Test).await
    }

    async fn get_test(
        &self,
        ctx: &Context<'_>,
        issue_id: Option<String>,
        jql: Option<String>,
    ) -> Result<Option<Test>> {
        Ok(one(db(ctx)?, IssueType::Test, issue_id, jql)
            .await?
            .map(Test))
    }

    async fn get_preconditions(
        &self,
        ctx: &Context<'_>,
        jql: Option<String>,
        issue_ids: Option<Vec<String>>,
        project_id: Option<String>,
        precondition_type: Option<TestTypeInput>,
        modified_since: Option<String>,
        start: Option<i32>,
        limit: i32,
        folder: Option<FolderSearchInput>,
    ) -> Result<Results<Precondition>> {
        let filter = if folder_matches(folder.as_ref()) {
            Filter {
                jql,
                issue_ids,
                project_id,
                modified_since,
                test_type: type_filter(precondition_type),
                ..Default::default()
            }
        } else {
            nothing()
        };
        page(
            db(ctx)?,
            IssueType::Precondition,
            filter,
            start,
            limit,
            Precondition,
        )
        .await
    }

    async fn get_test_sets(
        &self,
        ctx: &Context<'_>,
        jql: Option<String>,
        issue_ids: Option<Vec<String>>,
        project_id: Option<String>,
        modified_since: Option<String>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<TestSet>> {
        let filter = Filter {
            jql,
            issue_ids,
            project_id,
            modified_since,
            ..Default::default()
        };
        page(db(ctx)?, IssueType::TestSet, filter, start, limit, TestSet).await
    }

    async fn get_test_plans(
        &self,
        ctx: &Context<'_>,
        jql: Option<String>,
        issue_ids: Option<Vec<String>>,
        project_id: Option<String>,
        modified_since: Option<String>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<TestPlan>> {
        let filter = Filter {
            jql,
            issue_ids,
            project_id,
            modified_since,
            ..Default::default()
        };
        page(
            db(ctx)?,
            IssueType::TestPlan,
            filter,
            start,
            limit,
            TestPlan,
        )
        .await
    }

    async fn get_test_executions(
        &self,
        ctx: &Context<'_>,
        jql: Option<String>,
        issue_ids: Option<Vec<String>>,
        project_id: Option<String>,
        modified_since: Option<String>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<TestExecution>> {
        let filter = Filter {
            jql,
            issue_ids,
            project_id,
            modified_since,
            ..Default::default()
        };
        page(
            db(ctx)?,
            IssueType::TestExecution,
            filter,
            start,
            limit,
            TestExecution,
        )
        .await
    }

    async fn get_test_execution(
        &self,
        ctx: &Context<'_>,
        issue_id: Option<String>,
        jql: Option<String>,
    ) -> Result<Option<TestExecution>> {
        Ok(one(db(ctx)?, IssueType::TestExecution, issue_id, jql)
            .await?
            .map(TestExecution))
    }

    async fn get_test_runs(
        &self,
        ctx: &Context<'_>,
        test_issue_ids: Option<Vec<String>>,
        test_exec_issue_ids: Option<Vec<String>>,
        test_run_assignees: Option<Vec<String>>,
        modified_since: Option<String>,
        start: Option<i32>,
        limit: i32,
    ) -> Result<Results<TestRun>> {
        let rows = |ids: Vec<String>| -> Vec<i32> {
            ids.iter().filter_map(|v| row_of_issue_id(v)).collect()
        };
        let mut condition = Condition::all();
        if let Some(ids) = test_issue_ids {
            condition = condition.add(runs::Column::TestId.is_in(rows(ids)));
        }
        if let Some(ids) = test_exec_issue_ids {
            condition = condition.add(runs::Column::ExecutionId.is_in(rows(ids)));
        }
        if test_run_assignees.is_some_and(|a| !a.is_empty()) {
            // The stand-in assigns no runs to anyone.
            condition = condition.add(runs::Column::Id.is_in(Vec::<i32>::new()));
        }
        if let Some(at) = since(modified_since.as_deref())? {
            condition = condition.add(runs::Column::UpdatedAt.gte(at));
        }
        run_page(db(ctx)?, condition, start, limit).await
    }
}

/// How many items `document` asks for: each connection's `limit` times the limits of the
/// connections it sits in, summed (Xray's count: 50 tests × 10 preconditions = 550). `None`
/// when the operation to run is not in the document (the schema then says so).
pub fn requested_items(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Option<u64> {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
        _ => return None,
    };
    Some(count(
        &operation.node.selection_set.node,
        document,
        variables,
        1,
        0,
    ))
}

fn count(
    set: &SelectionSet,
    document: &ExecutableDocument,
    variables: &Variables,
    multiplier: u64,
    depth: usize,
) -> u64 {
    // Fragments may spread each other; the schema's own validation refuses cycles, this only
    // keeps the count from recursing without end before it runs.
    if depth > 32 {
        return 0;
    }
    let mut total = 0u64;
    for item in &set.items {
        total = total.saturating_add(match &item.node {
            Selection::Field(field) => {
                let limit = field
                    .node
                    .arguments
                    .iter()
                    .find(|(name, _)| name.node.as_str() == "limit")
                    .and_then(|(_, value)| {
                        let value = value
                            .node
                            .clone()
                            .into_const_with(|name| variables.get(&name).cloned().ok_or(()));
                        match value {
                            Ok(Value::Number(n)) => n.as_u64(),
                            _ => None,
                        }
                    });
                match limit {
                    Some(limit) => {
                        let here = multiplier.saturating_mul(limit);
                        here.saturating_add(count(
                            &field.node.selection_set.node,
                            document,
                            variables,
                            here,
                            depth + 1,
                        ))
                    }
                    None => count(
                        &field.node.selection_set.node,
                        document,
                        variables,
                        multiplier,
                        depth + 1,
                    ),
                }
            }
            Selection::InlineFragment(fragment) => count(
                &fragment.node.selection_set.node,
                document,
                variables,
                multiplier,
                depth + 1,
            ),
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |fragment| {
                    count(
                        &fragment.node.selection_set.node,
                        document,
                        variables,
                        multiplier,
                        depth + 1,
                    )
                }),
        });
    }
    total
}
