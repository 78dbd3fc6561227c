//! One device per data directory, run as the owner runs it: a second
//! `hearth run` on the same directory is refused and leaves the first one's
//! control socket and relay session alone, so `hearth privacy on` still
//! reaches it and a watcher's frames stop; a device that holds the directory
//! but does not answer makes `hearth privacy` fail instead of claiming success.

mod support;

use hearth::api::PeerConnection;
use hearth::identity::ContactCode;
use std::os::unix::fs::MetadataExt;
use std::process::Stdio;
use std::time::Duration;
use support::cli::{self, hearth_async, outcome};
use support::harness::*;
use tokio::process::{Child, Command};
use tokio::time::timeout;

async fn signal(child: &Child, name: &str) {
    let pid = child.id().expect("running").to_string();
    let status = Command::new("kill")
        .args([name, &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success(), "kill {name} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_is_refused_and_the_first_keeps_serving() {
    init_logs();
    let relay = TestRelay::start().await;
    let (dir, gran_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"Kitchen\"\n[http]\nlisten = \"127.0.0.1:0\"\n[relay]\nurls = [\"{}\"]\nembedded = false\n\
             [video]\nwidth = 320\nheight = 240\nbitrate_kbps = 400\n",
            relay.url()
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let first = Command::from(cli::command(dir.path(), &["--config", cfg, "run"]))
        .kill_on_drop(true)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !outcome(&hearth_async(dir.path(), &["--config", cfg, "status"]).await).0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the device never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Gran watches the kitchen.
    let (_, code, _) =
        outcome(&hearth_async(dir.path(), &["--config", cfg, "id", "--quiet"]).await);
    let kitchen = ContactCode::parse(code.trim()).expect("the device's code");
    let gran = start_viewer(gran_dir.path(), &relay.url(), "Gran");
    let gran_code = gran.contact_code().to_text();
    let (ok, _, err) = outcome(
        &hearth_async(
            dir.path(),
            &[
                "--config",
                cfg,
                "contacts",
                "add",
                &gran_code,
                "--allow",
                "live_video",
            ],
        )
        .await,
    );
    assert!(ok, "{err}");
    approve_contact(&gran, &kitchen, &[]).await;
    wait_relay(&gran).await;
    let kitchen_key = ContactCode::parse(code.trim()).unwrap().peer_key;
    let watching = PeerConnection::with_settings(&gran, kitchen_key, fast_settings());
    let mut remote = watching.fetch_stream().await.expect("Gran is answered");
    timeout(Duration::from_secs(10), remote.next_video_frame())
        .await
        .expect("frames flow")
        .expect("a frame");

    // A second device on the same directory is refused, saying who holds it.
    let socket = dir.path().join("control.sock");
    let inode = std::fs::metadata(&socket).unwrap().ino();
    let second = outcome(
        &timeout(
            Duration::from_secs(30),
            hearth_async(dir.path(), &["--config", cfg, "run"]),
        )
        .await
        .expect("the second device gives up at once"),
    );
    assert!(!second.0, "a second device started: {}", second.1);
    let pid = first.id().unwrap().to_string();
    assert!(
        second.2.contains("in use") && second.2.contains(&pid),
        "the refusal names the running device: {}",
        second.2
    );
    assert_eq!(
        std::fs::metadata(&socket).map(|m| m.ino()).ok(),
        Some(inode),
        "the first device's control socket is untouched"
    );
    let (ok, status, err) = outcome(&hearth_async(dir.path(), &["--config", cfg, "status"]).await);
    assert!(ok && status.contains("Gran"), "status: {status}{err}");

    // Its relay session is untouched too: a new call is answered at once.
    let again = PeerConnection::with_settings(&gran, kitchen_key, fast_settings());
    let mut second_stream = timeout(Duration::from_secs(10), again.fetch_stream())
        .await
        .expect("answered without waiting for a relay reconnection")
        .expect("answered");
    timeout(Duration::from_secs(10), second_stream.next_video_frame())
        .await
        .expect("frames on the new call")
        .expect("a frame");
    again.close().await;

    // Privacy reaches the running device, and Gran's picture stops.
    let (ok, said, err) =
        outcome(&hearth_async(dir.path(), &["--config", cfg, "privacy", "on"]).await);
    assert!(ok, "{err}");
    assert!(
        said.contains("privacy ON") && !said.contains("not running"),
        "{said}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(Some(_)) = timeout(Duration::from_millis(1), remote.next_video_frame()).await {}
    let after = timeout(Duration::from_secs(2), remote.next_video_frame()).await;
    assert!(
        !matches!(after, Ok(Some(_))),
        "frames still arrive with privacy on"
    );

    // A device that holds the directory but does not answer: an error, no claim.
    signal(&first, "-STOP").await;
    let (ok, said, err) =
        outcome(&hearth_async(dir.path(), &["--config", cfg, "privacy", "off"]).await);
    signal(&first, "-CONT").await;
    assert!(!ok, "privacy off claimed with a stuck device: {said}");
    assert!(err.contains("does not answer"), "{err}");
    let saved = std::fs::read_to_string(dir.path().join("privacy.toml")).unwrap();
    assert!(saved.contains("true"), "privacy stays on: {saved}");

    signal(&first, "-TERM").await;
    let mut first = first;
    timeout(Duration::from_secs(20), first.wait())
        .await
        .expect("the device stops on SIGTERM")
        .unwrap();
}

#[tokio::test]
async fn privacy_with_no_device_running_is_saved_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hearth.toml");
    std::fs::write(&config, "name = \"Kitchen\"\n").unwrap();
    let cfg = config.to_str().unwrap();
    let (ok, said, err) =
        outcome(&hearth_async(dir.path(), &["--config", cfg, "privacy", "on"]).await);
    assert!(ok, "{err}");
    assert!(said.contains("not running"), "{said}");
}
