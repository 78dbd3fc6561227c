//! `hearth watch NAME --camera`: a family member's camera on the contact's
//! device (issue #16). Allowed `show_on_device`, the test pattern the CLI
//! sends (its `[video]` config, 320×240 here) appears in the device's
//! simulated picture output, and the frame number read back from
//! `latest.png` advances (with `--talk` beside it, heard on the speaker);
//! without it, the CLI prints the device's reason and nothing is shown.

mod support;

use hearth::contacts::Permission;
use std::process::Command;
use std::time::{Duration, Instant};
use support::harness::*;
use support::shown_frame::{frame_number_shown, frames_shown};
use support::watch_cli::FamilyMember;

/// The size the family member's camera sends (its `[video]` section).
const SENT: (u32, u32) = (320, 240);

/// Pairs `name` with `device`, allowed `allow`, its camera at [`SENT`].
async fn member(device: &hearth::device::Device, name: &str, allow: &[Permission]) -> FamilyMember {
    let member = FamilyMember::pair(device, name, allow).await;
    let config = member.dir.path().join("hearth.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[video]\nwidth = {}\nheight = {}\n",
        SENT.0, SENT.1
    ));
    std::fs::write(&config, text).unwrap();
    member
}

/// The frame number `latest.png` shows, waiting up to `limit` for one that reads.
async fn latest_number(device_dir: &std::path::Path, limit: Duration) -> u32 {
    let latest = device_dir.join("picture").join("latest.png");
    let deadline = Instant::now() + limit;
    loop {
        if let Some(n) = frame_number_shown(&latest, SENT) {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "no readable frame number in {}",
            latest.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_camera_of_a_contact_allowed_on_the_screen_is_shown() {
    init_logs();
    let relay = TestRelay::start().await;
    let device_dir = tempfile::tempdir().unwrap();
    let device = start_device(device_dir.path(), &relay.url()).await;
    wait_relay(&device.node).await;
    let gran = member(
        &device,
        "Gran",
        &[
            Permission::LiveVideo,
            Permission::ShowOnDevice,
            Permission::TalkBack,
        ],
    )
    .await;
    // The camera and the microphone go together on one call.
    let watch = gran.watch_sending(
        Command::new(support::cli::BIN),
        "Kitchen",
        30,
        &["--camera", "--talk"],
    );
    let dir = device_dir.path();
    wait_until(
        "30 frames of Gran's camera shown",
        Duration::from_secs(30),
        || frames_shown(dir) >= 30,
    )
    .await;
    let first = latest_number(dir, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = latest_number(dir, Duration::from_secs(5)).await;
    println!("latest.png showed frame #{first}, a second later #{later}");
    assert!(
        later > first,
        "the picture on the device moves on: #{first} then #{later}"
    );
    wait_until("Gran heard on the speaker", Duration::from_secs(10), || {
        device.talk_back().played >= 25
    })
    .await;
    let transcript = watch.transcript();
    assert!(transcript.contains("Watching Kitchen."), "{transcript}");
    assert!(
        transcript.contains("Kitchen shows your camera on its screen"),
        "{transcript}"
    );
    assert!(
        !transcript.contains("does not show your camera"),
        "{transcript}"
    );
    drop(watch);
    device.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_show_on_device_the_device_says_why_and_shows_nothing() {
    init_logs();
    let relay = TestRelay::start().await;
    let device_dir = tempfile::tempdir().unwrap();
    let device = start_device(device_dir.path(), &relay.url()).await;
    wait_relay(&device.node).await;
    let tom = member(&device, "Tom", &[Permission::LiveVideo]).await;
    let started = Instant::now();
    let watch = tom.watch_sending(
        Command::new(support::cli::BIN),
        "Kitchen",
        30,
        &["--camera"],
    );
    let (_, line) = watch
        .line_after(
            started,
            "the device's reason",
            Duration::from_secs(30),
            |l| l.contains("does not show your camera"),
        )
        .await;
    assert_eq!(
        line,
        "Kitchen does not show your camera: The owner has not allowed your camera \
         on this device's screen. [show_not_allowed]"
    );
    // Tom still watches the kitchen while his camera is not shown.
    watch
        .line_after(started, "a decoded frame", Duration::from_secs(20), |l| {
            l.contains(" decoded, frame #")
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(frames_shown(device_dir.path()), 0, "nothing of Tom's shown");
    drop(watch);
    device.stop().await;
}
