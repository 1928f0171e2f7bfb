//! `xray-keys standin seed`: a synthetic tenant, the same for the same numbers and seed on any
//! machine and database, for tests, demos and the backup benchmarks.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

use super::IssueType;
use crate::db::begin_write;
use crate::entities::{
    standin_issues as issues, standin_links as links, standin_projects as projects,
};
use crate::entities::{standin_runs as runs, standin_steps as steps};
use crate::error::AppError;

/// How much of each kind to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedPlan {
    pub projects: u32,
    /// Per project, as are the others.
    pub tests: u32,
    pub preconditions: u32,
    pub test_sets: u32,
    pub test_plans: u32,
    pub executions: u32,
    pub runs_per_execution: u32,
    pub seed: u64,
}

/// What a seed made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    pub projects: u64,
    pub issues: u64,
    pub steps: u64,
    pub runs: u64,
    pub links: u64,
}

/// SplitMix64: a few lines that give the same numbers for a seed on every platform and in
/// every version, which a library generator does not promise (rand's `StdRng` may change).
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const VERBS: [&str; 8] = [
    "logs in", "exports", "imports", "searches", "deletes", "renames", "shares", "restores",
];
const THINGS: [&str; 8] = [
    "a report",
    "a project",
    "an attachment",
    "a dashboard",
    "a user",
    "a filter",
    "a board",
    "a backup",
];
const STATUSES: [&str; 5] = ["PASSED", "PASSED", "PASSED", "FAILED", "TODO"];

/// The project keys: XK, then XKB, XKC, …
fn project_key(i: u32) -> String {
    if i == 0 {
        "XK".to_string()
    } else {
        let letter = char::from(b'A' + u8::try_from(i % 26).unwrap_or(0));
        format!(
            "XK{letter}{}",
            if i >= 26 {
                (i / 26).to_string()
            } else {
                String::new()
            }
        )
    }
}

/// Makes the tenant `plan` describes, in one transaction per project; refused if the stand-in
/// already holds projects (seed an empty one).
pub async fn seed(db: &DatabaseConnection, plan: SeedPlan) -> Result<Seeded, AppError> {
    if projects::Entity::find().one(db).await?.is_some() {
        return Err(AppError::Conflict(
            "The stand-in already holds projects; seed an empty database.".into(),
        ));
    }
    let mut numbers = Numbers(plan.seed);
    // A fixed clock, so the same plan makes the same tenant whenever it runs.
    let epoch: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 1, 1, 9, 0, 0)
        .single()
        .ok_or(AppError::Internal)?;
    let mut seeded = Seeded::default();
    for p in 0..plan.projects {
        let txn = begin_write(db).await?;
        let key = project_key(p);
        let project = projects::ActiveModel {
            key: Set(key.clone()),
            name: Set(format!("Stand-in project {}", p + 1)),
            next_number: Set(1),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        seeded.projects += 1;
        let mut number = 1i32;
        let mut new_issue = |kind: IssueType, summary: String, at: DateTime<Utc>| {
            let issue = issues::ActiveModel {
                project_id: Set(project.id),
                key: Set(format!("{key}-{number}")),
                issue_type: Set(kind.name().to_string()),
                summary: Set(summary),
                description: Set(String::new()),
                test_type: Set((kind == IssueType::Test).then(|| "Manual".to_string())),
                created_by: Set("seed".into()),
                created_at: Set(at),
                updated_at: Set(at),
                ..Default::default()
            };
            number += 1;
            issue
        };
        let kinds = [
            (IssueType::Test, plan.tests),
            (IssueType::Precondition, plan.preconditions),
            (IssueType::TestSet, plan.test_sets),
            (IssueType::TestPlan, plan.test_plans),
            (IssueType::TestExecution, plan.executions),
        ];
        let mut batch = Vec::new();
        for (kind, count) in kinds {
            for i in 0..count {
                let at =
                    epoch + Duration::minutes(i64::try_from(numbers.below(500_000)).unwrap_or(0));
                let summary = match kind {
                    IssueType::Test => format!(
                        "User {} {} #{}",
                        VERBS[usize::try_from(numbers.below(8)).unwrap_or(0)],
                        THINGS[usize::try_from(numbers.below(8)).unwrap_or(0)],
                        i + 1
                    ),
                    other => format!("{} {}", other.name(), i + 1),
                };
                batch.push(new_issue(kind, summary, at));
            }
        }
        for chunk in batch.chunks(500) {
            issues::Entity::insert_many(chunk.to_vec())
                .exec(&txn)
                .await?;
        }
        seeded.issues += batch.len() as u64;
        let mut bumped: projects::ActiveModel = project.clone().into();
        bumped.next_number = Set(number);
        bumped.update(&txn).await?;

        // Read back by key order: the ids the database gave.
        use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
        let made = issues::Entity::find()
            .filter(issues::Column::ProjectId.eq(project.id))
            .order_by_asc(issues::Column::Id)
            .all(&txn)
            .await?;
        let tests: Vec<&issues::Model> = made
            .iter()
            .filter(|i| i.issue_type == IssueType::Test.name())
            .collect();
        let executions: Vec<&issues::Model> = made
            .iter()
            .filter(|i| i.issue_type == IssueType::TestExecution.name())
            .collect();
        let mut step_rows = Vec::new();
        for test in &tests {
            for position in 0..(1 + numbers.below(4)) {
                step_rows.push(steps::ActiveModel {
                    test_id: Set(test.id),
                    position: Set(i32::try_from(position).unwrap_or(0)),
                    action: Set(format!("Step {} of {}", position + 1, test.key)),
                    data: Set(String::new()),
                    result: Set("As expected".into()),
                    ..Default::default()
                });
            }
        }
        for chunk in step_rows.chunks(500) {
            steps::Entity::insert_many(chunk.to_vec())
                .exec(&txn)
                .await?;
        }
        seeded.steps += step_rows.len() as u64;
        let mut run_rows = Vec::new();
        if !tests.is_empty() {
            for execution in &executions {
                let wanted = usize::try_from(plan.runs_per_execution)
                    .unwrap_or(0)
                    .min(tests.len());
                // Consecutive tests from a random start: distinct, as one run per test requires.
                let first = usize::try_from(numbers.below(tests.len() as u64)).unwrap_or(0);
                for k in 0..wanted {
                    let test = tests[(first + k) % tests.len()];
                    let status = STATUSES[usize::try_from(numbers.below(5)).unwrap_or(0)];
                    let started = execution.created_at
                        + Duration::seconds(i64::try_from(k).unwrap_or(0) * 30);
                    run_rows.push(runs::ActiveModel {
                        execution_id: Set(execution.id),
                        test_id: Set(test.id),
                        status: Set(status.to_string()),
                        comment: Set(String::new()),
                        started_at: Set(Some(started)),
                        finished_at: Set(Some(started + Duration::seconds(20))),
                        executed_by: Set("seed".into()),
                        updated_at: Set(started + Duration::seconds(20)),
                        ..Default::default()
                    });
                }
            }
        }
        for chunk in run_rows.chunks(500) {
            runs::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
        }
        seeded.runs += run_rows.len() as u64;
        let of = |kind: IssueType| -> Vec<i32> {
            made.iter()
                .filter(|i| i.issue_type == kind.name())
                .map(|i| i.id)
                .collect()
        };
        let test_ids: Vec<i32> = tests.iter().map(|t| t.id).collect();
        let execution_ids: Vec<i32> = executions.iter().map(|e| e.id).collect();
        let mut link_rows = std::collections::BTreeSet::new();
        let preconditions = of(IssueType::Precondition);
        if !preconditions.is_empty() {
            for test in &test_ids {
                for _ in 0..numbers.below(3) {
                    let precondition = preconditions
                        [usize::try_from(numbers.below(preconditions.len() as u64)).unwrap_or(0)];
                    link_rows.insert((precondition, *test));
                }
            }
        }
        // A run of consecutive children from a random start: distinct, like the runs above.
        let mut some_of = |parent: i32, children: &[i32], least: u64, most: u64| {
            if children.is_empty() {
                return;
            }
            let wanted = usize::try_from(least + numbers.below(most - least + 1))
                .unwrap_or(0)
                .min(children.len());
            let first = usize::try_from(numbers.below(children.len() as u64)).unwrap_or(0);
            for k in 0..wanted {
                link_rows.insert((parent, children[(first + k) % children.len()]));
            }
        };
        for set in of(IssueType::TestSet) {
            some_of(set, &test_ids, 5, 15);
        }
        for plan in of(IssueType::TestPlan) {
            some_of(plan, &test_ids, 10, 30);
            some_of(plan, &execution_ids, 1, 5);
        }
        let link_rows: Vec<links::ActiveModel> = link_rows
            .into_iter()
            .map(|(parent_id, child_id)| links::ActiveModel {
                parent_id: Set(parent_id),
                child_id: Set(child_id),
                ..Default::default()
            })
            .collect();
        for chunk in link_rows.chunks(500) {
            links::Entity::insert_many(chunk.to_vec())
                .exec(&txn)
                .await?;
        }
        seeded.links += link_rows.len() as u64;
        txn.commit().await?;
    }
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_numbers_are_the_same_for_a_seed_everywhere() {
        let mut a = Numbers(42);
        let first: Vec<u64> = (0..3).map(|_| a.next()).collect();
        let mut b = Numbers(42);
        assert_eq!(first, (0..3).map(|_| b.next()).collect::<Vec<_>>());
        // SplitMix64's published first output for seed 0.
        assert_eq!(Numbers(0).next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(project_key(0), "XK");
        assert_eq!(project_key(1), "XKB");
    }
}
