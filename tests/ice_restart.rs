//! ICE restart (issue #12 item 4): the device moves to a new address in the
//! middle of a session — a DHCP renewal that hands out another lease — and
//! the viewer sees video again in the same session: no new call, no new
//! pairing. The device runs in-process in the test's private network
//! namespace; the relay runs on the far side of a veth, and so does
//! `hearth watch`. Chromium runs beside the device (its DevTools port is on
//! this namespace's loopback), with the relay on loopback, so its own address
//! moves too: both sides gather again. (The 3 s goal is measured by `hearth-bench recovery`, not
//! asserted here.)

mod support;

use hearth::api::RtcSettings;
use hearth::contacts::Permission;
use hearth::device::{Device, DeviceOptions};
use serde_json::{json, Value};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::chromium::{Chromium, Page};
use support::harness::*;
use support::moving_host::{in_private_net, FarHost};
use support::viewer::{approve, ask_to_watch, link};
use support::watch_cli::{decoded_frame, second_line, FamilyMember};

const HOME: &str = "10.98.0.1/24";
const MOVED: &str = "10.98.0.3/24";
const FAR: &str = "10.98.0.2/24";
const RELAY: &str = "10.98.0.2:7811";

/// Kills a child process when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether a `hearth watch` line says frames were decoded.
fn video_line(line: &str) -> bool {
    decoded_frame(line).is_some()
}

/// Frames the camera made that were never decoded, from once-a-second lines
/// at or after `since`: where the frame numbers jumped further than the
/// frames decoded in between.
fn lost_frames(lines: &[(Instant, String)], since: Instant) -> u64 {
    let seconds: Vec<(u64, u64)> = lines
        .iter()
        .filter(|(at, _)| *at >= since)
        .filter_map(|(_, l)| second_line(l))
        .collect();
    seconds
        .windows(2)
        .map(|w| w[1].1.saturating_sub(w[0].1).saturating_sub(w[1].0))
        .sum()
}

#[test]
fn moving_the_device_to_a_new_address_keeps_the_session_and_video_resumes() {
    in_private_net(|runtime| runtime.block_on(moving_device()));
}

/// The far host with a relay on it.
async fn far_relay() -> (FarHost, Killed) {
    let far = FarHost::join(HOME, FAR);
    let relay = Killed(
        far.command(env!("CARGO_BIN_EXE_hearth"))
            .args(["relay", "--listen", RELAY])
            .env("HEARTH_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("hearth relay starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(RELAY).await.is_err() {
        assert!(Instant::now() < deadline, "the relay did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (far, relay)
}

/// The device, in-process here, on the relay at `url`, gathering on every
/// interface but loopback.
async fn device_on(dir: &std::path::Path, url: &str) -> Device {
    let device = Device::start(DeviceOptions {
        config: device_config(url),
        data_dir: dir.to_path_buf(),
        // Every interface but loopback: the session must follow the device
        // to its new address.
        rtc: Some(RtcSettings {
            answer_timeout: Duration::from_secs(5),
            bind_addrs: vec!["0.0.0.0".parse().unwrap()],
            ..RtcSettings::default()
        }),
        media: None,
    })
    .await
    .expect("device starts");
    wait_relay(&device.node).await;
    device
}

async fn moving_device() {
    init_logs();
    let device_dir = tempfile::tempdir().unwrap();
    let (far, relay) = far_relay().await;
    let device = device_on(device_dir.path(), &format!("ws://{RELAY}/relay")).await;
    let gran = FamilyMember::pair(&device, "Gran", &[Permission::LiveVideo]).await;
    std::fs::write(
        gran.dir.path().join("hearth.toml"),
        format!(
            "[webrtc]\nudp_addresses = [\"{}\"]\n[relay]\nembedded = false\n",
            FAR.split('/').next().unwrap()
        ),
    )
    .unwrap();
    let watch = gran.watch_with(far.command(env!("CARGO_BIN_EXE_hearth")), "Kitchen", 120);
    let started = Instant::now();
    watch
        .line_after(
            started,
            "a first picture",
            Duration::from_secs(30),
            video_line,
        )
        .await;
    // A second of video, then the move.
    let (before, _) = watch
        .line_after(
            Instant::now(),
            "a second of video",
            Duration::from_secs(5),
            |l| second_line(l).is_some_and(|(decoded, _)| decoded > 0),
        )
        .await;
    let moved = Instant::now();
    far.move_home(HOME, MOVED);
    println!("moved the device from {HOME} to {MOVED}");

    // The move broke the path (frames went missing), and video came back:
    // the first second with frames decoded after the loss.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (back, line) = loop {
        let lines = watch.lines();
        let found = lines.iter().enumerate().find(|(i, (at, l))| {
            *at > moved
                && second_line(l).is_some_and(|(decoded, _)| decoded > 0)
                && lost_frames(&lines[..=*i], before) >= 10
        });
        if let Some((_, hit)) = found {
            break hit.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no video after the move broke the path; `hearth watch` printed:\n{}",
            watch.transcript()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!(
        "{} frames lost; video back by {:?} after the move: {line}",
        lost_frames(&watch.lines(), before),
        back - moved
    );

    // The same session throughout: one call, never ended, still the one watcher.
    let transcript = watch.transcript();
    assert_eq!(
        transcript.matches("Watching Kitchen").count(),
        1,
        "one call only; `hearth watch` printed:\n{transcript}"
    );
    assert!(
        !transcript.contains("ended; reconnecting") && !transcript.contains("Could not watch"),
        "the session never ended; `hearth watch` printed:\n{transcript}"
    );
    assert_eq!(device.watchers().len(), 1, "one session on the device");
    drop(watch);
    device.stop().await;
    drop(relay);
}

#[test]
fn moving_the_device_keeps_the_browser_session_and_video_resumes() {
    in_private_net(|runtime| runtime.block_on(moving_device_with_browser()));
}

/// The page's session id, connection state and video frames decoded so far.
const PAGE: &str = "(async () => {
    const c = window.hearthViewer && window.hearthViewer.connection;
    if (!c || !c.pc) return null;
    let frames = 0;
    (await c.pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded || 0;
    });
    return { session: c.session, state: c.state, frames };
})()";

async fn page_now(page: &Page) -> Value {
    page.eval(PAGE).await
}

async fn moving_device_with_browser() {
    init_logs();
    // The relay on this host's loopback, which the move leaves alone: the
    // page's relay connection would otherwise move with the device's address.
    let far = FarHost::join(HOME, FAR);
    let relay = TestRelay::start().await;
    let device_dir = tempfile::tempdir().unwrap();
    let device = device_on(device_dir.path(), &relay.url()).await;
    let browser = Chromium::launch().await;
    let page = browser.new_page(900, 820).await;
    page.goto(&link(&device)).await;
    ask_to_watch(&page, device_dir.path(), "Gran").await;
    approve(device_dir.path(), "Gran", &[Permission::LiveVideo]);
    let first = page
        .poll("30 decoded frames", PAGE, Duration::from_secs(60), |v| {
            v["frames"].as_u64().unwrap_or(0) >= 30
        })
        .await;
    let session = first["session"].clone();
    assert!(session.is_string(), "the page has a session: {first}");

    let moved = Instant::now();
    far.move_home(HOME, MOVED);
    println!("moved the device from {HOME} to {MOVED}");
    // The move broke the path: no frame decoded for half a second …
    let deadline = Instant::now() + Duration::from_secs(15);
    let (mut last, mut since) = (u64::MAX, Instant::now());
    let stalled = loop {
        let now = page_now(&page).await;
        let frames = now["frames"].as_u64().unwrap_or(0);
        if frames != last {
            (last, since) = (frames, Instant::now());
        } else if since.elapsed() >= Duration::from_millis(500) {
            break frames;
        }
        assert!(
            Instant::now() < deadline,
            "video never stopped: did the move break the path? {now}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // … and came back, in the same session.
    let back = page
        .poll("video after the move", PAGE, Duration::from_secs(15), |v| {
            v["frames"].as_u64().unwrap_or(0) >= stalled + 30
        })
        .await;
    println!(
        "video stalled at {stalled} frames; 30 more by {:?} after the move",
        moved.elapsed()
    );
    assert_eq!(
        back["session"],
        session,
        "the same session: {back}; console:\n{}",
        page.console()
    );
    assert_eq!(back["state"], json!("connected"));
    assert_eq!(
        device.watchers(),
        vec!["Gran".to_string()],
        "one session on the device"
    );
    drop(browser);
    device.stop().await;
    relay.stop().await;
}
