//! This host's network addresses, read with `getifaddrs` (one netlink dump,
//! cheap enough to poll four times a second), so that a Wi-Fi reconnect or a new
//! DHCP lease is noticed at once: a live session restarts ICE on the new
//! address (`api/session.rs`) and the relay connection, whose socket still
//! names the old one, is made again (`relay/session.rs`).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// How often the addresses are read.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The addresses of the interfaces that are up, loopback left out. Empty if
/// they cannot be read (logged once per call at debug level).
pub(crate) fn host_addresses() -> BTreeSet<IpAddr> {
    let mut found = BTreeSet::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list it allocates, which is
    // read below only while it is alive and freed once with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "cannot read this host's addresses");
        return found;
    }
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list getifaddrs returned.
        let entry = unsafe { &*cursor };
        cursor = entry.ifa_next;
        let up = entry.ifa_flags & libc::IFF_UP as u32 != 0;
        let loopback = entry.ifa_flags & libc::IFF_LOOPBACK as u32 != 0;
        if !up || loopback || entry.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: `ifa_addr` is non-null and points at a sockaddr whose family
        // says which concrete type it is.
        let family = unsafe { (*entry.ifa_addr).sa_family } as i32;
        let address = match family {
            libc::AF_INET => {
                // SAFETY: AF_INET means a sockaddr_in.
                let sin = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in) };
                IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
            }
            libc::AF_INET6 => {
                // SAFETY: AF_INET6 means a sockaddr_in6.
                let sin6 = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in6) };
                IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr))
            }
            _ => continue,
        };
        found.insert(address);
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}

/// Follows this host's addresses and says when they changed.
#[derive(Debug)]
pub(crate) struct AddressWatch {
    last: BTreeSet<IpAddr>,
}

impl AddressWatch {
    /// Starts from the addresses there are now.
    pub(crate) fn new() -> Self {
        AddressWatch {
            last: host_addresses(),
        }
    }

    /// Reads the addresses again; `true` if they differ from the last read.
    pub(crate) fn changed(&mut self) -> bool {
        self.update(host_addresses())
    }

    fn update(&mut self, now: BTreeSet<IpAddr>) -> bool {
        if now == self.last {
            return false;
        }
        tracing::info!(
            before = self.last.len(),
            now = now.len(),
            "this host's network addresses changed"
        );
        self.last = now;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_left_out_and_a_change_is_seen_once() {
        assert!(host_addresses().iter().all(|a| !a.is_loopback()));
        let mut watch = AddressWatch {
            last: BTreeSet::new(),
        };
        let one: BTreeSet<IpAddr> = ["10.0.0.1".parse().unwrap()].into();
        assert!(watch.update(one.clone()));
        assert!(!watch.update(one));
        assert!(watch.update(["10.0.0.2".parse().unwrap()].into()));
    }
}
