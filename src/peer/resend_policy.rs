//! When a lost packet is sent again: retransmission with manners.
//!
//! A receiver asks again for a packet (RTCP NACK) until it arrives. On a link
//! slower than what is sent, the queue grows, the resend arrives late, the
//! receiver asks again, and a sender that resends on every ask floods the
//! link with repeats: the stack's own responder sent one packet 101 times,
//! and 91–95% of what went out were repeats (4–14.5 Mbit/s into a
//! 150 kbit/s link). The rules here, with no I/O (the interceptor in
//! `nack_responder.rs` carries them out):
//! - a packet is resent at most once per round trip (a second ask within
//!   one is for the resend already on its way);
//! - at most [`MAX_RESENDS`] times;
//! - resends in the last second stay within [`BUDGET_SHARE`] of what was
//!   sent for the first time in it (plus a small allowance), so repairs
//!   never crowd out the picture;
//! - a packet that cannot be resent asks the encoder for a keyframe instead
//!   (at most one ask per [`KEYFRAME_ASK_GAP`]), which repairs everything
//!   at once.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The most times one packet is sent again.
pub const MAX_RESENDS: u8 = 3;
/// Resent bytes in any second, as a share of first-time bytes in it.
pub const BUDGET_SHARE: f64 = 0.25;
/// Resent bytes always allowed in a second, so a thin stream can repair.
pub const BUDGET_ALLOWANCE: usize = 4_000;
/// The round trip assumed until one is measured.
pub const DEFAULT_RTT: Duration = Duration::from_millis(100);
/// The shortest gap between two keyframe asks.
pub const KEYFRAME_ASK_GAP: Duration = Duration::from_millis(500);
/// How far back the budget looks.
const WINDOW: Duration = Duration::from_secs(1);
/// Measured round trips are kept within these bounds.
const RTT_BOUNDS: (Duration, Duration) = (Duration::from_millis(5), Duration::from_secs(2));

/// What the sender knows of one packet it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// When it last went out (first time or resend).
    pub last: Instant,
    /// How many times it was resent.
    pub resends: u8,
}

impl Sent {
    /// A packet sent for the first time at `at`.
    pub fn new(at: Instant) -> Sent {
        Sent {
            last: at,
            resends: 0,
        }
    }
}

/// The answer to one ask for a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send it again.
    Resend,
    /// Asked again within a round trip of its last sending: the resend is
    /// probably on its way; nothing to do.
    TooSoon,
    /// Resent [`MAX_RESENDS`] times already.
    GaveUp,
    /// Resends in the last second used the budget.
    OverBudget,
}

/// The retransmission rules of one connection.
#[derive(Debug)]
pub struct ResendPolicy {
    rtt: Duration,
    measured: bool,
    /// (when, bytes, resent) of every packet sent in the last [`WINDOW`].
    sent: VecDeque<(Instant, usize, bool)>,
    first_bytes: usize,
    resent_bytes: usize,
    last_keyframe_ask: Option<Instant>,
}

impl Default for ResendPolicy {
    fn default() -> Self {
        ResendPolicy {
            rtt: DEFAULT_RTT,
            measured: false,
            sent: VecDeque::new(),
            first_bytes: 0,
            resent_bytes: 0,
            last_keyframe_ask: None,
        }
    }
}

impl ResendPolicy {
    /// The round trip the rules use now.
    pub fn rtt(&self) -> Duration {
        self.rtt
    }

    /// A round trip measured from a receiver report; smoothed as TCP does
    /// (7/8 of the old value), the first one taken as it is.
    pub fn observe_rtt(&mut self, sample: Duration) {
        let sample = sample.clamp(RTT_BOUNDS.0, RTT_BOUNDS.1);
        self.rtt = if self.measured {
            (self.rtt * 7 + sample) / 8
        } else {
            sample
        };
        self.measured = true;
    }

    /// A packet of `bytes` sent for the first time at `now`.
    pub fn sent_first(&mut self, bytes: usize, now: Instant) {
        self.forget_before(now);
        self.sent.push_back((now, bytes, false));
        self.first_bytes += bytes;
    }

    /// Whether to resend the packet `packet` (of `bytes`) asked for at
    /// `now`; a resend is counted at once.
    pub fn on_ask(&mut self, packet: &mut Sent, bytes: usize, now: Instant) -> Decision {
        self.forget_before(now);
        if now.saturating_duration_since(packet.last) < self.rtt {
            return Decision::TooSoon;
        }
        if packet.resends >= MAX_RESENDS {
            return Decision::GaveUp;
        }
        let budget = (self.first_bytes as f64 * BUDGET_SHARE) as usize + BUDGET_ALLOWANCE;
        if self.resent_bytes + bytes > budget {
            return Decision::OverBudget;
        }
        packet.resends += 1;
        packet.last = now;
        self.sent.push_back((now, bytes, true));
        self.resent_bytes += bytes;
        Decision::Resend
    }

    /// Whether to ask the encoder for a keyframe now, after a packet could
    /// not be resent; counts the ask.
    pub fn ask_keyframe(&mut self, now: Instant) -> bool {
        let due = self
            .last_keyframe_ask
            .is_none_or(|at| now.saturating_duration_since(at) >= KEYFRAME_ASK_GAP);
        if due {
            self.last_keyframe_ask = Some(now);
        }
        due
    }

    fn forget_before(&mut self, now: Instant) {
        while let Some(&(at, bytes, resent)) = self.sent.front() {
            if now.saturating_duration_since(at) < WINDOW {
                break;
            }
            self.sent.pop_front();
            if resent {
                self.resent_bytes -= bytes;
            } else {
                self.first_bytes -= bytes;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn asks_within_a_round_trip_resend_once() {
        let t0 = Instant::now();
        let mut policy = ResendPolicy::default();
        policy.sent_first(1200, t0);
        let mut p = Sent::new(t0);
        assert_eq!(policy.on_ask(&mut p, 1200, t0 + 150 * MS), Decision::Resend);
        // The receiver asks every 10 ms while the resend is on its way.
        for n in 1..10 {
            let at = t0 + 150 * MS + n * 10 * MS;
            assert_eq!(policy.on_ask(&mut p, 1200, at), Decision::TooSoon);
        }
        assert_eq!(p.resends, 1);
        // A round trip later it may go again.
        assert_eq!(policy.on_ask(&mut p, 1200, t0 + 250 * MS), Decision::Resend);
    }

    #[test]
    fn a_packet_is_resent_at_most_three_times() {
        let t0 = Instant::now();
        let mut policy = ResendPolicy::default();
        let mut p = Sent::new(t0);
        let mut resent = 0;
        for n in 1..=101u32 {
            // 101 asks, one every 110 ms, as seen in the storm.
            let at = t0 + n * 110 * MS;
            policy.sent_first(1200, at); // the stream goes on meanwhile
            match policy.on_ask(&mut p, 1200, at) {
                Decision::Resend => resent += 1,
                Decision::GaveUp => {}
                other => panic!("ask {n}: {other:?}"),
            }
        }
        assert_eq!(resent, usize::from(MAX_RESENDS));
    }

    #[test]
    fn resends_stay_within_a_quarter_of_the_stream() {
        let t0 = Instant::now();
        let mut policy = ResendPolicy::default();
        // 40 packets of 1,000 bytes a second go out; all of them are asked for.
        let (mut resent, mut refused) = (0usize, 0usize);
        for n in 0..400u32 {
            let at = t0 + n * 25 * MS;
            policy.sent_first(1000, at);
            let mut p = Sent::new(at - 200 * MS);
            match policy.on_ask(&mut p, 1000, at) {
                Decision::Resend => resent += 1,
                Decision::OverBudget => refused += 1,
                other => panic!("{other:?}"),
            }
        }
        // 10 s: at most 25% of 40 kB plus 4 kB a second.
        assert!(resent <= 10 * 14, "{resent} resent");
        assert!(resent >= 10 * 10, "{resent} resent: the budget is usable");
        assert!(refused > 0);
    }

    #[test]
    fn keyframe_asks_are_spaced() {
        let t0 = Instant::now();
        let mut policy = ResendPolicy::default();
        assert!(policy.ask_keyframe(t0));
        assert!(!policy.ask_keyframe(t0 + 100 * MS));
        assert!(!policy.ask_keyframe(t0 + 499 * MS));
        assert!(policy.ask_keyframe(t0 + 500 * MS));
    }

    #[test]
    fn the_round_trip_is_measured_and_smoothed() {
        let mut policy = ResendPolicy::default();
        assert_eq!(policy.rtt(), DEFAULT_RTT);
        policy.observe_rtt(Duration::from_millis(40));
        assert_eq!(policy.rtt(), Duration::from_millis(40));
        policy.observe_rtt(Duration::from_millis(120));
        assert_eq!(policy.rtt(), Duration::from_millis(50));
        policy.observe_rtt(Duration::from_secs(60));
        assert!(
            policy.rtt() < Duration::from_millis(300),
            "a wild sample is bounded"
        );
    }
}
