//! Xray backups kept in an S3-compatible bucket (moto on loopback), on SQLite and PostgreSQL:
//! the sealed files are uploaded and no plaintext or local copy stays; downloads read them
//! back from the bucket and decrypt them; retention removes a run's objects; a bucket that
//! cannot be written fails the run cleanly.

use std::time::Duration;

use crate::harness;
use crate::harness::s3::S3Server;
use crate::xray_backups::runs_support::{serve_with, settings, store_credentials};

use app::users::Role;
use app::xray_backups::run::{self, RunSettings, Trigger};
use app::xray_backups::{service, Schedule};
use chrono::{Duration as Span, Utc};

#[test]
fn backups_go_to_the_bucket_sealed_and_come_back_whole() {
    harness::block_on(harness::each_backend(|b| async move {
        let s3 = tokio::task::block_in_place(S3Server::start);
        s3.create_bucket("xk-backups").await;
        let data = tempfile::tempdir().unwrap();
        let mut vars = s3.settings("s3://xk-backups/team-a");
        vars.push((
            "XRAY_KEYS_DATA_DIR".into(),
            data.path().display().to_string(),
        ));
        vars.push(("XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS".into(), "0".into()));
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (origin, state, task) = serve_with(&b, &vars).await;
        let db = &state.db;
        app::standin::seed::seed(db, crate::harness::standin::SMALL_TENANT)
            .await
            .unwrap();
        store_credentials(&state, None).await;
        let bucket = state
            .config
            .backup_bucket
            .clone()
            .expect("the bucket is configured");
        let folder = RunSettings::folder_of(&state.config);
        let settings = RunSettings {
            bucket: Some(bucket.clone()),
            ..settings(&origin, &folder, Duration::from_secs(20))
        };

        let first = run::run(db, &state.master_key, &settings, Trigger::Cli, "cli")
            .await
            .unwrap();
        assert_eq!(first.status, "Succeeded", "{}", first.message);
        assert!(
            first.events.contains("Uploading to s3://xk-backups/team-a"),
            "{}",
            first.events
        );
        assert_eq!(
            bucket.names(first.id).await.unwrap(),
            ["data.zip.xk", "manifest.json.xk"]
        );
        assert!(
            !folder.join(first.id.to_string()).exists(),
            "no local copy stays"
        );

        // Downloaded through the page's route: read from the bucket, decrypted, whole.
        let operator = harness::signed_in(db, "op", vec![Role::BackupOperator]).await;
        let got = reqwest::Client::new()
            .get(format!("{origin}/xray-backups/runs/{}/data.zip", first.id))
            .header("cookie", operator)
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200);
        use sha2::Digest;
        let bytes = got.bytes().await.unwrap();
        assert_eq!(
            Some(hex::encode(sha2::Sha256::digest(&bytes))),
            first.sha256
        );
        assert!(
            std::fs::read_dir(data.path().join("tmp"))
                .map(Iterator::count)
                .unwrap_or(0)
                == 0,
            "the temporary copy is gone"
        );

        // A second backup; retention then removes the first run's objects, never the newest.
        app::standin::backup::forget_interval(db).await.unwrap();
        let second = run::run(db, &state.master_key, &settings, Trigger::Cli, "cli")
            .await
            .unwrap();
        assert_eq!(second.status, "Succeeded", "{}", second.message);
        let keep_one = Schedule {
            keep_days: 1,
            keep_last: 1,
            ..Schedule::default()
        };
        let removed =
            service::apply_retention(db, &settings, &keep_one, Utc::now() + Span::days(3))
                .await
                .unwrap();
        assert_eq!(removed, 1);
        assert!(bucket.names(first.id).await.unwrap().is_empty());
        assert_eq!(bucket.names(second.id).await.unwrap().len(), 2);
        task.abort();
    }));
}

#[test]
fn a_bucket_that_cannot_be_written_fails_the_run_and_keeps_nothing() {
    harness::block_on(harness::each_backend(|b| async move {
        let s3 = tokio::task::block_in_place(S3Server::start);
        // No bucket was created: every upload is refused.
        let data = tempfile::tempdir().unwrap();
        let mut vars = s3.settings("s3://missing-bucket");
        vars.push((
            "XRAY_KEYS_DATA_DIR".into(),
            data.path().display().to_string(),
        ));
        vars.push(("XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS".into(), "0".into()));
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (origin, state, task) = serve_with(&b, &vars).await;
        store_credentials(&state, None).await;
        let folder = RunSettings::folder_of(&state.config);
        let settings = RunSettings {
            bucket: state.config.backup_bucket.clone(),
            ..settings(&origin, &folder, Duration::from_secs(20))
        };
        let failed = run::run(&state.db, &state.master_key, &settings, Trigger::Cli, "cli")
            .await
            .unwrap();
        assert_eq!(
            (failed.status.as_str(), failed.message.as_str()),
            (
                "Failed",
                "The backup could not be written to the backup storage. The details were logged."
            )
        );
        assert!(failed.file.is_none());
        assert!(!folder.join(failed.id.to_string()).exists());
        task.abort();
    }));
}

#[test]
fn a_backup_store_that_is_not_local_or_s3_is_refused_at_start() {
    let refused = app::config::Config::from_vars([(
        "XRAY_KEYS_BACKUP_STORE".to_string(),
        "ftp://somewhere".to_string(),
    )]);
    match refused {
        Err(e) => assert_eq!(
            e.to_string(),
            "configuration error in XRAY_KEYS_BACKUP_STORE: 'ftp://somewhere' is not local or s3://bucket/prefix"
        ),
        Ok(_) => panic!("accepted"),
    }
}

/// The mode bits of `path`.
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn local_backups_are_the_server_users_only_and_a_full_disk_fails_the_run_leaving_nothing() {
    harness::block_on(harness::each_backend(|b| async move {
        let (origin, state, task) =
            serve_with(&b, &[("XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS", "0")]).await;
        let db = &state.db;
        // Large enough that half of its backup file is several pages of a tmpfs.
        let tenant = app::standin::seed::SeedPlan {
            tests: 400,
            ..crate::harness::standin::SMALL_TENANT
        };
        app::standin::seed::seed(db, tenant).await.unwrap();
        store_credentials(&state, None).await;

        // A backups folder an older release made with the default mode is tightened.
        let roomy = tempfile::tempdir().unwrap();
        let folder = roomy.path().join("xray-backups");
        std::fs::create_dir(&folder).unwrap();
        std::fs::set_permissions(&folder, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let stored = run::run(
            db,
            &state.master_key,
            &settings(&origin, &folder, Duration::from_secs(20)),
            Trigger::Cli,
            "cli",
        )
        .await
        .unwrap();
        assert_eq!(stored.status, "Succeeded", "{}", stored.message);
        let run_folder = folder.join(stored.id.to_string());
        assert_eq!((mode(&folder), mode(&run_folder)), (0o700, 0o700));
        for name in ["data.zip.xk", "manifest.json.xk"] {
            assert_eq!(mode(&run_folder.join(name)), 0o600, "{name}");
        }
        let size = u64::try_from(stored.size.unwrap()).unwrap();
        assert!(size > 32 * 1024, "the backup file is only {size} bytes");

        // Too small for the download; then room for the download but not its sealed copy.
        for room in [size / 2, size * 3 / 2] {
            app::standin::backup::forget_interval(db).await.unwrap();
            let disk = tokio::task::block_in_place(|| harness::tmpfs::Tmpfs::mount(room));
            let full = run::run(
                db,
                &state.master_key,
                &settings(&origin, disk.path(), Duration::from_secs(20)),
                Trigger::Cli,
                "cli",
            )
            .await
            .unwrap();
            assert_eq!(
                (full.status.as_str(), full.message.as_str()),
                ("Failed", "Not enough space to store the backup."),
                "with room for {room} of {size} bytes: {}",
                full.events
            );
            assert!(full.file.is_none());
            let left: Vec<_> = std::fs::read_dir(disk.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert!(left.is_empty(), "left behind: {left:?}");
        }
        task.abort();
    }));
}
