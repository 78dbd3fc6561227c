//! Debounce and long press on edge timings from fixture files, and `hearth press`
//! through the device's socket. No GPIO needed.

use std::path::Path;
use std::time::Duration;

use hearth::hardware::buttons::debounce::{actions_from_edges, Action, Edge, Timing};
use hearth::hardware::buttons::socket::{press, socket_path, PressSocket};
use hearth::hardware::buttons::{Button, ButtonEvent, ButtonEvents};
use hearth::hardware::HardwareError;

fn edges(name: &str) -> Vec<Edge> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/buttons")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split_whitespace();
            let micros: u64 = parts.next().unwrap().parse().unwrap();
            let level = parts.next().unwrap();
            Edge {
                at: Duration::from_micros(micros),
                pressed: level == "1",
            }
        })
        .collect()
}

fn run(name: &str) -> Vec<(Duration, Action)> {
    let edges = edges(name);
    let until = edges.last().unwrap().at + Duration::from_secs(3);
    actions_from_edges(Timing::default(), &edges, until)
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

#[test]
fn a_bouncy_tap_is_one_press() {
    // Released for good at 170.02 ms; certain 30 ms later.
    assert_eq!(run("tap_bouncy.edges"), vec![(us(200_020), Action::Press)]);
}

#[test]
fn a_long_hold_is_one_long_press_a_second_after_the_contact_settled() {
    assert_eq!(
        run("long_press_bouncy.edges"),
        vec![(us(1_001_900), Action::LongPress)]
    );
}

#[test]
fn interference_spikes_are_not_presses() {
    assert_eq!(run("glitches.edges"), vec![]);
}

#[test]
fn a_double_tap_is_two_presses() {
    assert_eq!(
        run("double_tap.edges"),
        vec![(us(151_300), Action::Press), (us(525_000), Action::Press)]
    );
}

#[test]
fn chatter_during_a_hold_changes_nothing() {
    assert_eq!(
        run("hold_with_chatter.edges"),
        vec![(us(1_000_000), Action::LongPress)]
    );
}

#[test]
fn a_slower_long_press_setting_turns_the_hold_into_a_press() {
    let timing = Timing {
        debounce: Duration::from_millis(30),
        long_press: Duration::from_secs(2),
    };
    let e = edges("long_press_bouncy.edges");
    let out = actions_from_edges(timing, &e, Duration::from_secs(5));
    assert_eq!(out, vec![(us(1_643_200), Action::Press)]);
}

#[test]
fn hearth_press_reaches_the_running_device() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_path(dir.path());
    let mut events = ButtonEvents::new();
    let socket = PressSocket::bind(&path, events.sender()).unwrap();
    press(&path, Button::Privacy, Action::Press).unwrap();
    press(&path, Button::Yes, Action::LongPress).unwrap();
    assert_eq!(
        events.blocking_recv(),
        Some(ButtonEvent {
            button: Button::Privacy,
            action: Action::Press
        })
    );
    assert_eq!(events.blocking_recv().unwrap().action, Action::LongPress);
    // A second device on the same data directory is refused while the first runs.
    assert!(matches!(
        PressSocket::bind(&path, events.sender()),
        Err(HardwareError::Busy { .. })
    ));
    drop(socket);
    assert!(!path.exists(), "the socket file is removed on shutdown");
    let err = press(&path, Button::Privacy, Action::Press).unwrap_err();
    assert!(
        err.to_string().contains("no Hearth device is running"),
        "{err}"
    );
}
