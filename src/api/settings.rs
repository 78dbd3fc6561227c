//! WebRTC settings for connections: ICE servers, local addresses, timeouts.
//! Every connection's ICE servers are the relay's (read fresh from
//! [`RelayIce`] when the connection is built) followed by this side's own.

use crate::config::WebRtcConfig;
use crate::peer::{IceServer, PeerOptions, Role};
use crate::relay::RelayIce;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How connections are made.
#[derive(Debug, Clone)]
pub struct RtcSettings {
    /// This side's own STUN/TURN servers (`[webrtc] ice_servers`).
    pub ice_servers: Vec<IceServer>,
    /// The servers the relay hands out; give the same cell to
    /// [`Node::start_with`](crate::node::Node::start_with) so it keeps them fresh.
    pub relay_ice: RelayIce,
    /// Relay (TURN) candidates only: the other side never learns this side's addresses.
    pub relay_only: bool,
    /// Local addresses to gather candidates on; empty means every interface.
    pub bind_addrs: Vec<IpAddr>,
    /// How long to wait for the contact's answer.
    pub answer_timeout: Duration,
    /// How long to wait for the connection once answered. When ICE has found
    /// no path by then, the session fails with [`RtcError::NoPath`](super::RtcError::NoPath)
    /// (10 s, so both sides say so within 15 s of the offer).
    pub connect_timeout: Duration,
    /// The most this side sends (its video and sound at their configured
    /// rates, and a margin); the congestion controller never estimates above it.
    pub send_ceiling_bps: Option<u64>,
}

impl Default for RtcSettings {
    fn default() -> Self {
        RtcSettings {
            ice_servers: vec![],
            relay_ice: RelayIce::new(),
            relay_only: false,
            bind_addrs: vec![],
            answer_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(10),
            send_ceiling_bps: None,
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
            ice_servers: config.ice_servers.iter().map(|e| e.to_server()).collect(),
            relay_only: config.relay_only,
            bind_addrs,
            ..Self::default()
        }
    }

    /// Whether a TURN server is among the ICE servers (a relay for media when
    /// no direct path exists).
    pub fn has_turn(&self) -> bool {
        self.current_ice_servers().iter().any(is_turn)
    }

    /// The timing a call's set-up follows ([`super::setup`]).
    pub fn setup_times(&self) -> super::setup::SetupTimes {
        super::setup::SetupTimes {
            answer_timeout: self.answer_timeout,
            has_turn: self.has_turn(),
        }
    }

    /// The send ceiling for video and sound configured at `video_kbps` and
    /// `audio_kbps`: their sum and a quarter more (repairs, headers).
    pub fn with_send_ceiling(mut self, video_kbps: u32, audio_kbps: u32) -> Self {
        let kbps = u64::from(video_kbps) + u64::from(audio_kbps);
        self.send_ceiling_bps = Some(kbps * 1000 * 5 / 4);
        self
    }

    /// Only the loopback interface: for tests and single-machine demos.
    pub fn loopback() -> Self {
        RtcSettings {
            bind_addrs: vec![IpAddr::from([127, 0, 0, 1])],
            ..Self::default()
        }
    }

    /// The ICE servers a connection made now uses: the relay's, then this side's own.
    pub fn current_ice_servers(&self) -> Vec<IceServer> {
        let mut servers = self.relay_ice.current();
        servers.extend(self.ice_servers.iter().cloned());
        servers
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
        options.ice_servers = self.current_ice_servers();
        options.send_ceiling_bps = self.send_ceiling_bps;
        options.relay_only = self.relay_only;
        if self.relay_only && !options.ice_servers.iter().any(is_turn) {
            tracing::warn!("relay_only is on but no TURN server is known (the relay handed out none and [webrtc] ice_servers has none): this connection cannot connect");
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

/// Whether `server` lists a TURN URL.
fn is_turn(server: &IceServer) -> bool {
    server
        .urls
        .iter()
        .any(|u| u.starts_with("turn:") || u.starts_with("turns:"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::IceLease;

    fn server(url: &str) -> IceServer {
        IceServer {
            urls: vec![url.into()],
            ..IceServer::default()
        }
    }

    #[test]
    fn connections_use_the_relays_fresh_servers_then_their_own() {
        let config: WebRtcConfig = toml::from_str(
            "ice_servers = [\"stun:own.example:3478\", { urls = \"turn:own.example\", username = \"u\", credential = \"p\" }]\nrelay_only = true\n",
        )
        .unwrap();
        let settings = RtcSettings::from_config(&config);
        let options = settings.peer_options(Role::Answerer);
        assert_eq!(options.ice_servers.len(), 2);
        assert!(options.relay_only);

        // What the relay hands out later is read when the next connection is built.
        let relayed = IceServer {
            username: "100:k".into(),
            credential: "c".into(),
            ..server("turn:relay.example:3478")
        };
        settings.relay_ice.publish(IceLease::new(
            vec![relayed.clone()],
            std::time::Duration::from_secs(600),
            std::time::Instant::now(),
        ));
        let options = settings.clone().peer_options(Role::Offerer);
        assert_eq!(options.ice_servers[0], relayed);
        assert_eq!(options.ice_servers[1], server("stun:own.example:3478"));
        assert_eq!(options.ice_servers[2].username, "u");
        assert!(
            !RtcSettings::default()
                .peer_options(Role::Offerer)
                .relay_only
        );
    }
}
