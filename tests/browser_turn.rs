//! "Hide my address" in headless Chromium: a device whose embedded relay hands
//! out a real coturn (`[relay.ice]`) and which uses relay candidates only
//! (`[webrtc] relay_only`); the family member ticks "Hide my address" on the
//! page, and the picture then comes over a relay ↔ relay path through coturn.

mod support;

use hearth::contacts::Permission;
use hearth::device::{Device, DeviceOptions};
use serde_json::Value;
use std::time::Duration;
use support::chromium::Chromium;
use support::coturn::Coturn;
use support::harness::*;
use support::viewer::{approve, ask_to_watch, link};

/// The page's connection: frames decoded, and the candidate types of the selected pair.
const PATH: &str = "(async () => {
    const c = window.hearthViewer && window.hearthViewer.connection;
    if (!c || c.state !== 'connected') return null;
    const stats = await c.getStats();
    let frames = 0, pairId = null;
    stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded || 0;
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = pairId && stats.get(pairId);
    const local = pair && stats.get(pair.localCandidateId);
    const remote = pair && stats.get(pair.remoteCandidateId);
    return {
        frames,
        local: local ? local.candidateType : null,
        remote: remote ? remote.candidateType : null,
        relayOnly: c.options.relayOnly,
    };
})()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hide_my_address_on_the_page_and_relay_only_on_the_device_go_through_coturn() {
    init_logs();
    let coturn = Coturn::start("page-secret").await;
    let mut config = device_config("");
    config.relay.urls = vec![];
    config.relay.embedded = true;
    config.relay.ice = coturn.ice_config();
    config.webrtc.relay_only = true;
    config.webrtc.udp_addresses = vec!["127.0.0.1".into()];
    let device_dir = tempfile::tempdir().unwrap();
    let device = Device::start(DeviceOptions {
        config,
        data_dir: device_dir.path().to_path_buf(),
        rtc: None,
        media: None,
    })
    .await
    .expect("device starts");
    wait_relay(&device.node).await;
    wait_until(
        "TURN credentials from the embedded relay",
        Duration::from_secs(10),
        || !device.node.relay_ice().current().is_empty(),
    )
    .await;

    let browser = Chromium::launch().await;
    let page = browser.new_page(900, 820).await;
    page.goto(&link(&device)).await;
    ask_to_watch(&page, device_dir.path(), "Gran").await;
    approve(device_dir.path(), "Gran", &[Permission::LiveVideo]);

    // The device hides its address: even before Gran ticks the box, its side is relayed.
    let first = page
        .poll("live video", PATH, Duration::from_secs(60), |v| {
            v["frames"].as_u64().unwrap_or(0) >= 10
        })
        .await;
    assert_eq!(
        first["remote"], "relay",
        "the device offers relay candidates only: {first}"
    );
    assert_eq!(first["relayOnly"], false);

    // Gran ticks "Hide my address": the page calls again with relay candidates only.
    page.eval("document.getElementById('hide-address').click(); true")
        .await;
    let hidden: Value = page
        .poll(
            "live video over relay candidates only",
            PATH,
            Duration::from_secs(60),
            |v| v["relayOnly"] == true && v["frames"].as_u64().unwrap_or(0) >= 10,
        )
        .await;
    assert_eq!(hidden["local"], "relay", "{hidden}");
    assert_eq!(hidden["remote"], "relay", "{hidden}");
    let kept = page.eval("localStorage.getItem('hearth.relayOnly')").await;
    assert_eq!(kept, "true", "the choice is kept for the next visit");
    device.stop().await;
}
