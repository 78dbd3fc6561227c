//! Session-level behaviour over real loopback connections: DTLS fingerprint binding,
//! remote close detection, trickle ICE, role errors, and connect-time measurements.

mod support;

use hearth::peer::{
    fingerprints_match, sdp_fingerprint, IceMode, PeerError, PeerEvent, PeerOptions, PeerState,
};
use std::time::{Duration, Instant};
use support::peer::{data_only, median, negotiate, wait_for, STEP};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_certificate_matches_the_sdp_fingerprint() {
    let (v, d) = data_only(IceMode::default(), true);
    let mut pair = negotiate(v, d).await;
    for side in [&mut pair.viewer, &mut pair.device] {
        wait_for(&mut side.events, STEP, "Connected", |e| {
            *e == PeerEvent::Connected
        })
        .await;
    }
    let offer_fp = sdp_fingerprint(&pair.offer).expect("offer has a fingerprint");
    let answer_fp = sdp_fingerprint(&pair.answer).expect("answer has a fingerprint");
    assert_ne!(offer_fp, answer_fp, "each side has its own certificate");

    // The viewer must see the certificate announced in the (signed) answer, and vice versa.
    let seen_by_viewer = pair
        .viewer
        .peer
        .remote_certificate_fingerprint()
        .await
        .unwrap();
    let seen_by_device = pair
        .device
        .peer
        .remote_certificate_fingerprint()
        .await
        .unwrap();
    assert_eq!(seen_by_viewer, answer_fp);
    assert_eq!(seen_by_device, offer_fp);
    assert!(fingerprints_match(
        &seen_by_viewer,
        &answer_fp.to_ascii_lowercase()
    ));
    pair.viewer
        .peer
        .verify_remote_fingerprint(&answer_fp)
        .await
        .unwrap();
    pair.device
        .peer
        .verify_remote_fingerprint(&offer_fp)
        .await
        .unwrap();

    // A mismatched expectation (e.g. an SDP swapped by the relay) is detected.
    match pair.viewer.peer.verify_remote_fingerprint(&offer_fp).await {
        Err(PeerError::FingerprintMismatch { expected, actual }) => {
            assert_eq!(expected, offer_fp);
            assert_eq!(actual, answer_fp);
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert!(matches!(
        pair.viewer
            .peer
            .verify_remote_fingerprint("not a fingerprint")
            .await,
        Err(PeerError::FingerprintMismatch { .. })
    ));
    pair.viewer.peer.close().await.unwrap();
    pair.device.peer.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fingerprint_works_without_a_data_channel() {
    let viewer = PeerOptions {
        data_channel: false,
        recv_audio: false,
        ..PeerOptions::viewer()
    };
    let device = PeerOptions {
        data_channel: false,
        send_audio: false,
        ..PeerOptions::device()
    };
    let mut pair = negotiate(viewer, device).await;
    wait_for(&mut pair.viewer.events, STEP, "Connected", |e| {
        *e == PeerEvent::Connected
    })
    .await;
    assert!(!pair.offer.contains("m=application"));
    let fp = pair.viewer.peer.remote_certificate_fingerprint().await;
    assert_eq!(fp, sdp_fingerprint(&pair.answer));
    assert!(matches!(
        pair.viewer.peer.send_text("x").await,
        Err(PeerError::NoDataChannel)
    ));
    pair.viewer.peer.close().await.unwrap();
    pair.device.peer.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_one_side_is_noticed_by_the_other() {
    let (v, d) = data_only(IceMode::default(), true);
    let mut pair = negotiate(v, d).await;
    pair.device.wait_open("device").await;
    pair.viewer.wait_open("viewer").await;

    let closed_at = Instant::now();
    pair.viewer.peer.close().await.unwrap();
    assert_eq!(pair.viewer.peer.state(), PeerState::Closed);
    wait_for(&mut pair.viewer.events, STEP, "viewer Closed", |e| {
        *e == PeerEvent::Closed
    })
    .await;

    // The device learns it from the data channel closing (SCTP), long before ICE consent
    // would expire.
    let (at, event) = wait_for(&mut pair.device.events, STEP, "device notices", |e| {
        matches!(
            e,
            PeerEvent::DataChannelClosed
                | PeerEvent::Disconnected
                | PeerEvent::Failed
                | PeerEvent::Closed
        )
    })
    .await;
    println!(
        "device noticed the close via {event:?} after {:?}",
        at - closed_at
    );
    assert!(at - closed_at < Duration::from_secs(8));
    pair.device.peer.close().await.unwrap();
    pair.device.peer.close().await.unwrap(); // idempotent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickle_mode_connects() {
    let (v, d) = data_only(IceMode::Trickle, true);
    let mut pair = negotiate(v, d).await;
    assert!(
        !pair.offer.contains("a=candidate"),
        "trickle SDP carries no candidates"
    );
    pair.viewer.wait_open("viewer").await;
    pair.viewer.peer.close().await.unwrap();
    pair.device.peer.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_role_and_bad_input_are_rejected() {
    let (v, d) = data_only(IceMode::default(), false);
    let pair = negotiate(v, d).await;
    assert!(matches!(
        pair.device.peer.create_offer().await,
        Err(PeerError::WrongRole(_))
    ));
    assert!(matches!(
        pair.viewer.peer.accept_offer(&pair.offer).await,
        Err(PeerError::WrongRole(_))
    ));
    assert!(matches!(
        pair.viewer
            .peer
            .add_remote_candidate_json("{not json")
            .await,
        Err(PeerError::InvalidCandidate(_))
    ));
    pair.viewer.peer.close().await.unwrap();
    assert!(matches!(
        pair.viewer.peer.create_offer().await,
        Err(PeerError::Closed)
    ));
    pair.device.peer.close().await.unwrap();
}

/// Prints (does not assert) offer→Connected and offer→DataChannelOpen times for each mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_times() {
    const RUNS: usize = 5;
    for (name, mode, fast) in [
        ("gathered, fast start", IceMode::default(), true),
        ("gathered, no fast start", IceMode::default(), false),
        ("trickle,  fast start", IceMode::Trickle, true),
        ("trickle,  no fast start", IceMode::Trickle, false),
    ] {
        let mut connected = Vec::new();
        let mut open = Vec::new();
        for _ in 0..RUNS {
            let (v, d) = data_only(mode, fast);
            let mut pair = negotiate(v, d).await;
            let (c, _) = wait_for(&mut pair.viewer.events, STEP, "Connected", |e| {
                *e == PeerEvent::Connected
            })
            .await;
            let (o, _) = wait_for(&mut pair.viewer.events, STEP, "DataChannelOpen", |e| {
                *e == PeerEvent::DataChannelOpen
            })
            .await;
            connected.push(c - pair.started);
            open.push(o - pair.started);
            // Fast start switches itself off once connected with the channel open.
            pair.device.wait_open("device").await;
            assert!(!pair.viewer.peer.fast_start_active());
            assert!(!pair.device.peer.fast_start_active());
            pair.viewer.peer.close().await.unwrap();
            pair.device.peer.close().await.unwrap();
        }
        println!(
            "{name}: offer->Connected median {:?}, offer->DataChannelOpen median {:?} ({RUNS} runs)",
            median(connected),
            median(open)
        );
    }
}
