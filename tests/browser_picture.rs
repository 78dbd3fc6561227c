//! A family member's camera on the device's screen, from the viewer page
//! (issue #16, the two-way family link), end to end: the real device, its
//! relay and its page in headless Chromium, whose fake camera films our own
//! test pattern (a Y4M file, every frame numbered). Gran presses "Show my
//! camera on Kitchen's screen"; the device's simulated screen (PNG frames
//! under `<data>/picture/`) then shows her pattern, frame after frame, in
//! its colours — or, when the owner has not allowed it, shows nothing, and
//! the page says why in the device's words.

mod support;

use hearth::contacts::Permission;
use hearth::device::Device;
use hearth::hardware::picture::yuv::yuv_to_rgb;
use hearth::media::TestPattern;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use support::chromium::{Chromium, Page};
use support::harness::*;
use support::shown_frame::{frames_shown, hdmi_area, screen_area, Area, Shown};
use support::viewer::{approve, ask_to_watch, keep_screenshot, link, text_of};
use support::y4m::PatternFile;

/// The size of Gran's camera (the Y4M file).
const SOURCE: (u32, u32) = (320, 240);
/// Frames in the camera file: 10 s at 30 fps before the numbers start again.
const FRAMES: u32 = 300;

/// What the camera button says while the camera is off.
const SHOW: &str = "Show my camera on Kitchen's screen";
/// What it says while the camera is on.
const STOP: &str = "Stop showing my camera";

/// The device's simulated HDMI output.
const HDMI: (u32, u32) = (640, 480);

/// The frame number of Gran's pattern on the device's screen now, if one reads.
fn number_shown(latest: &Path) -> Option<u32> {
    Shown::read(latest)?.frame_number(hdmi_area(HDMI, SOURCE), SOURCE)
}

/// The colour shown for pixel (`x`, `y`) of a `SOURCE`-sized picture in
/// `area`: the screen pixel its centre falls on (nearest neighbour, as
/// [`Shown::sample`] maps it).
fn shown_at(shown: &Shown, area: Area, x: u32, y: u32) -> [u8; 3] {
    let sx = area.x + ((2 * x + 1) * area.width / (2 * SOURCE.0)).min(area.width - 1);
    let sy = area.y + ((2 * y + 1) * area.height / (2 * SOURCE.1)).min(area.height - 1);
    shown.pixel(sx, sy)
}

/// Whether the whole screen is black (the device blanked it).
fn blank(shown: &Shown) -> bool {
    (0..shown.height).all(|y| (0..shown.width).all(|x| shown.pixel(x, y) == [0, 0, 0]))
}

/// The page's connection, once connected: whether it sends video, frames
/// sent and (of Kitchen's camera) decoded, and the selected candidate
/// pair's `availableOutgoingBitrate` (bits/s).
const SENDING: &str = "(async () => {
    const c = window.hearthViewer && window.hearthViewer.connection;
    if (!c || c.state !== 'connected') return null;
    const report = await c.getStats();
    let pairId = null, bitrate = null, framesSent = 0, framesDecoded = 0;
    report.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
        if (s.type === 'outbound-rtp' && s.kind === 'video') framesSent = s.framesSent || 0;
        if (s.type === 'inbound-rtp' && s.kind === 'video') framesDecoded = s.framesDecoded || 0;
    });
    const pair = pairId && report.get(pairId);
    if (pair && typeof pair.availableOutgoingBitrate === 'number') bitrate = pair.availableOutgoingBitrate;
    const sends = c.pc.getSenders().some((s) => s.track && s.track.kind === 'video' && s.track.readyState === 'live');
    return { bitrate, framesSent, framesDecoded, sends };
})()";

/// A device named Kitchen, its relay, and Gran's page in a Chromium whose
/// camera is the numbered test pattern; Gran has paired and is approved.
struct Scene {
    page: Page,
    _browser: Chromium,
    device: Device,
    device_dir: tempfile::TempDir,
    _camera: PatternFile,
    relay: TestRelay,
}

impl Scene {
    /// Pairs Gran, approves her with `allow`, and waits until her page is
    /// connected to Kitchen.
    async fn start(allow: &[Permission]) -> Scene {
        Scene::start_with(allow, SOURCE, FRAMES, |_| {}).await
    }

    /// Like [`Scene::start`], with a camera of `camera` size looping
    /// `frames` frames, and the device's config changed by `configure`.
    async fn start_with(
        allow: &[Permission],
        camera: (u32, u32),
        frames: u32,
        configure: impl FnOnce(&mut hearth::config::Config),
    ) -> Scene {
        init_logs();
        let relay = TestRelay::start().await;
        let device_dir = tempfile::tempdir().unwrap();
        let mut config = device_config(&relay.url());
        configure(&mut config);
        let device = start_device_with(device_dir.path(), config, None).await;
        wait_relay(&device.node).await;
        let camera = PatternFile::new(camera.0, camera.1, frames);
        let browser = Chromium::launch_in(None, &[&camera.chromium_flag()]).await;
        let page = browser.new_page(900, 1000).await;
        page.goto(&link(&device)).await;
        ask_to_watch(&page, device_dir.path(), "Gran").await;
        approve(device_dir.path(), "Gran", allow);
        page.poll(
            "Gran's page connected",
            SENDING,
            Duration::from_secs(30),
            |v| !v.is_null(),
        )
        .await;
        Scene {
            page,
            _browser: browser,
            device,
            device_dir,
            _camera: camera,
            relay,
        }
    }

    /// Presses the camera button.
    async fn press(&self) {
        self.page
            .eval("document.getElementById('my-camera').click(); true")
            .await;
    }

    async fn button(&self) -> Value {
        self.page.eval(&text_of("my-camera")).await
    }

    /// Waits until the page's note beside the button says `expected`.
    async fn wait_note(&self, expected: &str) {
        self.page
            .poll(
                &format!("the page to say {expected:?}"),
                &text_of("my-camera-note"),
                Duration::from_secs(20),
                |t| t == &json!(expected),
            )
            .await;
    }

    async fn stop(self) {
        self.device.stop().await;
        self.relay.stop().await;
    }
}

/// Test-pattern colours the device must show: points of frame `n` deep
/// inside a flat area (a colour bar, the background of the ramp), away from
/// edges that compression blurs, with their colour as the device converts it.
fn flat_points(n: u32) -> Vec<(u32, u32, [u8; 3])> {
    let frame = TestPattern::new(SOURCE.0, SOURCE.1).unwrap().frame(n);
    let w = SOURCE.0;
    let at = |x: u32, y: u32| {
        let (cw, i) = (w / 2, (y * w + x) as usize);
        let c = ((y / 2) * cw + x / 2) as usize;
        (frame.y()[i], frame.u()[c], frame.v()[c])
    };
    let mut points = vec![];
    // Below the frame-number strip (64 px) and above the ramp (180 px).
    for y in [100, 140] {
        for x in (12..w - 12).step_by(10) {
            let centre = at(x, y);
            let flat = (-8i32..=8).step_by(2).all(|d| {
                at((x as i32 + d) as u32, y) == centre && at(x, (y as i32 + d) as u32) == centre
            });
            if flat {
                points.push((x, y, yuv_to_rgb(centre.0, centre.1, centre.2)));
            }
        }
    }
    points
}

/// Whether every channel of `a` is within `tolerance` of `b`.
fn near(a: [u8; 3], b: [u8; 3], tolerance: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tolerance)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_camera_appears_on_the_device_screen() {
    let started = Instant::now();
    let scene = Scene::start(&[Permission::LiveVideo, Permission::ShowOnDevice]).await;
    let dir = scene.device_dir.path().to_path_buf();
    assert_eq!(scene.button().await, json!(SHOW));
    assert_eq!(
        frames_shown(&dir),
        0,
        "nothing on the screen before the press"
    );

    let pressed = Instant::now();
    scene.press().await;
    let png = dir.join("picture/latest.png");
    wait_until(
        "Gran's numbered pattern on Kitchen's screen",
        Duration::from_secs(20),
        || number_shown(&png).is_some(),
    )
    .await;
    println!(
        "press → first readable frame on the screen in {:.2} s",
        pressed.elapsed().as_secs_f64()
    );
    assert_eq!(scene.button().await, json!(STOP));

    // The device gives the browser's congestion control its feedback
    // (transport-cc): within seconds, Chromium's estimate of what the path
    // takes rises well above where it starts (300 kbit/s). Without that
    // feedback it climbs from there by ~8% a second on receiver reports
    // alone, reaching 1 Mbit/s only after ~17 s (measured on loopback).
    let early = scene.page.eval(SENDING).await;
    println!(
        "availableOutgoingBitrate when the first frame is shown: {} bit/s",
        early["bitrate"]
    );
    let estimate = scene
        .page
        .poll(
            "the browser's estimate of the path to pass 1 Mbit/s",
            SENDING,
            Duration::from_secs(4),
            |v| v["bitrate"].as_f64().unwrap_or(0.0) >= 1_000_000.0,
        )
        .await;
    println!(
        "availableOutgoingBitrate {} bit/s, {:.1} s after the press",
        estimate["bitrate"],
        pressed.elapsed().as_secs_f64()
    );

    // The frame counter advances: readings over 3 s, each a valid number,
    // each later than the one before (the file loops after FRAMES).
    let mut numbers = vec![];
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        if let Some(n) = number_shown(&png) {
            numbers.push(n);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("frame numbers shown: {numbers:?}");
    assert!(numbers.len() >= 8, "the number is readable: {numbers:?}");
    assert!(numbers.iter().all(|n| *n < FRAMES), "{numbers:?}");
    let steps: Vec<u32> = numbers
        .windows(2)
        .map(|w| (w[1] + FRAMES - w[0]) % FRAMES)
        .collect();
    let advanced: u32 = steps.iter().sum();
    assert!(
        steps.iter().all(|s| *s < FRAMES / 2) && advanced >= 45,
        "the picture moves on (at 30 fps, ~90 frames in 3 s): {numbers:?}"
    );

    // The colours are the pattern's: a golden check of one shown frame
    // against the same numbered frame rendered here.
    let area = hdmi_area(HDMI, SOURCE);
    let deadline = Instant::now() + Duration::from_secs(5);
    let (shown, n) = loop {
        let shown = Shown::read(&png).expect("a readable PNG");
        if let Some(n) = shown.frame_number(area, SOURCE) {
            break (shown, n);
        }
        assert!(Instant::now() < deadline, "no readable frame to check");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        (shown.width, shown.height),
        HDMI,
        "the simulated HDMI output"
    );
    let points = flat_points(n);
    assert!(points.len() >= 10, "enough flat points in frame {n}");
    let wrong: Vec<_> = points
        .iter()
        .map(|(x, y, colour)| ((x, y), *colour, shown_at(&shown, area, *x, *y)))
        .filter(|(_, colour, got)| !near(*got, *colour, 24))
        .collect();
    println!(
        "frame {n}: {} of {} colour samples off: {wrong:?}",
        wrong.len(),
        points.len()
    );
    assert!(
        wrong.len() * 10 <= points.len(),
        "frame {n} is shown in the pattern's colours: {wrong:?}"
    );
    // A 4:3 picture on a 4:3 screen fills it: no bars.
    assert_eq!((area.width, area.height), HDMI);

    // The page says where Gran's camera is, once the device says so.
    scene.wait_note("Your camera is on Kitchen's screen.").await;
    keep_screenshot(&scene.page, "viewer-my-camera-shown").await;

    // A second press: the camera stops, the page calls again without it and
    // keeps watching; the device's screen is blanked.
    scene.press().await;
    scene
        .page
        .poll(
            "a session without Gran's camera, Kitchen still on Gran's page",
            SENDING,
            Duration::from_secs(20),
            |v| v["sends"] == json!(false) && v["framesDecoded"].as_u64().unwrap_or(0) >= 10,
        )
        .await;
    assert_eq!(scene.button().await, json!(SHOW));
    assert_eq!(
        scene
            .page
            .eval("window.hearthViewer.myCamera === null")
            .await,
        json!(true)
    );
    // Her session with the camera has ended: the device takes her picture off.
    wait_until(
        "Kitchen's screen blanked once Gran's session with her camera ended",
        Duration::from_secs(10),
        || Shown::read(&png).is_some_and(|s| blank(&s)),
    )
    .await;
    println!("whole test: {:.1} s", started.elapsed().as_secs_f64());
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_permission_nothing_is_shown_and_the_page_says_why() {
    let started = Instant::now();
    let scene = Scene::start(&[Permission::LiveVideo]).await;
    let dir = scene.device_dir.path().to_path_buf();
    scene.press().await;
    // The device tells only a caller whose offer sends video: this says the
    // camera went with the call.
    scene
        .wait_note("The owner has not allowed your camera on this device's screen.")
        .await;
    keep_screenshot(&scene.page, "viewer-my-camera-not-allowed").await;
    // After telling, the camera is off and the button offers it again; the
    // session (and Gran's watching) goes on.
    assert_eq!(scene.button().await, json!(SHOW));
    let camera = scene
        .page
        .eval("window.hearthViewer.myCamera === null && window.hearthViewer.connection.state")
        .await;
    assert_eq!(camera, json!("connected"));
    scene
        .page
        .poll(
            "Gran still watching Kitchen",
            SENDING,
            Duration::from_secs(20),
            |v| v["framesDecoded"].as_u64().unwrap_or(0) >= 10,
        )
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        frames_shown(&dir),
        0,
        "nothing of Gran's on Kitchen's screen"
    );
    println!("whole test: {:.1} s", started.elapsed().as_secs_f64());
    scene.stop().await;
}

/// The width of the video the page sends now (`outbound-rtp.frameWidth`).
const SENT_WIDTH: &str = "(async () => {
    const c = window.hearthViewer && window.hearthViewer.connection;
    if (!c || c.state !== 'connected') return null;
    let width = null;
    (await c.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video' && s.frameWidth) width = s.frameWidth;
    });
    return width;
})()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_small_screen_the_page_sends_320x240_and_the_pattern_plays() {
    // A 640×480 camera: the page must scale it down to what the screen asks.
    let camera = (640, 480);
    let scene = Scene::start_with(
        &[Permission::LiveVideo, Permission::ShowOnDevice],
        camera,
        90,
        |config| config.picture.output = hearth::config::hardware::PictureTarget::Screen,
    )
    .await;
    scene.device.start_panel().expect("simulated panel starts");
    scene.press().await;
    scene.wait_note("Your camera is on Kitchen's screen.").await;
    scene
        .page
        .poll(
            "the page to send 320 wide",
            SENT_WIDTH,
            Duration::from_secs(20),
            |w| w.as_u64() == Some(320),
        )
        .await;
    // The small screen (screen.png, drawn twice as large) shows the pattern,
    // its frame counter advancing.
    let screen = scene.device_dir.path().join("screen.png");
    let area = screen_area((240, 240), camera, 2);
    let mut seen = std::collections::HashSet::new();
    wait_until(
        "ten different frames of Gran on the small screen",
        Duration::from_secs(20),
        || {
            if let Some(n) = Shown::read(&screen).and_then(|s| s.frame_number(area, camera)) {
                seen.insert(n);
            }
            seen.len() >= 10
        },
    )
    .await;
    keep_screenshot(&scene.page, "viewer-my-camera-small-screen").await;
    scene.stop().await;
}
