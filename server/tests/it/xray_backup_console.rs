//! The Xray Backups console (issue 18) on SQLite and PostgreSQL, against the stand-in: the
//! schedule, health in each state, cancelling, a token renewed while waiting, attachments,
//! downloads for the page's roles only, retention, the scheduler, and the events.

use std::time::Duration;

use crate::harness;
use crate::xray_backups::runs_support::{serve_with, settings, store_credentials};

use app::audit::service::Actor;
use app::entities::xray_backup_runs as history;
use app::error::AppError;
use app::standin::faults::{self, Fault, Target};
use app::users::Role;
use app::xray_backups::run::{self, RunStatus, Trigger};
use app::xray_backups::scheduler::{self, Scheduler};
use app::xray_backups::{service, HealthState, Schedule};
use axum::http::StatusCode;
use chrono::{Duration as Span, Utc};
use leptos::server_fn::ServerFn;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

fn alice() -> Actor {
    Actor {
        name: "alice".into(),
        client_addr: Some("127.0.0.1".into()),
    }
}

/// A finished run as history holds it, `age` ago.
async fn past_run(
    db: &sea_orm::DatabaseConnection,
    status: RunStatus,
    age: Span,
) -> history::Model {
    let at = Utc::now() - age;
    history::ActiveModel {
        trigger: Set("Scheduled".into()),
        status: Set(status.name().into()),
        message: Set(format!("{} earlier", status.name())),
        started_at: Set(at),
        finished_at: Set(Some(at)),
        events: Set("[]".into()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

#[test]
fn the_schedule_is_validated_saved_once_and_needs_credentials_to_turn_on() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let db = &state.db;
        let defaults = service::load_schedule(db).await.unwrap();
        assert_eq!(defaults, Schedule::default());
        assert_eq!(
            (
                defaults.daily_at_text(),
                defaults.keep_days,
                defaults.keep_last
            ),
            ("02:00".into(), 30, 3)
        );

        let on = Schedule {
            enabled: true,
            ..defaults.clone()
        };
        match service::save_schedule(db, &alice(), on.clone()).await {
            Err(AppError::Validation { field, message }) => {
                assert_eq!(field, "enabled");
                assert_eq!(
                    message,
                    "Store Xray Credentials first: scheduled backups use them."
                );
            }
            other => panic!("{other:?}"),
        }
        let bad = Schedule {
            daily_at: 61,
            ..defaults.clone()
        };
        assert!(matches!(
            service::save_schedule(db, &alice(), bad).await,
            Err(AppError::Validation { field, .. }) if field == "daily_at"
        ));

        let chosen = Schedule {
            daily_at: 90,
            project_ids: vec!["10000".into(), "10001".into()],
            include_attachments: true,
            incremental: true,
            keep_days: 7,
            keep_last: 2,
            api_version: "v1".into(),
            wait_minutes: 30,
            ..defaults.clone()
        };
        let saved = service::save_schedule(db, &alice(), chosen.clone())
            .await
            .unwrap();
        assert_eq!((saved.version, saved.updated_by.as_str()), (1, "alice"));
        assert_eq!(
            Schedule {
                version: 0,
                updated_by: String::new(),
                updated_at: None,
                ..saved.clone()
            },
            chosen
        );
        // A second admin saving what they read before the first save changes nothing.
        match service::save_schedule(
            db,
            &alice(),
            Schedule {
                keep_days: 99,
                ..chosen
            },
        )
        .await
        {
            Err(AppError::Conflict(m)) => {
                assert!(m.starts_with("Someone else changed the schedule"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(service::load_schedule(db).await.unwrap(), saved);
        let audit = app::audit::service::list(
            db,
            app::audit::AuditFilter {
                action: Some("xray_backup_schedule".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(audit.entries.len(), 1);
        assert!(
            audit.entries[0]
                .detail
                .as_deref()
                .unwrap_or("")
                .contains("off at 01:30 UTC; projects 10000, 10001; attachments; incremental"),
            "{:?}",
            audit.entries[0].detail
        );
    }));
}

#[test]
fn health_follows_the_last_success_and_the_credentials() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let db = &state.db;
        let now = Utc::now();
        let health = || async { service::health(db, Utc::now()).await.unwrap() };
        let never = health().await;
        assert_eq!(
            (never.state, never.text.as_str()),
            (HealthState::Never, "No backup has run yet.")
        );

        past_run(db, RunStatus::Failed, Span::hours(1)).await;
        let failed_only = health().await;
        assert_eq!(failed_only.state, HealthState::Never);
        assert!(
            failed_only
                .text
                .starts_with("No backup has succeeded yet. The last run: Failed."),
            "{}",
            failed_only.text
        );

        past_run(db, RunStatus::Succeeded, Span::hours(49)).await;
        assert_eq!(
            health().await.text,
            "No successful backup in the last 48 hours."
        );
        assert_eq!(health().await.state, HealthState::Critical);
        past_run(db, RunStatus::Succeeded, Span::hours(25)).await;
        let day = health().await;
        assert_eq!(
            (day.state, day.text.as_str()),
            (
                HealthState::Unhealthy,
                "No successful backup in the last 24 hours."
            )
        );
        past_run(db, RunStatus::Succeeded, Span::hours(3)).await;
        let fine = health().await;
        assert_eq!(
            (fine.state, fine.text.as_str()),
            (HealthState::Healthy, "Last successful backup 3 hours ago.")
        );
        past_run(db, RunStatus::Postponed, Span::hours(1)).await;
        let postponed = health().await;
        assert_eq!(postponed.state, HealthState::Unhealthy);
        assert!(
            postponed.text.starts_with("The last backup was postponed."),
            "{}",
            postponed.text
        );
        past_run(db, RunStatus::SucceededWithWarnings, Span::minutes(5)).await;
        assert_eq!(health().await.state, HealthState::Unhealthy);

        // Credentials whose last check failed make it critical, whatever the history.
        let stored = store_credentials(&state, Some(&"0".repeat(64))).await;
        let row = app::entities::xray_credentials::Entity::find()
            .one(db)
            .await
            .unwrap()
            .unwrap();
        app::credentials::service::store_outcome(
            db,
            &row,
            &app::credentials::Outcome::InvalidCredentials,
            "Scheduled check",
        )
        .await
        .unwrap();
        let critical = health().await;
        assert_eq!(critical.state, HealthState::Critical);
        assert_eq!(
            critical.text,
            "Xray Credentials are no longer valid. Update them on the Xray Credentials page."
        );
        assert!(critical.credentials_link);
        assert!(!critical.text.contains(&stored));
        let _ = now;
    }));
}

#[test]
fn a_run_is_cancelled_within_seconds_of_its_wait_and_leaves_nothing() {
    harness::block_on(harness::each_backend(|b| async move {
        // The stand-in's jobs take an hour: the run waits until it is cancelled.
        let (origin, state, task) = serve_with(&b, &[]).await;
        store_credentials(&state, None).await;
        let folder = tempfile::tempdir().unwrap();
        let settings = settings(&origin, folder.path(), Duration::from_secs(120));
        let running = {
            let (db, key, settings) =
                (state.db.clone(), state.master_key.clone(), settings.clone());
            tokio::spawn(
                async move { run::run(&db, &key, &settings, Trigger::Manual, "alice").await },
            )
        };
        let db = state.db.clone();
        let waiting = harness::eventually(200, Duration::from_millis(100), async || {
            history::Entity::find()
                .one(&db)
                .await
                .unwrap()
                .is_some_and(|r| {
                    r.step
                        .as_deref()
                        .is_some_and(|s| s.starts_with("Waiting for Xray"))
                })
        })
        .await;
        assert!(waiting, "the run waits for Xray");
        let asked = service::cancel(&state.db, &alice()).await.unwrap();
        // The run may have seen the request already.
        assert!(
            matches!(asked.status.as_str(), "Running" | "Cancelled"),
            "{asked:?}"
        );
        let done = tokio::time::timeout(Duration::from_secs(10), running)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            (done.status.as_str(), done.message.as_str()),
            ("Cancelled", "Cancelled by alice.")
        );
        assert!(done.file.is_none());
        assert!(
            !folder.path().join(done.id.to_string()).exists(),
            "nothing half-stored"
        );
        // Nothing to cancel now, and the lease is free for the next run.
        assert!(
            matches!(service::cancel(&state.db, &alice()).await, Err(AppError::NotFound(m)) if m == "No backup is running.")
        );
        let next = run::queue(&state.db, &settings, Trigger::Manual, "alice")
            .await
            .unwrap();
        assert_eq!(next.status, "Queued");
        let events = service::recent_events(&state.db, 10).await.unwrap();
        assert!(events
            .iter()
            .any(|e| e.kind == "backup cancelled" && e.run_id == Some(done.id)));
        task.abort();
    }));
}

#[test]
fn a_token_refused_while_waiting_is_renewed_once_then_the_run_fails() {
    harness::block_on(harness::each_backend(|b| async move {
        let (origin, state, task) =
            serve_with(&b, &[("XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS", "0")]).await;
        app::standin::seed::seed(&state.db, crate::harness::standin::SMALL_TENANT)
            .await
            .unwrap();
        store_credentials(&state, None).await;
        let folder = tempfile::tempdir().unwrap();
        let settings = settings(&origin, folder.path(), Duration::from_secs(20));
        faults::add(
            &state.db,
            Target::Status,
            Fault::Region,
            Some(1),
            Utc::now(),
        )
        .await
        .unwrap();
        let renewed = run::run(&state.db, &state.master_key, &settings, Trigger::Cli, "cli")
            .await
            .unwrap();
        assert_eq!(renewed.status, "Succeeded", "{}", renewed.message);
        assert!(
            renewed.events.contains("authenticating again"),
            "{}",
            renewed.events
        );

        app::standin::backup::forget_interval(&state.db)
            .await
            .unwrap();
        faults::add(
            &state.db,
            Target::Status,
            Fault::Region,
            Some(2),
            Utc::now(),
        )
        .await
        .unwrap();
        let stopped = run::run(&state.db, &state.master_key, &settings, Trigger::Cli, "cli")
            .await
            .unwrap();
        assert_eq!(
            (stopped.status.as_str(), stopped.message.as_str()),
            (
                "Failed",
                "The Xray Credentials stopped working during the backup."
            )
        );
        let checks = app::credentials::service::recent_checks(&state.db, 5)
            .await
            .unwrap();
        assert!(!checks[0].ok, "{checks:?}");
        assert_eq!(checks[0].source, format!("Backup run {}", stopped.id));
        task.abort();
    }));
}

#[test]
fn a_download_that_answers_5xx_is_tried_again_then_fails_with_the_answer() {
    harness::block_on(harness::each_backend(|b| async move {
        let (origin, state, task) =
            serve_with(&b, &[("XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS", "0")]).await;
        app::standin::seed::seed(&state.db, crate::harness::standin::SMALL_TENANT)
            .await
            .unwrap();
        store_credentials(&state, None).await;
        let folder = tempfile::tempdir().unwrap();
        let settings = settings(&origin, folder.path(), Duration::from_secs(20));
        faults::add(
            &state.db,
            Target::File,
            Fault::ServerError,
            Some(2),
            Utc::now(),
        )
        .await
        .unwrap();
        let done = run::run(&state.db, &state.master_key, &settings, Trigger::Cli, "cli")
            .await
            .unwrap();
        assert_eq!(done.status, "Succeeded", "{}", done.message);
        assert_eq!(
            done.events
                .matches("the download of data.zip: The download answered HTTP 500")
                .count(),
            2,
            "{}",
            done.events
        );
        // Four 500s: three tries again, then the answer stands.
        app::standin::backup::forget_interval(&state.db)
            .await
            .unwrap();
        faults::add(
            &state.db,
            Target::File,
            Fault::ServerError,
            Some(4),
            Utc::now(),
        )
        .await
        .unwrap();
        let failed = run::run(&state.db, &state.master_key, &settings, Trigger::Cli, "cli")
            .await
            .unwrap();
        assert_eq!(failed.status, "Failed");
        assert!(
            failed.message.starts_with("The download answered HTTP 500"),
            "{}",
            failed.message
        );
        task.abort();
    }));
}

#[test]
fn attachments_are_stored_and_downloads_decrypt_for_the_pages_roles_only() {
    harness::block_on(harness::each_backend(|b| async move {
        // The server's own backups folder, under a data folder of this test's.
        let data = tempfile::tempdir().unwrap();
        let data_dir = data.path().to_str().unwrap().to_string();
        let (origin, state, task) = serve_with(
            &b,
            &[
                ("XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS", "0"),
                ("XRAY_KEYS_DATA_DIR", &data_dir),
            ],
        )
        .await;
        let db = &state.db;
        app::standin::seed::seed(db, crate::harness::standin::SMALL_TENANT)
            .await
            .unwrap();
        let secret = store_credentials(&state, None).await;
        let schedule = service::load_schedule(db).await.unwrap();
        service::save_schedule(
            db,
            &alice(),
            Schedule {
                include_attachments: true,
                ..schedule
            },
        )
        .await
        .unwrap();
        // The server's own folder, so its download route finds the files.
        let folder = app::xray_backups::run::RunSettings::folder_of(&state.config);
        let settings = settings(&origin, &folder, Duration::from_secs(20));
        let done = run::run(db, &state.master_key, &settings, Trigger::Manual, "alice")
            .await
            .unwrap();
        assert_eq!(done.status, "Succeeded", "{}", done.message);
        assert!(
            done.request.contains("\"withAttachment\":true"),
            "{}",
            done.request
        );
        let details = service::details_of(&done);
        let names: Vec<&str> = details.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["data.zip", "attachments.zip"]);
        assert_eq!(
            details
                .counts
                .iter()
                .find(|(n, _)| n == "tests")
                .map(|c| c.1),
            Some(60)
        );

        let operator = harness::signed_in(db, "op", vec![Role::BackupOperator]).await;
        let nobody = harness::signed_in(db, "nobody", vec![]).await;
        let client = reqwest::Client::new();
        let get = |path: String, cookie: Option<String>| {
            let mut request = client.get(format!("{origin}{path}"));
            if let Some(c) = cookie {
                request = request.header("cookie", c);
            }
            request.send()
        };
        let id = done.id;
        let data = get(
            format!("/xray-backups/runs/{id}/data.zip"),
            Some(operator.clone()),
        )
        .await
        .unwrap();
        assert_eq!(data.status(), 200);
        assert_eq!(
            data.headers()["content-disposition"],
            format!("attachment; filename=\"xray-backup-{id}-data.zip\"").as_str()
        );
        assert_eq!(data.headers()["cache-control"], "no-store");
        let bytes = data.bytes().await.unwrap();
        use sha2::Digest;
        assert_eq!(Some(hex::encode(sha2::Sha256::digest(&bytes))), done.sha256);
        let attachments = get(
            format!("/xray-backups/runs/{id}/attachments.zip"),
            Some(operator.clone()),
        )
        .await
        .unwrap();
        assert_eq!(attachments.status(), 200);
        assert_eq!(
            hex::encode(sha2::Sha256::digest(attachments.bytes().await.unwrap())),
            details.files[1].sha256
        );
        let log = get(
            format!("/xray-backups/runs/{id}/log.txt"),
            Some(operator.clone()),
        )
        .await
        .unwrap();
        let log = log.text().await.unwrap();
        assert!(log.contains("File attachments.zip: "), "{log}");
        let page = get("/xray-backups".into(), Some(operator.clone()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("Xray Backups") && page.contains("Download attachments"),
            "{page}"
        );
        for said in [&log, &page, &done.events, &done.message] {
            assert!(
                !said.contains(&secret),
                "the stored secret is shown nowhere"
            );
        }
        for (path, cookie, status) in [
            (format!("/xray-backups/runs/{id}/data.zip"), None, 401),
            (
                format!("/xray-backups/runs/{id}/data.zip"),
                Some(nobody.clone()),
                403,
            ),
            (
                "/xray-backups/runs/999/data.zip".to_string(),
                Some(operator.clone()),
                404,
            ),
            (
                format!("/xray-backups/runs/{id}/secrets.txt"),
                Some(operator.clone()),
                404,
            ),
            (
                "/xray-backups/runs/x/data.zip".to_string(),
                Some(operator.clone()),
                404,
            ),
        ] {
            assert_eq!(
                get(path.clone(), cookie).await.unwrap().status(),
                status,
                "{path}"
            );
        }
        let downloads = app::audit::service::list(
            db,
            app::audit::AuditFilter {
                action: Some("xray_backup_download".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(downloads.entries.len(), 3, "one entry per download");
        assert!(downloads.entries.iter().all(|e| e.actor == "op"));
        let runs_audited = app::audit::service::list(
            db,
            app::audit::AuditFilter {
                action: Some("xray_backup_run".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(runs_audited.entries.len(), 1);
        assert_eq!(runs_audited.entries[0].actor, "alice");

        // The server functions of the page answer only its roles.
        for (cookie, status) in [
            (&nobody, StatusCode::FORBIDDEN),
            (&operator, StatusCode::OK),
        ] {
            let answer = harness::send(
                &state,
                harness::server_fn_request(
                    app::xray_backups::GetXrayBackups::PATH,
                    cookie,
                    "page=1".into(),
                ),
            )
            .await;
            assert_eq!(answer.status, status, "{}", answer.body);
        }
        task.abort();
    }));
}

#[test]
fn retention_removes_old_backups_but_always_keeps_the_last_ones() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        let db = &state.db;
        let folder = tempfile::tempdir().unwrap();
        let settings = settings("http://127.0.0.1:9", folder.path(), Duration::from_secs(1));
        let mut ids = Vec::new();
        for days in [90, 60, 45, 40, 2] {
            let run = past_run(db, RunStatus::Succeeded, Span::days(days)).await;
            std::fs::create_dir_all(folder.path().join(run.id.to_string())).unwrap();
            std::fs::write(
                folder.path().join(format!("{}/data.zip.xk", run.id)),
                b"sealed",
            )
            .unwrap();
            let mut stored: history::ActiveModel = run.clone().into();
            stored.file = Set(Some(format!("{}/data.zip.xk", run.id)));
            stored.update(db).await.unwrap();
            ids.push(run.id);
        }
        let schedule = Schedule {
            keep_days: 30,
            keep_last: 3,
            ..Schedule::default()
        };
        let removed = service::apply_retention(db, &settings, &schedule, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            removed, 2,
            "the two oldest; 45 and 40 days old are among the last three"
        );
        for (i, id) in ids.iter().enumerate() {
            let gone = i < 2;
            assert_eq!(
                !folder.path().join(id.to_string()).exists(),
                gone,
                "run {id}"
            );
            let row = history::Entity::find_by_id(*id)
                .one(db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.removed_at.is_some(), gone);
            assert_eq!(service::row_of(&row).has_data, !gone);
        }
        // Keeping one: the newest stays even when everything is old.
        let all_old = Schedule {
            keep_days: 1,
            keep_last: 1,
            ..Schedule::default()
        };
        assert_eq!(
            service::apply_retention(db, &settings, &all_old, Utc::now() + Span::days(10))
                .await
                .unwrap(),
            2
        );
        assert!(
            folder.path().join(ids[4].to_string()).exists(),
            "never the newest"
        );
    }));
}

#[test]
fn the_scheduler_runs_the_days_backup_once_retries_a_postponed_one_and_checks_credentials() {
    harness::block_on(harness::each_backend(|b| async move {
        let (origin, state, task) =
            serve_with(&b, &[("XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS", "0")]).await;
        let db = &state.db;
        store_credentials(&state, None).await;
        let folder = tempfile::tempdir().unwrap();
        let s = Scheduler {
            db: db.clone(),
            master_key: state.master_key.clone(),
            settings: settings(&origin, folder.path(), Duration::from_secs(20)),
            check_every: Some(Span::hours(6)),
        };
        let now = Utc::now();
        // Off: nothing runs, but the credentials are checked (none was yet).
        let first = scheduler::tick(&s, now).await.unwrap();
        assert_eq!(
            (first.queued, first.ran.clone(), first.checked),
            (None, None, true)
        );
        assert!(
            !scheduler::tick(&s, now).await.unwrap().checked,
            "not again within 6 hours"
        );
        let checks = app::credentials::service::recent_checks(db, 5)
            .await
            .unwrap();
        assert_eq!(
            (checks[0].source.as_str(), checks[0].ok),
            ("Scheduled check", true)
        );

        // On, at the last half hour: saved after that slot, it waits for tomorrow's.
        use chrono::Timelike;
        let slot = (now.hour() * 60 + now.minute()) / 30 * 30;
        let schedule = service::load_schedule(db).await.unwrap();
        service::save_schedule(
            db,
            &alice(),
            Schedule {
                enabled: true,
                daily_at: slot,
                ..schedule
            },
        )
        .await
        .unwrap();
        let early = scheduler::tick(&s, Utc::now()).await.unwrap();
        assert_eq!(early.queued, None, "{early:?}");
        // Saved the day before: the slot is due, once.
        let mut saved: app::entities::xray_backup_schedule::ActiveModel =
            app::entities::xray_backup_schedule::Entity::find_by_id(1)
                .one(db)
                .await
                .unwrap()
                .unwrap()
                .into();
        saved.updated_at = Set(now - Span::days(1));
        saved.update(db).await.unwrap();
        let due = scheduler::tick(&s, Utc::now()).await.unwrap();
        assert!(due.queued.is_some(), "{due:?}");
        let (id, status) = due.ran.unwrap();
        let ran = history::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (ran.trigger.as_str(), ran.started_by.as_str()),
            ("Scheduled", "system")
        );
        assert_eq!(status, "Succeeded", "{}", ran.message);
        let again = scheduler::tick(&s, Utc::now()).await.unwrap();
        assert_eq!(again.queued, None, "once per day");

        // A postponed run is retried once its time has come, and only once.
        let postponed = past_run(db, RunStatus::Postponed, Span::minutes(1)).await;
        let mut retry: history::ActiveModel = postponed.clone().into();
        retry.retry_at = Set(Some(Utc::now() - Span::seconds(1)));
        retry.update(db).await.unwrap();
        app::standin::backup::forget_interval(db).await.unwrap();
        let retried = scheduler::tick(&s, Utc::now()).await.unwrap();
        assert!(
            retried.queued.is_some_and(|q| q > postponed.id),
            "{retried:?}"
        );
        assert_eq!(retried.ran.map(|r| r.1), Some("Succeeded".to_string()));
        assert!(scheduler::tick(&s, Utc::now())
            .await
            .unwrap()
            .queued
            .is_none());
        task.abort();
    }));
}

#[test]
fn every_ending_and_every_change_of_health_is_an_event() {
    harness::block_on(harness::each_backend(|b| async move {
        let (origin, state, task) =
            serve_with(&b, &[("XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS", "0")]).await;
        let db = &state.db;
        let folder = tempfile::tempdir().unwrap();
        let settings = settings(&origin, folder.path(), Duration::from_secs(20));
        let skipped = run::run(db, &state.master_key, &settings, Trigger::Manual, "alice")
            .await
            .unwrap();
        assert_eq!(skipped.status, "Skipped (Xray data)");
        app::standin::seed::seed(db, crate::harness::standin::SMALL_TENANT)
            .await
            .unwrap();
        store_credentials(&state, None).await;
        let done = run::run(db, &state.master_key, &settings, Trigger::Manual, "alice")
            .await
            .unwrap();
        assert_eq!(done.status, "Succeeded");
        let postponed = run::run(db, &state.master_key, &settings, Trigger::Manual, "alice")
            .await
            .unwrap();
        assert_eq!(postponed.status, "Postponed");
        let mut kinds: Vec<String> = service::recent_events(db, 20)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        kinds.reverse();
        assert_eq!(
            kinds,
            [
                "backup skipped",
                "backup succeeded",
                "backup health changed",
                "backup postponed",
                "backup health changed"
            ]
        );
        let health = service::recent_events(db, 1).await.unwrap();
        assert!(
            health[0]
                .text
                .starts_with("Unhealthy: The last backup was postponed."),
            "{}",
            health[0].text
        );
        assert!(
            health[0].text.ends_with("(was Healthy)"),
            "{}",
            health[0].text
        );
        task.abort();
    }));
}

#[test]
fn the_command_line_queues_a_run_for_the_server_without_wait() {
    use crate::harness::cli::{self, succeeded};
    let dir = tempfile::tempdir().unwrap();
    let out = succeeded(cli::run(dir.path(), &["xray-backup", "run", "--json"]));
    let queued: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (queued["status"].as_str(), queued["trigger"].as_str()),
        (Some("Queued"), Some("CLI"))
    );
    let busy = cli::run(dir.path(), &["xray-backup", "run", "--wait"]);
    assert_eq!(
        busy.status.code(),
        Some(50),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );
    assert!(String::from_utf8_lossy(&busy.stderr).contains("A backup is already running (started "));
}

#[test]
fn only_queued_or_running_runs_count_as_active() {
    harness::block_on(harness::each_backend(|b| async move {
        let state = harness::app_state_of(&b);
        past_run(&state.db, RunStatus::Failed, Span::minutes(1)).await;
        assert!(service::active_run(&state.db).await.unwrap().is_none());
        let folder = tempfile::tempdir().unwrap();
        let settings = settings("http://127.0.0.1:9", folder.path(), Duration::from_secs(1));
        let queued = run::queue(&state.db, &settings, Trigger::Manual, "alice")
            .await
            .unwrap();
        assert_eq!(
            service::active_run(&state.db).await.unwrap().map(|r| r.id),
            Some(queued.id)
        );
        let waiting = history::Entity::find()
            .filter(history::Column::Status.eq("Queued"))
            .all(&state.db)
            .await
            .unwrap();
        assert_eq!(waiting.len(), 1);
    }));
}
