//! The named cases of damaged files, each end to end: an empty contacts file
//! stops the device and costs no share; a damaged outbox record is set aside
//! and blocks nothing; `hearth inbox` warns about a photo it cannot show;
//! an empty config file is refused with its name.

mod support;

use hearth::contacts::{Permission, CONTACTS_FILE};
use hearth::device::shares::ShareRequest;
use hearth::device::Device;
use hearth::identity::Identity;
use hearth::share::ShareKind;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::cli::{hearth_async, text};
use support::harness::*;

async fn start_kitchen(dir: &Path, relay: &str) -> Result<Device, hearth::device::DeviceError> {
    let mut config = device_config(relay);
    config.share.retry_secs = 1;
    try_start_device_with(dir, config, None).await
}

fn thought(text: &str) -> ShareRequest {
    ShareRequest {
        kind: ShareKind::Thought,
        text: text.into(),
        photo: None,
        to: vec![],
    }
}

fn outbox_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("outbox"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Kitchen with Ada, a contact allowed `snapshots` whose device stays off,
/// and `n` thoughts waiting for her. Returns Ada's short key.
async fn kitchen_with_waiting_shares(dir: &Path, url: &str, n: usize) -> String {
    let kitchen = start_kitchen(dir, url).await.unwrap();
    let ada = Identity::generate().contact_code("Ada", &[url.to_string()]);
    approve_contact(&kitchen.node, &ada, &[Permission::Snapshots]).await;
    for i in 0..n {
        kitchen
            .share(thought(&format!("thought {i}")))
            .await
            .unwrap();
    }
    assert_eq!(kitchen.status().outbox, [("Ada".to_string(), n)]);
    kitchen.stop().await;
    ada.peer_key.short()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_contacts_file_stops_the_device_and_costs_no_share() {
    init_logs();
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ada = kitchen_with_waiting_shares(dir.path(), &relay.url(), 1).await;
    let waiting = outbox_files(dir.path());
    let contacts = dir.path().join(CONTACTS_FILE);
    let book = std::fs::read(&contacts).unwrap();

    std::fs::write(&contacts, "").unwrap();
    let err = start_kitchen(dir.path(), &relay.url()).await.err().unwrap();
    let message = err.to_string();
    assert!(
        message.contains(&contacts.display().to_string()) && message.contains("empty"),
        "the refusal names the file and says what is wrong: {message}"
    );
    assert_eq!(outbox_files(dir.path()), waiting, "the outbox is untouched");
    assert_eq!(std::fs::read(&contacts).unwrap(), b"", "left as it was");
    let out = hearth_async(dir.path(), &["contacts", "list"]).await;
    assert!(
        !out.status.success() && text(&out).contains("empty"),
        "{}",
        text(&out)
    );

    // Without the file the book is empty; shares for keys it never named stay.
    std::fs::remove_file(&contacts).unwrap();
    let kitchen = start_kitchen(dir.path(), &relay.url()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await; // the deliverer tries twice
    assert_eq!(kitchen.status().outbox, [(ada, 1)]);
    assert_eq!(outbox_files(dir.path()), waiting, "nothing withdrawn");
    kitchen.stop().await;
    drop(kitchen);

    // With the book back, a contacts file emptied while the device runs
    // keeps the book it had, and every share.
    std::fs::write(&contacts, &book).unwrap();
    let kitchen = start_kitchen(dir.path(), &relay.url()).await.unwrap();
    let loaded = kitchen.node.contacts().snapshot();
    std::fs::write(&contacts, "").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await; // reloads, and the deliverer tries twice
    assert_eq!(kitchen.node.contacts().snapshot(), loaded);
    assert_eq!(kitchen.status().outbox, [("Ada".to_string(), 1)]);
    assert_eq!(outbox_files(dir.path()), waiting);

    // Removing Ada is the owner's word: her share is withdrawn.
    kitchen
        .node
        .contacts()
        .update(|book| book.remove("Ada").map(|_| ()))
        .await
        .unwrap()
        .unwrap();
    wait_until("Ada's share withdrawn", Duration::from_secs(10), || {
        kitchen.status().outbox.is_empty()
    })
    .await;
    assert!(outbox_files(dir.path()).is_empty());
    kitchen.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_outbox_record_is_set_aside_and_blocks_nothing() {
    init_logs();
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    kitchen_with_waiting_shares(dir.path(), &relay.url(), 2).await;
    let records: Vec<String> = outbox_files(dir.path());
    let damaged = dir.path().join("outbox").join(&records[0]);
    std::fs::write(&damaged, "").unwrap();

    let kitchen = start_kitchen(dir.path(), &relay.url()).await.unwrap();
    let status = kitchen.status();
    assert_eq!(status.outbox, [("Ada".to_string(), 1)], "the healthy one");
    let set_aside = dir.path().join("outbox/damaged").join(&records[0]);
    assert_eq!(status.damaged, [set_aside.display().to_string()]);
    assert!(set_aside.exists(), "moved, not deleted");
    kitchen
        .share(thought("after the damage"))
        .await
        .expect("a new share is accepted");
    assert_eq!(kitchen.status().outbox, [("Ada".to_string(), 2)]);

    let out = hearth_async(dir.path(), &["status"]).await;
    let said = text(&out);
    assert!(said.contains("Ada: 2 waiting"), "{said}");
    assert!(
        said.contains(&format!(
            "1 damaged share set aside in {}",
            dir.path().join("outbox/damaged").display()
        )),
        "{said}"
    );
    kitchen.stop().await;
}

/// An inbox with one photo from Gran, written by the inbox's own last step
/// of storing a share (`ShareStore::store`, which a running device reaches
/// through `StoreWrite::Finish`), without the checks that come before it — so
/// a photo that is no picture can be planted. Returns the photo's path.
fn inbox_with_a_photo(dir: &Path, jpeg: &[u8]) -> PathBuf {
    use hearth::share::inbox::Inbox;
    use hearth::share::manifest::describe_jpeg;
    use hearth::share::{Manifest, ShareBody, ShareStore};
    let gran = Identity::generate();
    let body = ShareBody {
        v: 1,
        author: gran.peer_key(),
        created_at: 1,
        kind: ShareKind::Photo,
        text: "the garden".into(),
        jpeg: Some(describe_jpeg(jpeg, hearth::share::CHUNK_SIZE)),
        audience: vec![Identity::load_or_create(dir).unwrap().peer_key()],
    };
    let share = Manifest::sign(&gran, &body).unwrap();
    let mut inbox = Inbox::open(dir, u64::MAX).unwrap();
    inbox.store(&share, Some(jpeg)).unwrap();
    dir.join("inbox").join(format!("{}.jpg", share.id))
}

#[tokio::test]
async fn the_inbox_listing_warns_about_a_photo_it_cannot_show() {
    let garden = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photo/garden.jpg"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let photo = inbox_with_a_photo(dir.path(), &garden);
    let out = hearth_async(dir.path(), &["inbox"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("WARNING"), "{}", text(&out));

    std::fs::write(&photo, "").unwrap();
    let out = hearth_async(dir.path(), &["inbox"]).await;
    let said = text(&out);
    assert!(
        said.contains(&format!(
            "WARNING: share {}",
            &photo.file_stem().unwrap().to_string_lossy()[..12]
        )) && said.contains(&format!("{} is empty (0 bytes)", photo.display())),
        "{said}"
    );

    // A photo that matches its hash but is no picture (as its sender made it).
    let dir = tempfile::tempdir().unwrap();
    let garbage = [&[0xFF, 0xD8, 0xFF][..], &[0x42; 500]].concat();
    let photo = inbox_with_a_photo(dir.path(), &garbage);
    let out = hearth_async(dir.path(), &["inbox"]).await;
    let said = text(&out);
    assert!(
        said.contains(&format!("{} cannot be shown", photo.display())),
        "{said}"
    );
}

#[tokio::test]
async fn an_empty_config_file_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("empty.toml");
    std::fs::write(&config, "\n").unwrap();
    let out = hearth_async(dir.path(), &["--config", config.to_str().unwrap(), "id"]).await;
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(&format!("config file {} is empty", config.display())),
        "{said}"
    );
    assert!(said.contains("hearth.example.toml"), "{said}");
}
