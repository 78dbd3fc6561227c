//! The family viewer end to end, in headless Chromium: a family member opens
//! the device's link, asks to watch, the owner approves, and the page plays
//! the simulated camera and microphone live and talks on the data channel.
//! When the relay restarts or the owner changes their mind, the page follows
//! by itself. A refused request shows a clear message.

mod support;

use hearth::contacts::{ContactBook, Permission};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use support::chromium::{Chromium, Page};
use support::harness::*;
use support::viewer::{
    approve, ask_to_watch, edit_contacts, keep_screenshot, link, text_of, visible,
};

/// Inbound video frames decoded and audio samples received on the page's connection.
const STATS: &str = "(async () => {
    const c = window.hearthViewer && window.hearthViewer.connection;
    if (!c || c.state !== 'connected') return null;
    let frames = 0, samples = 0;
    (await c.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded || 0;
        if (s.type === 'inbound-rtp' && s.kind === 'audio') samples = s.totalSamplesReceived || 0;
    });
    return { frames, samples, state: c.state };
})()";

async fn wait_stats(page: &Page, what: &str, done: impl Fn(u64, u64) -> bool) -> Value {
    page.poll(what, STATS, Duration::from_secs(60), |v| {
        done(
            v["frames"].as_u64().unwrap_or(0),
            v["samples"].as_u64().unwrap_or(0),
        )
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_family_member_pairs_in_the_browser_and_watches_live() {
    init_logs();
    let relay = TestRelay::start().await;
    let device_dir = tempfile::tempdir().unwrap();
    let device = start_device(device_dir.path(), &relay.url()).await;
    wait_relay(&device.node).await;
    let browser = Chromium::launch().await;
    let page = browser.new_page(900, 820).await;
    page.goto(&link(&device)).await;
    assert_eq!(page.eval(&text_of("device-name")).await, json!("Kitchen"));

    ask_to_watch(&page, device_dir.path(), "Gran").await;

    // The owner approves and lets Gran watch and listen:
    // `hearth contacts approve Gran` + `hearth contacts allow Gran live_video,live_audio`.
    let approved = Instant::now();
    approve(
        device_dir.path(),
        "Gran",
        &[Permission::LiveVideo, Permission::LiveAudio],
    );
    let stats = wait_stats(
        &page,
        "60 decoded frames and audio samples",
        |frames, samples| frames >= 60 && samples > 0,
    )
    .await;
    println!(
        "approved → {} frames decoded, {} audio samples in {:.1} s",
        stats["frames"],
        stats["samples"],
        approved.elapsed().as_secs_f64()
    );
    assert_eq!(page.eval(&text_of("status-text")).await, json!("Live"));
    assert_eq!(device.watchers(), vec!["Gran".to_string()]);
    let playing = page
        .eval("(() => { const v = document.getElementById('video'); return !v.paused && !v.muted && v.videoWidth > 0; })()")
        .await;
    assert_eq!(playing, json!(true), "the video element plays, with sound");

    // The data channel: the device answers a ping through sendJSON.
    let pong = page
        .eval(
            "(async () => {
                const c = window.hearthViewer.connection;
                const pong = new Promise((resolve) => c.addEventListener('message', (e) => {
                    const m = e.detail.json();
                    if (m.type === 'pong' && m.id === 7) resolve(m);
                }));
                await c.sendJSON({ type: 'ping', id: 7 });
                return pong;
            })()",
        )
        .await;
    assert_eq!(pong, json!({ "type": "pong", "id": 7 }));

    let png = keep_screenshot(&page, "viewer").await;
    assert!(png.len() > 20_000, "a screenshot with a picture in it");
    if std::env::var_os("HEARTH_UPDATE_SCREENSHOT").is_some() {
        std::fs::write(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/viewer.png"),
            &png,
        )
        .unwrap();
    }

    // The next visit (keys and the owner's yes are in IndexedDB) goes straight to live.
    page.reload().await;
    wait_stats(&page, "video after a reload", |frames, samples| {
        frames > 0 && samples > 0
    })
    .await;
    assert!(page.eval(&visible("screen-live")).await.as_bool().unwrap());

    // The relay restarts: the page and the device reconnect to it by themselves
    // (the live session does not need it), ready for the next change.
    let relay_addr = relay.addr;
    relay.stop().await;
    page.poll(
        "the page to notice the relay is gone",
        "window.hearthViewer.node.connected",
        Duration::from_secs(60),
        |c| c == &json!(false),
    )
    .await;
    let relay = TestRelay::start_at(relay_addr).await;
    page.wait_for(
        "the page back on the relay",
        "window.hearthViewer.node.connected",
    )
    .await;
    wait_relay(&device.node).await;

    // The owner withdraws sound: the session ends, the page reconnects by
    // itself with video only and says so in plain words.
    edit_contacts(device_dir.path(), |book| {
        book.find_mut("Gran")
            .unwrap()
            .permissions
            .set(Permission::LiveAudio, false);
    });
    page.poll(
        "a new session with video only",
        "(() => { const c = window.hearthViewer.connection; return c && c.granted && c.state === 'connected' ? c.granted : null; })()",
        Duration::from_secs(60),
        |g| g["video"] == json!(true) && g["audio"] == json!(false),
    )
    .await;
    wait_stats(&page, "video on the new session", |frames, _| frames > 0).await;
    page.wait_for("the sound notice", &visible("notice")).await;
    assert_eq!(
        page.eval(&text_of("notice")).await,
        json!("Kitchen hasn't shared sound with you yet.")
    );
    keep_screenshot(&page, "viewer-sound-withdrawn").await;

    // The owner removes Gran: the page says so and stops trying.
    edit_contacts(device_dir.path(), |book| {
        book.remove("Gran").unwrap();
    });
    page.wait_for("the revoked message", &visible("screen-refused"))
        .await;
    assert_eq!(
        page.eval(&text_of("refused-title")).await,
        json!("Kitchen no longer shares with you.")
    );
    keep_screenshot(&page, "viewer-revoked").await;
    wait_until("the session to end", Duration::from_secs(20), || {
        device.watchers().is_empty()
    })
    .await;
    device.stop().await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_shows_a_clear_message_and_is_remembered() {
    init_logs();
    let relay = TestRelay::start().await;
    let device_dir = tempfile::tempdir().unwrap();
    let device = start_device(device_dir.path(), &relay.url()).await;
    wait_relay(&device.node).await;
    let browser = Chromium::launch().await;
    let page = browser.new_page(900, 700).await;
    page.goto(&link(&device)).await;

    ask_to_watch(&page, device_dir.path(), "Stranger").await;
    // `hearth contacts remove Stranger`: the device tells the requester.
    edit_contacts(device_dir.path(), |book| {
        book.remove("Stranger").unwrap();
    });
    page.wait_for("the refusal", &visible("screen-refused"))
        .await;
    assert_eq!(
        page.eval(&text_of("refused-title")).await,
        json!("Your request to watch Kitchen was not accepted.")
    );
    keep_screenshot(&page, "viewer-refused").await;
    let text = page.eval(&text_of("refused-text")).await;
    assert!(
        text.as_str().unwrap().contains("did not approve"),
        "the owner's reason is shown: {text}"
    );

    // The answer is remembered: the next visit shows it without asking again.
    page.reload().await;
    page.wait_for("the refusal after a reload", &visible("screen-refused"))
        .await;
    let book = ContactBook::load(device_dir.path()).unwrap();
    assert!(book.find("Stranger").is_err(), "no new request was sent");
    device.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_but_nothing_shared_says_so_in_plain_words() {
    init_logs();
    let relay = TestRelay::start().await;
    let device_dir = tempfile::tempdir().unwrap();
    let device = start_device(device_dir.path(), &relay.url()).await;
    wait_relay(&device.node).await;
    let browser = Chromium::launch().await;
    let page = browser.new_page(900, 700).await;
    page.goto(&link(&device)).await;

    ask_to_watch(&page, device_dir.path(), "Cousin").await;
    // `hearth contacts approve Cousin`, and nothing allowed yet.
    approve(device_dir.path(), "Cousin", &[]);
    page.wait_for("the nothing-shared message", &visible("no-video"))
        .await;
    let text = page.eval(&text_of("no-video-text")).await;
    assert!(
        text.as_str()
            .unwrap()
            .starts_with("Kitchen hasn't shared video or sound with you yet."),
        "{text}"
    );
    keep_screenshot(&page, "viewer-nothing-shared").await;
    assert!(device.watchers().is_empty());

    // The same link in a second tab (same keys): the first tab steps aside and
    // says why, instead of fighting over the relay connection.
    let second = browser.new_page(900, 700).await;
    second.goto(&link(&device)).await;
    second
        .wait_for("the second tab to connect", &visible("no-video"))
        .await;
    page.poll(
        "the first tab to step aside",
        &text_of("status-text"),
        Duration::from_secs(30),
        |t| t.as_str().unwrap_or("").contains("open in another tab"),
    )
    .await;
    device.stop().await;
}
