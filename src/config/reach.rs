//! Where others reach this device's web server, and so its built-in relay:
//! `[http] listen` as it is, except that an unspecified address (`0.0.0.0`,
//! `[::]`) is no address at all to hand out, so the machine's LAN address
//! stands in for it (loopback when it has none). The rule is pure; the LAN
//! address is looked up apart, by asking the kernel which source address it
//! would use towards the outside (no packet is sent).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

/// The address to hand out for a server listening on `listen`, given the
/// machine's LAN address of the same family (`None`: it has none).
pub fn advertised(listen: SocketAddr, lan: Option<IpAddr>) -> SocketAddr {
    if !listen.ip().is_unspecified() {
        return listen;
    }
    let ip = lan.unwrap_or(match listen {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    });
    SocketAddr::new(ip, listen.port())
}

/// Whether only this machine can reach `addr` (loopback, or no address at all).
pub fn this_machine_only(addr: SocketAddr) -> bool {
    addr.ip().is_loopback() || addr.ip().is_unspecified()
}

/// This machine's LAN address for IPv6 (`v6`) or IPv4: the source address of
/// its route to the outside. `None` without such a route (no network, or
/// loopback only).
pub fn lan_address(v6: bool) -> Option<IpAddr> {
    // Documentation addresses: routed like any outside address, never answered.
    let (bind, probe): (SocketAddr, SocketAddr) = match v6 {
        false => (
            (Ipv4Addr::UNSPECIFIED, 0).into(),
            (Ipv4Addr::new(198, 51, 100, 1), 9).into(),
        ),
        true => (
            (Ipv6Addr::UNSPECIFIED, 0).into(),
            (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 9).into(),
        ),
    };
    let socket = UdpSocket::bind(bind).ok()?;
    socket.connect(probe).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_address_handed_out_for_each_listen_address() {
        let lan4: IpAddr = "192.168.1.20".parse().unwrap();
        let lan6: IpAddr = "fd00::20".parse().unwrap();
        let table: [(&str, Option<IpAddr>, &str); 7] = [
            ("127.0.0.1:7611", Some(lan4), "127.0.0.1:7611"),
            ("192.168.1.5:7600", Some(lan4), "192.168.1.5:7600"),
            ("0.0.0.0:7600", Some(lan4), "192.168.1.20:7600"),
            ("0.0.0.0:7600", None, "127.0.0.1:7600"),
            ("[::]:7600", Some(lan6), "[fd00::20]:7600"),
            ("[::]:7600", None, "[::1]:7600"),
            ("[::1]:7600", Some(lan6), "[::1]:7600"),
        ];
        for (listen, lan, expected) in table {
            assert_eq!(
                advertised(addr(listen), lan),
                addr(expected),
                "listen {listen}, LAN {lan:?}"
            );
        }
    }

    #[test]
    fn loopback_and_unspecified_are_this_machine_only() {
        for (text, only) in [
            ("127.0.0.1:1", true),
            ("[::1]:1", true),
            ("0.0.0.0:1", true),
            ("192.168.1.20:1", false),
            ("[fd00::20]:1", false),
            ("203.0.113.7:1", false),
        ] {
            assert_eq!(this_machine_only(addr(text)), only, "{text}");
        }
    }

    #[test]
    fn a_lan_address_found_is_a_usable_one() {
        // Whatever this machine has, never loopback or unspecified.
        for v6 in [false, true] {
            if let Some(ip) = lan_address(v6) {
                assert!(!ip.is_loopback() && !ip.is_unspecified(), "{ip}");
                assert_eq!(ip.is_ipv6(), v6, "{ip}");
            }
        }
    }
}
