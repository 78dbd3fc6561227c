//! Loopback candidates go only to peers on this machine. A device with the
//! default addresses answers a player that offers no loopback candidate (a
//! peer elsewhere, as far as the device can tell) without one, and still
//! plays to it; a player that offers loopback (on this machine) gets
//! loopback back. Before, every answer carried 127.0.0.1, and the device's
//! loopback socket failed one check after another against remote addresses.

mod support;

use hearth::api::RtcSettings;
use hearth::contacts::Permission;
use hearth::device::{Device, DeviceOptions};
use hearth::media::H264Decoder;
use hearth::peer::loopback::sdp_offers_loopback;
use hearth::peer::{HearthPeer, PeerOptions};
use std::net::SocketAddr;
use std::time::Duration;
use support::harness::*;
use support::http::post_whep;
use tokio::time::timeout;

/// Plays `token` with `player`; returns the device's answer once frames decode.
async fn play(device: &Device, token: &str, player: &HearthPeer) -> String {
    let offer = player.create_offer().await.unwrap();
    let created = post_whep(device.http_addr.unwrap(), token, &offer).await;
    assert_eq!(created.status, 201, "{}", created.body);
    player.accept_answer(&created.body).await.unwrap();
    let mut frames = player.take_remote_video().unwrap();
    let mut decoder = H264Decoder::new().unwrap();
    let mut decoded = 0;
    while decoded < 5 {
        let frame = timeout(Duration::from_secs(20), frames.recv())
            .await
            .expect("video comes")
            .expect("video open");
        if let Ok(Some(_)) = decoder.decode(&frame.data) {
            decoded += 1;
        }
    }
    created.body
}

fn player_options(bind: &str) -> PeerOptions {
    PeerOptions {
        data_channel: false,
        bind_addrs: vec![bind.parse::<SocketAddr>().unwrap()],
        ..PeerOptions::viewer()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_candidates_go_only_to_peers_on_this_machine() {
    init_logs();
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let device = Device::start(DeviceOptions {
        config: device_config(&relay.url()),
        data_dir: dir.path().to_path_buf(),
        rtc: Some(RtcSettings {
            answer_timeout: Duration::from_secs(5),
            ..RtcSettings::default()
        }),
        media: None,
    })
    .await
    .expect("device starts");
    let token = add_token(&device, "TV", &[Permission::LiveVideo]).await;

    // A player elsewhere, as far as the device can tell: no loopback offered.
    let (remote, _events) = HearthPeer::new(player_options("0.0.0.0:0")).await.unwrap();
    let answer = play(&device, &token, &remote).await;
    assert!(
        !sdp_offers_loopback(&answer),
        "a loopback candidate offered to a peer elsewhere:\n{answer}"
    );
    remote.close().await.unwrap();

    // A player on this machine offering loopback gets loopback.
    let (local, _events) = HearthPeer::new(player_options("127.0.0.1:0"))
        .await
        .unwrap();
    let answer = play(&device, &token, &local).await;
    assert!(
        sdp_offers_loopback(&answer),
        "no loopback for a local peer:\n{answer}"
    );
    local.close().await.unwrap();
    device.stop().await;
    relay.stop().await;
}
