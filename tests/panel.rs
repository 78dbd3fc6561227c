//! The panel on a laptop: simulated buttons pressed through `buttons.sock`
//! (what `hearth press` does), the simulated screen written to `screen.png`.
//! PRIVACY toggles privacy; SNAPSHOT with nobody allowed says so on screen.

mod support;

use hearth::hardware::buttons::{press, socket_path, Action, Button};
use std::time::Duration;
use support::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_privacy_button_toggles_privacy_and_the_screen_follows() {
    init_logs();
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let device = start_device(dir.path(), &relay.url()).await;
    device.start_panel().expect("simulated panel starts");
    let screen = dir.path().join("screen.png");
    wait_until("the screen is drawn", Duration::from_secs(10), || {
        screen.exists()
    })
    .await;

    let before = std::fs::read(&screen).unwrap();
    let socket = socket_path(dir.path());
    let push = |button| {
        let socket = socket.clone();
        tokio::task::spawn_blocking(move || press(&socket, button, Action::Press))
    };
    push(Button::Privacy).await.unwrap().unwrap();
    wait_until("privacy on", Duration::from_secs(10), || {
        device.status().private
    })
    .await;
    assert!(device.media.is_private(), "camera and microphone are off");
    wait_until(
        "the screen changes to PRIVATE",
        Duration::from_secs(10),
        || std::fs::read(&screen).is_ok_and(|now| now != before),
    )
    .await;
    assert!(
        hearth::privacy::PrivacyState::load(dir.path()).unwrap().on,
        "saved for the next boot"
    );
    push(Button::Privacy).await.unwrap().unwrap();
    wait_until("privacy off", Duration::from_secs(10), || {
        !device.status().private
    })
    .await;
    // Refused, and `hearth press` is told why.
    let err = push(Button::Snapshot).await.unwrap().unwrap_err();
    assert!(
        err.to_string().contains("nobody may receive shares yet"),
        "{err}"
    );
    let err = push(Button::Yes).await.unwrap().unwrap_err();
    assert!(
        err.to_string().contains("no pairing request is waiting"),
        "{err}"
    );
    device.stop().await;
}
