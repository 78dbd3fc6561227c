//! The privacy switch: a watcher's frames stop when it is turned on, it stays
//! on across a restart, the control socket (what `hearth privacy` uses) turns
//! it off again, and frames come back.

mod support;

use hearth::api::RemoteStream;
use hearth::contacts::Permission;
use hearth::device::socket::{request, Request, Response};
use hearth::privacy::PrivacyInput;
use std::time::Duration;
use support::harness::*;

/// Waits for frames in flight to drain, then whether any frame arrives within `quiet`.
async fn frames_after_settling(remote: &mut RemoteStream, quiet: Duration) -> bool {
    for _ in 0..50 {
        if tokio::time::timeout(Duration::from_millis(500), remote.next_video_frame())
            .await
            .is_err()
        {
            break;
        }
    }
    matches!(
        tokio::time::timeout(quiet, remote.next_video_frame()).await,
        Ok(Some(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn privacy_stops_frames_and_survives_a_restart() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::LiveVideo])).await;
    let call = home.call();
    let mut remote = call.fetch_stream().await.expect("video flows");
    remote.next_video_frame().await.expect("a first frame");

    let changes = home.device.privacy_changes();
    assert!(home.device.privacy(PrivacyInput::Press).unwrap());
    assert!(*changes.borrow(), "the LED and screen hook sees it");
    assert!(home.device.status().private);
    assert!(
        !frames_after_settling(&mut remote, Duration::from_secs(2)).await,
        "frames kept coming with privacy on"
    );
    call.close().await;

    // Restart on the same data directory: still private.
    home.device.stop().await;
    let dir = home.device_dir.path().to_path_buf();
    drop(home.device);
    let device = start_device(&dir, &relay.url()).await;
    assert!(device.status().private, "privacy survives a restart");
    assert!(device.media.is_private());

    // `hearth privacy off` goes through the control socket.
    let answer = request(&dir, &Request::Privacy { on: Some(false) })
        .await
        .unwrap();
    assert!(
        matches!(answer, Response::Privacy { on: false }),
        "{answer:?}"
    );
    wait_relay(&device.node).await;
    let call = hearth::api::PeerConnection::with_settings(
        &home.viewer,
        device.node.peer_key(),
        fast_settings(),
    );
    let mut remote = call.fetch_stream().await.expect("video flows again");
    remote.next_video_frame().await.expect("frames are back");
    call.close().await;
    device.stop().await;
}
