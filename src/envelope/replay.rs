//! Replay protection for envelopes. Pure: the caller passes the current time.
//!
//! The rule (also in `docs/protocol.md`):
//! - An envelope is fresh if its timestamp is within [`REPLAY_WINDOW`] of the
//!   local clock; anything older or further ahead is refused by time alone.
//! - Inside the window, each `(sender, nonce)` is accepted once. The guard
//!   remembers every nonce until its envelope would be stale anyway.
//! - Nothing is kept on disk, so a guard starts with a floor: envelopes
//!   timestamped before it was made are refused. The relay stores nothing,
//!   so no genuine envelope sent before a restart can arrive after it; one
//!   that does is a replay (or its sender's clock is behind ours).
//! - A flood never pushes a live nonce out. Each sender may have at most
//!   [`MAX_PER_SENDER`] envelopes in the window and all senders together at
//!   most [`MAX_REMEMBERED`]; past either bound, new envelopes are refused
//!   (`Flooded`) until old ones age out. Refusing is always safe; forgetting
//!   is what let replays through.

use super::EnvelopeError;
use crate::keys::PeerKey;
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

/// How far an envelope's timestamp may be from the local clock.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(120);
/// Most envelopes one sender may have inside the window (the relay lets a
/// key send 50 frames a second; a person's signalling is a few dozen).
pub const MAX_PER_SENDER: usize = 2_000;
/// Most nonces remembered from all senders together.
pub const MAX_REMEMBERED: usize = 200_000;

/// What one sender sent inside the window.
#[derive(Debug, Default)]
struct Sender {
    nonces: HashSet<String>,
    /// `(expires, nonce)`, nearly sorted by expiry.
    order: VecDeque<(i64, String)>,
}

/// Remembers recently seen envelope nonces, per sender.
#[derive(Debug)]
pub struct ReplayGuard {
    /// Envelopes timestamped before this are refused.
    floor_ms: i64,
    senders: HashMap<PeerKey, Sender>,
    /// `(expires, sender)` for every remembered nonce, nearly sorted.
    expiries: VecDeque<(i64, PeerKey)>,
}

impl Default for ReplayGuard {
    fn default() -> Self {
        ReplayGuard {
            floor_ms: i64::MIN,
            senders: HashMap::new(),
            expiries: VecDeque::new(),
        }
    }
}

impl ReplayGuard {
    /// An empty guard with no floor (for tests and one-off opens).
    pub fn new() -> Self {
        Self::default()
    }

    /// The guard of a node that starts at `now_ms`: envelopes timestamped
    /// before then are refused, since their nonces were not kept.
    pub fn starting_at(now_ms: i64) -> Self {
        ReplayGuard {
            floor_ms: now_ms,
            ..Self::default()
        }
    }

    /// Accepts the envelope `(from, nonce, ts)` once, if `ts` is within the window of `now_ms`.
    pub fn check(
        &mut self,
        from: &PeerKey,
        nonce: &str,
        ts: i64,
        now_ms: i64,
    ) -> Result<(), EnvelopeError> {
        let window = REPLAY_WINDOW.as_millis() as i64;
        // `abs_diff`, not `(ts - now).abs()`: a timestamp near i64::MIN
        // would overflow the subtraction or the negation.
        let skew = ts.saturating_sub(now_ms);
        if ts.abs_diff(now_ms) > window.unsigned_abs() {
            return Err(EnvelopeError::Stale(skew));
        }
        if ts < self.floor_ms {
            return Err(EnvelopeError::BeforeStart);
        }
        self.forget_before(now_ms.saturating_sub(window));
        let sender = self.senders.entry(*from).or_default();
        if sender.nonces.contains(nonce) {
            return Err(EnvelopeError::Replayed);
        }
        if sender.order.len() >= MAX_PER_SENDER || self.expiries.len() >= MAX_REMEMBERED {
            if sender.order.is_empty() {
                self.senders.remove(from);
            }
            return Err(EnvelopeError::Flooded);
        }
        // Kept until it would be stale anyway, however far in the future it claims to be.
        let expires = ts.max(now_ms);
        sender.nonces.insert(nonce.to_string());
        sender.order.push_back((expires, nonce.to_string()));
        self.expiries.push_back((expires, *from));
        Ok(())
    }

    fn forget_before(&mut self, cutoff: i64) {
        // Both queues are nearly sorted by expiry; stop at the first one still live.
        while let Some((expires, key)) = self.expiries.front() {
            if *expires >= cutoff {
                break;
            }
            let key = *key;
            self.expiries.pop_front();
            let Some(sender) = self.senders.get_mut(&key) else {
                continue;
            };
            while let Some((expires, _)) = sender.order.front() {
                if *expires >= cutoff {
                    break;
                }
                let (_, nonce) = sender.order.pop_front().expect("front exists");
                sender.nonces.remove(&nonce);
            }
            if sender.order.is_empty() {
                self.senders.remove(&key);
            }
        }
    }

    /// How many nonces are remembered.
    pub fn len(&self) -> usize {
        self.senders.values().map(|s| s.order.len()).sum()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.senders.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn key(n: u32) -> PeerKey {
        let mut bytes = [0u8; 32];
        bytes[..4].copy_from_slice(&n.to_le_bytes());
        PeerKey(bytes)
    }

    #[test]
    fn after_a_restart_envelopes_from_before_it_are_refused() {
        let mut before = ReplayGuard::starting_at(NOW - 60_000);
        before
            .check(&key(1), "n1", NOW - 6_000, NOW - 6_000)
            .unwrap();
        // The device restarts: a new guard, and the same envelope 6 s later.
        let mut after = ReplayGuard::starting_at(NOW);
        assert_eq!(
            after.check(&key(1), "n1", NOW - 6_000, NOW),
            Err(EnvelopeError::BeforeStart)
        );
        after.check(&key(1), "n2", NOW + 1, NOW + 1).unwrap();
    }

    #[test]
    fn a_flood_of_other_senders_never_pushes_a_live_nonce_out() {
        let mut guard = ReplayGuard::starting_at(NOW);
        guard.check(&key(0), "original", NOW, NOW).unwrap();
        for i in 1..=100_001u32 {
            let _ = guard.check(&key(i), "junk", NOW + 1, NOW + 1);
        }
        assert_eq!(
            guard.check(&key(0), "original", NOW, NOW + 2),
            Err(EnvelopeError::Replayed)
        );
        // Past the total bound new envelopes are refused, never remembered-then-forgotten.
        for i in 100_002..=(MAX_REMEMBERED as u32 + 10) {
            let _ = guard.check(&key(i), "junk", NOW + 3, NOW + 3);
        }
        assert_eq!(guard.len(), MAX_REMEMBERED);
        assert_eq!(
            guard.check(&key(0), "original", NOW, NOW + 4),
            Err(EnvelopeError::Replayed)
        );
        assert_eq!(
            guard.check(&key(u32::MAX), "new", NOW + 4, NOW + 4),
            Err(EnvelopeError::Flooded)
        );
        // Once the window has passed, room comes back.
        let later = NOW + REPLAY_WINDOW.as_millis() as i64 + 10;
        guard.check(&key(u32::MAX), "new", later, later).unwrap();
        assert_eq!(guard.len(), 1);
    }

    #[test]
    fn one_sender_flooding_only_limits_itself() {
        let mut guard = ReplayGuard::starting_at(NOW);
        guard.check(&key(1), "mine", NOW, NOW).unwrap();
        for i in 0..MAX_PER_SENDER {
            let _ = guard.check(&key(2), &format!("junk{i}"), NOW, NOW);
        }
        assert_eq!(
            guard.check(&key(2), "one more", NOW, NOW),
            Err(EnvelopeError::Flooded)
        );
        assert_eq!(
            guard.check(&key(1), "mine", NOW, NOW + 1),
            Err(EnvelopeError::Replayed)
        );
        guard.check(&key(1), "next", NOW + 1, NOW + 1).unwrap();
    }

    #[test]
    fn stale_and_far_future_envelopes_are_refused_by_time() {
        let mut guard = ReplayGuard::new();
        let window = REPLAY_WINDOW.as_millis() as i64;
        assert!(matches!(
            guard.check(&key(1), "old", NOW - window - 1, NOW),
            Err(EnvelopeError::Stale(_))
        ));
        assert!(matches!(
            guard.check(&key(1), "ahead", NOW + window + 1, NOW),
            Err(EnvelopeError::Stale(_))
        ));
    }

    #[test]
    fn timestamps_at_the_ends_of_the_range_are_stale_not_a_panic() {
        // Found by the envelope fuzz target: `ts.saturating_sub(now)` is
        // i64::MIN here, whose `abs()` overflowed (a panic in debug builds; in
        // release it wrapped negative and the envelope passed as fresh).
        let mut guard = ReplayGuard::new();
        for ts in [i64::MIN, i64::MIN + 1, i64::MIN + NOW, i64::MAX] {
            assert!(
                matches!(
                    guard.check(&key(1), "edge", ts, NOW),
                    Err(EnvelopeError::Stale(_))
                ),
                "ts {ts} was not refused as stale"
            );
        }
        assert!(guard.is_empty());
    }
}
