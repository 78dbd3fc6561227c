//! Loopback is for peers on this machine only. A loopback candidate offered
//! to a peer elsewhere can never work, and a loopback socket pairs with every
//! remote candidate, so its connectivity checks fail one by one ("Failed to
//! write packet … from 127.0.0.1"; 39 such lines in one 10 s session seen
//! with a remote Chromium). A peer binds loopback when its remote peer
//! offers a loopback candidate (it is on this machine), or when this machine
//! has no other address to offer.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Loopback, any port.
pub(crate) const LOOPBACK: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
/// Every non-loopback interface, any port.
pub(crate) const EVERY_INTERFACE: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

/// The addresses a peer binds when none are configured: every non-loopback
/// interface, and loopback too only if the machine has no other address.
pub(crate) fn default_bind_addrs(has_other_address: bool) -> Vec<SocketAddr> {
    if has_other_address {
        vec![EVERY_INTERFACE]
    } else {
        vec![LOOPBACK, EVERY_INTERFACE]
    }
}

/// Whether an SDP carries a loopback candidate: its sender is on this machine.
pub fn sdp_offers_loopback(sdp: &str) -> bool {
    sdp.lines()
        .filter_map(|l| l.trim().strip_prefix("a=candidate:"))
        .filter_map(|c| c.split_whitespace().nth(4))
        .filter_map(|addr| addr.parse::<IpAddr>().ok())
        .any(|ip| ip.is_loopback())
}

/// `binds` with loopback added when the remote offer came from this machine
/// and `binds` are the defaults (every interface, no loopback). Configured
/// addresses are kept as they are.
pub(crate) fn binds_for_offer(mut binds: Vec<SocketAddr>, offer_sdp: &str) -> Vec<SocketAddr> {
    if binds == [EVERY_INTERFACE] && sdp_offers_loopback(offer_sdp) {
        binds.insert(0, LOOPBACK);
    }
    binds
}

#[cfg(test)]
mod tests {
    use super::*;

    const REMOTE: &str = "v=0\r\na=candidate:1 1 udp 2130706431 192.0.2.7 50000 typ host\r\n\
        a=candidate:2 1 udp 1694498815 203.0.113.9 50001 typ srflx raddr 0.0.0.0 rport 0\r\n";
    const LOCAL: &str = "v=0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n";
    const MDNS: &str = "v=0\r\na=candidate:1 1 udp 2130706431 f3b2.local 50000 typ host\r\n";

    #[test]
    fn loopback_is_bound_only_where_nothing_else_is() {
        assert_eq!(default_bind_addrs(true), vec![EVERY_INTERFACE]);
        assert_eq!(default_bind_addrs(false), vec![LOOPBACK, EVERY_INTERFACE]);
    }

    #[test]
    fn a_peer_offering_loopback_is_on_this_machine() {
        assert!(sdp_offers_loopback(LOCAL));
        assert!(sdp_offers_loopback(
            "a=candidate:1 1 udp 2130706431 ::1 50000 typ host"
        ));
        assert!(!sdp_offers_loopback(REMOTE));
        assert!(!sdp_offers_loopback(MDNS));
        assert!(!sdp_offers_loopback("v=0\r\n"));
    }

    #[test]
    fn loopback_is_added_for_a_local_offer_and_configured_binds_are_kept() {
        let every = vec![EVERY_INTERFACE];
        assert_eq!(binds_for_offer(every.clone(), REMOTE), every);
        assert_eq!(
            binds_for_offer(every, LOCAL),
            vec![LOOPBACK, EVERY_INTERFACE]
        );
        let configured = vec![SocketAddr::from(([192, 0, 2, 2], 0))];
        assert_eq!(binds_for_offer(configured.clone(), LOCAL), configured);
    }
}
