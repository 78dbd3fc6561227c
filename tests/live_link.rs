//! The live link end to end: a simulated device and viewer nodes over a real
//! relay and real WebRTC on loopback. Media is decoded with openh264 and Opus.

mod support;

use hearth::api::{PeerConnection, RtcError};
use hearth::contacts::{ContactBook, Permission};
use hearth::media::{read_frame_number, H264Decoder, OpusDecoder};
use serde_json::{json, Value};
use std::time::Duration;
use support::harness::*;
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_contact_gets_live_video_audio_and_data() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(
        &relay.url(),
        "Gran",
        Some(&[Permission::LiveVideo, Permission::LiveAudio]),
    )
    .await;
    let device = &home.device;
    let connection = home.call();
    let mut remote = connection.fetch_stream().await.expect("stream granted");
    assert!(remote.has_video() && remote.has_audio());
    let mut audio = remote.take_audio().unwrap();
    let audio_check = tokio::spawn(async move {
        let mut decoder = OpusDecoder::new().unwrap();
        let (mut packets, mut energy) = (0, 0i64);
        while packets < 25 {
            let Some(packet) = audio.recv().await else {
                break;
            };
            let pcm = decoder.decode(&packet.data).expect("valid Opus");
            energy += pcm.iter().map(|s| (*s as i64).abs()).sum::<i64>();
            packets += 1;
        }
        (packets, energy)
    });

    let mut decoder = H264Decoder::new().unwrap();
    let (mut received, mut decoded, mut numbers) = (0, 0, Vec::new());
    while received < 90 {
        let frame = timeout(Duration::from_secs(10), remote.next_video_frame())
            .await
            .expect("video keeps coming")
            .expect("video track open");
        received += 1;
        if let Ok(Some(picture)) = decoder.decode(&frame.data) {
            decoded += 1;
            numbers.extend(read_frame_number(&picture));
        }
    }
    assert!(decoded >= 81, "only {decoded} of 90 frames decoded");
    assert!(
        numbers.len() >= 81,
        "frame numbers readable in {} frames",
        numbers.len()
    );
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "frames arrive in capture order"
    );
    wait_until("Gran watching", Duration::from_secs(5), || {
        !device.watchers().is_empty()
    })
    .await;
    assert_eq!(device.watchers(), vec!["Gran".to_string()]);

    connection.send("Hello World!").await.unwrap();
    connection
        .send_json(&json!({ "type": "ping", "id": 7 }))
        .await
        .unwrap();
    let reply = timeout(Duration::from_secs(5), connection.recv())
        .await
        .expect("reply in time")
        .expect("session open");
    let reply: Value = reply.json().unwrap();
    assert_eq!(reply, json!({ "type": "pong", "id": 7 }));

    let (packets, energy) = timeout(Duration::from_secs(10), audio_check)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(packets, 25, "Opus packets arrive");
    assert!(energy > 0, "the tone is audible after decoding");
    connection.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_and_contacts_without_permission_get_no_media() {
    init_logs();
    let relay = TestRelay::start().await;
    let device_dir = tempfile::tempdir().unwrap();
    let device = start_device(device_dir.path(), &relay.url()).await;
    wait_relay(&device.node).await;

    // A stranger: it knows the device's code, the device does not know it.
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger = start_viewer(stranger_dir.path(), &relay.url(), "Stranger");
    let device_code = device.node.contact_code();
    approve_contact(&stranger, &device_code, &[]).await;
    wait_relay(&stranger).await;
    let attempt = PeerConnection::with_settings(&stranger, device.node.peer_key(), fast_settings())
        .fetch_stream()
        .await;
    assert!(
        matches!(
            attempt,
            Err(RtcError::Refused {
                code: hearth::api::EndCode::NotApproved,
                ..
            })
        ),
        "stranger: {:?}",
        attempt.err()
    );

    // An approved contact with no live permission: session, but no media.
    let cousin_dir = tempfile::tempdir().unwrap();
    let cousin = start_viewer(cousin_dir.path(), &relay.url(), "Cousin");
    befriend(&device.node, &cousin, &[Permission::Snapshots]).await;
    wait_relay(&cousin).await;
    let attempt = PeerConnection::with_settings(&cousin, device.node.peer_key(), fast_settings())
        .fetch_stream()
        .await;
    match attempt {
        Err(RtcError::NotAllowed(denied)) => {
            assert!(
                denied.contains("live_video") && denied.contains("live_audio"),
                "{denied}"
            )
        }
        other => panic!("expected NotAllowed, got {:?}", other.err()),
    }
    assert!(device.watchers().is_empty());

    // Audio only: video is denied, audio flows.
    let aunt_dir = tempfile::tempdir().unwrap();
    let aunt = start_viewer(aunt_dir.path(), &relay.url(), "Aunt");
    befriend(&device.node, &aunt, &[Permission::LiveAudio]).await;
    wait_relay(&aunt).await;
    let connection = PeerConnection::with_settings(&aunt, device.node.peer_key(), fast_settings());
    let mut remote = connection.fetch_stream().await.unwrap();
    assert!(!remote.has_video() && remote.has_audio());
    assert_eq!(
        connection.granted().unwrap().denied,
        vec!["live_video".to_string()]
    );
    assert!(timeout(Duration::from_secs(5), remote.next_audio_packet())
        .await
        .unwrap()
        .is_some());
    connection.close().await;

    // A revoked contact, removed with the CLI's file edit while the device runs.
    let exfriend_dir = tempfile::tempdir().unwrap();
    let exfriend = start_viewer(exfriend_dir.path(), &relay.url(), "Ex");
    befriend(&device.node, &exfriend, &[Permission::LiveVideo]).await;
    let key = exfriend.peer_key().to_string();
    let mut book = ContactBook::load(device_dir.path()).unwrap();
    book.remove(&key).unwrap();
    book.save(device_dir.path()).unwrap();
    wait_until("device reloads contacts", Duration::from_secs(5), || {
        device
            .node
            .contacts()
            .with(|b| b.get(&exfriend.peer_key()).is_none())
    })
    .await;
    wait_relay(&exfriend).await;
    let attempt = PeerConnection::with_settings(&exfriend, device.node.peer_key(), fast_settings())
        .fetch_stream()
        .await;
    assert!(
        matches!(
            attempt,
            Err(RtcError::Refused {
                code: hearth::api::EndCode::NotApproved,
                ..
            })
        ),
        "revoked: {:?}",
        attempt.err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_contact_ends_its_session_at_once() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::LiveVideo])).await;
    let (device, device_dir) = (&home.device, &home.device_dir);
    let connection = home.call();
    let mut remote = connection.fetch_stream().await.unwrap();
    timeout(Duration::from_secs(5), remote.next_video_frame())
        .await
        .unwrap()
        .unwrap();

    // The owner withdraws live_video, as `hearth contacts deny Gran live_video` does.
    let mut book = ContactBook::load(device_dir.path()).unwrap();
    book.find_mut("Gran").unwrap().permissions.live_video = false;
    book.save(device_dir.path()).unwrap();

    let reason = timeout(Duration::from_secs(5), connection.closed())
        .await
        .expect("session ends within 5 s of the revocation");
    assert!(reason.contains("withdrawn"), "{reason}");
    wait_until("no watchers", Duration::from_secs(5), || {
        device.watchers().is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_envelopes_get_logged_and_the_device_keeps_serving() {
    init_logs();
    let relay = TestRelay::start().await;
    let (device_dir, viewer_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let device = start_device(device_dir.path(), &relay.url()).await;
    let mut refused = device.node.events();
    wait_relay(&device.node).await;

    let attacker = hearth::identity::Identity::generate();
    let (client, _events) =
        hearth::relay::RelayClient::spawn(relay.url(), attacker.signing_key().clone());
    let device_key = device.node.peer_key();
    let to = hearth::envelope::Recipient {
        key: device.node.peer_key(),
        seal_key: device.node.contact_code().seal_key,
    };
    let sealed_nonsense = hearth::envelope::seal(
        &attacker,
        &to,
        &json!({ "type": "format_disk" }),
        hearth::envelope::unix_ms_now(),
    );
    let mut sent = 0;
    for garbage in [vec![], vec![0xff; 7], vec![1; 500], sealed_nonsense] {
        for _ in 0..50 {
            if client.send(device_key, garbage.clone()).await.is_ok() {
                sent += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(sent, 4, "all garbage delivered");
    let mut refusals = 0;
    while refusals < 4 {
        let event = timeout(Duration::from_secs(5), refused.recv())
            .await
            .unwrap()
            .unwrap();
        if matches!(event, hearth::node::NodeEvent::EnvelopeRefused { .. }) {
            refusals += 1;
        }
    }

    let viewer = start_viewer(viewer_dir.path(), &relay.url(), "Gran");
    befriend(&device.node, &viewer, &[Permission::LiveVideo]).await;
    wait_relay(&viewer).await;
    let connection =
        PeerConnection::with_settings(&viewer, device.node.peer_key(), fast_settings());
    let mut remote = connection.fetch_stream().await.expect("still serving");
    assert!(timeout(Duration::from_secs(5), remote.next_video_frame())
        .await
        .unwrap()
        .is_some());
}
