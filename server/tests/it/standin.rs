//! The Xray Cloud stand-in's contract, on SQLite and PostgreSQL: off it is not there; on, a key
//! issued here imports results in Xray JSON and gets Xray's answers, its errors are 400s that say
//! what is wrong and store nothing.

use crate::harness;
use crate::harness::key_for;

use app::entities::{standin_issues as issues, standin_runs as runs};
use app::error::AppError;
use app::standin::import;
use axum::body::Body;
use axum::http::{header, Request};
use chrono::{SubsecRound, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

const ON: &[(&str, &str)] = &[("XRAY_KEYS_XRAY_STANDIN", "on")];

async fn counts(db: &DatabaseConnection) -> (u64, u64) {
    (
        issues::Entity::find().count(db).await.unwrap(),
        runs::Entity::find().count(db).await.unwrap(),
    )
}

fn import_request(version: u8, token: &str, body: &str) -> Request<Body> {
    let mut request = harness::post_json(
        &format!("/api/v{version}/import/execution"),
        body.to_string(),
        [10, 9, 0, 1],
    );
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    request
}

async fn token_for(state: &app::state::AppState, key: &app::api_keys::IssuedKey) -> String {
    let body =
        serde_json::json!({ "client_id": key.client_id, "client_secret": key.client_secret })
            .to_string();
    let credentials =
        app::xray_api::service::parse_credentials(Some("application/json"), body.as_bytes())
            .unwrap();
    app::xray_api::service::authenticate(state, credentials, "10.9.0.1", Utc::now())
        .await
        .unwrap()
}

#[test]
fn off_by_default_the_import_paths_are_unknown() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let key = key_for(&b.db, "ci-off").await;
        let token = token_for(&state, &key).await;
        let answer = harness::send(&state, import_request(2, &token, "{}")).await;
        assert_eq!(answer.status.as_u16(), 404, "{}", answer.body);
        assert_eq!(answer.body, r#"{"error":"There is no such endpoint."}"#);
    }));
}

#[test]
fn a_key_issued_here_imports_xray_json_and_gets_xrays_answer_on_v1_and_v2() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, ON);
        import::create_project(&b.db, "XK", "Stand-in")
            .await
            .unwrap();
        let key = key_for(&b.db, "ci-bot").await;
        let token = token_for(&state, &key).await;
        let body = serde_json::json!({
            "info": {
                "project": "XK",
                "summary": "Nightly run",
                "testEnvironments": ["chrome"],
                "startDate": "2026-12-01T10:00:00+01:00",
                "finishDate": "2026-12-01T10:05:00+01:00",
                "version": "1.0"
            },
            "tests": [
                { "testInfo": { "summary": "logs in", "type": "Generic",
                    "steps": [{ "action": "open", "data": "", "result": "shown" }] },
                  "status": "PASSED", "comment": "fine", "evidence": [] },
                { "testInfo": { "summary": "logs out" }, "status": "FAILED",
                  "start": "2026-12-01T09:01:00Z", "finish": "2026-12-01T09:02:00.250+0000" }
            ]
        })
        .to_string();
        let answer = harness::send(&state, import_request(2, &token, &body)).await;
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
        let created: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        // The execution is made before its tests: it is XK-1, the tests XK-2 and XK-3.
        assert_eq!(created["key"], "XK-1");
        let id = created["id"].as_str().unwrap();
        assert!(id.parse::<u32>().unwrap() > 10_000, "{id}");
        assert_eq!(
            created["self"],
            format!(
                "{}/rest/api/2/issue/{id}",
                state.config.public_url.trim_end_matches('/')
            )
        );
        let stored = runs::Entity::find().all(&b.db).await.unwrap();
        assert_eq!(stored.len(), 2);
        assert!(stored.iter().all(|r| r.executed_by == "ci-bot"));
        assert!(stored.iter().any(|r| r.status == "FAILED"
            && r.started_at.map(|t| t.to_rfc3339()) == Some("2026-12-01T09:01:00+00:00".into())));
        // An offset without its colon, as pytest-jira-xray writes it, is the same instant.
        assert!(stored.iter().any(|r| r.finished_at.map(|t| t.to_rfc3339())
            == Some("2026-12-01T09:02:00.250+00:00".into())));

        // v1 takes the same body; the tests are found again by summary, not made twice.
        let again = body.replace("Nightly run", "Second run");
        let answer = harness::send(&state, import_request(1, &token, &again)).await;
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
        assert_eq!(
            issues::Entity::find()
                .filter(issues::Column::IssueType.eq("Test"))
                .count(&b.db)
                .await
                .unwrap(),
            2
        );

        // A testExecutionKey updates that execution: its run of "logs out" now passes.
        let update = serde_json::json!({
            "testExecutionKey": "XK-1",
            "tests": [{ "testKey": "XK-3", "status": "PASSED" }]
        })
        .to_string();
        let answer = harness::send(&state, import_request(2, &token, &update)).await;
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
        assert!(answer.body.contains(r#""key":"XK-1""#), "{}", answer.body);
        let execution = issues::Entity::find()
            .filter(issues::Column::Key.eq("XK-1"))
            .one(&b.db)
            .await
            .unwrap()
            .unwrap();
        let logs_out = issues::Entity::find()
            .filter(issues::Column::Key.eq("XK-3"))
            .one(&b.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(logs_out.summary, "logs out");
        let run = runs::Entity::find()
            .filter(runs::Column::ExecutionId.eq(execution.id))
            .filter(runs::Column::TestId.eq(logs_out.id))
            .one(&b.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(run.status, "PASSED");
    }));
}

#[test]
fn bad_imports_are_400s_that_say_what_is_wrong_and_store_nothing() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, ON);
        import::create_project(&b.db, "XK", "Stand-in")
            .await
            .unwrap();
        let key = key_for(&b.db, "ci-bad").await;
        let token = token_for(&state, &key).await;
        let good_test = r#"{"testInfo":{"summary":"ok"},"status":"PASSED"}"#;
        let cases = [
            ("{not json", "The body is not Xray JSON"),
            (r#"{"tests":[]}"#, "info.project: name the project key"),
            (
                r#"{"info":{"project":"NOPE"},"tests":[]}"#,
                "There is no project with key 'NOPE'.",
            ),
            (
                r#"{"testExecutionKey":"XK-99","tests":[]}"#,
                "testExecutionKey: there is no Test Execution with key 'XK-99'.",
            ),
            (
                &format!(
                    r#"{{"info":{{"project":"XK"}},"tests":[{good_test},{{"testInfo":{{"summary":"x"}},"status":"passed"}}]}}"#
                ),
                "tests[1].status: give a status",
            ),
            (
                &format!(
                    r#"{{"info":{{"project":"XK"}},"tests":[{good_test},{{"status":"PASSED"}}]}}"#
                ),
                "tests[1]: give a testKey or a testInfo",
            ),
            (
                &format!(
                    r#"{{"info":{{"project":"XK"}},"tests":[{good_test},{{"testKey":"XK-404","status":"PASSED"}}]}}"#
                ),
                "tests[1].testKey: there is no Test with key 'XK-404'.",
            ),
            (
                &format!(r#"{{"info":{{"project":"XK"}},"tests":[{good_test},{good_test}]}}"#),
                "appears twice in this import",
            ),
            (
                &format!(
                    r#"{{"info":{{"project":"XK","startDate":"yesterday"}},"tests":[{good_test}]}}"#
                ),
                "info.startDate: 'yesterday' is not a date and time",
            ),
            (
                r#"{"info":{"project":"XK"},"tests":"many"}"#,
                "The body is not Xray JSON",
            ),
        ];
        for (body, message) in cases {
            let answer = harness::send(&state, import_request(2, &token, body)).await;
            assert_eq!(answer.status.as_u16(), 400, "{body}: {}", answer.body);
            let error: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
            assert!(
                error["error"].as_str().is_some_and(|e| e.contains(message)),
                "{body}: {}",
                answer.body
            );
            assert_eq!(counts(&b.db).await, (0, 0), "{body}: nothing stored");
        }
        // A bad or missing token: Xray's 401.
        for token in ["not-a-token", ""] {
            let answer = harness::send(&state, import_request(2, token, good_test)).await;
            assert_eq!(answer.status.as_u16(), 401, "{}", answer.body);
            assert_eq!(answer.body, r#"{"error":"The API token is not valid"}"#);
        }
        // A deactivated key's token stops importing at once.
        app::api_keys::service::set_active(
            &b.db,
            &app::audit::service::Actor::cli(),
            &key.client_id,
            false,
            Utc::now().trunc_subsecs(0),
        )
        .await
        .unwrap();
        let body = format!(r#"{{"info":{{"project":"XK"}},"tests":[{good_test}]}}"#);
        let answer = harness::send(&state, import_request(2, &token, &body)).await;
        assert_eq!(answer.status.as_u16(), 401, "{}", answer.body);
        assert!(matches!(
            import::create_project(&b.db, "x", "lower").await,
            Err(AppError::Validation { .. })
        ));
    }));
}

#[test]
fn a_seed_makes_the_same_tenant_on_every_database_and_refuses_a_second_one() {
    use app::standin::seed::{seed, SeedPlan};
    use sea_orm::QueryOrder;
    let plan = SeedPlan {
        projects: 2,
        tests: 30,
        preconditions: 5,
        test_sets: 3,
        test_plans: 2,
        executions: 4,
        runs_per_execution: 10,
        seed: 42,
    };
    let tenants = std::sync::Mutex::new(Vec::new());
    harness::block_on(harness::each_backend(|b| {
        let tenants = &tenants;
        async move {
            let made = seed(&b.db, plan).await.unwrap();
            assert_eq!(made.projects, 2);
            assert_eq!(made.issues, 2 * (30 + 5 + 3 + 2 + 4));
            assert_eq!(made.runs, 2 * 4 * 10);
            let issues: Vec<(String, String, String)> = issues::Entity::find()
                .order_by_asc(issues::Column::Key)
                .all(&b.db)
                .await
                .unwrap()
                .into_iter()
                .map(|i| (i.key, i.issue_type, i.summary))
                .collect();
            let statuses: Vec<String> = runs::Entity::find()
                .order_by_asc(runs::Column::Id)
                .all(&b.db)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.status)
                .collect();
            let linked: Vec<(i32, i32)> = app::entities::standin_links::Entity::find()
                .order_by_asc(app::entities::standin_links::Column::Id)
                .all(&b.db)
                .await
                .unwrap()
                .into_iter()
                .map(|l| (l.parent_id, l.child_id))
                .collect();
            assert_eq!(linked.len() as u64, made.links);
            assert!(made.links > 0);
            tenants.lock().unwrap().push((issues, statuses, linked));
            assert!(matches!(
                seed(&b.db, plan).await,
                Err(AppError::Conflict(_))
            ));
            // Imports continue the seeded numbering.
            let next = import::import(
                &b.db,
                import::parse(
                    br#"{"info":{"project":"XK"},"tests":[{"testKey":"XK-1","status":"PASSED"}]}"#,
                )
                .unwrap(),
                "ci",
                "http://127.0.0.1:3000",
                Utc::now(),
            )
            .await
            .unwrap();
            assert_eq!(next.key, "XK-45");
        }
    }));
    let tenants = tenants.into_inner().unwrap();
    assert!(
        tenants.windows(2).all(|w| w[0] == w[1]),
        "the same tenant on every database"
    );
    assert!(tenants[0]
        .0
        .iter()
        .any(|(k, t, _)| k == "XK-1" && t == "Test"));
}

#[test]
fn the_seed_command_says_what_it_made_and_refuses_bad_numbers() {
    use crate::harness::cli::{self, succeeded};
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "standin",
        "seed",
        "--projects",
        "1",
        "--tests",
        "5",
        "--preconditions",
        "1",
        "--test-sets",
        "1",
        "--test-plans",
        "1",
        "--executions",
        "2",
        "--runs-per-execution",
        "3",
        "--seed",
        "7",
    ];
    let out = succeeded(cli::run(dir.path(), &args));
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // Steps are 1–4 a test, drawn from the seed.
    assert!(said.starts_with("seeded 1 projects, 10 issues, "), "{said}");
    assert!(said.contains(" test steps, 6 test runs and "), "{said}");
    assert!(said.ends_with(" links"), "{said}");
    // A second seed into the same tenant is refused, and so is a number out of range.
    let again = cli::run(dir.path(), &args);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds projects"));
    let bad = cli::run(dir.path(), &["standin", "seed", "--projects", "0"]);
    assert_eq!(bad.status.code(), Some(2), "clap refuses it");
}

fn junit_request(query: &str, token: &str, xml: &str) -> Request<Body> {
    Request::post(format!("/api/v2/import/execution/junit{query}"))
        .header(header::CONTENT_TYPE, "application/xml")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(xml.to_string()))
        .unwrap()
}

const JUNIT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="login" timestamp="2026-12-01T10:00:00" tests="3">
    <testcase classname="app.Login" name="accepts a good password" time="0.25"/>
    <testcase classname="app.Login" name="refuses a wrong password" time="1.5">
      <failure message="expected 401, got 200">stack</failure>
    </testcase>
    <testcase classname="app.Login" name="locks after five tries"><skipped/></testcase>
  </testsuite>
</testsuites>"#;

#[test]
fn a_junit_report_becomes_an_execution_with_generic_tests_found_again_by_definition() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, ON);
        import::create_project(&b.db, "XK", "Stand-in")
            .await
            .unwrap();
        let key = key_for(&b.db, "ci-junit").await;
        let token = token_for(&state, &key).await;
        let answer = harness::send(
            &state,
            junit_request(
                "?projectKey=XK&testEnvironments=linux;chrome",
                &token,
                JUNIT,
            ),
        )
        .await;
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
        assert!(answer.body.contains(r#""key":"XK-1""#), "{}", answer.body);
        let mut stored: Vec<(String, String, String)> = Vec::new();
        for run in runs::Entity::find().all(&b.db).await.unwrap() {
            let test = issues::Entity::find_by_id(run.test_id)
                .one(&b.db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(test.test_type.as_deref(), Some("Generic"));
            stored.push((test.definition.unwrap_or_default(), run.status, run.comment));
        }
        stored.sort();
        assert_eq!(
            stored,
            [
                (
                    "app.Login.accepts a good password".to_string(),
                    "PASSED".to_string(),
                    String::new()
                ),
                (
                    "app.Login.locks after five tries".to_string(),
                    "TODO".to_string(),
                    String::new()
                ),
                (
                    "app.Login.refuses a wrong password".to_string(),
                    "FAILED".to_string(),
                    "expected 401, got 200".to_string()
                ),
            ]
        );
        let execution = issues::Entity::find()
            .filter(issues::Column::Key.eq("XK-1"))
            .one(&b.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            execution.test_environments.as_deref(),
            Some(r#"["linux","chrome"]"#)
        );
        // The same report into that execution (testExecKey): no new tests, the runs updated.
        let answer = harness::send(&state, junit_request("?testExecKey=XK-1", &token, JUNIT)).await;
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
        assert_eq!(counts(&b.db).await, (4, 3));
        // Not JUnit, or nothing to import: a 400 that says so, nothing stored.
        for (query, xml, message) in [
            ("?projectKey=XK", "<html></html>", "its root is <html>"),
            ("?projectKey=XK", "<testsuite", "The body is not JUnit XML"),
            ("?projectKey=XK", "<testsuite/>", "has no <testcase>"),
            ("", JUNIT, "projectKey"),
            (
                "?projectKey=NOPE",
                JUNIT,
                "There is no project with key 'NOPE'.",
            ),
        ] {
            let answer = harness::send(&state, junit_request(query, &token, xml)).await;
            assert_eq!(
                answer.status.as_u16(),
                400,
                "{query} {xml}: {}",
                answer.body
            );
            assert!(
                answer.body.contains(message),
                "{query} {xml}: {}",
                answer.body
            );
            assert_eq!(counts(&b.db).await, (4, 3));
        }
    }));
}

#[test]
fn without_a_project_the_execution_goes_where_its_first_test_is() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, ON);
        import::create_project(&b.db, "XK", "First").await.unwrap();
        import::create_project(&b.db, "XKB", "Second")
            .await
            .unwrap();
        let key = key_for(&b.db, "ci-noproject").await;
        let token = token_for(&state, &key).await;
        let made = harness::send(
            &state,
            import_request(
                2,
                &token,
                r#"{"info":{"project":"XKB"},"tests":[{"testInfo":{"summary":"in B"},"status":"PASSED"}]}"#,
            ),
        )
        .await;
        assert_eq!(made.status.as_u16(), 200, "{}", made.body);
        // XKB-1 is that execution, XKB-2 its test; an import naming only XKB-2 lands in XKB.
        let answer = harness::send(
            &state,
            import_request(
                2,
                &token,
                r#"{"tests":[{"testKey":"XKB-2","status":"FAILED"}]}"#,
            ),
        )
        .await;
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
        assert_eq!(answer.json()["key"], "XKB-3");
    }));
}
