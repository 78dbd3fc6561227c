//! Replay protection for envelopes: a timestamp window plus the nonces seen
//! inside it. Pure: the caller passes the current time.

use super::EnvelopeError;
use crate::keys::PeerKey;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// How far an envelope's timestamp may be from the local clock.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(120);
/// Most nonces remembered; past this, the oldest are forgotten early.
const MAX_REMEMBERED: usize = 100_000;

/// Remembers recently seen envelope nonces.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    seen: HashMap<(PeerKey, String), i64>,
    order: VecDeque<(i64, PeerKey, String)>,
}

impl ReplayGuard {
    /// An empty guard.
    pub fn new() -> Self {
        Self::default()
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
        let skew = ts.saturating_sub(now_ms);
        if skew.abs() > window {
            return Err(EnvelopeError::Stale(skew));
        }
        self.forget_before(now_ms - window);
        let id = (*from, nonce.to_string());
        if self.seen.contains_key(&id) {
            return Err(EnvelopeError::Replayed);
        }
        // Kept until it would be stale anyway, however far in the future it claims to be.
        let expires = ts.max(now_ms);
        self.seen.insert(id.clone(), expires);
        self.order.push_back((expires, id.0, id.1));
        while self.order.len() > MAX_REMEMBERED {
            if let Some((_, key, nonce)) = self.order.pop_front() {
                self.seen.remove(&(key, nonce));
            }
        }
        Ok(())
    }

    fn forget_before(&mut self, cutoff: i64) {
        // `order` is nearly sorted by expiry; stop at the first one still live.
        while let Some((expires, _, _)) = self.order.front() {
            if *expires >= cutoff {
                break;
            }
            let (_, key, nonce) = self.order.pop_front().expect("front exists");
            self.seen.remove(&(key, nonce));
        }
    }

    /// How many nonces are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}
