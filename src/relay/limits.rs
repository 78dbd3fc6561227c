//! Abuse limits of the relay as pure data structures driven by explicit
//! `Instant`s: a per-key token bucket and a per-IP connection counter.

use std::collections::HashMap;
use std::net::IpAddr;
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

/// Counts open connections per remote IP and refuses those over the cap.
#[derive(Debug, Clone)]
pub struct ConnectionCounter {
    max_per_ip: usize,
    open: HashMap<IpAddr, usize>,
}

impl ConnectionCounter {
    /// A counter allowing `max_per_ip` connections from each address.
    pub fn new(max_per_ip: usize) -> Self {
        Self {
            max_per_ip,
            open: HashMap::new(),
        }
    }

    /// Counts a new connection from `ip`, or returns `false` if it is at the cap.
    pub fn try_acquire(&mut self, ip: IpAddr) -> bool {
        let count = self.open.entry(ip.to_canonical()).or_insert(0);
        if *count >= self.max_per_ip {
            return false;
        }
        *count += 1;
        true
    }

    /// Forgets one connection from `ip`.
    pub fn release(&mut self, ip: IpAddr) {
        let ip = ip.to_canonical();
        if let Some(count) = self.open.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                self.open.remove(&ip);
            }
        }
    }

    /// Open connections from `ip`.
    pub fn count(&self, ip: IpAddr) -> usize {
        self.open.get(&ip.to_canonical()).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
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

    #[test]
    fn counter_caps_per_ip_and_releases() {
        let mut c = ConnectionCounter::new(2);
        let a = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        assert!(c.try_acquire(a) && c.try_acquire(a));
        assert!(!c.try_acquire(a));
        assert!(c.try_acquire(b));
        c.release(a);
        assert_eq!(c.count(a), 1);
        assert!(c.try_acquire(a));
    }

    #[test]
    fn counter_treats_v4_mapped_v6_as_v4() {
        let mut c = ConnectionCounter::new(1);
        let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
        assert!(c.try_acquire(v4));
        assert!(!c.try_acquire(mapped));
        c.release(mapped);
        assert_eq!(c.count(v4), 0);
        assert!(c.try_acquire(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    }
}
