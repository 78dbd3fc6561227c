//! Shares between real devices over a real relay and real WebRTC: pushed at
//! once to contacts that are online, kept for the offline one until it
//! connects, and never sent to a contact outside the audience.

mod support;

use hearth::contacts::Permission;
use hearth::device::shares::ShareRequest;
use hearth::device::Device;
use hearth::identity::Identity;
use hearth::share::inbox::Inbox;
use hearth::share::ShareKind;
use std::path::Path;
use std::time::Duration;
use support::harness::*;

async fn start_sender(dir: &Path, relay: &str) -> Device {
    let mut config = device_config(relay);
    config.share.retry_secs = 1;
    start_device_with(dir, config, None).await
}

fn inbox_ids(dir: &Path) -> Vec<String> {
    Inbox::new(dir)
        .list()
        .unwrap()
        .into_iter()
        .map(|e| e.share.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_share_reaches_online_contacts_at_once_and_an_offline_one_when_it_connects() {
    init_logs();
    let relay = TestRelay::start().await;
    let url = relay.url();
    let dirs: Vec<tempfile::TempDir> = (0..5).map(|_| tempfile::tempdir().unwrap()).collect();
    let kitchen = start_sender(dirs[0].path(), &url).await;
    let gran = start_family_device(dirs[1].path(), &url, "Gran").await;
    let tom = start_family_device(dirs[2].path(), &url, "Tom").await;
    let nosy = start_family_device(dirs[4].path(), &url, "Nosy").await;
    befriend(&kitchen.node, &gran.node, &[Permission::Snapshots]).await;
    befriend(&kitchen.node, &tom.node, &[Permission::Snapshots]).await;
    // Nosy is an approved contact that may watch live, but not receive shares.
    befriend(&kitchen.node, &nosy.node, &[Permission::LiveVideo]).await;
    // Ada is a contact with `snapshots` whose device is off for now.
    let ada_code = Identity::load_or_create(dirs[3].path())
        .unwrap()
        .contact_code("Ada", std::slice::from_ref(&url));
    approve_contact(&kitchen.node, &ada_code, &[Permission::Snapshots]).await;
    for node in [&kitchen.node, &gran.node, &tom.node, &nosy.node] {
        wait_relay(node).await;
    }

    let err = kitchen
        .share(ShareRequest {
            kind: ShareKind::Thought,
            text: "hi".into(),
            photo: None,
            to: vec!["Nosy".into()],
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("contacts allow Nosy snapshots"),
        "{err}"
    );

    let receipt = kitchen
        .share(ShareRequest {
            kind: ShareKind::Snapshot,
            text: "breakfast".into(),
            photo: None,
            to: vec![],
        })
        .await
        .expect("snapshot shared");
    let mut audience = receipt.audience.clone();
    audience.sort();
    assert_eq!(audience, ["Ada", "Gran", "Tom"]);

    for dir in [&dirs[1], &dirs[2]] {
        wait_until(
            "the online contacts get the share",
            Duration::from_secs(30),
            || inbox_ids(dir.path()) == [receipt.id.clone()],
        )
        .await;
    }
    let entry = Inbox::new(dirs[1].path()).list().unwrap().remove(0);
    let jpeg = std::fs::read(entry.jpeg_path.unwrap()).unwrap();
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "a JPEG arrived");
    wait_until(
        "the outbox waits only for Ada",
        Duration::from_secs(10),
        || kitchen.status().outbox == [("Ada".to_string(), 1)],
    )
    .await;

    // Ada's device comes online and approves the kitchen: the share follows.
    let ada = start_family_device(dirs[3].path(), &url, "Ada").await;
    approve_contact(&ada.node, &kitchen.node.contact_code(), &[]).await;
    wait_until(
        "Ada gets the share once connected",
        Duration::from_secs(30),
        || inbox_ids(dirs[3].path()) == [receipt.id.clone()],
    )
    .await;
    wait_until("the outbox is empty", Duration::from_secs(10), || {
        kitchen.status().outbox.is_empty()
    })
    .await;
    assert!(
        inbox_ids(dirs[4].path()).is_empty(),
        "a contact without `snapshots` never receives it"
    );
    assert_eq!(inbox_ids(dirs[1].path()).len(), 1, "stored once");
    for device in [&kitchen, &gran, &tom, &nosy, &ada] {
        device.stop().await;
    }
}
