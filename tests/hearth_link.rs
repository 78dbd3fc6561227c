//! Two Hearths linked both ways (issue #16): Gran's device calls the kitchen
//! with `hearth call` (here `Device::link_to`), and each device shows the
//! other's camera on its picture output, as each owner allowed. The link
//! stays up by itself: privacy on takes Gran off the kitchen's screen, and
//! privacy off brings her back without anyone calling again.

mod support;

use hearth::contacts::Permission;
use hearth::privacy::PrivacyInput;
use std::path::Path;
use std::time::Duration;
use support::harness::*;
use support::shown_frame::{hdmi_area, Shown};

/// The test pattern's frame number on the simulated HDMI output in `dir`
/// (the devices' cameras send 320×240).
fn shown_number(dir: &Path) -> Option<u32> {
    Shown::read(&dir.join("picture/latest.png"))
        .and_then(|shown| shown.frame_number(hdmi_area((640, 480), (320, 240)), (320, 240)))
}

/// Waits until the output in `dir` shows frames advancing.
async fn wait_advancing(what: &str, dir: &Path) {
    let mut first = None;
    wait_until(what, Duration::from_secs(30), || {
        match (first, shown_number(dir)) {
            (None, Some(n)) => first = Some(n),
            (Some(f), Some(n)) => return n >= f + 10,
            _ => {}
        }
        false
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hearths_linked_show_each_other_and_the_link_follows_privacy() {
    init_logs();
    let relay = TestRelay::start().await;
    let (kitchen_dir, gran_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let kitchen = start_device(kitchen_dir.path(), &relay.url()).await;
    let mut config = device_config(&relay.url());
    config.name = "Gran".into();
    let gran = start_device_with(gran_dir.path(), config, None).await;
    // Each may watch the other and be shown on the other's screen.
    let both = [Permission::LiveVideo, Permission::ShowOnDevice];
    approve_contact(&kitchen.node, &gran.node.contact_code(), &both).await;
    approve_contact(&gran.node, &kitchen.node.contact_code(), &both).await;
    wait_relay(&kitchen.node).await;
    wait_relay(&gran.node).await;

    assert_eq!(gran.link_to("Kitchen").unwrap(), "Kitchen");
    wait_advancing("Gran's camera on the kitchen's screen", kitchen_dir.path()).await;
    wait_advancing("the kitchen's camera on Gran's screen", gran_dir.path()).await;
    // Both devices are live to the other: their LEDs and screens say so.
    assert_eq!(gran.watchers(), vec!["Kitchen".to_string()]);
    assert_eq!(kitchen.watchers(), vec!["Gran".to_string()]);
    assert_eq!(kitchen.status().showing.as_deref(), Some("Gran"));
    assert_eq!(gran.status().showing.as_deref(), Some("Kitchen"));

    // Privacy on at Gran's: her picture leaves the kitchen's screen.
    gran.privacy(PrivacyInput::Set(true)).unwrap();
    wait_until(
        "Gran off the kitchen's screen",
        Duration::from_secs(10),
        || shown_number(kitchen_dir.path()).is_none(),
    )
    .await;
    // Privacy off: the link calls again by itself.
    gran.privacy(PrivacyInput::Set(false)).unwrap();
    wait_advancing("Gran back on the kitchen's screen", kitchen_dir.path()).await;

    // Ended by Gran's owner: off the kitchen's screen, and not called again.
    gran.end_link("Kitchen").unwrap();
    wait_until("the call ended", Duration::from_secs(10), || {
        shown_number(kitchen_dir.path()).is_none() && gran.watchers().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(shown_number(kitchen_dir.path()).is_none());
    assert!(gran.end_link("Kitchen").is_err(), "nothing left to end");
    gran.stop().await;
    kitchen.stop().await;
}
