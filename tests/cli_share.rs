//! `hearth privacy`, `hearth status`, `hearth share`, `hearth inbox` and
//! `hearth press` against a running device, through its control socket and
//! its buttons socket: what the command says matches what the device's
//! screen says, photos are checked before they go, and a refused press fails.

mod support;

use hearth::config::Config;
use hearth::contacts::Permission;
use hearth::device::shares::ShareRequest;
use hearth::device::Device;
use hearth::hardware::display::Screen;
use hearth::share::inbox::Inbox;
use hearth::share::photo_check::{check_jpeg, MAX_PHOTO_BYTES};
use hearth::share::ShareKind;
use std::path::Path;
use std::process::Output;
use support::cli::{hearth_async, text};
use support::harness::*;
use support::screen::wait_for_screen;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_drives_privacy_and_shares_from_the_command_line() {
    init_logs();
    let dir = tempfile::tempdir().unwrap();
    let out = hearth_async(dir.path(), &["share", "--text", "hi"]).await;
    assert!(!out.status.success());
    assert!(
        text(&out).contains("start it with `hearth run`"),
        "{}",
        text(&out)
    );
    let out = hearth_async(dir.path(), &["privacy", "on"]).await;
    assert!(
        text(&out).contains("not running; it starts this way"),
        "{}",
        text(&out)
    );

    let relay = TestRelay::start().await;
    let device = start_device(dir.path(), &relay.url()).await;
    assert!(device.status().private, "started private, as saved");
    let out = hearth_async(dir.path(), &["status"]).await;
    assert!(text(&out).contains("privacy:   ON"), "{}", text(&out));
    assert!(text(&out).contains("outbox:    empty"), "{}", text(&out));
    let out = hearth_async(dir.path(), &["privacy", "toggle"]).await;
    assert!(
        out.status.success() && text(&out).contains("privacy off"),
        "{}",
        text(&out)
    );
    assert!(!device.status().private);

    let out = hearth_async(dir.path(), &["share", "--text", "hi"]).await;
    assert!(!out.status.success());
    assert!(
        text(&out).contains("contacts allow NAME snapshots"),
        "{}",
        text(&out)
    );
    let out = hearth_async(dir.path(), &["share", "--photo", "/nonexistent.jpg"]).await;
    assert!(
        text(&out).contains("cannot read /nonexistent.jpg"),
        "{}",
        text(&out)
    );
    let out = hearth_async(dir.path(), &["inbox"]).await;
    assert!(
        text(&out).contains("no shares received yet"),
        "{}",
        text(&out)
    );
    device.stop().await;
}

/// A device whose panel runs, with notes that stay up for the whole test.
async fn start_with_panel(dir: &Path, relay: &str, name: &str) -> (Device, Config) {
    let mut config = device_config(relay);
    config.name = name.into();
    config.display.note_secs = 3600;
    config.share.retry_secs = 1;
    let device = start_device_with(dir, config.clone(), None).await;
    device.start_panel().expect("simulated panel");
    (device, config)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_share_from_the_command_line_is_counted_on_the_screen_and_in_the_terminal() {
    init_logs();
    let relay = TestRelay::start().await;
    let url = relay.url();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let (kitchen, config) = start_with_panel(dirs[0].path(), &url, "Kitchen").await;
    let gran = start_family_device(dirs[1].path(), &url, "Gran").await;
    let tom = start_family_device(dirs[2].path(), &url, "Tom").await;
    befriend(&kitchen.node, &gran.node, &[Permission::Snapshots]).await;
    befriend(&kitchen.node, &tom.node, &[Permission::Snapshots]).await;
    wait_relay(&kitchen.node).await;
    wait_relay(&gran.node).await;
    // Tom is away: his device is off.
    tom.stop().await;

    // Nobody has it yet: neither the terminal nor the screen says "sent".
    let out = hearth_async(
        dirs[0].path(),
        &["share", "--snapshot", "--to", "Tom", "--wait", "2"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).contains("waiting: 0 of 1 delivered; Tom gets it when they next connect"),
        "{}",
        text(&out)
    );
    assert!(!stdout(&out).contains("sent"), "{}", text(&out));
    wait_for_screen(
        "the screen says 0 of 1 delivered (drawn as Waiting, never sent)",
        dirs[0].path(),
        &config,
        &Screen::SnapshotSent {
            delivered: 0,
            total: 1,
        },
    )
    .await;

    // Gran is online and gets it; Tom will when he is back.
    let out = hearth_async(dirs[0].path(), &["share", "--snapshot", "--wait", "20"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).contains("delivered to 1 of 2 (Gran); Tom gets it when they next connect"),
        "{}",
        text(&out)
    );
    wait_for_screen(
        "the screen says delivered to 1 of 2",
        dirs[0].path(),
        &config,
        &Screen::SnapshotSent {
            delivered: 1,
            total: 2,
        },
    )
    .await;
    assert_eq!(Inbox::new(dirs[1].path()).list().unwrap().len(), 1);
    assert_eq!(kitchen.status().outbox, [("Tom".to_string(), 2)]);
    for device in [&kitchen, &gran] {
        device.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn photos_from_the_command_line_decode_in_full_and_a_png_becomes_a_jpeg() {
    init_logs();
    let relay = TestRelay::start().await;
    let url = relay.url();
    let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let (kitchen, _) = start_with_panel(dirs[0].path(), &url, "Kitchen").await;
    let gran = start_family_device(dirs[1].path(), &url, "Gran").await;
    befriend(&kitchen.node, &gran.node, &[Permission::Snapshots]).await;
    // Gran takes photos from the kitchen (`talk_back`).
    gran.node
        .contacts()
        .update(|book| book.find_mut("Kitchen").unwrap().permissions.talk_back = true)
        .await
        .unwrap();
    wait_relay(&kitchen.node).await;
    wait_relay(&gran.node).await;

    // A wide PNG with transparency: made a JPEG of at most 2048 px.
    let (width, height) = (2600u32, 300u32);
    let rgba: Vec<u8> = (0..width * height)
        .flat_map(|i| {
            [
                (i % 255) as u8,
                90,
                160,
                if i % width < 100 { 0 } else { 255 },
            ]
        })
        .collect();
    let png_path = dirs[0].path().join("drawing.png");
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, width, height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&rgba).unwrap();
        writer.finish().unwrap();
    }
    std::fs::write(&png_path, &png_bytes).unwrap();
    let out = hearth_async(
        dirs[0].path(),
        &[
            "share",
            "--photo",
            png_path.to_str().unwrap(),
            "--text",
            "a drawing",
            "--wait",
            "20",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout(&out).contains("delivered to all 1 (Gran)"),
        "{}",
        text(&out)
    );
    let received = Inbox::new(dirs[1].path()).list().unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].share.body.kind, ShareKind::Photo);
    let jpeg = std::fs::read(received[0].jpeg_path.as_ref().unwrap()).unwrap();
    let size = check_jpeg(&jpeg).expect("Gran got a JPEG that decodes");
    assert_eq!((size.width, size.height), (2048, 236));
    assert!(jpeg.len() <= MAX_PHOTO_BYTES);

    // A JPEG cut short: refused by the command, with a sentence, never sent.
    let whole = support::photo::small_jpeg(320, 240);
    let cut_path = dirs[0].path().join("cut.jpg");
    std::fs::write(&cut_path, &whole[..whole.len() * 2 / 3]).unwrap();
    let out = hearth_async(
        dirs[0].path(),
        &["share", "--photo", cut_path.to_str().unwrap()],
    )
    .await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("cut.jpg cannot be shared")
            && text(&out).contains("the photo cannot be decoded"),
        "{}",
        text(&out)
    );
    // Nor through the control socket by another client.
    let err = kitchen
        .share(ShareRequest {
            kind: ShareKind::Photo,
            text: String::new(),
            photo: Some(hearth::keys::b64(&whole[..whole.len() - 100])),
            to: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "undecodable", "{err}");
    assert!(kitchen.status().outbox.is_empty(), "nothing queued");
    assert_eq!(Inbox::new(dirs[1].path()).list().unwrap().len(), 1);
    for device in [&kitchen, &gran] {
        device.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_press_the_device_refuses_exits_non_zero_with_its_sentence() {
    init_logs();
    let relay = TestRelay::start().await;
    let (dir, gran_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (kitchen, _) = start_with_panel(dir.path(), &relay.url(), "Kitchen").await;

    // Nobody may receive a snapshot yet.
    let out = hearth_async(dir.path(), &["press", "snapshot"]).await;
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains("refused `snapshot`") && stderr.contains("contacts allow NAME snapshots"),
        "{}",
        text(&out)
    );
    // No pairing request waits for YES.
    let out = hearth_async(dir.path(), &["press", "yes"]).await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("no pairing request is waiting"),
        "{}",
        text(&out)
    );

    // Gran may receive snapshots, but privacy is on: the camera is off.
    let gran = start_viewer(gran_dir.path(), &relay.url(), "Gran");
    befriend(&kitchen.node, &gran, &[Permission::Snapshots]).await;
    let out = hearth_async(dir.path(), &["press", "privacy"]).await;
    assert!(
        out.status.success(),
        "a press carried out succeeds: {}",
        text(&out)
    );
    assert!(kitchen.status().private);
    let out = hearth_async(dir.path(), &["press", "snapshot"]).await;
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains("refused `snapshot`") && stderr.contains("privacy is on"),
        "{}",
        text(&out)
    );
    assert!(kitchen.status().outbox.is_empty(), "nothing queued");
    kitchen.stop().await;
}
