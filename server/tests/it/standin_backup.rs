//! The stand-in's backup REST, faults and request limit, on SQLite and PostgreSQL: a job id,
//! Xray's 6-hour rule and text, `working` then `successful`, zips of the tenant, v2's one-time
//! links; every fault answers as named and reaches every instance; 429 past the plan.

use std::io::Read;

use crate::harness;
use crate::harness::key_for;
use crate::harness::standin::{bearer_for, SMALL_TENANT};

use app::entities::{standin_backups as backups, standin_downloads as downloads};
use app::entities::{standin_issues as issues, standin_links as links, throttle};
use app::standin::backup;
use app::standin::faults::{self, Fault, Target};
use app::standin::seed::seed;
use axum::body::Body;
use axum::http::{header, Request};
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{json, Value};

/// Jobs take an hour unless a test moves their time: no test waits for a clock.
const ON: &[(&str, &str)] = &[
    ("XRAY_KEYS_XRAY_STANDIN", "on"),
    ("XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS", "3600"),
];

fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

fn post(path: &str, token: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// The job finishes now (instead of waiting for it).
async fn finish(db: &sea_orm::DatabaseConnection, job_id: &str) {
    let job = backups::Entity::find()
        .filter(backups::Column::JobId.eq(job_id))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let mut done: backups::ActiveModel = job.into();
    done.ready_at = Set(Utc::now() - Duration::seconds(1));
    done.update(db).await.unwrap();
}

fn entries(zip_bytes: &[u8]) -> std::collections::BTreeMap<String, Value> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        out.insert(
            file.name().unwrap().to_string(),
            serde_json::from_str(&text).unwrap(),
        );
    }
    out
}

#[test]
fn a_backup_is_requested_polled_and_downloaded_as_xray_answers() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, ON);
        seed(&b.db, SMALL_TENANT).await.unwrap();
        let token = bearer_for(&state, "backup-bot").await;

        let answer = harness::send(&state, post("/api/v2/backup", &token, "{}")).await;
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
        let job_id = answer.json()["jobId"].as_str().unwrap().to_string();
        assert!(
            job_id.len() == 32 && job_id.chars().all(|c| c.is_ascii_hexdigit()),
            "{job_id}"
        );

        // One per 6 hours, refused in Xray's words, on v1 as on v2.
        for path in ["/api/v2/backup", "/api/v1/backup"] {
            let again = harness::send(&state, post(path, &token, "")).await;
            assert_eq!(again.status.as_u16(), 400, "{}", again.body);
            let text = again.error();
            assert!(
                text.starts_with("A backup can be created once every 6 hours, you can create a new one in: 5 hours, 59 minutes and "),
                "{text}"
            );
            assert!(text.ends_with(" seconds."), "{text}");
        }

        let status = harness::send(
            &state,
            get(&format!("/api/v2/backup/{job_id}/status"), Some(&token)),
        )
        .await;
        assert_eq!(status.status.as_u16(), 200);
        assert_eq!(
            status.json(),
            json!({ "status": "working", "progressValue": "0%" })
        );
        let unknown = harness::send(
            &state,
            get(
                "/api/v2/backup/0123456789abcdef0123456789abcdef/status",
                Some(&token),
            ),
        )
        .await;
        assert_eq!(unknown.status.as_u16(), 404);
        assert_eq!(unknown.body, r#"{"error":"job not found."}"#);
        let none_yet = harness::send(&state, get("/api/v1/backup/file", Some(&token))).await;
        assert_eq!(none_yet.status.as_u16(), 404, "{}", none_yet.body);

        finish(&b.db, &job_id).await;
        let status = harness::send(
            &state,
            get(&format!("/api/v1/backup/{job_id}/status"), Some(&token)),
        )
        .await;
        let base = state.config.public_url.trim_end_matches('/').to_string();
        assert_eq!(
            status.json(),
            json!({ "status": "successful", "fileUrl": format!("{base}/api/v1/backup/file") })
        );

        // v1 gives the zip: a JSON file per entity type, built from the tenant.
        let v1 = harness::send(&state, get("/api/v1/backup/file", Some(&token))).await;
        assert_eq!(v1.status.as_u16(), 200);
        assert_eq!(v1.headers[header::CONTENT_TYPE], "application/zip");
        let files = entries(&v1.bytes);
        assert_eq!(
            files.keys().cloned().collect::<Vec<_>>(),
            [
                "backup-info.json",
                "preconditions.json",
                "testexecutions.json",
                "testplans.json",
                "tests.json",
                "testsets.json"
            ]
        );
        let tests = files["tests.json"]["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 60);
        assert_eq!(
            files["testexecutions.json"]["testExecutions"]
                .as_array()
                .unwrap()
                .len(),
            8
        );
        assert_eq!(files["backup-info.json"]["counts"]["testRuns"], 80);
        // A test's preconditions are its links in the tenant.
        let test = &tests[0];
        let row =
            test["id"].as_str().unwrap().parse::<i32>().unwrap() - app::standin::ISSUE_ID_BASE;
        let mut expected = Vec::new();
        for link in links::Entity::find()
            .filter(links::Column::ChildId.eq(row))
            .all(&b.db)
            .await
            .unwrap()
        {
            let parent = issues::Entity::find_by_id(link.parent_id)
                .one(&b.db)
                .await
                .unwrap()
                .unwrap();
            if parent.issue_type == "Pre-Condition" {
                expected.push((app::standin::ISSUE_ID_BASE + parent.id).to_string());
            }
        }
        let mut given: Vec<String> = test["preConditionTargetIssueIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        given.sort();
        expected.sort();
        assert_eq!(given, expected);
        assert!(!test["steps"].as_array().unwrap().is_empty());

        // v2 answers with a one-time link that needs no token and works once.
        let v2 = harness::send(&state, get("/api/v2/backup/file", Some(&token))).await;
        assert_eq!(v2.status.as_u16(), 302, "{}", v2.body);
        let location = v2.headers[header::LOCATION].to_str().unwrap().to_string();
        let path = location
            .strip_prefix(&base)
            .expect("on this server")
            .to_string();
        assert!(path.starts_with("/api/standin/storage/"), "{path}");
        let fetched = harness::send(&state, get(&path, None)).await;
        assert_eq!(fetched.status.as_u16(), 200, "{}", fetched.body);
        assert_eq!(fetched.bytes, v1.bytes, "the same file every time");
        let twice = harness::send(&state, get(&path, None)).await;
        assert_eq!(twice.status.as_u16(), 404);
        assert_eq!(
            twice.error(),
            "This download link has expired or was already used."
        );
        // A link older than 5 minutes no longer works.
        let v2 = harness::send(&state, get("/api/v2/backup/file", Some(&token))).await;
        let path = v2.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .strip_prefix(&base)
            .unwrap()
            .to_string();
        for link in downloads::Entity::find().all(&b.db).await.unwrap() {
            let mut old: downloads::ActiveModel = link.into();
            old.expires_at = Set(Utc::now() - Duration::seconds(1));
            old.update(&b.db).await.unwrap();
        }
        assert_eq!(
            harness::send(&state, get(&path, None))
                .await
                .status
                .as_u16(),
            404
        );
        // This backup was made without attachments.
        let attachments =
            harness::send(&state, get("/api/v1/backup/file/attachment", Some(&token))).await;
        assert_eq!(attachments.status.as_u16(), 404, "{}", attachments.body);

        // Six hours later: a backup of one project, with attachments.
        backup::forget_interval(&b.db).await.unwrap();
        let answer = harness::send(
            &state,
            post("/api/v1/backup", &token, r#"{"projectIds":["10002"],"withAttachment":true,"modifiedSince":"2000-01-01T00:00:00Z"}"#),
        )
        .await;
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
        let second = answer.json()["jobId"].as_str().unwrap().to_string();
        finish(&b.db, &second).await;
        let status = harness::send(
            &state,
            get(&format!("/api/v2/backup/{second}/status"), Some(&token)),
        )
        .await;
        assert_eq!(
            status.json()["attachmentUrl"],
            format!("{base}/api/v2/backup/file/attachment")
        );
        let files = entries(
            &harness::send(&state, get("/api/v1/backup/file", Some(&token)))
                .await
                .bytes,
        );
        let tests = files["tests.json"]["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 30);
        assert!(tests
            .iter()
            .all(|t| t["key"].as_str().unwrap().starts_with("XKB-")));
        let attachments =
            harness::send(&state, get("/api/v1/backup/file/attachment", Some(&token))).await;
        assert_eq!(
            entries(&attachments.bytes)["attachments.json"],
            json!({ "attachments": [] })
        );
    }));
}

#[test]
fn bad_backup_requests_are_400s_and_take_no_turn() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, ON);
        let token = bearer_for(&state, "backup-bad").await;
        for (body, message) in [
            (r#"{"projectIds":"10001"}"#, "The body is not"),
            (
                r#"{"projectIds":["XK"]}"#,
                "projectIds: 'XK' is not a project id",
            ),
            (
                r#"{"modifiedSince":"yesterday"}"#,
                "modifiedSince: 'yesterday' is not a date",
            ),
            (r#"{"withAttachment":"yes"}"#, "The body is not"),
            (r#"{"everything":true}"#, "unknown field"),
            ("[", "The body is not"),
        ] {
            let answer = harness::send(&state, post("/api/v2/backup", &token, body)).await;
            assert_eq!(answer.status.as_u16(), 400, "{body}: {}", answer.body);
            assert!(answer.error().contains(message), "{body}: {}", answer.body);
        }
        assert_eq!(backups::Entity::find().count(&b.db).await.unwrap(), 0);
        // None of them used up the 6 hours.
        let answer = harness::send(&state, post("/api/v2/backup", &token, "")).await;
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
        // Off, backup is an unknown path; a bad token is Xray's 401.
        let off = harness::app_state_of(&b);
        assert_eq!(
            harness::send(&off, post("/api/v2/backup", &token, ""))
                .await
                .status
                .as_u16(),
            404
        );
        let answer = harness::send(&state, get("/api/v2/backup/x/status", Some("bad"))).await;
        assert_eq!(answer.status.as_u16(), 401);
        assert_eq!(answer.body, r#"{"error":"The API token is not valid"}"#);
    }));
}

#[test]
fn two_instances_asking_at_once_get_one_backup() {
    harness::block_on(harness::each_backend(|b| async move {
        let a = harness::app_state_with(&b, ON);
        let other = harness::app_state_with(&b, ON);
        let token = bearer_for(&a, "racer").await;
        let (x, y) = futures::join!(
            harness::send(&a, post("/api/v2/backup", &token, "")),
            harness::send(&other, post("/api/v2/backup", &token, ""))
        );
        let mut statuses = [x.status.as_u16(), y.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400], "{} / {}", x.body, y.body);
        assert_eq!(backups::Entity::find().count(&b.db).await.unwrap(), 1);
    }));
}

#[test]
fn every_fault_answers_as_named_on_every_instance_and_a_count_runs_out() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_with(&b, ON);
        let elsewhere = harness::app_state_with(&b, ON);
        seed(&b.db, SMALL_TENANT).await.unwrap();
        let token = bearer_for(&state, "faulty").await;
        let graphql = |token: &str| post("/api/v2/graphql", token, r#"{"query":"{ __typename }"}"#);
        let now = Utc::now();

        // Region, on authenticate, for the next two requests: then authenticate works again.
        faults::add(&b.db, Target::Authenticate, Fault::Region, Some(2), now)
            .await
            .unwrap();
        let key = key_for(&b.db, "faulty-auth").await;
        let credentials =
            json!({ "client_id": key.client_id, "client_secret": key.client_secret }).to_string();
        for instance in [&state, &elsewhere] {
            let answer = harness::send(
                instance,
                harness::post_json("/api/v2/authenticate", credentials.clone(), [10, 9, 0, 4]),
            )
            .await;
            assert_eq!(answer.status.as_u16(), 401);
            assert_eq!(answer.error(), app::standin::routes::OTHER_REGION);
        }
        let answer = harness::send(
            &state,
            harness::post_json("/api/v2/authenticate", credentials.clone(), [10, 9, 0, 4]),
        )
        .await;
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);

        // Licence on GraphQL: 401 text/plain, until cleared.
        faults::add(&b.db, Target::Graphql, Fault::License, None, now)
            .await
            .unwrap();
        for _ in 0..2 {
            let answer = harness::send(&elsewhere, graphql(&token)).await;
            assert_eq!(answer.status.as_u16(), 401);
            assert!(answer.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain"));
            assert_eq!(answer.body, app::standin::routes::INVALID_LICENSE);
        }
        assert_eq!(faults::clear(&b.db).await.unwrap(), 1);
        assert_eq!(
            harness::send(&state, graphql(&token)).await.status.as_u16(),
            200
        );

        // Server errors and unavailability on imports and backups.
        faults::add(&b.db, Target::Import, Fault::ServerError, Some(1), now)
            .await
            .unwrap();
        faults::add(&b.db, Target::Backup, Fault::Unavailable, Some(1), now)
            .await
            .unwrap();
        let import = post(
            "/api/v2/import/execution",
            &token,
            r#"{"info":{"project":"XK"},"tests":[]}"#,
        );
        assert_eq!(harness::send(&state, import).await.status.as_u16(), 500);
        let refused = harness::send(&state, post("/api/v2/backup", &token, "")).await;
        assert_eq!(refused.status.as_u16(), 503);
        assert_eq!(refused.headers[header::RETRY_AFTER], "30");
        assert_eq!(
            backups::Entity::find().count(&b.db).await.unwrap(),
            0,
            "nothing was started"
        );

        // A backup whose status stays "working" while the fault lasts.
        let job = harness::send(&state, post("/api/v2/backup", &token, ""))
            .await
            .json()["jobId"]
            .as_str()
            .unwrap()
            .to_string();
        finish(&b.db, &job).await;
        faults::add(&b.db, Target::Status, Fault::StuckWorking, Some(1), now)
            .await
            .unwrap();
        let status = format!("/api/v2/backup/{job}/status");
        assert_eq!(
            harness::send(&state, get(&status, Some(&token)))
                .await
                .json()["status"],
            "working"
        );
        assert_eq!(
            harness::send(&state, get(&status, Some(&token)))
                .await
                .json()["status"],
            "successful"
        );

        // A truncated zip: v1 at once, v2 at the storage link.
        let whole = harness::send(&state, get("/api/v1/backup/file", Some(&token)))
            .await
            .bytes;
        faults::add(&b.db, Target::File, Fault::TruncatedZip, Some(2), now)
            .await
            .unwrap();
        let cut = harness::send(&state, get("/api/v1/backup/file", Some(&token)))
            .await
            .bytes;
        assert_eq!(cut.len(), whole.len() / 2);
        assert!(zip::ZipArchive::new(std::io::Cursor::new(cut)).is_err());
        let v2 = harness::send(&state, get("/api/v2/backup/file", Some(&token))).await;
        assert_eq!(v2.status.as_u16(), 302, "the redirect itself is whole");
        let base = state.config.public_url.trim_end_matches('/').to_string();
        let path = v2.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .strip_prefix(&base)
            .unwrap()
            .to_string();
        assert_eq!(
            harness::send(&state, get(&path, None)).await.bytes.len(),
            whole.len() / 2
        );

        // A redirect to another origin (the same server by another name).
        faults::add(
            &b.db,
            Target::File,
            Fault::RedirectOtherOrigin,
            Some(1),
            now,
        )
        .await
        .unwrap();
        let v2 = harness::send(&state, get("/api/v2/backup/file", Some(&token))).await;
        let location = v2.headers[header::LOCATION].to_str().unwrap();
        assert!(
            !location.starts_with(&base),
            "{location} is another origin than {base}"
        );
        let path = location[location
            .find("/api/standin/storage/")
            .expect("the storage path")..]
            .to_string();
        // A client that forwards its token to the other origin is refused, and the link kept.
        let leaked = harness::send(&state, get(&path, Some(&token))).await;
        assert_eq!(leaked.status.as_u16(), 400, "{}", leaked.body);
        assert!(
            leaked.error().ends_with(backup::LEAKED_TOKEN),
            "{}",
            leaked.body
        );
        assert_eq!(
            harness::send(&state, get(&path, None))
                .await
                .status
                .as_u16(),
            200
        );
        // Links on this origin ignore a forwarded token (curl -L sends it on a same-host redirect).
        let v2 = harness::send(&state, get("/api/v2/backup/file", Some(&token))).await;
        let path = v2.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .strip_prefix(&base)
            .unwrap()
            .to_string();
        assert_eq!(
            harness::send(&state, get(&path, Some(&token)))
                .await
                .status
                .as_u16(),
            200
        );

        // A hang holds the request (here: for longer than a second, then the test lets go).
        faults::add(&b.db, Target::Graphql, Fault::Hang, Some(1), now)
            .await
            .unwrap();
        let held = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            harness::send(&state, graphql(&token)),
        )
        .await;
        assert!(held.is_err(), "no answer while it hangs");
        assert_eq!(
            harness::send(&state, graphql(&token)).await.status.as_u16(),
            200
        );

        // A fault that means nothing for its target is refused.
        assert!(
            faults::add(&b.db, Target::Import, Fault::TruncatedZip, None, now)
                .await
                .is_err()
        );
        assert!(
            faults::in_force(&b.db).await.unwrap().is_empty(),
            "every counted fault ran out"
        );
    }));
}

#[test]
fn past_the_plans_requests_in_5_minutes_the_answer_is_429_with_retry_after() {
    harness::block_on(harness::each_backend(|b| async move {
        let standard = harness::app_state_with(&b, ON);
        let mut enterprise_vars = ON.to_vec();
        enterprise_vars.push(("XRAY_KEYS_XRAY_STANDIN_PLAN", "enterprise"));
        let enterprise = harness::app_state_with(&b, &enterprise_vars);
        let token = bearer_for(&standard, "busy").await;
        // 300 requests in this window already (as if made).
        throttle::ActiveModel {
            bucket: Set(app::standin::routes::REQUESTS_BUCKET.to_string()),
            window_start: Set(Utc::now()),
            failures: Set(300),
        }
        .insert(&b.db)
        .await
        .unwrap();
        let graphql = || post("/api/v2/graphql", &token, r#"{"query":"{ __typename }"}"#);
        let refused = harness::send(&standard, graphql()).await;
        assert_eq!(refused.status.as_u16(), 429, "{}", refused.body);
        let retry: u64 = refused.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=300).contains(&retry), "{retry}");
        assert!(
            refused
                .error()
                .starts_with("Too many requests: the plan allows 300 requests in 5 minutes."),
            "{}",
            refused.body
        );
        // Enterprise allows 1000 in the same window.
        assert_eq!(
            harness::send(&enterprise, graphql()).await.status.as_u16(),
            200
        );
    }));
}

#[test]
fn faults_are_set_listed_and_cleared_from_the_command_line_only() {
    use crate::harness::cli::{self, succeeded};
    let dir = tempfile::tempdir().unwrap();
    let said = |out: std::process::Output| String::from_utf8_lossy(&out.stdout).trim().to_string();
    let out = succeeded(cli::run(
        dir.path(),
        &[
            "standin", "fault", "add", "--target", "backup", "--fault", "region", "--count", "2",
        ],
    ));
    assert_eq!(
        said(out),
        "the stand-in answers the next 2 backup requests with region"
    );
    let out = succeeded(cli::run(
        dir.path(),
        &[
            "standin",
            "fault",
            "add",
            "--target",
            "status",
            "--fault",
            "stuck-working",
        ],
    ));
    assert_eq!(
        said(out),
        "the stand-in answers status requests with stuck-working until `standin fault clear`"
    );
    let listed = said(succeeded(cli::run(
        dir.path(),
        &["standin", "fault", "list"],
    )));
    assert!(
        listed.starts_with("backup\tregion\t2 left\tsince "),
        "{listed}"
    );
    assert!(
        listed.contains("\nstatus\tstuck-working\tuntil cleared\tsince "),
        "{listed}"
    );
    let wrong = cli::run(
        dir.path(),
        &[
            "standin",
            "fault",
            "add",
            "--target",
            "import",
            "--fault",
            "truncated-zip",
        ],
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr)
        .contains("The fault truncated-zip does not apply to import."));
    let unknown = cli::run(
        dir.path(),
        &[
            "standin",
            "fault",
            "add",
            "--target",
            "everything",
            "--fault",
            "region",
        ],
    );
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "clap names the possible values"
    );
    assert_eq!(
        said(succeeded(cli::run(
            dir.path(),
            &["standin", "fault", "clear"]
        ))),
        "cleared 2 fault(s)"
    );
    assert_eq!(
        said(succeeded(cli::run(
            dir.path(),
            &["standin", "fault", "list"]
        ))),
        "no faults"
    );
}
