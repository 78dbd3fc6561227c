//! Who may hold a TCP connection to an exposed server, as pure data driven by
//! explicit `Instant`s: a cap per address (an IPv6 /64 counts as one address)
//! and a cap on the total, plus a throttle so a flood of refusals costs one
//! log line every few seconds instead of one per connection.

use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use super::ConnectionCounter;

/// At most one info line per cap this often, however fast connections are refused.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Which cap refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// The address already holds its share of connections.
    PerAddress,
    /// The server holds as many connections as its file limit allows.
    Total,
}

impl Cap {
    /// Machine-readable name, for logs.
    pub fn code(self) -> &'static str {
        match self {
            Cap::PerAddress => "per_address",
            Cap::Total => "total",
        }
    }
}

/// The address a connection counts against: IPv4 as is (also when mapped
/// into IPv6), IPv6 by its /64, the block one host usually holds.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// Counts open TCP connections and decides whether a new one may stay.
#[derive(Debug)]
pub struct Gate {
    per_address: ConnectionCounter,
    total: usize,
    max_total: usize,
    logs: [Throttle; 2],
}

impl Gate {
    /// A gate allowing `max_per_address` connections per address and `max_total` in all.
    pub fn new(max_per_address: usize, max_total: usize) -> Self {
        Gate {
            per_address: ConnectionCounter::new(max_per_address),
            total: 0,
            max_total,
            logs: [Throttle::default(), Throttle::default()],
        }
    }

    /// Counts a connection from `ip`, or says which cap refuses it.
    pub fn admit(&mut self, ip: IpAddr) -> Result<(), Cap> {
        if self.total >= self.max_total {
            return Err(Cap::Total);
        }
        if !self.per_address.try_acquire(address_key(ip)) {
            return Err(Cap::PerAddress);
        }
        self.total += 1;
        Ok(())
    }

    /// Forgets one admitted connection from `ip`.
    pub fn release(&mut self, ip: IpAddr) {
        self.per_address.release(address_key(ip));
        self.total = self.total.saturating_sub(1);
    }

    /// Open connections in all.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Open connections counted against `ip`'s address.
    pub fn count(&self, ip: IpAddr) -> usize {
        self.per_address.count(address_key(ip))
    }

    /// Records a refusal by `cap` at `now`; `Some(n)` means: write the info
    /// line now, for `n` refusals since the last one.
    pub fn note_refusal(&mut self, cap: Cap, now: Instant) -> Option<u64> {
        self.logs[cap as usize].note(now)
    }
}

/// Counts events and lets one report through every [`LOG_EVERY`].
#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
    pending: u64,
}

impl Throttle {
    fn note(&mut self, now: Instant) -> Option<u64> {
        self.pending += 1;
        let due = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= LOG_EVERY);
        if !due {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn per_address_then_total() {
        let mut gate = Gate::new(2, 3);
        assert_eq!(gate.admit(A), Ok(()));
        assert_eq!(gate.admit(A), Ok(()));
        assert_eq!(gate.admit(A), Err(Cap::PerAddress));
        assert_eq!(gate.admit(B), Ok(()));
        assert_eq!(gate.admit(B), Err(Cap::Total));
        assert_eq!((gate.total(), gate.count(A), gate.count(B)), (3, 2, 1));
        gate.release(A);
        assert_eq!(gate.admit(B), Ok(()));
        assert_eq!(gate.admit(A), Err(Cap::Total));
    }

    #[test]
    fn a_refused_connection_takes_nothing() {
        let mut gate = Gate::new(1, 10);
        assert_eq!(gate.admit(A), Ok(()));
        for _ in 0..100 {
            assert_eq!(gate.admit(A), Err(Cap::PerAddress));
        }
        assert_eq!(gate.total(), 1);
        gate.release(A);
        assert_eq!((gate.total(), gate.count(A)), (0, 0));
        assert_eq!(gate.admit(A), Ok(()));
    }

    #[test]
    fn ipv6_counts_per_slash_64_and_mapped_v4_as_v4() {
        let mut gate = Gate::new(2, 10);
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let two: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(gate.admit(one), Ok(()));
        assert_eq!(gate.admit(two), Ok(()));
        assert_eq!(gate.admit(other), Ok(()));
        assert_eq!(
            gate.admit("2001:db8:1:2::77".parse().unwrap()),
            Err(Cap::PerAddress)
        );
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
        assert_eq!(gate.admit(mapped), Ok(()));
        assert_eq!(gate.count(A), 1);
    }

    #[test]
    fn refusals_are_logged_once_per_period_with_their_count() {
        let mut gate = Gate::new(1, 1);
        let t0 = Instant::now();
        assert_eq!(gate.note_refusal(Cap::PerAddress, t0), Some(1));
        for ms in 1..=999 {
            let at = t0 + Duration::from_millis(ms);
            assert_eq!(gate.note_refusal(Cap::PerAddress, at), None);
        }
        // The other cap has its own line.
        assert_eq!(gate.note_refusal(Cap::Total, t0), Some(1));
        assert_eq!(
            gate.note_refusal(Cap::PerAddress, t0 + LOG_EVERY),
            Some(1000)
        );
        assert_eq!(gate.note_refusal(Cap::PerAddress, t0 + LOG_EVERY), None);
    }
}
