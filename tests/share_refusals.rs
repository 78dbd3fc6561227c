//! A contact pushes shares to the device over a real session: forged,
//! malformed and oversized ones are refused with clear reasons, a thought
//! needs `talk_back`, a photo that does not decode is refused with its code,
//! and a good one is stored once in the inbox.

mod support;

use hearth::api::PeerConnection;
use hearth::contacts::Permission;
use hearth::identity::Identity;
use hearth::share::inbox::Inbox;
use hearth::share::manifest::describe_jpeg;
use hearth::share::wire::encode_chunk;
use hearth::share::{Manifest, ShareBody, ShareKind, CHUNK_SIZE};
use serde_json::{json, Value};
use std::time::Duration;
use support::harness::*;

async fn reply(call: &PeerConnection) -> Value {
    let message = tokio::time::timeout(Duration::from_secs(20), call.recv())
        .await
        .expect("the device answers")
        .expect("the session is open");
    message.json().unwrap()
}

async fn offer(call: &PeerConnection, manifest: &Manifest) -> Value {
    call.send_json(&json!({"type": "share_offer", "manifest": manifest}))
        .await
        .unwrap();
    reply(call).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shares_from_a_contact_are_checked_before_they_are_kept() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::LiveVideo])).await;
    let gran = Identity::load_or_create(home.viewer_dir.path()).unwrap();
    let device_key = home.device.node.peer_key();
    let thought = |text: &str| {
        let body = ShareBody {
            v: 1,
            author: gran.peer_key(),
            created_at: 1,
            kind: ShareKind::Thought,
            text: text.into(),
            jpeg: None,
            audience: vec![device_key],
        };
        Manifest::sign(&gran, &body).unwrap()
    };
    let call = home.call();
    call.connect().await.unwrap();

    let answer = offer(&call, &thought("hello").manifest).await;
    assert_eq!(answer["type"], "share_refused");
    assert!(
        answer["reason"].as_str().unwrap().contains("talk_back"),
        "{answer}"
    );

    home.device
        .node
        .contacts()
        .update(|book| book.find_mut("Gran").unwrap().permissions.talk_back = true)
        .await
        .unwrap();
    let call = home.call();
    call.connect().await.unwrap();

    let mut forged = thought("hello").manifest;
    forged.body = forged.body.replace("hello", "HELLO");
    let answer = offer(&call, &forged).await;
    assert_eq!(answer["type"], "share_refused");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("signature does not verify"),
        "{answer}"
    );

    call.send(r#"{"type":"share_offer","manifest":{"body":"{}","sig":"x"}}"#)
        .await
        .unwrap();
    let answer = reply(&call).await;
    assert!(
        answer["reason"].as_str().unwrap().contains("malformed"),
        "{answer}"
    );

    let answer = offer(&call, &thought(&"x".repeat(5000)).manifest).await;
    assert!(
        answer["reason"].as_str().unwrap().contains("too large"),
        "{answer}"
    );

    let mut notices = home.device.received_shares();
    let good = thought("see you sunday");
    for _ in 0..2 {
        let answer = offer(&call, &good.manifest).await;
        if answer["type"] == "share_have" {
            assert_eq!(
                reply(&call).await,
                json!({"type": "share_ack", "id": good.id})
            );
        } else {
            assert_eq!(
                answer,
                json!({"type": "share_ack", "id": good.id}),
                "a repeat is acknowledged"
            );
        }
    }
    let notice = notices.try_recv().expect("the screen hook hears of it");
    assert_eq!(
        (notice.id.as_str(), notice.from.as_str()),
        (good.id.as_str(), "Gran")
    );
    let inbox = Inbox::new(home.device_dir.path()).list().unwrap();
    assert_eq!(inbox.len(), 1, "stored once");
    assert_eq!(inbox[0].share.body.text, "see you sunday");
    call.close().await;
    home.device.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_photo_that_does_not_decode_is_refused_on_arrival_and_not_kept() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::LiveVideo])).await;
    home.device
        .node
        .contacts()
        .update(|book| book.find_mut("Gran").unwrap().permissions.talk_back = true)
        .await
        .unwrap();
    let gran = Identity::load_or_create(home.viewer_dir.path()).unwrap();
    // Gran's photo was cut short on her side before she shared it: every
    // chunk and the whole match the signed hashes, but it is not a picture.
    let whole = support::photo::small_jpeg(320, 240);
    let cut = &whole[..whole.len() * 2 / 3];
    let body = ShareBody {
        v: 1,
        author: gran.peer_key(),
        created_at: 2,
        kind: ShareKind::Photo,
        text: "cut short".into(),
        jpeg: Some(describe_jpeg(cut, CHUNK_SIZE)),
        audience: vec![home.device.node.peer_key()],
    };
    let share = Manifest::sign(&gran, &body).unwrap();
    let call = home.call();
    call.connect().await.unwrap();
    let mut notices = home.device.received_shares();

    let answer = offer(&call, &share.manifest).await;
    assert_eq!(answer["type"], "share_have", "{answer}");
    for (index, data) in cut.chunks(CHUNK_SIZE as usize).enumerate() {
        call.send_bytes(&encode_chunk(&share.id, index as u32, data).unwrap())
            .await
            .unwrap();
    }
    let answer = reply(&call).await;
    assert_eq!(answer["type"], "share_refused", "{answer}");
    assert_eq!(answer["id"], share.id.as_str(), "{answer}");
    assert_eq!(answer["code"], "undecodable", "{answer}");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("cannot be decoded"),
        "{answer}"
    );
    assert!(answer.get("retry").is_none(), "refused for good: {answer}");
    let inbox = Inbox::new(home.device_dir.path());
    assert!(inbox.list().unwrap().is_empty(), "not kept");
    assert_eq!(inbox.usage().unwrap().unfinished, 0, "its chunks dropped");
    assert!(notices.try_recv().is_err(), "nothing shown");
    call.close().await;
    home.device.stop().await;
}
