//! Always on: when the relay goes away and comes back, running sessions keep
//! their media (it flows peer to peer) and new sessions work again, without
//! restarting the device.

mod support;

use hearth::contacts::Permission;
use std::time::Duration;
use support::harness::*;
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_comes_back_after_the_relay_restarts() {
    init_logs();
    let relay = TestRelay::start().await;
    let addr = relay.addr;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::LiveVideo])).await;
    let (device, viewer) = (&home.device, &home.viewer);
    let first = home.call();
    let mut first_stream = first.fetch_stream().await.unwrap();
    timeout(Duration::from_secs(5), first_stream.next_video_frame())
        .await
        .unwrap()
        .unwrap();

    relay.stop().await;
    wait_until(
        "device notices the relay is gone",
        Duration::from_secs(20),
        || !device.node.relay_connected(),
    )
    .await;
    // The running session does not need the relay.
    for _ in 0..30 {
        timeout(Duration::from_secs(5), first_stream.next_video_frame())
            .await
            .expect("media keeps flowing while the relay is down")
            .unwrap();
    }

    let relay = TestRelay::start_at(addr).await;
    wait_relay(&device.node).await;
    wait_relay(viewer).await;
    let second = home.call();
    let mut second_stream = second
        .fetch_stream()
        .await
        .expect("a new session after the restart");
    timeout(Duration::from_secs(5), second_stream.next_video_frame())
        .await
        .unwrap()
        .unwrap();
    assert!(!first.is_closed(), "the first session survived the outage");
    relay.stop().await;
}
