//! WebRTC settings for connections: ICE servers, local addresses, timeouts.

use crate::config::WebRtcConfig;
use crate::peer::{IceServer, PeerOptions, Role};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How connections are made.
#[derive(Debug, Clone)]
pub struct RtcSettings {
    /// STUN/TURN server URLs.
    pub ice_servers: Vec<String>,
    /// Local addresses to gather candidates on; empty means every interface.
    pub bind_addrs: Vec<IpAddr>,
    /// How long to wait for the contact's answer.
    pub answer_timeout: Duration,
    /// How long to wait for the connection once answered.
    pub connect_timeout: Duration,
}

impl Default for RtcSettings {
    fn default() -> Self {
        RtcSettings {
            ice_servers: vec![],
            bind_addrs: vec![],
            answer_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(15),
        }
    }
}

impl RtcSettings {
    /// Settings from the `[webrtc]` config section; bad addresses are skipped with a warning.
    pub fn from_config(config: &WebRtcConfig) -> Self {
        let bind_addrs = config
            .udp_addresses
            .iter()
            .filter_map(|a| match a.parse() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    tracing::warn!(address = %a, "webrtc.udp_addresses: not an IP address; skipped");
                    None
                }
            })
            .collect();
        RtcSettings {
            ice_servers: config.ice_servers.clone(),
            bind_addrs,
            ..Self::default()
        }
    }

    /// Only the loopback interface: for tests and single-machine demos.
    pub fn loopback() -> Self {
        RtcSettings {
            bind_addrs: vec![IpAddr::from([127, 0, 0, 1])],
            ..Self::default()
        }
    }

    pub(super) fn peer_options(&self, role: Role) -> PeerOptions {
        let mut options = PeerOptions {
            role,
            send_video: false,
            send_audio: false,
            recv_video: false,
            recv_audio: false,
            data_channel: true,
            ..PeerOptions::default()
        };
        if !self.ice_servers.is_empty() {
            options.ice_servers = vec![IceServer {
                urls: self.ice_servers.clone(),
                ..IceServer::default()
            }];
        }
        if !self.bind_addrs.is_empty() {
            options.bind_addrs = self
                .bind_addrs
                .iter()
                .map(|ip| SocketAddr::new(*ip, 0))
                .collect();
        }
        options
    }
}
