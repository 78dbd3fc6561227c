//! A relay that alters, replays or re-addresses envelopes is caught: the
//! envelope is refused with the reason, and no session comes of it.

mod support;

use hearth::api::RtcError;
use hearth::contacts::Permission;
use hearth::envelope::EnvelopeError;
use hearth::node::NodeEvent;
use std::time::Duration;
use support::evil_relay::{self, Tamper};
use support::harness::*;
use tokio::sync::broadcast;
use tokio::time::timeout;

async fn next_refusal(events: &mut broadcast::Receiver<NodeEvent>) -> EnvelopeError {
    loop {
        match timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Ok(NodeEvent::EnvelopeRefused { error, .. })) => return error,
            Ok(Ok(_)) => continue,
            other => panic!("no refusal seen: {other:?}"),
        }
    }
}

async fn setup(url: &str) -> Household {
    Household::start(
        url,
        "Gran",
        Some(&[Permission::LiveVideo, Permission::LiveAudio]),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_envelope_is_refused_and_no_session_starts() {
    init_logs();
    let url = relay_url(evil_relay::start(Tamper::Alter).await);
    let s = setup(&url).await;
    let mut device_events = s.device.node.events();
    let attempt = s.call().fetch_stream().await;
    assert!(
        matches!(attempt, Err(RtcError::NoAnswer(_))),
        "{:?}",
        attempt.err()
    );
    assert_eq!(
        next_refusal(&mut device_events).await,
        EnvelopeError::Unsealable
    );
    assert!(s.device.watchers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_addressed_envelope_is_refused_by_the_wrong_recipient() {
    init_logs();
    let carol_dir = tempfile::tempdir().unwrap();
    let carol_identity = hearth::identity::Identity::load_or_create(carol_dir.path()).unwrap();
    let url = relay_url(evil_relay::start(Tamper::Readdress(carol_identity.peer_key())).await);
    let carol = start_viewer(carol_dir.path(), &url, "Carol");
    wait_relay(&carol).await;
    let mut carol_events = carol.events();
    let s = setup(&url).await;
    let attempt = s.call().fetch_stream().await;
    assert!(
        matches!(attempt, Err(RtcError::NoAnswer(_))),
        "{:?}",
        attempt.err()
    );
    assert_eq!(
        next_refusal(&mut carol_events).await,
        EnvelopeError::Unsealable
    );
    assert!(s.device.watchers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_envelope_is_refused_and_only_the_original_counts() {
    init_logs();
    let url = relay_url(evil_relay::start(Tamper::Replay).await);
    let s = setup(&url).await;
    let mut device_events = s.device.node.events();
    let connection = s.call();
    let mut remote = connection
        .fetch_stream()
        .await
        .expect("the original offer is answered");
    assert_eq!(
        next_refusal(&mut device_events).await,
        EnvelopeError::Replayed
    );
    assert!(timeout(Duration::from_secs(5), remote.next_video_frame())
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        s.device.watchers(),
        vec!["Gran".to_string()],
        "one session, not two"
    );
}
