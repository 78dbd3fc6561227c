//! What strangers on the internet can and cannot do to a device through a
//! real relay: replay an envelope after the device restarted, spend the
//! device's relay allowance by flooding it with offers, or crowd out a real
//! family member's pairing request.

mod support;

use hearth::api::PeerConnection;
use hearth::contacts::{ContactChange, ContactStatus, Permission};
use hearth::envelope::{self, EnvelopeError, Recipient};
use hearth::identity::{ContactCode, Identity};
use hearth::node::{NodeEvent, MAX_PENDING_REQUESTS};
use hearth::relay::client::{RelayClient, RelayEvent, RelayHandle, SendOutcome};
use hearth::signal::Signal;
use std::time::Duration;
use support::harness::*;
use tokio::time::timeout;

/// A bare relay connection for `identity`, connected; its events are drained.
async fn connect(url: &str, identity: &Identity) -> RelayHandle {
    let (handle, mut events) = RelayClient::spawn(url.to_string(), identity.signing_key().clone());
    loop {
        match timeout(Duration::from_secs(20), events.recv()).await {
            Ok(Some(RelayEvent::Connected)) => break,
            Ok(Some(_)) => {}
            other => panic!("relay connection: {other:?}"),
        }
    }
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    handle
}

fn recipient(code: &ContactCode) -> Recipient {
    Recipient {
        key: code.peer_key,
        seal_key: code.seal_key,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_envelope_replayed_after_a_restart_is_refused() {
    init_logs();
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let device = start_device(dir.path(), &relay.url()).await;
    wait_relay(&device.node).await;
    let kitchen = device.node.contact_code();
    let mallory = Identity::generate();
    let client = connect(&relay.url(), &mallory).await;
    let request = Signal::PairRequest {
        code: mallory.contact_code("Mallory", &[]).to_text(),
    };
    let wire = envelope::seal(
        &mallory,
        &recipient(&kitchen),
        &request,
        envelope::unix_ms_now(),
    );
    assert_eq!(
        client.send(kitchen.peer_key, wire.clone()).await.unwrap(),
        SendOutcome::Delivered
    );
    wait_until(
        "Mallory's request is stored",
        Duration::from_secs(10),
        || {
            device
                .node
                .contacts()
                .with(|b| b.get(&mallory.peer_key()).is_some())
        },
    )
    .await;
    device
        .change_contacts(ContactChange::Remove {
            who: mallory.peer_key().to_string(),
        })
        .await
        .unwrap();
    device.stop().await;
    drop(device);

    let device = start_device(dir.path(), &relay.url()).await;
    let mut events = device.node.events();
    wait_relay(&device.node).await;
    assert_eq!(
        client.send(kitchen.peer_key, wire).await.unwrap(),
        SendOutcome::Delivered
    );
    let refused = timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(NodeEvent::EnvelopeRefused { error, .. }) = events.recv().await {
                return error;
            }
        }
    })
    .await
    .expect("the replay is refused, not taken");
    assert_eq!(refused, EnvelopeError::BeforeStart);
    assert!(
        device
            .node
            .contacts()
            .with(|b| b.get(&mallory.peer_key()).is_none()),
        "the replayed request was stored again"
    );
    device.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_strangers_offering_400_a_second_do_not_stop_a_contact_s_calls() {
    init_logs();
    // On the internet the strangers come from many addresses; here all from
    // 127.0.0.1, so the relay's per-address cap is raised for them.
    let limits = hearth::relay::RelayServerConfig {
        max_connections_per_ip: 64,
        ..Default::default()
    };
    let relay = TestRelay::start_with("127.0.0.1:0".parse().unwrap(), limits).await;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::LiveVideo])).await;
    let kitchen = home.device.node.contact_code();

    let mut strangers = Vec::new();
    for _ in 0..40 {
        let identity = Identity::generate();
        let client = connect(&relay.url(), &identity).await;
        strangers.push((identity, client));
    }
    // The flood runs on a runtime of its own, as it would on other machines:
    // the device's runtime is not the one sealing 400 envelopes a second.
    let flooder = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let flood: Vec<_> = strangers
        .into_iter()
        .map(|(identity, client)| {
            let to = recipient(&kitchen);
            flooder.spawn(async move {
                // 10 offers a second from each of 40 keys: 400 a second.
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                for _ in 0..300 {
                    tick.tick().await;
                    let offer = Signal::Offer {
                        session: hearth::signal::new_session_id(),
                        sdp: "v=0".into(),
                        want_video: true,
                        want_audio: false,
                    };
                    let wire = envelope::seal(&identity, &to, &offer, envelope::unix_ms_now());
                    let _ = client.send(to.key, wire).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut answered = 0;
    let mut failures = Vec::new();
    for attempt in 0..3 {
        let call = PeerConnection::with_settings(&home.viewer, kitchen.peer_key, fast_settings());
        let result = timeout(Duration::from_secs(15), async {
            let mut remote = call.fetch_stream().await?;
            Ok::<_, hearth::api::RtcError>(remote.next_video_frame().await.is_some())
        })
        .await;
        match result {
            Ok(Ok(true)) => answered += 1,
            other => failures.push(format!("session {attempt}: {other:?}")),
        }
        call.close().await;
    }
    for task in flood {
        task.abort();
    }
    flooder.shutdown_background();
    assert_eq!(answered, 3, "Gran's sessions failed: {failures:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_request_is_taken_with_the_pending_list_full_of_strangers() {
    init_logs();
    let relay = TestRelay::start().await;
    let (dir, dad_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let device = start_device(dir.path(), &relay.url()).await;
    wait_relay(&device.node).await;
    let kitchen = device.node.contact_code();
    for n in 0..MAX_PENDING_REQUESTS {
        let stranger = Identity::generate();
        let client = connect(&relay.url(), &stranger).await;
        let request = Signal::PairRequest {
            code: stranger
                .contact_code(&format!("Stranger{n}"), &[])
                .to_text(),
        };
        let wire = envelope::seal(
            &stranger,
            &recipient(&kitchen),
            &request,
            envelope::unix_ms_now(),
        );
        client.send(kitchen.peer_key, wire).await.unwrap();
    }
    wait_until("the pending list is full", Duration::from_secs(10), || {
        device.node.contacts().with(|b| {
            b.iter()
                .filter(|c| c.status == ContactStatus::Pending)
                .count()
                == MAX_PENDING_REQUESTS
        })
    })
    .await;

    let dad = start_viewer(dad_dir.path(), &relay.url(), "Dad");
    wait_relay(&dad).await;
    let mut dad_events = dad.events();
    dad.request_pairing(&kitchen).await.unwrap();
    wait_until("Dad's request is stored", Duration::from_secs(10), || {
        device
            .node
            .contacts()
            .with(|b| b.get(&dad.peer_key()).is_some())
    })
    .await;
    let pending = device.node.contacts().with(|b| {
        b.iter()
            .filter(|c| c.status == ContactStatus::Pending)
            .count()
    });
    assert_eq!(pending, MAX_PENDING_REQUESTS, "the list stays bounded");
    device
        .change_contacts(ContactChange::Approve { who: "Dad".into() })
        .await
        .unwrap();
    let approved = timeout(Duration::from_secs(10), async {
        loop {
            match dad_events.recv().await {
                Ok(NodeEvent::PairApproved { key }) => return key,
                Ok(NodeEvent::PairRefused { reason, .. }) => panic!("Dad was refused: {reason}"),
                _ => {}
            }
        }
    })
    .await
    .expect("Dad hears he was approved");
    assert_eq!(approved, kitchen.peer_key);
    device.stop().await;
}
