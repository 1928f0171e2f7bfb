//! Bad configuration stops start-up with a message that names the setting, never a panic.

use std::process::{Command, Output};

fn run_with_env(vars: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xray-keys"));
    cmd.arg("migrate")
        .arg("status")
        .env_clear()
        .current_dir(dir.path());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run xray-keys")
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
    let out = Command::new(env!("CARGO_BIN_EXE_xray-keys"))
        .args(["migrate", "up"])
        .env_clear()
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/xray-keys.db").is_file());
}
