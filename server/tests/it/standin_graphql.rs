//! The stand-in's GraphQL and multipart import, on SQLite and PostgreSQL: Xray's queries with
//! their arguments answer from the tenant, errors come back as HTTP 200 with `errors`, `limit`
//! is 1–100, one call asks for at most 10,000 items, JQL is the stated subset.

use crate::harness;
use crate::harness::standin::{bearer_for, SMALL_TENANT};

use app::entities::{standin_issues as issues, standin_links as links};
use app::standin::seed::{seed, SeedPlan};
use axum::body::Body;
use axum::http::{header, Request};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const ON: &[(&str, &str)] = &[("XRAY_KEYS_XRAY_STANDIN", "on")];

fn graphql_request(version: u8, token: &str, body: &Value) -> Request<Body> {
    Request::post(format!("/api/v{version}/graphql"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// Runs `query` with `variables`; the answer must be HTTP 200 (GraphQL's errors included).
async fn ask(state: &app::state::AppState, token: &str, query: &str, variables: Value) -> Value {
    let answer = harness::send(
        state,
        graphql_request(2, token, &json!({ "query": query, "variables": variables })),
    )
    .await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
    answer.json()
}

fn first_error(answer: &Value) -> String {
    answer["errors"][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("an error: {answer}"))
        .to_string()
}

#[test]
fn xrays_queries_answer_from_the_tenant_with_their_connections() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, ON);
        seed(&b.db, SMALL_TENANT).await.unwrap();
        let token = bearer_for(&state, "reader").await;

        let tests = ask(
            &state,
            &token,
            r#"query($jql: String, $limit: Int!) {
                getTests(jql: $jql, limit: $limit) {
                    total start limit
                    results {
                        issueId projectId testType { name kind } lastModified
                        jira(fields: ["key", "summary"])
                        steps { id action result }
                        preconditions(limit: 10) { total results { issueId } }
                        testSets(limit: 10) { total }
                    }
                }
            }"#,
            json!({ "jql": "project = XK", "limit": 10 }),
        )
        .await;
        assert!(tests.get("errors").is_none(), "{tests}");
        let page = &tests["data"]["getTests"];
        assert_eq!(
            (
                page["total"].as_i64(),
                page["start"].as_i64(),
                page["limit"].as_i64()
            ),
            (Some(30), Some(0), Some(10))
        );
        let results = page["results"].as_array().unwrap();
        assert_eq!(results.len(), 10);
        assert_eq!(results[0]["jira"]["key"], "XK-1");
        assert_eq!(
            results[0]["testType"],
            json!({ "name": "Manual", "kind": "Steps" })
        );
        assert!(!results[0]["steps"].as_array().unwrap().is_empty());
        // A test's preconditions are its links in the tenant, no more and no fewer.
        for test in results {
            let row = test["issueId"].as_str().unwrap().parse::<i32>().unwrap()
                - app::standin::ISSUE_ID_BASE;
            let linked = links::Entity::find()
                .filter(links::Column::ChildId.eq(row))
                .all(&b.db)
                .await
                .unwrap();
            let mut preconditions = 0;
            let mut sets = 0;
            for link in linked {
                let parent = issues::Entity::find_by_id(link.parent_id)
                    .one(&b.db)
                    .await
                    .unwrap()
                    .unwrap();
                match parent.issue_type.as_str() {
                    "Pre-Condition" => preconditions += 1,
                    "Test Set" => sets += 1,
                    _ => {}
                }
            }
            assert_eq!(
                test["preconditions"]["total"].as_i64(),
                Some(preconditions),
                "{test}"
            );
            assert_eq!(test["testSets"]["total"].as_i64(), Some(sets), "{test}");
        }

        // Paging goes on where the first page stopped.
        let second = ask(
            &state,
            &token,
            r#"{ getTests(projectId: "10001", start: 10, limit: 10) { start results { jira(fields: ["key"]) } } }"#,
            json!({}),
        )
        .await;
        assert_eq!(
            second["data"]["getTests"]["results"][0]["jira"]["key"], "XK-11",
            "{second}"
        );

        // An execution, its runs and the tests it ran.
        let executions = ask(
            &state,
            &token,
            r#"{ getTestExecutions(jql: "project = XKB", limit: 10) {
                    total results { issueId testEnvironments
                        tests(limit: 100) { total }
                        testRuns(limit: 100) { total results { status { name color } executedById startedOn test { issueId } } } } } }"#,
            json!({}),
        )
        .await;
        let page = &executions["data"]["getTestExecutions"];
        assert_eq!(page["total"], 4, "{executions}");
        let execution = &page["results"][0];
        assert_eq!(execution["tests"]["total"], 10);
        assert_eq!(execution["testRuns"]["total"], 10);
        let run = &execution["testRuns"]["results"][0];
        assert_eq!(run["executedById"], "seed");
        assert!(["PASSED", "FAILED", "TODO"].contains(&run["status"]["name"].as_str().unwrap()));
        let id = execution["issueId"].as_str().unwrap().to_string();

        let one = ask(
            &state,
            &token,
            r#"query($id: String) { getTestExecution(issueId: $id) { issueId jira(fields: ["key", "issuetype"]) } }"#,
            json!({ "id": id }),
        )
        .await;
        assert_eq!(one["data"]["getTestExecution"]["issueId"], id.as_str());
        assert_eq!(
            one["data"]["getTestExecution"]["jira"]["issuetype"]["name"],
            "Test Execution"
        );
        let runs = ask(
            &state,
            &token,
            r#"query($id: String!) { getTestRuns(testExecIssueIds: [$id], limit: 3) { total limit results { id testExecution { issueId } } } }"#,
            json!({ "id": id }),
        )
        .await;
        assert_eq!(runs["data"]["getTestRuns"]["total"], 10, "{runs}");
        assert_eq!(
            runs["data"]["getTestRuns"]["results"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            runs["data"]["getTestRuns"]["results"][0]["testExecution"]["issueId"],
            id.as_str()
        );

        // Sets, plans and preconditions, each with the tests linked to them.
        let others = ask(
            &state,
            &token,
            r#"{ getTestSets(projectId: "XK", limit: 10) { total results { tests(limit: 20) { total } } }
                 getTestPlans(jql: "project = XK", limit: 10) { total results { tests(limit: 50) { total } testExecutions(limit: 10) { total } } }
                 getPreconditions(jql: "project = XK", limit: 10) { total results { preconditionType { name } tests(limit: 100) { total } } } }"#,
            json!({}),
        )
        .await;
        assert!(others.get("errors").is_none(), "{others}");
        assert_eq!(others["data"]["getTestSets"]["total"], 3);
        assert_eq!(others["data"]["getTestPlans"]["total"], 2);
        assert_eq!(others["data"]["getPreconditions"]["total"], 5);
        let set_tests = others["data"]["getTestSets"]["results"][0]["tests"]["total"]
            .as_i64()
            .unwrap();
        assert!((5..=15).contains(&set_tests), "{others}");
        let plan = &others["data"]["getTestPlans"]["results"][0];
        assert!(
            (10..=30).contains(&plan["tests"]["total"].as_i64().unwrap()),
            "{plan}"
        );
        assert!(
            (1..=4).contains(&plan["testExecutions"]["total"].as_i64().unwrap()),
            "{plan}"
        );

        // JQL by key and by issue, and modifiedSince.
        let keyed = ask(
            &state,
            &token,
            r#"{ a: getTests(jql: "key in (XK-2, XK-3)", limit: 10) { total }
                 b: getTests(jql: "issue in (10001, XK-4) AND project = XK", limit: 10) { total }
                 c: getTests(jql: "updated >= \"2999-01-01\"", limit: 10) { total }
                 d: getTests(modifiedSince: "2000-01-01T00:00:00Z", limit: 1) { total }
                 e: getTest(issueId: "99999999") { issueId } }"#,
            json!({}),
        )
        .await;
        assert!(keyed.get("errors").is_none(), "{keyed}");
        let data = &keyed["data"];
        assert_eq!(
            (
                data["a"]["total"].as_i64(),
                data["b"]["total"].as_i64(),
                data["c"]["total"].as_i64(),
                data["d"]["total"].as_i64()
            ),
            (Some(2), Some(2), Some(0), Some(60))
        );
        assert_eq!(data["e"], Value::Null);
    }));
}

#[test]
fn errors_are_http_200_with_xrays_limits_and_the_jql_subset() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, ON);
        seed(&b.db, SMALL_TENANT).await.unwrap();
        let token = bearer_for(&state, "reader").await;
        let cases: [(&str, Value, &str); 8] = [
            (
                "{ getTests(limit: 0) { total } }",
                json!({}),
                "The limit must be between 1 and 100; it was 0.",
            ),
            (
                "{ getTests(limit: 101) { total } }",
                json!({}),
                "The limit must be between 1 and 100; it was 101.",
            ),
            (
                "query($n: Int!) { getTests(limit: $n) { total } }",
                json!({ "n": 500 }),
                "it was 500",
            ),
            ("{ getTests { total } }", json!({}), "limit"),
            ("{ getTests(limit: 1) { nosuch } }", json!({}), "nosuch"),
            (
                r#"{ getTests(jql: "summary ~ login", limit: 1) { total } }"#,
                json!({}),
                "The stand-in understands project = X",
            ),
            (
                r#"{ getTests(jql: "project = NOPE", limit: 1) { total } }"#,
                json!({}),
                "The value 'NOPE' does not exist for the field 'project'.",
            ),
            ("{ getTests(limit: 1 { total } }", json!({}), ""),
        ];
        for (query, variables, message) in cases {
            let answer = ask(&state, &token, query, variables).await;
            let error = first_error(&answer);
            assert!(error.contains(message), "{query}: {error}");
        }

        // 100 tests × 100 preconditions and the tests themselves: 10,100 items, one too many
        // hundreds; nothing is read. 100 × 99 + 100 = 10,000 is allowed.
        let over = ask(
            &state,
            &token,
            "query($n: Int!) { getTests(limit: 100) { results { preconditions(limit: $n) { total } } } }",
            json!({ "n": 100 }),
        )
        .await;
        assert_eq!(
            first_error(&over),
            "The query asks for 10100 items; one call may ask for at most 10000 (nested connections multiplied). Ask for fewer with smaller limits."
        );
        assert!(over.get("data").is_none(), "{over}");
        let at_limit = ask(
            &state,
            &token,
            "fragment p on Test { preconditions(limit: 99) { total } } { getTests(limit: 100) { results { ...p } } }",
            json!({}),
        )
        .await;
        assert!(at_limit.get("errors").is_none(), "{at_limit}");
        let through_fragment = ask(
            &state,
            &token,
            "fragment p on Test { preconditions(limit: 100) { total } } { getTests(limit: 100) { results { ... on Test { ...p } } } }",
            json!({}),
        )
        .await;
        assert!(
            first_error(&through_fragment).contains("10100 items"),
            "{through_fragment}"
        );

        // Not a GraphQL request at all: a 400 that says so. A bad token: Xray's 401.
        let answer = harness::send(
            &state,
            Request::post("/api/v2/graphql")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from("query=1"))
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status.as_u16(), 400, "{}", answer.body);
        assert!(
            answer
                .error()
                .starts_with("The body is not a GraphQL request"),
            "{}",
            answer.body
        );
        let answer = harness::send(
            &state,
            graphql_request(1, "bad", &json!({ "query": "{ __typename }" })),
        )
        .await;
        assert_eq!(answer.status.as_u16(), 401);
        assert_eq!(answer.body, r#"{"error":"The API token is not valid"}"#);
    }));
}

#[test]
fn off_by_default_graphql_is_an_unknown_path() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let token = bearer_for(&state, "reader").await;
        let answer = harness::send(
            &state,
            graphql_request(2, &token, &json!({ "query": "{ __typename }" })),
        )
        .await;
        assert_eq!(answer.status.as_u16(), 404, "{}", answer.body);
    }));
}

#[test]
fn ten_thousand_tests_page_through_without_asking_for_more_than_a_hundred() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, ON);
        let plan = SeedPlan {
            projects: 1,
            tests: 10_000,
            preconditions: 0,
            test_sets: 0,
            test_plans: 0,
            executions: 0,
            runs_per_execution: 0,
            seed: 7,
        };
        seed(&b.db, plan).await.unwrap();
        let token = bearer_for(&state, "pager").await;
        let mut seen = std::collections::BTreeSet::new();
        let mut start = 0;
        loop {
            let answer = ask(
                &state,
                &token,
                "query($start: Int, $limit: Int!) { getTests(projectId: \"10001\", start: $start, limit: $limit) { total start results { issueId } } }",
                json!({ "start": start, "limit": 100 }),
            )
            .await;
            let page = &answer["data"]["getTests"];
            assert_eq!(page["total"], 10_000, "{answer}");
            let results = page["results"].as_array().unwrap();
            if results.is_empty() {
                break;
            }
            assert!(results.len() <= 100);
            for result in results {
                assert!(
                    seen.insert(result["issueId"].as_str().unwrap().to_string()),
                    "no test twice"
                );
            }
            start += 100;
        }
        assert_eq!(seen.len(), 10_000);
        assert_eq!(start, 10_000);
    }));
}

fn multipart(token: &str, parts: &[(&str, &str)]) -> Request<Body> {
    let boundary = "xk-boundary-7d1f";
    let mut body = String::new();
    for (name, content) in parts {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.json\"\r\nContent-Type: application/json\r\n\r\n{content}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    Request::post("/api/v2/import/execution/multipart")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body))
        .unwrap()
}

#[test]
fn a_multipart_import_takes_the_executions_fields_from_its_info_part() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, ON);
        seed(&b.db, SMALL_TENANT).await.unwrap();
        let token = bearer_for(&state, "ci-multi").await;
        let results = json!({
            "info": { "summary": "overridden", "project": "XK" },
            "tests": [{ "testKey": "XK-1", "status": "PASSED" }, { "testKey": "XK-2", "status": "FAILED" }]
        })
        .to_string();
        let plan = issues::Entity::find()
            .filter(issues::Column::IssueType.eq("Test Plan"))
            .filter(issues::Column::Key.starts_with("XKB-"))
            .one(&b.db)
            .await
            .unwrap()
            .unwrap();
        let info = json!({
            "fields": { "project": { "key": "XKB" }, "summary": "Nightly from multipart",
                        "issuetype": { "name": "Test Execution" } },
            "xrayFields": { "testPlanKey": plan.key, "environments": ["firefox"] }
        })
        .to_string();
        let answer = harness::send(
            &state,
            multipart(&token, &[("results", &results), ("info", &info)]),
        )
        .await;
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
        let key = answer.json()["key"].as_str().unwrap().to_string();
        assert!(key.starts_with("XKB-"), "the info part's project: {key}");
        let execution = issues::Entity::find()
            .filter(issues::Column::Key.eq(&key))
            .one(&b.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(execution.summary, "Nightly from multipart");
        assert_eq!(
            execution.test_environments.as_deref(),
            Some(r#"["firefox"]"#)
        );
        // The plan now holds the execution and both tests, as GraphQL shows.
        let read = ask(
            &state,
            &token,
            "query($id: String) { getTestExecution(issueId: $id) { testPlans(limit: 5) { results { jira(fields: [\"key\"]) } } } }",
            json!({ "id": answer.json()["id"] }),
        )
        .await;
        assert_eq!(
            read["data"]["getTestExecution"]["testPlans"]["results"][0]["jira"]["key"],
            plan.key.as_str(),
            "{read}"
        );
        for test in ["XK-1", "XK-2"] {
            let test = issues::Entity::find()
                .filter(issues::Column::Key.eq(test))
                .one(&b.db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                links::Entity::find()
                    .filter(links::Column::ParentId.eq(plan.id))
                    .filter(links::Column::ChildId.eq(test.id))
                    .count(&b.db)
                    .await
                    .unwrap(),
                1
            );
        }

        // A missing part, a bad info part, a body that is no form: 400s, nothing stored.
        let before = issues::Entity::find().count(&b.db).await.unwrap();
        for (parts, message) in [
            (vec![("results", results.as_str())], "The part info"),
            (vec![("info", info.as_str())], "The part results"),
            (
                vec![("results", results.as_str()), ("info", "[1]")],
                "The part info is not",
            ),
            (
                vec![("results", "{"), ("info", info.as_str())],
                "The body is not Xray JSON",
            ),
        ] {
            let answer = harness::send(&state, multipart(&token, &parts)).await;
            assert_eq!(answer.status.as_u16(), 400, "{}", answer.body);
            assert!(answer.error().contains(message), "{}", answer.body);
        }
        let answer = harness::send(
            &state,
            Request::post("/api/v1/import/execution/multipart")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status.as_u16(), 400, "{}", answer.body);
        assert!(
            answer.error().contains("multipart/form-data"),
            "{}",
            answer.body
        );
        assert_eq!(issues::Entity::find().count(&b.db).await.unwrap(), before);
    }));
}
