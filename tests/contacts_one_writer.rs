//! One writer for the contact book: while a device runs, `hearth contacts …`
//! goes through it, so no change the owner makes is lost to the device's own
//! writes (a stranger asking to pair, over and over, makes them) and a command
//! that returned has taken effect in memory and on disk.

mod support;

use hearth::contacts::{ContactBook, ContactStatus, Permission};
use hearth::envelope::Recipient;
use hearth::identity::{ContactCode, Identity};
use hearth::node::Node;
use hearth::signal::Signal;
use std::path::Path;
use std::time::Duration;
use support::cli::owner_async;
use support::harness::*;

/// A stranger that asks `device` to pair every 25 ms (40 a second) until dropped.
fn keep_asking(stranger: Node, device: ContactCode) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let to = Recipient {
            key: device.peer_key,
            seal_key: device.seal_key,
        };
        let request = Signal::PairRequest {
            code: stranger.contact_code().to_text(),
        };
        loop {
            let _ = stranger.send_to(&to, &request).await;
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    })
}

/// The permissions of `key` in the file and in the running device's memory.
fn granted(
    dir: &Path,
    device: &hearth::device::Device,
    key: &hearth::keys::PeerKey,
) -> [Option<Vec<Permission>>; 2] {
    let of = |book: &ContactBook| {
        book.get(key).map(|c| {
            Permission::ALL
                .into_iter()
                .filter(|p| c.allows(*p))
                .collect::<Vec<_>>()
        })
    };
    let file = ContactBook::load(dir).expect("contacts file readable");
    [of(&file), device.node.contacts().with(of)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_owner_change_is_lost_while_a_stranger_keeps_asking_to_pair() {
    init_logs();
    let relay = TestRelay::start().await;
    let (dir, stranger_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let device = start_device(dir.path(), &relay.url()).await;
    wait_relay(&device.node).await;

    // A real Gran first; then a stranger who calls itself "Gran" too.
    let gran = Identity::generate().contact_code("Gran", &[]);
    owner_async(
        dir.path(),
        &["contacts", "add", &gran.to_text(), "--allow", "snapshots"],
    )
    .await;
    let stranger = start_viewer(stranger_dir.path(), &relay.url(), "Gran");
    wait_relay(&stranger).await;
    let stranger_key = stranger.peer_key();
    let asking = keep_asking(stranger, device.node.contact_code());
    wait_until(
        "the stranger's request is pending",
        Duration::from_secs(10),
        || {
            device.node.contacts().with(|b| {
                b.get(&stranger_key)
                    .is_some_and(|c| c.status == ContactStatus::Pending)
            })
        },
    )
    .await;
    let stranger_name = device
        .node
        .contacts()
        .with(|b| b.get(&stranger_key).unwrap().name.clone());
    assert_ne!(
        stranger_name, "Gran",
        "a stranger's name is made distinct from Gran's"
    );

    let mut lost = Vec::new();
    let mut check = |what: String, key, want: Option<Vec<Permission>>| {
        let [file, memory] = granted(dir.path(), &device, &key);
        if file != want || memory != want {
            lost.push(format!(
                "{what}: want {want:?}, file {file:?}, device {memory:?}"
            ));
        }
    };
    for round in 0..10 {
        let family = Identity::generate().contact_code(&format!("Family{round}"), &[]);
        let name = format!("Family{round}");
        let key = family.peer_key;
        owner_async(
            dir.path(),
            &[
                "contacts",
                "add",
                &family.to_text(),
                "--allow",
                "live_video",
            ],
        )
        .await;
        check(
            format!("add {name}"),
            key,
            Some(vec![Permission::LiveVideo]),
        );
        owner_async(dir.path(), &["contacts", "deny", "Gran", "snapshots"]).await;
        check(
            format!("deny Gran (round {round})"),
            gran.peer_key,
            Some(vec![]),
        );
        owner_async(dir.path(), &["contacts", "deny", &name, "live_video"]).await;
        check(format!("deny {name}"), key, Some(vec![]));
        owner_async(dir.path(), &["contacts", "allow", "Gran", "snapshots"]).await;
        check(
            format!("allow Gran (round {round})"),
            gran.peer_key,
            Some(vec![Permission::Snapshots]),
        );
        owner_async(dir.path(), &["contacts", "remove", &name]).await;
        check(format!("remove {name}"), key, None);
        // A stale copy written by the device a moment later would show here.
        tokio::time::sleep(Duration::from_millis(60)).await;
        check(format!("after round {round}"), key, None);
        check(
            format!("Gran after round {round}"),
            gran.peer_key,
            Some(vec![Permission::Snapshots]),
        );
    }
    asking.abort();
    assert!(
        lost.is_empty(),
        "{} changes lost:\n{}",
        lost.len(),
        lost.join("\n")
    );
    let pending = device
        .node
        .contacts()
        .with(|b| b.get(&stranger_key).map(|c| c.status));
    assert_eq!(
        pending,
        Some(ContactStatus::Pending),
        "the stranger still waits"
    );
    device.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_then_yes_keeps_the_permissions_and_allow_then_share_reaches_them() {
    init_logs();
    let relay = TestRelay::start().await;
    let (dir, stranger_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let device = start_device(dir.path(), &relay.url()).await;
    device.start_panel().unwrap();
    wait_relay(&device.node).await;
    let dad = start_viewer(stranger_dir.path(), &relay.url(), "Dad");
    wait_relay(&dad).await;
    let dad_key = dad.peer_key();
    let asking = keep_asking(dad, device.node.contact_code());
    wait_until("Dad's request is pending", Duration::from_secs(10), || {
        device.node.contacts().with(|b| b.get(&dad_key).is_some())
    })
    .await;

    owner_async(
        dir.path(),
        &["contacts", "allow", "Dad", "live_video,live_audio"],
    )
    .await;
    owner_async(dir.path(), &["press", "yes"]).await;
    wait_until("Dad approved", Duration::from_secs(5), || {
        device
            .node
            .contacts()
            .with(|b| b.approved(&dad_key).is_some())
    })
    .await;
    let want = Some(vec![Permission::LiveVideo, Permission::LiveAudio]);
    assert_eq!(granted(dir.path(), &device, &dad_key), [want.clone(), want]);
    let list = owner_async(dir.path(), &["contacts", "list"]).await;
    assert!(list.contains("allowed: live_video, live_audio"), "{list}");
    asking.abort();

    owner_async(dir.path(), &["contacts", "allow", "Dad", "snapshots"]).await;
    let shared = owner_async(dir.path(), &["share", "--snapshot"]).await;
    assert!(shared.contains("Dad"), "the snapshot goes to Dad: {shared}");
    let aborted = device.stop().await;
    assert!(
        aborted.is_empty(),
        "tasks that did not stop by themselves: {aborted:?}"
    );
}
