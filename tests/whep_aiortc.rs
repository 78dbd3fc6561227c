//! A standard WHEP player against the real `hearth` binary: aiortc (from PyPI,
//! in a venv this test creates and then reuses) in one network namespace, the
//! device in another, joined by a veth pair. Token contacts are made with the
//! CLI. Needs root and iproute2; without root it says why and returns.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::cli::{self, BIN};
use support::netns::{NetPair, DEVICE_IP};
use support::topology::is_root;

const PORT: u16 = 7600;

#[test]
fn aiortc_watches_the_device_over_whep() {
    if !is_root() {
        eprintln!("skipped: network namespaces need root (CI runs as root)");
        return;
    }
    let python = support::aiortc::python();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"Kitchen\"\n[http]\nlisten = \"{DEVICE_IP}:{PORT}\"\n\
             [relay]\nurls = [\"ws://{DEVICE_IP}:{PORT}/relay\"]\n\
             [video]\nwidth = 320\nheight = 240\nbitrate_kbps = 400\n\
             [webrtc]\nudp_addresses = [\"{DEVICE_IP}\"]\n"
        ),
    )
    .unwrap();
    let token = cli::add_token(&data, "TV", "live_video,live_audio");
    let spare = cli::add_token(&data, "Spare", "live_video");
    cli::run_ok(&mut cli::bare_command(
        &data,
        &["contacts", "remove", "Spare"],
    ));
    let list = cli::run_ok(&mut cli::bare_command(&data, &["contacts", "list"]));
    assert!(
        list.contains("TV") && list.contains("token (WHEP)"),
        "{list}"
    );
    assert!(!list.contains("Spare"), "{list}");
    let stored = std::fs::read_to_string(data.join("contacts.toml")).unwrap();
    assert!(!stored.contains(&token), "the token itself is never stored");

    let mut net = NetPair::create();
    let log = std::fs::File::create(dir.path().join("device.log")).unwrap();
    let device = NetPair::command(&net.device, BIN)
        .arg("--data-dir")
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("HEARTH_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start the device");
    let device = net.adopt(device);
    // Read everything the device prints (a closed pipe would make it fail).
    let stdout = net.child(device).stdout.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let web = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("web:").map(|a| a.trim().to_string()))
        .expect("the device prints its web address");
    assert_eq!(web, format!("http://{DEVICE_IP}:{PORT}/"));

    let started = Instant::now();
    let client = NetPair::command(&net.player, python.to_str().unwrap())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/whep_client.py"
        ))
        // `--name=value`: a token may begin with `-`.
        .arg(format!("--url={web}whep"))
        .arg(format!("--token={token}"))
        .arg("--bad-token=not-a-token")
        .arg(format!("--revoked-token={spare}"))
        .args(["--frames", "60", "--audio-frames", "50"])
        .output()
        .expect("run the aiortc client");
    eprintln!("aiortc client ran for {:?}", started.elapsed());
    let stdout = String::from_utf8_lossy(&client.stdout);
    assert!(
        client.status.success(),
        "client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&client.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).expect("client JSON");
    eprintln!("client saw: {seen}");
    assert_eq!(seen["bad_token"], 401, "{seen}");
    assert_eq!(seen["revoked_token"], 401, "{seen}");
    assert_eq!(seen["status"], 201, "{seen}");
    assert_eq!(seen["content_type"], "application/sdp", "{seen}");
    assert!(
        seen["location"]
            .as_str()
            .is_some_and(|l| l.starts_with("/whep/session/")),
        "{seen}"
    );
    assert!(seen["video_frames"].as_u64() >= Some(60), "{seen}");
    assert_eq!(seen["video_size"], serde_json::json!([320, 240]), "{seen}");
    assert_eq!(seen["audio_codec"], "opus", "{seen}");
    assert!(seen["audio_frames"].as_u64() >= Some(50), "{seen}");
    assert_eq!(seen["delete"], 200, "{seen}");
    assert_eq!(seen["delete_again"], 404, "{seen}");

    // The device saw the session go, and logged neither token nor address.
    let deadline = Instant::now() + Duration::from_secs(10);
    let log_path = dir.path().join("device.log");
    let mut log = String::new();
    while Instant::now() < deadline {
        log = std::fs::read_to_string(&log_path).unwrap();
        if log.contains("WHEP session ended") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(log.contains("WHEP session deleted"), "{log}");
    assert!(log.contains("WHEP session ended"), "{log}");
    assert!(
        !log.contains(&token) && !log.contains(&spare),
        "a token was logged"
    );
    assert!(
        !log.contains(support::netns::PLAYER_IP),
        "the player's address was logged"
    );
}
