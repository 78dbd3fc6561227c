//! The panel's screen and shares, between real devices over a real relay:
//! what a contact sends appears as it is (a thought's words, a photo's
//! picture; a photo that cannot be decoded is never sent), and after
//! SNAPSHOT the screen counts the contacts that really have it.

mod support;

use hearth::api::LocalMedia;
use hearth::config::Config;
use hearth::contacts::Permission;
use hearth::device::shares::ShareRequest;
use hearth::device::Device;
use hearth::hardware::buttons::{press, socket_path, Action, Button};
use hearth::hardware::display::{Received, Screen, Thumbnail};
use hearth::share::inbox::Inbox;
use hearth::share::ShareKind;
use std::path::Path;
use support::harness::*;
use support::screen::wait_for_screen;

/// A device config whose notes stay up for the whole test, so what the test
/// waits for cannot come and go unseen.
fn panel_config(relay: &str, name: &str) -> Config {
    let mut config = device_config(relay);
    config.name = name.into();
    config.display.note_secs = 3600;
    config.share.retry_secs = 1;
    config
}

async fn start(dir: &Path, config: &Config, media: Option<LocalMedia>) -> Device {
    start_device_with(dir, config.clone(), media).await
}

fn photo_request(jpeg: &[u8], text: &str) -> ShareRequest {
    ShareRequest {
        kind: ShareKind::Photo,
        text: text.into(),
        photo: Some(hearth::keys::b64(jpeg)),
        to: vec!["Kitchen".into()],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn what_a_contact_sends_is_shown_as_it_is() {
    init_logs();
    let relay = TestRelay::start().await;
    let url = relay.url();
    let (kitchen_dir, gran_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = panel_config(&url, "Kitchen");
    let kitchen = start(kitchen_dir.path(), &config, None).await;
    kitchen.start_panel().expect("simulated panel starts");
    let gran = start(
        gran_dir.path(),
        &panel_config(&url, "Gran"),
        Some(LocalMedia::none()),
    )
    .await;
    // Gran may send the kitchen photos and thoughts: she lets it receive
    // shares, and the kitchen's owner allows her `talk_back`.
    befriend(&gran.node, &kitchen.node, &[Permission::Snapshots]).await;
    kitchen
        .node
        .contacts()
        .update(|book| book.find_mut("Gran").unwrap().permissions.talk_back = true)
        .await
        .unwrap();
    wait_relay(&kitchen.node).await;
    wait_relay(&gran.node).await;

    let garden = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photo/garden.jpg"),
    )
    .unwrap();
    gran.share(photo_request(&garden, "the garden"))
        .await
        .expect("photo shared");
    wait_for_screen(
        "the photo itself on the screen",
        kitchen_dir.path(),
        &config,
        &Screen::Received {
            from: "Gran".into(),
            content: Received::Photo(Thumbnail::from_jpeg(&garden).unwrap()),
        },
    )
    .await;

    // Starts like a JPEG but cannot be decoded: never sent at all (and a
    // device refuses one that arrives anyway: tests/share_refusals.rs).
    let mut broken = vec![0xFF, 0xD8, 0xFF, 0xE0];
    broken.extend((0..3000u32).map(|i| (i * 7 % 256) as u8));
    let err = gran
        .share(photo_request(&broken, "a broken one"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot be decoded"), "{err}");
    assert_eq!(Inbox::new(kitchen_dir.path()).list().unwrap().len(), 1);

    gran.share(ShareRequest {
        kind: ShareKind::Thought,
        text: "Thinking of you all, see you on Sunday".into(),
        photo: None,
        to: vec!["Kitchen".into()],
    })
    .await
    .expect("thought shared");
    wait_for_screen(
        "the thought's words on the screen",
        kitchen_dir.path(),
        &config,
        &Screen::Received {
            from: "Gran".into(),
            content: Received::Text("Thinking of you all, see you on Sunday".into()),
        },
    )
    .await;
    for device in [&kitchen, &gran] {
        device.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_snapshot_the_screen_counts_the_contacts_that_have_it() {
    init_logs();
    let relay = TestRelay::start().await;
    let url = relay.url();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let config = panel_config(&url, "Kitchen");
    let kitchen = start(dirs[0].path(), &config, None).await;
    kitchen.start_panel().expect("simulated panel starts");
    let gran = start(
        dirs[1].path(),
        &panel_config(&url, "Gran"),
        Some(LocalMedia::none()),
    )
    .await;
    let tom = start(
        dirs[2].path(),
        &panel_config(&url, "Tom"),
        Some(LocalMedia::none()),
    )
    .await;
    befriend(&kitchen.node, &gran.node, &[Permission::Snapshots]).await;
    befriend(&kitchen.node, &tom.node, &[Permission::Snapshots]).await;
    for node in [&kitchen.node, &gran.node, &tom.node] {
        wait_relay(node).await;
    }

    let socket = socket_path(dirs[0].path());
    tokio::task::spawn_blocking(move || press(&socket, Button::Snapshot, Action::Press).unwrap())
        .await
        .unwrap();
    wait_for_screen(
        "the screen says both contacts have the snapshot",
        dirs[0].path(),
        &config,
        &Screen::SnapshotSent {
            delivered: 2,
            total: 2,
        },
    )
    .await;
    for dir in &dirs[1..] {
        let inbox = Inbox::new(dir.path()).list().unwrap();
        assert_eq!(inbox.len(), 1, "each contact stored it");
        assert_eq!(inbox[0].share.body.kind, ShareKind::Snapshot);
    }
    assert!(kitchen.status().outbox.is_empty(), "nobody waits for it");
    for device in [&kitchen, &gran, &tom] {
        device.stop().await;
    }
}
