//! Bad configuration stops start-up with a message that names the setting, never a panic.

use crate::harness;
use crate::harness::cli::{self, succeeded};

use std::process::Output;

use harness::process::{request, Server};

fn run_with_env(vars: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    cli::run_with(dir.path(), &["migrate", "status"], vars)
}

fn assert_names_setting(output: &Output, setting: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "should fail; stderr: {stderr}");
    assert!(
        stderr.contains(setting),
        "stderr should name {setting}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
}

#[test]
fn unsupported_database_url_is_refused_by_name() {
    let out = run_with_env(&[("DATABASE_URL", "mysql://localhost/keys")]);
    assert_names_setting(&out, "DATABASE_URL");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unreachable_database_is_a_clear_error() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let out = run_with_env(&[("DATABASE_URL", "postgres://u:secretpw@127.0.0.1:1/keys")]);
    assert_names_setting(&out, "DATABASE_URL");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("secretpw"),
        "the password is never printed: {stderr}"
    );
}

#[test]
fn unwritable_sqlite_location_is_a_clear_error() {
    let out = run_with_env(&[("DATABASE_URL", "sqlite:///proc/nope/keys.db?mode=rwc")]);
    assert_names_setting(&out, "DATABASE_URL");
}

#[test]
fn misspelt_setting_is_refused_by_name() {
    let out = run_with_env(&[("XRAY_KEYS_LISTN", "127.0.0.1:3000")]);
    assert_names_setting(&out, "XRAY_KEYS_LISTN");
}

#[test]
fn malformed_listen_address_is_refused_by_name() {
    let out = run_with_env(&[("XRAY_KEYS_LISTEN", "everywhere")]);
    assert_names_setting(&out, "XRAY_KEYS_LISTEN");
}

#[test]
fn default_sqlite_database_is_created_in_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli::run(dir.path(), &["migrate", "up"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/xray-keys.db").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("data"), 0o700, "the data folder is private");
        assert_eq!(
            mode("data/xray-keys.db"),
            0o600,
            "the database file is private"
        );
    }
}

#[test]
fn the_keys_command_prints_a_secret_once_and_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli::run(dir.path(), &["users", "add", "ci-bot", "--name", "CI Bot"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = cli::run(dir.path(), &["keys", "create", "ci-bot", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The result on stdout, and nothing else: no log lines about migrations.
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let issued: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let client_id = issued["client_id"].as_str().unwrap().to_string();
    assert_eq!(issued["client_secret"].as_str().unwrap().len(), 64);

    let out = cli::run(dir.path(), &["keys", "create", "ci-bot"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already has an API Key"));

    let out = cli::run(dir.path(), &["keys", "list", "--json"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains(&client_id) && !listed.contains(issued["client_secret"].as_str().unwrap())
    );

    let out = cli::run(dir.path(), &["keys", "delete", "not-an-id"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("32 hexadecimal"));

    let out = cli::run(dir.path(), &["keys", "regenerate", &client_id, "--json"]);
    assert!(out.status.success());
    let out = cli::run(dir.path(), &["keys", "delete", &client_id]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("deleted 1 API Key"));
    let out = cli::run(dir.path(), &["keys", "delete", &client_id]);
    assert_eq!(out.status.code(), Some(1), "already gone");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn user_import_reports_rejected_lines_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.csv");
    std::fs::write(
        &file,
        "user_key,display_name,email,roles\nok-user,OK,,\nbad key,Bad,,\n",
    )
    .unwrap();
    let out = cli::run(dir.path(), &["users", "import", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("created  ok-user"), "{stdout}");
    assert!(stdout.contains("rejected line 3"), "{stdout}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_wrong_or_lost_master_key_stops_start_up_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli::run(dir.path(), &["tokens", "rotate-signing-key"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key_file = dir.path().join("data/master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the generated master key is private");
    }
    let key = std::fs::read_to_string(&key_file).unwrap();

    // Another key: refused by name, before anything is served.
    let wrong = "ab".repeat(32);
    let out = cli::run_with(
        dir.path(),
        &["tokens", "rotate-signing-key"],
        &[("XRAY_KEYS_MASTER_KEY", &wrong)],
    );
    assert_names_setting(&out, "XRAY_KEYS_MASTER_KEY");
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not the key"));

    // The web server refuses too, instead of failing later with a 500.
    let mut server = cli::xray_keys(
        dir.path(),
        &[
            ("XRAY_KEYS_MASTER_KEY", &wrong),
            ("XRAY_KEYS_LISTEN", "127.0.0.1:0"),
        ],
    )
    .stderr(std::process::Stdio::piped())
    .stdout(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = server.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let status = status.expect("the server must refuse to start, not serve");
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut server.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("XRAY_KEYS_MASTER_KEY"), "{stderr}");

    // A malformed key is named as such.
    let out = cli::run_with(
        dir.path(),
        &["tokens", "rotate-signing-key"],
        &[("XRAY_KEYS_MASTER_KEY", "1234")],
    );
    assert_names_setting(&out, "XRAY_KEYS_MASTER_KEY");

    // The key file lost: refused, and no new key is quietly generated in its place.
    std::fs::remove_file(&key_file).unwrap();
    let out = cli::run(dir.path(), &["tokens", "rotate-signing-key"]);
    assert_names_setting(&out, "XRAY_KEYS_MASTER_KEY");
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert!(!key_file.exists());

    // The right key from the environment (or a file) works.
    let out = cli::run_with(
        dir.path(),
        &["tokens", "rotate-signing-key"],
        &[("XRAY_KEYS_MASTER_KEY", key.trim())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.path().join("elsewhere.key");
    std::fs::write(&file, &key).unwrap();
    let out = cli::run_with(
        dir.path(),
        &["tokens", "rotate-signing-key"],
        &[("XRAY_KEYS_MASTER_KEY_FILE", file.to_str().unwrap())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("rotated the token-signing key"));
}

/// Saves credentials into the SQLite database of `dir` with the master key kept there.
fn save_credentials(dir: &std::path::Path, secret: &str) {
    let key_text = std::fs::read_to_string(dir.join("data/master.key")).unwrap();
    let key = app::vault::MasterKey::from_hex(&key_text).unwrap();
    let url = app::config::DatabaseUrl::sqlite_file(&dir.join("data/xray-keys.db"));
    let secret = secret.to_string();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let db = app::db::connect(&url).await.unwrap();
            app::credentials::service::save(
                &db,
                &key,
                &app::audit::service::Actor::cli(),
                &app::credentials::CredentialsForm {
                    client_id: "8CF3CEA946DB4059A9999D3AF4035EFE".into(),
                    client_secret: secret,
                    base_url: "global".into(),
                    ..Default::default()
                },
                &app::credentials::destination::HostPolicy::default(),
            )
            .await
            .unwrap();
            db.close().await.unwrap();
        });
}

fn stored_secret(dir: &std::path::Path, key_hex: &str) -> Result<String, app::AppError> {
    let key = app::vault::MasterKey::from_hex(key_hex).unwrap();
    let url = app::config::DatabaseUrl::sqlite_file(&dir.join("data/xray-keys.db"));
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async move {
            let db = app::db::connect(&url).await.unwrap();
            let out = app::credentials::service::read_stored(&db, &key)
                .await
                .map(|s| {
                    s.map(|(_, secret)| secret.expose().to_string())
                        .unwrap_or_default()
                });
            db.close().await.unwrap();
            out
        })
}

#[test]
fn the_master_key_rotates_from_the_command_line_and_a_stopped_rotation_finishes_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli::run(dir.path(), &["tokens", "rotate-signing-key"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = "5a".repeat(32);
    save_credentials(dir.path(), &secret);
    let key_file = dir.path().join("data/master.key");
    let old = std::fs::read_to_string(&key_file).unwrap();

    let out = cli::run(dir.path(), &["credentials", "rotate-master-key"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("re-encrypted 3 stored secrets"), "{stdout}");
    let new = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(new.trim(), old.trim());
    assert!(!dir.path().join("data/master.key.next").exists());
    assert_eq!(stored_secret(dir.path(), &new).unwrap(), secret);
    assert!(stored_secret(dir.path(), &old).is_err());

    // A rotation that stopped after the database committed but before the key file was
    // replaced: the next start uses the pending key and finishes the swap.
    let pending = "c3".repeat(32);
    std::fs::write(dir.path().join("data/master.key.next"), &pending).unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let url = app::config::DatabaseUrl::sqlite_file(&dir.path().join("data/xray-keys.db"));
        let db = app::db::connect(&url).await.unwrap();
        app::vault::rotate_master_key(
            &db,
            &app::vault::MasterKey::from_hex(&new).unwrap(),
            &app::vault::MasterKey::from_hex(&pending).unwrap(),
        )
        .await
        .unwrap();
        db.close().await.unwrap();
    });
    let out = cli::run(dir.path(), &["tokens", "rotate-signing-key"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), pending);
    assert_eq!(stored_secret(dir.path(), &pending).unwrap(), secret);

    // With the key given by the environment, the new key must be named.
    let out = cli::run_with(
        dir.path(),
        &["credentials", "rotate-master-key"],
        &[("XRAY_KEYS_MASTER_KEY", &pending)],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--new-key-file"));
    let new_file = dir.path().join("new.key");
    let newest = "d4".repeat(32);
    std::fs::write(&new_file, &newest).unwrap();
    let out = cli::run_with(
        dir.path(),
        &[
            "credentials",
            "rotate-master-key",
            "--new-key-file",
            "new.key",
        ],
        &[("XRAY_KEYS_MASTER_KEY", &pending)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("set XRAY_KEYS_MASTER_KEY"));
    assert_eq!(stored_secret(dir.path(), &newest).unwrap(), secret);
    // The data-folder key is left alone when the key comes from the environment.
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), pending);
}

#[test]
fn a_backup_restores_into_a_fresh_data_folder_where_keys_authenticate_and_credentials_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    succeeded(cli::run(
        dir.path(),
        &["users", "add", "backup-user", "--name", "Backup User"],
    ));
    let issued: serde_json::Value = serde_json::from_slice(
        &succeeded(cli::run(
            dir.path(),
            &["keys", "create", "backup-user", "--json"],
        ))
        .stdout,
    )
    .unwrap();
    let (client_id, client_secret) = (
        issued["client_id"].as_str().unwrap().to_string(),
        issued["client_secret"].as_str().unwrap().to_string(),
    );
    succeeded(cli::run(dir.path(), &["tokens", "rotate-signing-key"]));
    let stored = "9e".repeat(32);
    save_credentials(dir.path(), &stored);

    // Without asking, the master key stays out of the backup, as it should be kept apart.
    let out = succeeded(cli::run(dir.path(), &["backup", "without-key"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("the master key is not in the backup"));
    assert!(dir.path().join("without-key/pepper").is_file());
    assert!(!dir.path().join("without-key/master.key").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("without-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "the backup folder is private");
    }

    let out = succeeded(cli::run(
        dir.path(),
        &["backup", "saved", "--include-master-key"],
    ));
    assert!(String::from_utf8_lossy(&out.stdout).contains("backup written"));
    for name in ["xray-keys.db", "pepper", "master.key"] {
        let file = dir.path().join("saved").join(name);
        assert!(file.is_file(), "{name} in the backup");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{name} is private");
        }
    }
    // A second backup into the same folder is refused, not mixed in.
    let out = cli::run(dir.path(), &["backup", "saved"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));

    // Restore: the files into an empty data folder of a new installation.
    let fresh = tempfile::tempdir().unwrap();
    let data = fresh.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for name in ["xray-keys.db", "pepper", "master.key"] {
        std::fs::copy(dir.path().join("saved").join(name), data.join(name)).unwrap();
    }
    let server = Server::start(fresh.path(), &[]);
    let answer = request(
        server.port,
        "POST",
        "/api/v2/authenticate",
        &[("Content-Type", "application/json")],
        &format!(r#"{{"client_id":"{client_id}","client_secret":"{client_secret}"}}"#),
    )
    .expect("an answer");
    assert_eq!(
        answer.status, 200,
        "the key authenticates after the restore: {}",
        answer.body
    );
    drop(server);
    let master = std::fs::read_to_string(data.join("master.key")).unwrap();
    assert_eq!(stored_secret(fresh.path(), &master).unwrap(), stored);
}

#[test]
fn sigterm_finishes_the_request_in_flight_refuses_new_ones_and_exits_cleanly() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[("XRAY_KEYS_LOG", "info")]);
    let port = server.port;

    // A request whose body has not fully arrived when the signal comes.
    let body = format!(
        r#"{{"client_id":"8CF3CEA946DB4059A9999D3AF4035EFE","client_secret":"{}"}}"#,
        "0".repeat(64)
    );
    let (first, rest) = body.split_at(20);
    let mut in_flight = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    in_flight
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    write!(
        in_flight,
        "POST /api/v2/authenticate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    in_flight.flush().unwrap();
    // Connections are accepted in order, so once a later one is answered this one has been
    // accepted; the pause lets its task read the head (a connection still idle would be closed).
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        request(port, "GET", "/healthz", &[], "").unwrap().status,
        200
    );

    server.terminate();
    let refused = harness::eventually_blocking(500, std::time::Duration::from_millis(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    assert!(
        refused,
        "after SIGTERM the server stops accepting connections"
    );
    assert!(
        server
            .wait_exit(std::time::Duration::from_millis(300))
            .is_none(),
        "the server waits for the request in flight"
    );

    in_flight.write_all(rest.as_bytes()).unwrap();
    let answer = harness::process::read_response(&mut in_flight).expect("a complete answer");
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(
        answer.header("content-length").is_some(),
        "API answers are sent with their length, not chunked: {}",
        answer.head
    );
    assert!(
        answer.body.contains("Invalid client credentials"),
        "{}",
        answer.body
    );

    let status = server
        .wait_exit(std::time::Duration::from_secs(30))
        .expect("the server exits once the request is answered");
    assert!(status.success(), "exit status {status}");
    let log = std::fs::read_to_string(dir.path().join(format!("server-{port}.log"))).unwrap();
    assert!(log.contains("stopped"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_lost_or_different_pepper_stops_every_command_and_the_server() {
    let dir = tempfile::tempdir().unwrap();
    succeeded(cli::run(
        dir.path(),
        &["users", "add", "ci-bot", "--name", "CI Bot"],
    ));
    succeeded(cli::run(
        dir.path(),
        &["keys", "create", "ci-bot", "--json"],
    ));
    let pepper_file = dir.path().join("data/pepper");
    let pepper = std::fs::read_to_string(&pepper_file).unwrap();

    // Lost: refused by name, and no new pepper quietly takes its place.
    std::fs::remove_file(&pepper_file).unwrap();
    for args in [
        &["keys", "list"][..],
        &["users", "add", "x", "--name", "X"][..],
    ] {
        let out = cli::run(dir.path(), args);
        assert_names_setting(&out, "XRAY_KEYS_PEPPER");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("does not exist") && stderr.contains("XRAY_KEYS_PEPPER_FILE"),
            "{stderr}"
        );
        assert!(!pepper_file.exists(), "{args:?} wrote a new pepper");
    }
    let mut server = cli::xray_keys(dir.path(), &[("XRAY_KEYS_LISTEN", "127.0.0.1:0")])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = server.wait().unwrap();
    assert!(!status.success(), "the server refuses to start");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut server.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("XRAY_KEYS_PEPPER"), "{stderr}");
    assert!(!pepper_file.exists());

    // Different: refused by the setting that gave it.
    let out = cli::run_with(
        dir.path(),
        &["keys", "list"],
        &[("XRAY_KEYS_PEPPER", &"5c".repeat(32))],
    );
    assert_names_setting(&out, "XRAY_KEYS_PEPPER");
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not the pepper"));
    let elsewhere = dir.path().join("other-pepper");
    std::fs::write(&elsewhere, "5c".repeat(32)).unwrap();
    let out = cli::run_with(
        dir.path(),
        &["keys", "list"],
        &[("XRAY_KEYS_PEPPER_FILE", elsewhere.to_str().unwrap())],
    );
    assert_names_setting(&out, "XRAY_KEYS_PEPPER_FILE");

    // The right one, from the environment or restored, works again.
    succeeded(cli::run_with(
        dir.path(),
        &["keys", "list"],
        &[("XRAY_KEYS_PEPPER", pepper.trim())],
    ));
    std::fs::write(&pepper_file, &pepper).unwrap();
    succeeded(cli::run(dir.path(), &["keys", "list"]));
}

#[test]
fn nothing_is_written_to_the_data_folder_before_every_key_check_has_passed() {
    let dir = tempfile::tempdir().unwrap();
    // A database with sealed secrets (the signing key), and no API key yet.
    succeeded(cli::run(dir.path(), &["tokens", "rotate-signing-key"]));
    let data = dir.path().join("data");
    std::fs::remove_file(data.join("pepper")).unwrap();
    std::fs::remove_file(data.join("master.key")).unwrap();
    // A new pepper would be fine here, but the master key is lost: nothing is written.
    let out = cli::run(dir.path(), &["users", "add", "x", "--name", "X"]);
    assert_names_setting(&out, "XRAY_KEYS_MASTER_KEY");
    assert!(
        !data.join("pepper").exists(),
        "no pepper written before the checks passed"
    );
    assert!(!data.join("master.key").exists());
}

#[test]
fn users_unlock_clears_an_accounts_sign_in_counters_from_the_command_line() {
    use sea_orm::{EntityTrait, PaginatorTrait, Set};
    let dir = tempfile::tempdir().unwrap();
    succeeded(cli::run(
        dir.path(),
        &[
            "users",
            "add",
            "locked-admin",
            "--name",
            "Locked",
            "--role",
            "administrator",
        ],
    ));
    // The counters a locked account has: per address, account-wide, and another account's.
    let url = app::config::DatabaseUrl::sqlite_file(&dir.path().join("data/xray-keys.db"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let count = |db: &sea_orm::DatabaseConnection| {
        let db = db.clone();
        runtime.block_on(async move {
            app::entities::throttle::Entity::find()
                .count(&db)
                .await
                .unwrap()
        })
    };
    let db = runtime.block_on(async {
        let db = app::db::connect(&url).await.unwrap();
        for bucket in [
            "account-addr:locked-admin@10.0.0.1",
            "account:locked-admin",
            "account-addr:other@10.0.0.1",
        ] {
            app::entities::throttle::Entity::insert(app::entities::throttle::ActiveModel {
                bucket: Set(bucket.into()),
                window_start: Set(chrono::Utc::now()),
                failures: Set(5),
            })
            .exec(&db)
            .await
            .unwrap();
        }
        db
    });
    assert_eq!(count(&db), 3);
    let out = succeeded(cli::run(dir.path(), &["users", "unlock", "Locked-Admin"]));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("unlocked locked-admin: 2 sign-in counters cleared"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(count(&db), 1, "the other account's counter stays");
    let out = cli::run(dir.path(), &["users", "unlock", "nobody-here"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

/// A client whose files are named by their content, served by a binary without the build's
/// `hash.txt` beside it, would never hydrate: the server says so when it starts, and says
/// nothing of the kind for a client with plain names. (The test binary has no `hash.txt`.)
#[test]
fn a_content_named_client_without_its_hash_file_is_reported_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("site/pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let site = dir.path().join("site");
    let site = site.to_str().unwrap();
    let log_of = |server: &Server| {
        std::fs::read_to_string(dir.path().join(format!("server-{}.log", server.port))).unwrap()
    };

    std::fs::write(pkg.join("xray-keys.AbCdEfGhIjKlMnOpQrStUv.wasm"), b"\0asm").unwrap();
    let server = Server::start(dir.path(), &[("XRAY_KEYS_SITE_ROOT", site)]);
    let log = log_of(&server);
    assert!(
        log.contains("not hydrate") && log.contains("hash.txt"),
        "{log}"
    );
    drop(server);

    std::fs::remove_file(pkg.join("xray-keys.AbCdEfGhIjKlMnOpQrStUv.wasm")).unwrap();
    std::fs::write(pkg.join("xray-keys.wasm"), b"\0asm").unwrap();
    let server = Server::start(dir.path(), &[("XRAY_KEYS_SITE_ROOT", site)]);
    let log = log_of(&server);
    assert!(!log.contains("not hydrate"), "{log}");
}
