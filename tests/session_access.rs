//! Rust viewers follow what the owner allows on an open session: told at
//! once, with a machine-readable code, when privacy goes on and off; a session
//! the owner ends, or a call it refuses, says why with a code beside the words.

mod support;

use hearth::api::{AccessCode, EndCode, RtcError};
use hearth::contacts::Permission;
use hearth::privacy::PrivacyInput;
use std::time::{Duration, Instant};
use support::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_told_what_changed_with_codes() {
    init_logs();
    let relay = TestRelay::start().await;
    let home = Household::start(
        &relay.url(),
        "Gran",
        Some(&[Permission::LiveVideo, Permission::LiveAudio]),
    )
    .await;
    let call = home.call();
    let mut remote = call.fetch_stream().await.expect("media flows");
    remote.next_video_frame().await.expect("a first frame");
    let mut access = call.access().expect("connected");

    // Privacy on: the session is told at once, with a code.
    let on = Instant::now();
    assert!(home.device.privacy(PrivacyInput::Set(true)).unwrap());
    let told = tokio::time::timeout(Duration::from_secs(5), access.changed()).await;
    assert!(matches!(told, Ok(Ok(()))), "no access message");
    let now = access.borrow_and_update().clone().unwrap();
    println!("privacy on → told in {:?}: {now:?}", on.elapsed());
    assert_eq!(now.code, AccessCode::PrivacyOn);
    assert!(!now.video && !now.audio);
    assert!(now.denied.contains(&"privacy".to_string()));

    // Privacy off: told again, and frames flow on the same session.
    assert!(!home.device.privacy(PrivacyInput::Set(false)).unwrap());
    tokio::time::timeout(Duration::from_secs(5), access.changed())
        .await
        .expect("told that privacy is off")
        .unwrap();
    let now = access.borrow_and_update().clone().unwrap();
    assert_eq!(now.code, AccessCode::PrivacyOff);
    assert!(now.video && now.audio && now.denied.is_empty());
    assert!(
        !now.widens(&call.granted().unwrap()),
        "nothing new to call for"
    );
    let frame = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let frame = remote.next_video_frame().await.expect("frames");
            if frame.keyframe {
                return frame;
            }
        }
    })
    .await;
    assert!(frame.is_ok(), "frames came back, starting with a keyframe");

    // The owner withdraws sound: the session ends with a code.
    home.device
        .node
        .contacts()
        .update(|book| {
            book.find_mut("Gran")
                .unwrap()
                .permissions
                .set(Permission::LiveAudio, false)
        })
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), call.ended())
        .await
        .expect("the session ends");
    assert_eq!(ended.code, EndCode::AccessWithdrawn, "{ended:?}");

    // Removed: a new call is refused with a code.
    home.device
        .node
        .contacts()
        .update(|book| book.remove("Gran"))
        .await
        .unwrap()
        .unwrap();
    match home.call().fetch_stream().await {
        Err(RtcError::Refused { code, reason }) => {
            assert_eq!(code, EndCode::NotApproved, "{reason}")
        }
        Err(other) => panic!("refused without a code: {other}"),
        Ok(_) => panic!("a removed contact got a stream"),
    }
    home.device.stop().await;
}
