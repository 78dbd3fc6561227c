//! Counts open connections per remote IP and refuses those over the cap:
//! pure, used by the edge's gate and by the relay's hub.

use std::collections::HashMap;
use std::net::IpAddr;

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
