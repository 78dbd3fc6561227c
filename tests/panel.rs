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

/// The panel's timing runs on the device's clock: a note meant to stay five
/// minutes stays while real seconds pass, and goes once the clock is moved
/// past them — a rule of minutes checked in seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_stays_for_its_time_on_the_devices_clock() {
    init_logs();
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = device_config(&relay.url());
    config.display.note_secs = 300;
    let clock = hearth::clock::Clock::manual();
    let device = start_device_on_clock(dir.path(), config, clock.clone()).await;
    device.start_panel().expect("simulated panel starts");
    let screen = dir.path().join("screen.png");
    wait_until("the screen is drawn", Duration::from_secs(10), || {
        screen.exists()
    })
    .await;
    // The home screen, once it has settled (the relay's state shows on it).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let home = std::fs::read(&screen).unwrap();

    let socket = socket_path(dir.path());
    let press_snapshot = {
        let socket = socket.clone();
        tokio::task::spawn_blocking(move || press(&socket, Button::Snapshot, Action::Press))
    };
    // Refused (nobody may receive shares): the screen says why.
    press_snapshot.await.unwrap().unwrap_err();
    wait_until("the note shows", Duration::from_secs(10), || {
        std::fs::read(&screen).is_ok_and(|now| now != home)
    })
    .await;
    let note = std::fs::read(&screen).unwrap();
    // Real seconds pass (the panel looks every second): the note stays.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(std::fs::read(&screen).unwrap(), note, "the note stays");

    clock.advance(Duration::from_secs(301));
    wait_until(
        "the home screen is back once the clock passed the note's time",
        Duration::from_secs(5),
        || std::fs::read(&screen).is_ok_and(|now| now == home),
    )
    .await;
    device.stop().await;
}
