//! Backups across real server processes on one SQLite file: a server killed (SIGKILL) in the
//! middle of a run leaves it "Running" under its lease; once the lease has run out the run ends
//! "Failed" ("The server running this backup stopped."), nothing of it is listed as a backup,
//! and another server process runs the next one.

use std::time::Duration;

use crate::harness;
use crate::harness::cli::{self, succeeded};
use harness::process::Server;

use app::entities::xray_backup_runs as history;
use sea_orm::{ConnectionTrait, EntityTrait};

const PEPPER: &str = "1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f";
const MASTER_KEY: &str = "2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e";

fn blocking<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

async fn latest(db: &sea_orm::DatabaseConnection) -> Option<history::Model> {
    use sea_orm::QueryOrder;
    history::Entity::find()
        .order_by_desc(history::Column::Id)
        .one(db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_run_leaves_a_failed_run_and_another_server_runs_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        ("XRAY_KEYS_PEPPER", PEPPER),
        ("XRAY_KEYS_MASTER_KEY", MASTER_KEY),
        ("XRAY_KEYS_XRAY_STANDIN", "on"),
        // The job works for an hour: the run is waiting when its server is killed.
        ("XRAY_KEYS_XRAY_STANDIN_BACKUP_SECONDS", "3600"),
        ("XRAY_KEYS_BACKUP_POLL_SECONDS", "1"),
    ];
    let mut first = blocking(|| Server::start(dir.path(), &vars));
    let listen = format!("127.0.0.1:{}", first.port);
    let mut with_listen = vars.to_vec();
    with_listen.push(("XRAY_KEYS_LISTEN", &listen));
    let command = |args: &[&str]| blocking(|| cli::run_with(dir.path(), args, &with_listen));
    succeeded(command(&[
        "users",
        "add",
        "svc",
        "--name",
        "Backup service",
    ]));
    let key: serde_json::Value =
        serde_json::from_slice(&succeeded(command(&["keys", "create", "svc", "--json"])).stdout)
            .unwrap();
    // Stored as the Xray Credentials page stores them, for "This server".
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("data/xray-keys.db").display()
    );
    let db = sea_orm::Database::connect(&url).await.unwrap();
    app::credentials::service::save(
        &db,
        &app::vault::MasterKey::new([0x2e; 32]),
        &app::audit::service::Actor::cli(),
        &app::credentials::CredentialsForm {
            client_id: key["client_id"].as_str().unwrap().into(),
            client_secret: key["client_secret"].as_str().unwrap().into(),
            base_url: "this".into(),
            custom_url: String::new(),
            version: 0,
        },
        &app::credentials::destination::HostPolicy::new(&["127.0.0.1".into()], &[]),
    )
    .await
    .unwrap();

    // Queued from the command line; the server's scheduler starts it within its tick.
    succeeded(command(&["xray-backup", "run"]));
    let waiting = harness::eventually(450, Duration::from_millis(100), async || {
        latest(&db).await.is_some_and(|r| {
            r.status == "Running"
                && r.step
                    .as_deref()
                    .is_some_and(|s| s.starts_with("Waiting for Xray"))
        })
    })
    .await;
    assert!(
        waiting,
        "the first server runs the backup: {:?}",
        latest(&db).await
    );
    let killed = latest(&db).await.unwrap();
    blocking(|| first.kill());

    // Another server: the killed one's lease still holds, so nothing else starts.
    let _second = blocking(|| Server::start(dir.path(), &vars));
    let refused = command(&["xray-backup", "run"]);
    assert_eq!(refused.status.code(), Some(50));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("A backup is already running"));

    // Twenty minutes later (the lease's length), as far as the lease can tell.
    db.execute_unprepared(
        "UPDATE leases SET expires_at = '2000-01-01T00:00:00Z' WHERE name = 'xray-backup-run'",
    )
    .await
    .unwrap();
    succeeded(command(&["xray-backup", "run"]));
    let stopped = history::Entity::find_by_id(killed.id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stopped.status.as_str(), stopped.message.as_str()),
        ("Failed", "The server running this backup stopped.")
    );
    assert!(
        stopped.file.is_none(),
        "nothing half-stored is listed as a backup"
    );
    assert!(!dir
        .path()
        .join(format!("data/xray-backups/{}", killed.id))
        .exists());
    // The second server runs the queued one; the stand-in's 6-hour rule postpones it.
    let next_ran = harness::eventually(450, Duration::from_millis(100), async || {
        latest(&db)
            .await
            .is_some_and(|r| r.id > killed.id && r.finished_at.is_some())
    })
    .await;
    let next = latest(&db).await.unwrap();
    assert!(next_ran, "the second server ran the next backup: {next:?}");
    assert_eq!(next.status, "Postponed", "{}", next.message);
}
