//! The `hearth` binary run as the owner runs it, one command at a time:
//! `hearth --data-dir DIR ARGS…` with `HEARTH_LOG=warn`, synchronously or
//! from async tests, with helpers to read what it printed.

use std::path::Path;
use std::process::{Command, Output};

/// The `hearth` binary Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_hearth");

/// `hearth --data-dir DIR ARGS…`, not yet started, logging as the test
/// process's own environment says.
pub fn bare_command(data_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.arg("--data-dir").arg(data_dir).args(args);
    command
}

/// `hearth --data-dir DIR ARGS…` with `HEARTH_LOG=warn`, not yet started.
/// Global options such as `--config FILE` go first in `args`.
pub fn command(data_dir: &Path, args: &[&str]) -> Command {
    let mut command = bare_command(data_dir, args);
    command.env("HEARTH_LOG", "warn");
    command
}

/// Runs `hearth --data-dir DIR ARGS…` (see [`command`]) to completion; its
/// output, whether or not it succeeded.
pub fn hearth(data_dir: &Path, args: &[&str]) -> Output {
    command(data_dir, args).output().expect("hearth runs")
}

/// [`hearth`] for async tests, as a tokio child process that is killed if
/// the future is dropped (e.g. by a timeout).
pub async fn hearth_async(data_dir: &Path, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::from(command(data_dir, args));
    command
        .kill_on_drop(true)
        .output()
        .await
        .expect("hearth runs")
}

/// Runs `command` to completion and returns its standard output, after
/// checking that it succeeded and printed UTF-8.
pub fn run_ok(command: &mut Command) -> String {
    let output = command.output().expect("hearth runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("hearth prints UTF-8")
}

/// Adds a WHEP token contact `name` allowed `allow` (comma-separated) with
/// the CLI; returns the token it printed once.
pub fn add_token(data_dir: &Path, name: &str, allow: &str) -> String {
    let out = run_ok(&mut bare_command(
        data_dir,
        &["contacts", "add-token", name, "--allow", allow],
    ));
    out.lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .unwrap_or_else(|| panic!("no token printed:\n{out}"))
        .to_string()
}

/// Runs `hearth --data-dir DIR ARGS…` as the owner types it; its standard
/// output, after checking that it succeeded.
pub fn owner(data_dir: &Path, args: &[&str]) -> String {
    run_ok(&mut command(data_dir, args))
}

/// [`owner`] for async tests.
pub async fn owner_async(data_dir: &Path, args: &[&str]) -> String {
    let output = hearth_async(data_dir, args).await;
    assert!(
        output.status.success(),
        "`hearth {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("hearth prints UTF-8")
}

/// The standard output of a run, after checking that it succeeded.
pub fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "hearth failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("hearth prints UTF-8")
}

/// Everything a run printed: its standard output, then its standard error.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Everything a run printed (see [`text`]), after checking that it
/// succeeded; a failure shows all of it.
pub fn text_ok(output: &Output) -> String {
    let text = text(output);
    assert!(output.status.success(), "{text}");
    text
}

/// Whether a run succeeded, and its standard output and error as text.
pub fn outcome(output: &Output) -> (bool, String, String) {
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
