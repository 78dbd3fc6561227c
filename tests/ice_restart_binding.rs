//! An ICE restart is bound like the session's first offer (issue #12 item 4):
//! it travels in the session's sealed envelopes, so only the contact that
//! opened the session can restart it, and it may change the path but never
//! the DTLS certificate. Here the caller is driven by hand (a `Node` and a
//! `HearthPeer`), so the test can send what a real caller never would.

mod support;

use hearth::contacts::Permission;
use hearth::peer::{sdp_fingerprint, HearthPeer, PeerOptions, PeerState};
use hearth::signal::{EndCode, Signal};
use std::time::Duration;
use support::harness::*;
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

/// Gran's session with the device, made by hand: her peer, the session id,
/// its signals, and the fingerprint of the device's answer.
struct Call {
    peer: HearthPeer,
    id: String,
    signals: Receiver<Signal>,
    answer_fingerprint: String,
}

async fn call(home: &Household) -> Call {
    let device = home.device.node.peer_key();
    let (peer, _events) = HearthPeer::new(PeerOptions::viewer().loopback_only())
        .await
        .unwrap();
    let id = hearth::signal::new_session_id();
    let mut signals = home.viewer.open_session(device, id.clone());
    let to = home.viewer.recipient(&device).unwrap();
    let offer = Signal::Offer {
        session: id.clone(),
        sdp: peer.create_offer().await.unwrap(),
        want_video: true,
        want_audio: false,
    };
    home.viewer.send_to(&to, &offer).await.unwrap();
    let answer = loop {
        match timeout(Duration::from_secs(10), signals.recv())
            .await
            .unwrap()
        {
            Some(Signal::Answer { sdp, .. }) => break sdp,
            Some(_) => continue,
            None => panic!("signalling stopped"),
        }
    };
    peer.accept_answer(&answer).await.unwrap();
    peer.wait_connected(Duration::from_secs(10)).await.unwrap();
    Call {
        peer,
        id,
        signals,
        answer_fingerprint: sdp_fingerprint(&answer).unwrap(),
    }
}

/// The next signal within `limit`, if any.
async fn next(signals: &mut Receiver<Signal>, limit: Duration) -> Option<Signal> {
    timeout(limit, signals.recv()).await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_from_the_caller_is_answered_with_the_same_certificate() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::LiveVideo])).await;
    let mut gran = call(&home).await;
    let to = home.viewer.recipient(&home.device.node.peer_key()).unwrap();

    let restart = Signal::RestartOffer {
        session: gran.id.clone(),
        sdp: gran.peer.restart_offer().await.unwrap(),
    };
    home.viewer.send_to(&to, &restart).await.unwrap();
    let answer = match next(&mut gran.signals, Duration::from_secs(10)).await {
        Some(Signal::RestartAnswer { sdp, .. }) => sdp,
        other => panic!("expected a restart answer, got {other:?}"),
    };
    assert_eq!(
        sdp_fingerprint(&answer).as_deref(),
        Some(gran.answer_fingerprint.as_str()),
        "the same DTLS certificate after the restart"
    );
    gran.peer.accept_answer(&answer).await.unwrap();
    gran.peer
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(gran.peer.state(), PeerState::Connected);
    assert_eq!(home.device.watchers(), vec!["Gran".to_string()]);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_another_certificate_ends_the_session() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::LiveVideo])).await;
    let mut gran = call(&home).await;
    let to = home.viewer.recipient(&home.device.node.peer_key()).unwrap();

    // An offer from another peer: the same ICE restart shape, another DTLS certificate.
    let (other, _events) = HearthPeer::new(PeerOptions::viewer().loopback_only())
        .await
        .unwrap();
    let restart = Signal::RestartOffer {
        session: gran.id.clone(),
        sdp: other.create_offer().await.unwrap(),
    };
    home.viewer.send_to(&to, &restart).await.unwrap();
    match next(&mut gran.signals, Duration::from_secs(10)).await {
        Some(Signal::Bye { code, reason, .. }) => {
            assert_eq!(code, Some(EndCode::Failed));
            assert!(
                reason.as_deref().unwrap_or("").contains("fingerprint"),
                "says why: {reason:?}"
            );
        }
        other => panic!("expected the session to end, got {other:?}"),
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_contact_cannot_restart_someone_elses_session() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::LiveVideo])).await;
    let mut gran = call(&home).await;
    // Mallory is an approved contact too, and knows the session id.
    let mallory_dir = tempfile::tempdir().unwrap();
    let mallory = start_viewer(mallory_dir.path(), &relay.url(), "Mallory");
    befriend(&home.device.node, &mallory, &[Permission::LiveVideo]).await;
    wait_relay(&mallory).await;
    let device = home.device.node.peer_key();
    let mut mallory_signals = mallory.open_session(device, gran.id.clone());
    let (hers, _events) = HearthPeer::new(PeerOptions::viewer().loopback_only())
        .await
        .unwrap();
    for restart in [
        Signal::RestartOffer {
            session: gran.id.clone(),
            sdp: hers.create_offer().await.unwrap(),
        },
        Signal::Bye {
            session: gran.id.clone(),
            reason: None,
            code: None,
        },
    ] {
        mallory
            .send_to(&mallory.recipient(&device).unwrap(), &restart)
            .await
            .unwrap();
    }
    assert_eq!(
        next(&mut mallory_signals, Duration::from_secs(2)).await,
        None,
        "no answer to Mallory"
    );
    assert_eq!(
        next(&mut gran.signals, Duration::from_millis(500)).await,
        None,
        "Gran's session goes on"
    );
    assert_eq!(gran.peer.state(), PeerState::Connected);
    assert_eq!(home.device.watchers(), vec!["Gran".to_string()]);
    relay.stop().await;
}
