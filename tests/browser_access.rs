//! Privacy and permission changes reach every open session at once: the
//! family viewer page (headless Chromium) and `hearth watch` (the binary)
//! watch the same device while the owner runs `hearth privacy on/off` and
//! `hearth contacts allow`. Each says what is true within 1 s of the command,
//! and the picture comes back within 2 s, without a reload and without the
//! page's 30 s recheck. The clock starts when the command starts; measured
//! times are printed.

mod support;

use hearth::contacts::Permission;
use hearth::hardware::display::screen::{Home, Network, Screen};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::chromium::{Chromium, Page};
use support::harness::*;
use support::screen::drawn;
use support::viewer::{approve, ask_to_watch, keep_screenshot, link, text_of, visible};
use support::watch_cli::{decoded_frame, owner_command, FamilyMember, Watch};

/// What the issue promises: the words within 1 s, the picture within 2 s.
const SAY_WITHIN: Duration = Duration::from_secs(1);
const PICTURE_WITHIN: Duration = Duration::from_secs(2);
/// How long to wait before calling a step failed (longer than the bounds, so a
/// slow step is measured and reported rather than just timed out).
const GIVE_UP: Duration = Duration::from_secs(12);

/// The tests here measure; they run one at a time so neither slows the other.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Video frames decoded on the page's session now, and which session it is.
const STATS: &str = "(async () => {
    const c = window.hearthViewer && window.hearthViewer.connection;
    if (!c || c.state !== 'connected') return { frames: 0, session: null };
    let frames = 0;
    (await c.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded || 0;
    });
    return { frames, session: c.session };
})()";

async fn page_frames(page: &Page) -> (u64, Value) {
    let v = page.eval(STATS).await;
    (v["frames"].as_u64().unwrap_or(0), v["session"].clone())
}

/// Waits until the page decodes at least 3 frames more than `before` (on the
/// same session) or 3 on a new one; returns how long after `since` that was seen.
async fn page_frames_advance(page: &Page, since: Instant, before: (u64, Value)) -> Duration {
    let (frames, session) = before;
    page.poll(
        "decoded frames advancing on the page",
        STATS,
        GIVE_UP,
        |v| {
            let now = v["frames"].as_u64().unwrap_or(0);
            match v["session"] == session {
                true => now >= frames + 3,
                false => !v["session"].is_null() && now >= 3,
            }
        },
    )
    .await;
    since.elapsed()
}

/// Waits until the page's status line contains `words`; returns how long after `since`.
async fn page_says(page: &Page, since: Instant, words: &str) -> Duration {
    page.poll(
        &format!("the page to say {words:?}"),
        &text_of("status-text"),
        GIVE_UP,
        |t| t.as_str().unwrap_or("").contains(words),
    )
    .await;
    since.elapsed()
}

/// The newest frame number `hearth watch` decoded, waiting for one after `since`.
async fn watch_frame_after(watch: &Watch, since: Instant) -> (Duration, Option<u64>) {
    let (at, line) = watch
        .line_after(since, "a decoded frame", GIVE_UP, |l| {
            decoded_frame(l).is_some()
        })
        .await;
    (at - since, decoded_frame(&line).flatten())
}

/// Waits until `hearth watch` decodes frames numbered past `past`.
async fn watch_frames_pass(watch: &Watch, past: u64) {
    watch
        .line_after(
            Instant::now() - Duration::from_secs(60),
            &format!("frames numbered past #{past}"),
            GIVE_UP,
            |l| decoded_frame(l).flatten().is_some_and(|n| n > past),
        )
        .await;
}

/// The device's (simulated) screen showing home with privacy `private` and
/// `watchers`, drawn before the step it is waited for (drawing takes a while
/// in a debug build, and must not count in the measured time).
fn home_screen(relay_url: &str, private: bool, watchers: &[&str]) -> Vec<u8> {
    drawn(
        &device_config(relay_url),
        &Screen::Home(Home {
            private,
            watchers: watchers.iter().map(|w| w.to_string()).collect(),
            network: Network::Online,
        }),
    )
}

/// Waits until the device's screen shows `expected`; returns how long after `since`.
async fn screen_shows(device_dir: &std::path::Path, since: Instant, expected: &[u8]) -> Duration {
    let path = device_dir.join("screen.png");
    wait_until("the device's screen", GIVE_UP, || {
        std::fs::read(&path).is_ok_and(|now| now == expected)
    })
    .await;
    since.elapsed()
}

fn report(what: &str, took: Duration, bound: Duration) {
    println!(
        "MEASURED {what}: {:.0} ms (bound {} ms)",
        took.as_secs_f64() * 1000.0,
        bound.as_millis()
    );
    assert!(
        took <= bound,
        "{what} took {took:?}, more than the {bound:?} the issue allows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_reaches_the_page_and_hearth_watch_at_once() {
    let _alone = ONE_AT_A_TIME.lock().await;
    init_logs();
    let relay = TestRelay::start().await;
    let device_dir = tempfile::tempdir().unwrap();
    let device = start_device(device_dir.path(), &relay.url()).await;
    device.start_panel().expect("simulated panel starts");
    wait_relay(&device.node).await;
    let browser = Chromium::launch().await;
    let page = browser.new_page(900, 820).await;
    page.goto(&link(&device)).await;
    ask_to_watch(&page, device_dir.path(), "Gran").await;
    approve(
        device_dir.path(),
        "Gran",
        &[Permission::LiveVideo, Permission::LiveAudio],
    );
    page.poll(
        "live video on the page",
        STATS,
        Duration::from_secs(60),
        |v| v["frames"].as_u64().unwrap_or(0) >= 30,
    )
    .await;
    // (Paired once the device has read the edit above, so it is not overwritten.)
    let grandpa = FamilyMember::pair(
        &device,
        "Grandpa",
        &[Permission::LiveVideo, Permission::LiveAudio],
    )
    .await;
    let watch = grandpa.watch("Kitchen", 120);

    // Both watch live.
    let (_, first) = watch_frame_after(&watch, Instant::now()).await;
    let before_privacy = first.expect("the test pattern's frame number");
    watch_frames_pass(&watch, before_privacy).await;
    assert_eq!(page.eval(&text_of("status-text")).await, json!("Live"));
    let both_watching = home_screen(&relay.url(), false, &["Gran", "Grandpa"]);
    let private = home_screen(&relay.url(), true, &[]);
    screen_shows(device_dir.path(), Instant::now(), &both_watching).await;

    // `hearth privacy on`: both say so at once, and the page drops the frozen picture.
    let (on, _) = owner_command(device_dir.path(), &["privacy", "on"]).await;
    let page_took = page_says(&page, on, "Kitchen has privacy mode on").await;
    let (said, line) = watch
        .line_after(on, "that privacy is on", GIVE_UP, |l| {
            l.contains("Kitchen has privacy mode on")
        })
        .await;
    report("privacy on → the page says so", page_took, SAY_WITHIN);
    report("privacy on → hearth watch says so", said - on, SAY_WITHIN);
    let took = screen_shows(device_dir.path(), on, &private).await;
    report("privacy on → the device's screen says so", took, SAY_WITHIN);
    println!("hearth watch: {line}");
    assert!(page.eval(&visible("no-video")).await.as_bool().unwrap());
    assert!(
        page.eval(&text_of("no-video-text"))
            .await
            .as_str()
            .unwrap()
            .contains("Kitchen has privacy mode on"),
        "the picture is replaced by the reason"
    );
    keep_screenshot(&page, "viewer-privacy-on").await;
    let newest_before = watch
        .lines()
        .iter()
        .filter_map(|(_, l)| decoded_frame(l).flatten())
        .max()
        .unwrap_or(before_privacy);

    // `hearth privacy off`: the picture comes back on both, no reload.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let paused = page_frames(&page).await;
    let (off, _) = owner_command(device_dir.path(), &["privacy", "off"]).await;
    let page_took = page_frames_advance(&page, off, paused).await;
    let (watch_took, number) = watch_frame_after(&watch, off).await;
    report(
        "privacy off → frames on the page",
        page_took,
        PICTURE_WITHIN,
    );
    report(
        "privacy off → frames in hearth watch",
        watch_took,
        PICTURE_WITHIN,
    );
    assert!(
        number.is_some_and(|n| n > newest_before),
        "new frames (#{number:?}) after #{newest_before}"
    );
    page.poll(
        "the page to say Live",
        &text_of("status-text"),
        GIVE_UP,
        |t| t == "Live",
    )
    .await;
    assert!(!page.eval(&visible("no-video")).await.as_bool().unwrap());
    keep_screenshot(&page, "viewer-privacy-off").await;
    let took = screen_shows(device_dir.path(), off, &both_watching).await;
    report(
        "privacy off → the device's screen shows who watches",
        took,
        PICTURE_WITHIN,
    );
    device.stop().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowing_video_to_an_open_session_starts_the_picture_at_once() {
    let _alone = ONE_AT_A_TIME.lock().await;
    init_logs();
    let relay = TestRelay::start().await;
    let device_dir = tempfile::tempdir().unwrap();
    let device = start_device(device_dir.path(), &relay.url()).await;
    device.start_panel().expect("simulated panel starts");
    wait_relay(&device.node).await;
    let browser = Chromium::launch().await;
    let page = browser.new_page(900, 820).await;
    page.goto(&link(&device)).await;
    ask_to_watch(&page, device_dir.path(), "Cousin").await;
    // `hearth contacts approve Cousin`, nothing allowed yet.
    approve(device_dir.path(), "Cousin", &[]);
    page.wait_for("the nothing-shared message", &visible("no-video"))
        .await;
    let grandpa = FamilyMember::pair(&device, "Grandpa", &[]).await;
    let watch = grandpa.watch("Kitchen", 120);
    watch
        .line_after(
            Instant::now() - Duration::from_secs(60),
            "that nothing is allowed yet",
            GIVE_UP,
            |l| l.contains("allowed you"),
        )
        .await;
    // Both sessions are open, without media.
    wait_until("both sessions on the device", GIVE_UP, || {
        device.status().connected.len() == 2
    })
    .await;

    let cousin_watching = home_screen(&relay.url(), false, &["Cousin"]);
    let (allowed, _) = owner_command(
        device_dir.path(),
        &["contacts", "allow", "Cousin", "live_video"],
    )
    .await;
    let took = page_frames_advance(&page, allowed, (0, Value::Null)).await;
    report(
        "allow live_video → frames on the page",
        took,
        PICTURE_WITHIN,
    );
    let took = screen_shows(device_dir.path(), allowed, &cousin_watching).await;
    report(
        "allow live_video → the device's screen shows Cousin watching",
        took,
        PICTURE_WITHIN,
    );
    page.poll(
        "the page to say Live",
        &text_of("status-text"),
        GIVE_UP,
        |t| t == "Live",
    )
    .await;
    assert!(!page.eval(&visible("no-video")).await.as_bool().unwrap());

    let (allowed, _) = owner_command(
        device_dir.path(),
        &["contacts", "allow", "Grandpa", "live_video"],
    )
    .await;
    let (took, number) = watch_frame_after(&watch, allowed).await;
    report(
        "allow live_video → frames in hearth watch",
        took,
        PICTURE_WITHIN,
    );
    watch_frames_pass(&watch, number.expect("a frame number")).await;
    device.stop().await;
    relay.stop().await;
}
