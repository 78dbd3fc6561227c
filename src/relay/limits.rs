//! Abuse limits of the relay as pure data structures driven by explicit
//! `Instant`s: a per-key token bucket (the per-IP connection counter is the
//! edge's, [`crate::edge::ConnectionCounter`], shared with every server).

pub use crate::edge::ConnectionCounter;

use std::time::Instant;

/// Credit units per token; integer arithmetic keeps refills exact.
const NANOS_PER_TOKEN: u64 = 1_000_000_000;

/// Token bucket: starts full with `burst` tokens, refills `rate` per second.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: u64,
    capacity: u64,
    credit: u64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket holding `burst` tokens that refills `rate_per_sec` per second.
    pub fn new(rate_per_sec: u32, burst: u32, now: Instant) -> Self {
        let capacity = u64::from(burst).saturating_mul(NANOS_PER_TOKEN);
        Self {
            rate: u64::from(rate_per_sec),
            capacity,
            credit: capacity,
            last: now,
        }
    }

    /// Takes one token if there is one; `false` means the caller is over the limit.
    pub fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.credit >= NANOS_PER_TOKEN {
            self.credit -= NANOS_PER_TOKEN;
            true
        } else {
            false
        }
    }

    /// Whole tokens available at `now`.
    pub fn available(&mut self, now: Instant) -> u64 {
        self.refill(now);
        self.credit / NANOS_PER_TOKEN
    }

    fn refill(&mut self, now: Instant) {
        // A clock going backwards adds nothing and keeps `last` where it was.
        let elapsed = now.saturating_duration_since(self.last);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let added = nanos.saturating_mul(self.rate);
        self.credit = self.credit.saturating_add(added).min(self.capacity);
        self.last = self.last.max(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_burst_then_refuses() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, 3, t0);
        assert!(b.try_take(t0));
        assert!(b.try_take(t0));
        assert!(b.try_take(t0));
        assert!(!b.try_take(t0));
    }

    #[test]
    fn bucket_refills_at_rate_with_fake_clock() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, 2, t0);
        assert!(b.try_take(t0) && b.try_take(t0));
        assert!(!b.try_take(t0 + Duration::from_millis(99)));
        assert!(b.try_take(t0 + Duration::from_millis(100)));
        assert!(!b.try_take(t0 + Duration::from_millis(150)));
        // Partial credit carries over: 50 ms left over + 50 ms more = one token.
        assert!(b.try_take(t0 + Duration::from_millis(200)));
    }

    #[test]
    fn bucket_never_exceeds_burst_and_ignores_backwards_clock() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(50, 4, t0);
        assert_eq!(b.available(t0 + Duration::from_secs(3600)), 4);
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..4 {
            assert!(b.try_take(later));
        }
        assert!(!b.try_take(t0));
        assert_eq!(b.available(later), 0);
    }
}
