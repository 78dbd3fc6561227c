//! The recovery rules on fake time.

use super::*;

fn clock() -> impl Fn(u64) -> Instant {
    let start = Instant::now();
    move |ms| start + Duration::from_millis(ms)
}

/// Every action from `from_ms` to `to_ms`, polling when the state asks to.
fn run(
    r: &mut Recovery,
    t: &impl Fn(u64) -> Instant,
    from_ms: u64,
    to_ms: u64,
) -> Vec<(u64, Action)> {
    let mut out = vec![];
    let mut now = from_ms;
    while let Some(wake) = r.next_wake() {
        let at = wake.saturating_duration_since(t(0)).as_millis() as u64;
        now = now.max(at);
        if now > to_ms {
            break;
        }
        match r.poll(t(now)) {
            Some(action) => out.push((now, action)),
            None => now += 1,
        }
    }
    out
}

#[test]
fn a_connected_session_does_nothing() {
    let t = clock();
    let mut r = Recovery::new(Side::Caller, RecoveryConfig::default());
    assert_eq!(r.next_wake(), None);
    assert_eq!(r.poll(t(100_000)), None);
}

#[test]
fn the_caller_restarts_at_once_then_after_1_s_then_every_2_s() {
    let t = clock();
    let mut r = Recovery::new(Side::Caller, RecoveryConfig::default());
    r.seen(Seen::Disconnected, t(0));
    let actions = run(&mut r, &t, 0, 7_000);
    let restart = Action::Restart(RestartCause::Disconnected);
    assert_eq!(
        actions,
        vec![
            (0, restart),
            (1_000, restart),
            (3_000, restart),
            (5_000, restart),
            (7_000, restart)
        ]
    );
}

#[test]
fn the_callee_asks_instead_of_restarting() {
    let t = clock();
    let mut r = Recovery::new(Side::Callee, RecoveryConfig::default());
    r.seen(Seen::Failed, t(0));
    assert_eq!(r.poll(t(0)), Some(Action::AskRestart(RestartCause::Failed)));
    // A callee takes no requests: only the caller restarts.
    let mut r = Recovery::new(Side::Callee, RecoveryConfig::default());
    r.seen(Seen::RestartRequested(RestartCause::Failed), t(0));
    assert_eq!(r.next_wake(), None);
}

#[test]
fn coming_back_stops_the_attempts() {
    let t = clock();
    let mut r = Recovery::new(Side::Caller, RecoveryConfig::default());
    r.seen(Seen::Failed, t(0));
    assert!(r.poll(t(0)).is_some());
    r.seen(Seen::Connected, t(400));
    assert_eq!(r.next_wake(), None);
    assert_eq!(r.poll(t(60_000)), None, "no give-up once back");
}

#[test]
fn a_session_without_a_path_for_60_s_gives_up_and_30_s_does_not() {
    let t = clock();
    let mut r = Recovery::new(Side::Caller, RecoveryConfig::default());
    r.seen(Seen::Disconnected, t(0));
    let actions = run(&mut r, &t, 0, 30_000);
    assert!(!actions.iter().any(|(_, a)| *a == Action::GiveUp));
    r.seen(Seen::Failed, t(30_000));
    let actions = run(&mut r, &t, 30_000, 61_000);
    assert_eq!(actions.last(), Some(&(60_000, Action::GiveUp)));
    assert_eq!(r.next_wake(), None, "given up once, nothing more");
    // The lost time counts from the first sign, not from `Failed`.
    assert!(actions
        .iter()
        .filter(|(_, a)| *a != Action::GiveUp)
        .all(|(at, _)| *at < 60_000));
}

#[test]
fn an_address_change_restarts_once_even_while_connected() {
    let t = clock();
    let mut r = Recovery::new(Side::Caller, RecoveryConfig::default());
    r.seen(Seen::AddressesChanged, t(5_000));
    assert_eq!(
        run(&mut r, &t, 5_000, 20_000),
        vec![(5_000, Action::Restart(RestartCause::AddressChanged))]
    );
}

#[test]
fn attempts_are_at_least_a_second_apart_whatever_asks() {
    let t = clock();
    let mut r = Recovery::new(Side::Caller, RecoveryConfig::default());
    r.seen(Seen::AddressesChanged, t(0));
    assert!(r.poll(t(0)).is_some());
    // The callee asks, the addresses change again and ICE says disconnected,
    // all within the second: one more attempt, at 1 s.
    r.seen(Seen::RestartRequested(RestartCause::Disconnected), t(100));
    r.seen(Seen::AddressesChanged, t(200));
    r.seen(Seen::Disconnected, t(300));
    assert_eq!(r.poll(t(999)), None);
    assert!(matches!(r.poll(t(1_000)), Some(Action::Restart(_))));
    assert_eq!(r.poll(t(1_500)), None);
}

#[test]
fn a_request_from_the_callee_restarts_the_caller() {
    let t = clock();
    let mut r = Recovery::new(Side::Caller, RecoveryConfig::default());
    r.seen(Seen::RestartRequested(RestartCause::AddressChanged), t(10));
    assert_eq!(
        r.poll(t(10)),
        Some(Action::Restart(RestartCause::AddressChanged))
    );
    assert_eq!(r.next_wake(), None, "connected: one attempt");
}

#[test]
fn an_attempt_that_could_not_be_sent_goes_out_again_when_the_relay_is_back() {
    let t = clock();
    let mut r = Recovery::new(Side::Callee, RecoveryConfig::default());
    r.seen(Seen::AddressesChanged, t(0));
    assert_eq!(
        r.poll(t(0)),
        Some(Action::AskRestart(RestartCause::AddressChanged))
    );
    r.seen(Seen::NotSent, t(1));
    assert_eq!(r.next_wake(), None, "nothing to do while the relay is away");
    r.seen(Seen::SignallingUp, t(80));
    assert_eq!(
        r.poll(t(80)),
        Some(Action::AskRestart(RestartCause::AddressChanged)),
        "at once, not a second later"
    );
    // The relay coming back with nothing unsent changes nothing.
    r.seen(Seen::SignallingUp, t(500));
    assert_eq!(r.next_wake(), None);
}

#[test]
fn a_contact_that_left_the_relay_while_the_path_is_down_is_given_up_sooner() {
    // A browser tab closed: its connection drops and its key leaves the
    // relay, so every request to restart comes back "offline".
    let t = clock();
    let mut r = Recovery::new(Side::Callee, RecoveryConfig::default());
    r.seen(Seen::Disconnected, t(0));
    assert_eq!(
        r.poll(t(0)),
        Some(Action::AskRestart(RestartCause::Disconnected))
    );
    r.seen(Seen::ContactOffline, t(0));
    let actions = run(&mut r, &t, 1, 60_000);
    let (at, last) = *actions.last().expect("gave up");
    assert_eq!(last, Action::GiveUp);
    assert_eq!(at, 20_000, "20 s after the contact was first seen offline");
}

#[test]
fn a_contact_that_comes_back_to_the_relay_gets_the_full_time() {
    let t = clock();
    let mut r = Recovery::new(Side::Callee, RecoveryConfig::default());
    r.seen(Seen::Disconnected, t(0));
    r.poll(t(0));
    r.seen(Seen::ContactOffline, t(0));
    // At 5 s a request reaches it: it is online again (its network is back).
    r.seen(Seen::Sent, t(5_000));
    let actions = run(&mut r, &t, 5_001, 70_000);
    assert_eq!(actions.last(), Some(&(60_000, Action::GiveUp)));
}
