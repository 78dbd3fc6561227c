//! Encode once, fan out: several viewers are fed by one encoder.

mod support;

use hearth::api::PeerConnection;
use hearth::contacts::Permission;
use std::time::Duration;
use support::harness::*;
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_encode_feeds_every_viewer() {
    init_logs();
    let relay = TestRelay::start().await;
    let device_dir = tempfile::tempdir().unwrap();
    let device = start_device(device_dir.path(), &relay.url()).await;
    wait_relay(&device.node).await;
    let mut dirs = vec![];
    let mut streams = vec![];
    for name in ["Gran", "Grandpa", "Aunt"] {
        let dir = tempfile::tempdir().unwrap();
        let viewer = start_viewer(dir.path(), &relay.url(), name);
        befriend(&device.node, &viewer, &[Permission::LiveVideo]).await;
        wait_relay(&viewer).await;
        let connection =
            PeerConnection::with_settings(&viewer, device.node.peer_key(), fast_settings());
        let stream = connection.fetch_stream().await.unwrap();
        streams.push((connection, stream));
        dirs.push((dir, viewer));
    }
    wait_until("three watchers", Duration::from_secs(5), || {
        device.watchers().len() == 3
    })
    .await;
    let video = device.media.video().unwrap().clone();
    let encoded_before = video.frames_encoded();
    let mut tasks = vec![];
    for (_, mut stream) in streams.drain(..) {
        tasks.push(tokio::spawn(async move {
            for _ in 0..60 {
                timeout(Duration::from_secs(10), stream.next_video_frame())
                    .await
                    .unwrap()
                    .unwrap();
            }
            stream
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let encoded = video.frames_encoded() - encoded_before;
    // Three viewers took 60 frames each; one encoder made them, so it encoded
    // about 60 frames, not 180.
    assert!(encoded >= 55, "encoded {encoded}");
    assert!(
        encoded < 120,
        "encoded {encoded} frames for 3 viewers of 60 frames: not shared"
    );
}
