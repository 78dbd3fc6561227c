//! A device whose inbox is full, between real devices over a real relay:
//! the new share is refused for now ("the device's inbox is full"), nothing
//! stored is deleted, the sender keeps it in its outbox, the owner is told
//! on the screen and by `hearth status`; once the owner removes a share with
//! `hearth inbox --remove`, the waiting share arrives.

mod support;

use hearth::api::LocalMedia;
use hearth::config::Config;
use hearth::contacts::Permission;
use hearth::device::shares::ShareRequest;
use hearth::device::Device;
use hearth::hardware::display::Screen;
use hearth::share::inbox::Inbox;
use hearth::share::ShareKind;
use std::path::Path;
use std::time::Duration;
use support::cli::{hearth_async, text_ok};
use support::harness::*;
use support::screen::wait_for_screen;

fn config(relay: &str, name: &str) -> Config {
    let mut config = device_config(relay);
    config.name = name.into();
    config.display.note_secs = 3600;
    config.share.retry_secs = 1;
    config
}

async fn start(dir: &Path, config: Config) -> Device {
    start_device_with(dir, config, Some(LocalMedia::none())).await
}

fn photo(len: usize, text: &str) -> ShareRequest {
    let jpeg = support::photo::padded_jpeg(len);
    ShareRequest {
        kind: ShareKind::Photo,
        text: text.into(),
        photo: Some(hearth::keys::b64(&jpeg)),
        to: vec!["Kitchen".into()],
    }
}

fn inbox_texts(dir: &Path) -> Vec<String> {
    Inbox::new(dir)
        .list()
        .unwrap()
        .into_iter()
        .map(|e| e.share.body.text)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_inbox_refuses_new_shares_until_the_owner_makes_room() {
    init_logs();
    let relay = TestRelay::start().await;
    let url = relay.url();
    let (kitchen_dir, gran_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut kitchen_config = config(&url, "Kitchen");
    kitchen_config.share.inbox_max_bytes = 30_000;
    let kitchen = start(kitchen_dir.path(), kitchen_config.clone()).await;
    kitchen.start_panel().expect("simulated panel starts");
    let gran = start(gran_dir.path(), config(&url, "Gran")).await;
    befriend(&gran.node, &kitchen.node, &[Permission::Snapshots]).await;
    kitchen
        .node
        .contacts()
        .update(|book| book.find_mut("Gran").unwrap().permissions.talk_back = true)
        .await
        .unwrap();
    wait_relay(&kitchen.node).await;
    wait_relay(&gran.node).await;

    gran.share(photo(12_000, "first")).await.expect("shared");
    wait_until("the first photo arrives", Duration::from_secs(30), || {
        inbox_texts(kitchen_dir.path()) == ["first"]
    })
    .await;
    let first_id = Inbox::new(kitchen_dir.path()).list().unwrap()[0]
        .share
        .id
        .clone();

    // 12 kB + 20 kB (and their records) do not fit in 30 000 bytes.
    gran.share(photo(20_000, "second")).await.expect("shared");
    wait_until(
        "the kitchen's owner is told",
        Duration::from_secs(30),
        || kitchen.status().inbox_full.is_some(),
    )
    .await;
    let message = kitchen.status().inbox_full.unwrap();
    assert!(message.contains("inbox is full"), "{message}");
    assert!(message.contains("hearth inbox --remove"), "{message}");
    wait_for_screen(
        "the screen says the inbox is full",
        kitchen_dir.path(),
        &kitchen_config,
        &Screen::Error {
            message: message.clone(),
        },
    )
    .await;
    let status = text_ok(&hearth_async(kitchen_dir.path(), &["status"]).await);
    assert!(status.contains("INBOX FULL"), "{status}");
    assert!(status.contains("inbox is full"), "{status}");
    assert_eq!(
        inbox_texts(kitchen_dir.path()),
        ["first"],
        "nothing stored was deleted"
    );
    let usage = Inbox::new(kitchen_dir.path()).usage().unwrap();
    assert!(usage.bytes <= 30_000, "within the bound: {usage:?}");
    assert_eq!(
        gran.status().outbox,
        [("Kitchen".to_string(), 1)],
        "the sender keeps the share"
    );

    let removed =
        text_ok(&hearth_async(kitchen_dir.path(), &["inbox", "--remove", &first_id[..12]]).await);
    assert!(
        removed.contains(&format!("removed {}", &first_id[..12])),
        "{removed}"
    );
    wait_until(
        "the waiting share arrives once there is room",
        Duration::from_secs(30),
        || inbox_texts(kitchen_dir.path()) == ["second"],
    )
    .await;
    wait_until(
        "the sender's outbox empties",
        Duration::from_secs(30),
        || gran.status().outbox.is_empty(),
    )
    .await;
    wait_until("the warning is cleared", Duration::from_secs(30), || {
        kitchen.status().inbox_full.is_none()
    })
    .await;
    for device in [&kitchen, &gran] {
        device.stop().await;
    }
}
