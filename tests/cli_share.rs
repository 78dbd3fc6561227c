//! `hearth privacy`, `hearth status`, `hearth share` and `hearth inbox`
//! against a running device, through its control socket.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

async fn hearth(data_dir: &Path, args: &[&str]) -> Output {
    let (dir, args): (PathBuf, Vec<String>) = (
        data_dir.into(),
        args.iter().map(|a| a.to_string()).collect(),
    );
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
            .arg("--data-dir")
            .arg(dir)
            .args(args)
            .env("HEARTH_LOG", "warn")
            .output()
            .expect("hearth runs")
    })
    .await
    .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_drives_privacy_and_shares_from_the_command_line() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let out = hearth(dir.path(), &["share", "--text", "hi"]).await;
    assert!(!out.status.success());
    assert!(
        text(&out).contains("start it with `hearth run`"),
        "{}",
        text(&out)
    );
    let out = hearth(dir.path(), &["privacy", "on"]).await;
    assert!(
        text(&out).contains("not running; it starts this way"),
        "{}",
        text(&out)
    );

    let relay = TestRelay::start().await;
    let device = start_device(dir.path(), &relay.url()).await;
    assert!(device.status().private, "started private, as saved");
    let out = hearth(dir.path(), &["status"]).await;
    assert!(text(&out).contains("privacy:   ON"), "{}", text(&out));
    assert!(text(&out).contains("outbox:    empty"), "{}", text(&out));
    let out = hearth(dir.path(), &["privacy", "toggle"]).await;
    assert!(
        out.status.success() && text(&out).contains("privacy off"),
        "{}",
        text(&out)
    );
    assert!(!device.status().private);

    let out = hearth(dir.path(), &["share", "--text", "hi"]).await;
    assert!(!out.status.success());
    assert!(
        text(&out).contains("contacts allow NAME snapshots"),
        "{}",
        text(&out)
    );
    let out = hearth(dir.path(), &["share", "--photo", "/nonexistent.jpg"]).await;
    assert!(
        text(&out).contains("cannot read /nonexistent.jpg"),
        "{}",
        text(&out)
    );
    let out = hearth(dir.path(), &["inbox"]).await;
    assert!(
        text(&out).contains("no shares received yet"),
        "{}",
        text(&out)
    );
    device.stop().await;
}
