//! Pairing: someone sends the device a request carrying their contact code;
//! the owner approves or refuses with `hearth contacts …`, and the requester
//! is told. A pending request gets nothing.

mod support;

use hearth::api::RtcError;
use hearth::contacts::{ContactBook, ContactStatus};
use hearth::node::{Node, NodeEvent};
use std::time::Duration;
use support::harness::*;
use tokio::sync::broadcast;
use tokio::time::timeout;

async fn wait_event(
    events: &mut broadcast::Receiver<NodeEvent>,
    what: &str,
    matches: impl Fn(&NodeEvent) -> bool,
) -> NodeEvent {
    loop {
        match timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Ok(event)) if matches(&event) => return event,
            Ok(Ok(_)) => continue,
            other => panic!("no {what}: {other:?}"),
        }
    }
}

async fn request(viewer: &Node, device: &hearth::device::Device) {
    viewer
        .request_pairing(&device.node.contact_code())
        .await
        .expect("request delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_approves_a_pairing_request_and_the_requester_is_told() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", None).await;
    let (device, viewer, device_dir) = (&home.device, &home.viewer, &home.device_dir);
    let mut device_events = device.node.events();
    let mut viewer_events = viewer.events();

    request(viewer, device).await;
    let event = wait_event(&mut device_events, "pairing request", |e| {
        matches!(e, NodeEvent::PairRequested { .. })
    })
    .await;
    assert_eq!(
        event,
        NodeEvent::PairRequested {
            key: viewer.peer_key(),
            name: "Gran".into()
        }
    );
    let book = ContactBook::load(device_dir.path()).unwrap();
    assert_eq!(book.find("Gran").unwrap().status, ContactStatus::Pending);

    // Pending: no session.
    let attempt = home.call().fetch_stream().await;
    assert!(
        matches!(
            attempt,
            Err(RtcError::Refused {
                code: hearth::api::EndCode::NotApproved,
                ..
            })
        ),
        "{:?}",
        attempt.err()
    );

    // The owner approves, as `hearth contacts approve Gran` does.
    let mut book = ContactBook::load(device_dir.path()).unwrap();
    book.find_mut("Gran").unwrap().status = ContactStatus::Approved;
    book.save(device_dir.path()).unwrap();
    let event = wait_event(&mut viewer_events, "approval", |e| {
        matches!(e, NodeEvent::PairApproved { .. })
    })
    .await;
    assert_eq!(
        event,
        NodeEvent::PairApproved {
            key: device.node.peer_key()
        }
    );

    // Approved but nothing allowed yet: a session, and no media.
    let attempt = home.call().fetch_stream().await;
    assert!(
        matches!(attempt, Err(RtcError::NotAllowed(_))),
        "{:?}",
        attempt.err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_refuses_a_pairing_request_and_the_requester_is_told() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Someone", None).await;
    let (device, viewer, device_dir) = (&home.device, &home.viewer, &home.device_dir);
    let mut device_events = device.node.events();
    let mut viewer_events = viewer.events();

    request(viewer, device).await;
    wait_event(&mut device_events, "pairing request", |e| {
        matches!(e, NodeEvent::PairRequested { .. })
    })
    .await;
    // The owner refuses, as `hearth contacts remove Someone` does.
    let mut book = ContactBook::load(device_dir.path()).unwrap();
    book.remove("Someone").unwrap();
    book.save(device_dir.path()).unwrap();
    let event = wait_event(&mut viewer_events, "refusal", |e| {
        matches!(e, NodeEvent::PairRefused { .. })
    })
    .await;
    assert!(matches!(event, NodeEvent::PairRefused { key, .. } if key == device.node.peer_key()));
}
