//! A contact's camera on the device (issue #16, work in progress): a Rust
//! caller sends the test pattern with its call, and the device's simulated
//! picture output (PNG frames under `<data>/picture/`) shows it, only if the
//! contact holds `show_on_device`; one without it is told why and nothing is
//! shown.

mod support;

use hearth::api::{LocalMedia, PeerConnection, VideoStream};
use hearth::contacts::Permission;
use hearth::media::{H264Config, OpenH264Encoder, TestPatternCamera, VideoPipeline};
use std::time::Duration;
use support::harness::*;

/// A caller's camera: the test pattern at 320×240.
fn camera() -> LocalMedia {
    let camera = TestPatternCamera::new(320, 240, 30).unwrap();
    let encoder = OpenH264Encoder::new(H264Config::new(320, 240, 30)).unwrap();
    LocalMedia::new(
        Some(VideoPipeline::start(Box::new(camera), Box::new(encoder)).unwrap()),
        None,
    )
}

/// Calls the household's device from its viewer, sending [`camera`]; returns
/// once answered, with the camera (kept alive by the caller).
async fn call_with_camera(home: &Household) -> (PeerConnection, LocalMedia) {
    let media = camera();
    let connection =
        PeerConnection::with_settings(&home.viewer, home.device.node.peer_key(), fast_settings());
    connection
        .add_stream(&VideoStream::open(&media).await.unwrap())
        .unwrap();
    connection.connect().await.expect("the call is answered");
    (connection, media)
}

/// The PNG frames the device has shown.
fn frames_shown(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("picture"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("frame-"))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_allowed_on_the_screen_is_shown() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::ShowOnDevice])).await;
    let (connection, _media) = call_with_camera(&home).await;
    let dir = home.device_dir.path();
    wait_until("30 frames of Gran shown", Duration::from_secs(20), || {
        frames_shown(dir) >= 30
    })
    .await;
    connection.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_without_the_permission_is_not_shown() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Tom", Some(&[Permission::LiveVideo])).await;
    let (connection, _media) = call_with_camera(&home).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(frames_shown(home.device_dir.path()), 0);
    connection.close().await;
}
