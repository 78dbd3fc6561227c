//! Reconnect delays for the relay client: exponential growth with full
//! jitter, capped, reset after a successful auth. Pure and driven by an
//! injected RNG so tests are deterministic.

use std::time::Duration;

use rand::{Rng, RngCore};

/// Shape of the backoff curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// Ceiling of the first delay.
    pub initial: Duration,
    /// Multiplier applied to the ceiling after each failure.
    pub factor: u32,
    /// Largest ceiling.
    pub max: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            factor: 2,
            max: Duration::from_secs(30),
        }
    }
}

/// Exponential backoff with full jitter: each delay is uniform in `[0, ceiling]`.
#[derive(Debug, Clone)]
pub struct Backoff<R> {
    config: BackoffConfig,
    attempt: u32,
    rng: R,
}

impl<R: RngCore> Backoff<R> {
    /// A fresh backoff drawing jitter from `rng`.
    pub fn new(config: BackoffConfig, rng: R) -> Self {
        Self {
            config,
            attempt: 0,
            rng,
        }
    }

    /// Ceiling of the next delay: `initial * factor^attempt`, at most `max`.
    pub fn ceiling(&self) -> Duration {
        self.config
            .factor
            .checked_pow(self.attempt)
            .and_then(|m| self.config.initial.checked_mul(m))
            .map_or(self.config.max, |c| c.min(self.config.max))
    }

    /// The delay before the next attempt; each call raises the ceiling.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.gen_range(0..=nanos))
    }

    /// Back to the first ceiling, after a connection succeeded.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Failures since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn backoff(seed: u64) -> Backoff<StdRng> {
        Backoff::new(BackoffConfig::default(), StdRng::seed_from_u64(seed))
    }

    #[test]
    fn ceiling_doubles_then_caps() {
        let mut b = backoff(1);
        let mut ceilings = Vec::new();
        for _ in 0..12 {
            ceilings.push(b.ceiling().as_millis());
            b.next_delay();
        }
        assert_eq!(
            ceilings,
            [200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000, 30000]
        );
    }

    #[test]
    fn delays_stay_within_ceiling_and_are_jittered() {
        let mut b = backoff(7);
        let mut firsts = Vec::new();
        for _ in 0..50 {
            let ceiling = b.ceiling();
            let d = b.next_delay();
            assert!(d <= ceiling, "{d:?} > {ceiling:?}");
            firsts.push(d);
        }
        firsts.sort();
        firsts.dedup();
        assert!(firsts.len() > 40, "delays should differ: {firsts:?}");
    }

    #[test]
    fn same_seed_same_delays() {
        let (mut a, mut b) = (backoff(42), backoff(42));
        for _ in 0..10 {
            assert_eq!(a.next_delay(), b.next_delay());
        }
    }

    #[test]
    fn reset_returns_to_initial_ceiling() {
        let mut b = backoff(3);
        for _ in 0..6 {
            b.next_delay();
        }
        assert_eq!(b.attempt(), 6);
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(200));
        assert!(b.next_delay() <= Duration::from_millis(200));
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let mut b = backoff(5);
        b.attempt = u32::MAX;
        assert_eq!(b.ceiling(), Duration::from_secs(30));
        assert!(b.next_delay() <= Duration::from_secs(30));
        assert_eq!(b.attempt(), u32::MAX);
    }
}
