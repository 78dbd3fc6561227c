//! A transfer already under way stops when the owner takes `snapshots` away:
//! over a real session, the device has offered a large photo, the contact
//! accepts it only after losing the permission, and no chunk of it follows —
//! the device says `share_cancel` instead, and the share leaves its outbox.

mod support;

use hearth::api::{Message, PeerConnection};
use hearth::contacts::Permission;
use hearth::device::shares::ShareRequest;
use hearth::share::ShareKind;
use serde_json::{json, Value};
use std::time::Duration;
use support::harness::*;

async fn next(call: &PeerConnection) -> Message {
    tokio::time::timeout(Duration::from_secs(30), call.recv())
        .await
        .expect("the device answers")
        .expect("the session is open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn losing_snapshots_cuts_the_transfer_in_flight() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::Snapshots])).await;
    let call = home.call();
    call.connect().await.unwrap();
    wait_until("Gran's session is up", Duration::from_secs(30), || {
        home.device.status().connected == ["Gran"]
    })
    .await;

    // A 1 MiB photo: 22 chunks.
    let jpeg = support::photo::padded_jpeg((1 << 20) + 4);
    let receipt = home
        .device
        .share(ShareRequest {
            kind: ShareKind::Photo,
            text: "big".into(),
            photo: Some(hearth::keys::b64(&jpeg)),
            to: vec![],
        })
        .await
        .expect("shared");
    assert_eq!(receipt.audience, ["Gran"]);
    let offer: Value = next(&call).await.json().unwrap();
    assert_eq!(offer["type"], "share_offer", "{offer}");
    assert_eq!(home.device.status().outbox, [("Gran".to_string(), 1)]);

    home.device
        .node
        .contacts()
        .update(|book| book.find_mut("Gran").unwrap().permissions.snapshots = false)
        .await
        .unwrap();
    // Gran accepts the offer now, then pings: everything the device sends
    // for the share comes before the pong.
    call.send_json(&json!({"type": "share_have", "id": receipt.id, "have": []}))
        .await
        .unwrap();
    call.send_json(&json!({"type": "ping", "id": 1}))
        .await
        .unwrap();
    let mut texts = vec![];
    loop {
        match next(&call).await {
            Message::Binary(frame) => panic!(
                "chunk {:?} was sent after `snapshots` was taken away (after {texts:?})",
                &frame[36..40]
            ),
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "pong" {
                    break;
                }
                texts.push(value);
            }
        }
    }
    assert_eq!(texts, [json!({"type": "share_cancel", "id": receipt.id})]);
    wait_until(
        "the share leaves the outbox",
        Duration::from_secs(10),
        || home.device.status().outbox.is_empty(),
    )
    .await;
    call.close().await;
    home.device.stop().await;
}
