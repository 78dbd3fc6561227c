//! The `hearth` binary as the owner uses it: identity, contacts, watching.

mod support;

use hearth::contacts::Permission;
use std::process::Command;
use support::cli::{self, hearth, stdout};
use support::harness::*;

#[test]
fn owner_manages_contacts_from_the_command_line() {
    let (me, gran) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let code = stdout(&hearth(gran.path(), &["id", "--quiet"]))
        .trim()
        .to_string();
    assert!(code.starts_with("hearth1."));
    let full = stdout(&hearth(gran.path(), &["id"]));
    assert!(
        full.contains(&code) && full.contains('█'),
        "QR code and text"
    );

    assert!(stdout(&hearth(me.path(), &["contacts", "list"])).contains("No contacts yet"));
    stdout(&hearth(
        me.path(),
        &["contacts", "add", &code, "--name", "Gran"],
    ));
    let list = stdout(&hearth(me.path(), &["contacts", "list"]));
    assert!(
        list.contains("Gran") && list.contains("allowed: nothing"),
        "{list}"
    );

    stdout(&hearth(
        me.path(),
        &["contacts", "allow", "Gran", "live_video,live_audio"],
    ));
    let list = stdout(&hearth(me.path(), &["contacts", "list"]));
    assert!(list.contains("allowed: live_video, live_audio"), "{list}");
    stdout(&hearth(
        me.path(),
        &["contacts", "deny", "Gran", "live_audio"],
    ));
    let list = stdout(&hearth(me.path(), &["contacts", "list"]));
    assert!(
        list.contains("allowed: live_video") && !list.contains("live_audio"),
        "{list}"
    );

    let typo = hearth(me.path(), &["contacts", "allow", "Gran", "everything"]);
    assert!(!typo.status.success());
    assert!(String::from_utf8_lossy(&typo.stderr).contains("unknown permission"));
    let bad_code = hearth(me.path(), &["contacts", "add", "hearth1.AAAA"]);
    assert!(!bad_code.status.success());

    stdout(&hearth(me.path(), &["contacts", "remove", "Gran"]));
    assert!(stdout(&hearth(me.path(), &["contacts", "list"])).contains("No contacts yet"));
}

#[test]
fn a_damaged_contacts_file_is_reported_and_kept() {
    let me = tempfile::tempdir().unwrap();
    let path = me.path().join("contacts.toml");
    std::fs::write(&path, "this is not toml [").unwrap();
    let output = hearth(me.path(), &["contacts", "list"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("damaged"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "this is not toml ["
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_shows_a_contacts_live_video_and_talks_back() {
    init_logs();
    let relay = TestRelay::start().await;
    let (device_dir, gran_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let device = start_device(device_dir.path(), &relay.url()).await;
    let gran_code = stdout(&hearth(gran_dir.path(), &["id", "--quiet"]));
    let gran = hearth::identity::ContactCode::parse(&gran_code).unwrap();
    approve_contact(
        &device.node,
        &gran,
        &[Permission::LiveVideo, Permission::TalkBack],
    )
    .await;
    let device_code = device.node.contact_code().to_text();
    stdout(&hearth(gran_dir.path(), &["contacts", "add", &device_code]));
    let config = gran_dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        "[webrtc]\nudp_addresses = [\"127.0.0.1\"]\n[relay]\nembedded = false\n",
    )
    .unwrap();
    let dir = gran_dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        hearth(
            &dir,
            &[
                "--config",
                config.to_str().unwrap(),
                "watch",
                "Kitchen",
                "--seconds",
                "3",
                "--talk",
            ],
        )
    })
    .await
    .unwrap();
    let out = stdout(&output);
    assert!(out.contains("Watching Kitchen."), "{out}");
    assert!(out.contains(" decoded, frame #"), "{out}");
    // `--talk` sent the simulated microphone's 440 Hz tone to the device's speaker.
    assert!(device.talk_back().played >= 25, "{:?}", device.talk_back());
    let wav = device_dir
        .path()
        .join(hearth::hardware::audio::TALKBACK_WAV);
    let heard = hearth::hardware::audio::wav::read_samples(&wav).unwrap();
    let peak = heard.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!(
        heard.len() >= 24_000 && peak > 8000,
        "{} samples, peak {peak}",
        heard.len()
    );
}

#[test]
fn systemd_is_told_ready_watchdog_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        "[http]\nlisten = \"127.0.0.1:0\"\n[video]\nwidth = 320\nheight = 240\n",
    )
    .unwrap();
    let mut child = cli::command(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap(), "run"],
    )
    .env("NOTIFY_SOCKET", &socket_path)
    .env("WATCHDOG_USEC", "400000")
    .stdout(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(seen.iter().any(|m: &String| m.contains("READY=1"))
        && seen.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 2)
    {
        assert!(Instant::now() < deadline, "messages so far: {seen:?}");
        let n = socket.recv(&mut buf).expect("a notification");
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    loop {
        let n = socket.recv(&mut buf).expect("STOPPING before exit");
        if String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1") {
            break;
        }
    }
    assert!(child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_turn_privacy_on_and_off_and_answer_pairing_requests() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", None).await;
    home.device
        .start_panel()
        .expect("simulated buttons, LED and screen");
    let device_dir = home.device_dir.path().to_path_buf();
    let press = move |button: &'static str| {
        let dir = device_dir.clone();
        async move {
            tokio::task::spawn_blocking(move || stdout(&hearth(&dir, &["press", button])))
                .await
                .unwrap()
        }
    };
    wait_until("press socket", std::time::Duration::from_secs(5), || {
        home.device_dir.path().join("buttons.sock").exists()
    })
    .await;
    assert!(!home.device.media.is_private());
    assert!(press("privacy").await.contains("pressed privacy"));
    wait_until("privacy on", std::time::Duration::from_secs(5), || {
        home.device.media.is_private()
    })
    .await;
    press("privacy").await;
    wait_until("privacy off", std::time::Duration::from_secs(5), || {
        !home.device.media.is_private()
    })
    .await;

    home.viewer
        .request_pairing(&home.device.node.contact_code())
        .await
        .unwrap();
    let gran = home.viewer.peer_key();
    wait_until("request pending", std::time::Duration::from_secs(5), || {
        home.device.node.contacts().with(|b| b.get(&gran).is_some())
    })
    .await;
    press("yes").await;
    wait_until(
        "approved by the button",
        std::time::Duration::from_secs(5),
        || {
            home.device
                .node
                .contacts()
                .with(|b| b.approved(&gran).is_some())
        },
    )
    .await;
}
