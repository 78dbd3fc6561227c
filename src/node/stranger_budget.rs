//! How much a stranger may cost this node. Two budgets of this kind guard it:
//! - *opening*: an envelope from a key that is not in the contact book is
//!   opened (an X25519 exchange and a signature check) only within
//!   [`StrangerBudget::opening`]; the rest are dropped unread, so a flood of
//!   junk cannot keep the router from a contact's offer.
//! - *answering*: every answer goes through the relay on this node's own
//!   key's allowance (the relay caps a key's frames per second), so strangers
//!   get a sealed answer only within [`StrangerBudget::answering`]; past that
//!   they get silence, and the allowance stays the family's.
//!
//! Pure: the caller passes the time.

use crate::keys::PeerKey;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Most strangers remembered; the oldest are forgotten first.
const MAX_TRACKED: usize = 4_096;

/// Decides whether a stranger gets something (an envelope opened, an answer) now.
#[derive(Debug)]
pub struct StrangerBudget {
    per_key_interval: Duration,
    per_key_burst: u32,
    total_per_second: u32,
    /// Per key: tokens left and when they were counted.
    keys: HashMap<PeerKey, (f64, Instant)>,
    second: Option<Instant>,
    answered_this_second: u32,
    /// Withheld since the last time they were counted.
    withheld: u64,
}

impl StrangerBudget {
    /// For the same key, `per_key_burst` at once and then one per
    /// `per_key_interval`; `total_per_second` for all keys together.
    pub fn new(per_key_interval: Duration, per_key_burst: u32, total_per_second: u32) -> Self {
        StrangerBudget {
            per_key_interval,
            per_key_burst: per_key_burst.max(1),
            total_per_second,
            keys: HashMap::new(),
            second: None,
            answered_this_second: 0,
            withheld: 0,
        }
    }

    /// Envelopes from strangers opened: 10 at once and 5 a second per key,
    /// 50 a second in all.
    pub fn opening() -> Self {
        Self::new(Duration::from_millis(200), 10, 50)
    }

    /// Answers to strangers: one per key every 10 s, 5 a second in all (the
    /// relay lets a key send 50 frames a second).
    pub fn answering() -> Self {
        Self::new(Duration::from_secs(10), 1, 5)
    }

    /// Whether `from` may be answered at `now`; spends the budget if so.
    pub fn allow(&mut self, from: &PeerKey, now: Instant) -> bool {
        let burst = f64::from(self.per_key_burst);
        let refill = |(tokens, last): (f64, Instant)| {
            let earned =
                now.duration_since(last).as_secs_f64() / self.per_key_interval.as_secs_f64();
            (tokens + earned).min(burst)
        };
        let tokens = self.keys.get(from).map_or(burst, |bucket| refill(*bucket));
        // A hair of slack so a full interval's wait always earns its token.
        if tokens < 1.0 - 1e-9 {
            self.withheld += 1;
            return false;
        }
        if self
            .second
            .is_none_or(|start| now.duration_since(start) >= Duration::from_secs(1))
        {
            self.second = Some(now);
            self.answered_this_second = 0;
        }
        if self.answered_this_second >= self.total_per_second {
            self.withheld += 1;
            return false;
        }
        self.answered_this_second += 1;
        if self.keys.len() >= MAX_TRACKED {
            self.keys.retain(|_, bucket| refill(*bucket) < burst);
        }
        if self.keys.len() < MAX_TRACKED || self.keys.contains_key(from) {
            self.keys.insert(*from, ((tokens - 1.0).max(0.0), now));
        }
        true
    }

    /// How many were withheld since the last call (for one log line now and
    /// then instead of one per stranger).
    pub fn take_withheld(&mut self) -> u64 {
        std::mem::take(&mut self.withheld)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> PeerKey {
        PeerKey([n; 32])
    }

    #[test]
    fn one_answer_per_stranger_per_interval() {
        let mut budget = StrangerBudget::answering();
        let t = Instant::now();
        let interval = Duration::from_secs(10);
        assert!(budget.allow(&key(1), t));
        assert!(!budget.allow(&key(1), t + Duration::from_secs(1)));
        assert!(!budget.allow(&key(1), t + interval - Duration::from_millis(1)));
        assert!(budget.allow(&key(1), t + interval));
        assert_eq!(budget.take_withheld(), 2);
        assert_eq!(budget.take_withheld(), 0);
    }

    #[test]
    fn a_stranger_s_few_quick_envelopes_are_all_opened_but_not_a_stream() {
        let mut budget = StrangerBudget::opening();
        let t = Instant::now();
        let opened = (0..40u64)
            .filter(|i| budget.allow(&key(1), t + Duration::from_millis(*i)))
            .count();
        assert_eq!(opened, 10, "a burst of 10, then 5 a second");
        assert!(budget.allow(&key(1), t + Duration::from_millis(240)));
    }

    #[test]
    fn forty_strangers_get_at_most_the_total_a_second() {
        // 400 envelopes a second from 40 keys, for 3 seconds.
        let budgets = [
            (StrangerBudget::answering(), 5),
            (StrangerBudget::opening(), 50),
        ];
        for (mut budget, total) in budgets {
            let t = Instant::now();
            let mut allowed = 0;
            for tick in 0..1200u32 {
                let now = t + Duration::from_micros(2_500 * tick as u64);
                if budget.allow(&key((tick % 40) as u8), now) {
                    allowed += 1;
                }
            }
            assert!(allowed <= 3 * total, "{allowed} in 3 s");
            assert!(allowed >= total, "some strangers still get through");
            assert_eq!(budget.take_withheld(), 1200 - allowed as u64);
        }
    }
}
