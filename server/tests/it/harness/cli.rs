//! The `xray-keys` binary as an operator runs it: nothing of the test's environment, in a folder
//! of the test's choosing.

use std::path::Path;
use std::process::{Command, Output};

/// `xray-keys` in `dir` with only `vars` in its environment; arguments still to add.
pub fn xray_keys(dir: &Path, vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xray-keys"));
    command.env_clear().current_dir(dir);
    for (name, value) in vars {
        command.env(name, value);
    }
    command
}

/// Runs `xray-keys <args>` in `dir` with an empty environment and waits for it.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    run_with(dir, args, &[])
}

/// Like [`run`], with `vars` in the environment.
pub fn run_with(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    xray_keys(dir, vars)
        .args(args)
        .output()
        .expect("run xray-keys")
}

/// `out` of a command that must have succeeded (its stderr says why not).
pub fn succeeded(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
