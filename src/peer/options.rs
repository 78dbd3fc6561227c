//! Configuration of a [`HearthPeer`](crate::peer::HearthPeer): role, media directions,
//! data channel, ICE servers, signalling mode and socket bindings.

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Which side of the offer/answer exchange this peer plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Creates the offer (in Hearth: the viewer). Also creates the data channel.
    Offerer,
    /// Answers a remote offer (in Hearth: the device). Accepts the data channel.
    Answerer,
}

/// How local ICE candidates travel to the remote peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceMode {
    /// `create_offer`/`accept_offer` return at once; every local candidate comes out as
    /// [`PeerEvent::LocalCandidate`](crate::peer::PeerEvent::LocalCandidate) and has to be
    /// sent separately.
    Trickle,
    /// `create_offer`/`accept_offer` wait until candidate gathering completes (at most the
    /// given time) and return an SDP that already carries the candidates, so one signalling
    /// message per direction is enough. Candidates gathered after the SDP was returned (only
    /// possible after a timeout) still come out as `LocalCandidate` events.
    Gathered {
        /// Upper bound on the wait for gathering to complete.
        timeout: Duration,
    },
}

impl Default for IceMode {
    /// `Gathered` with a 2 s cap: host candidates are ready within milliseconds, and a
    /// STUN round trip normally fits well inside 2 s.
    fn default() -> Self {
        IceMode::Gathered {
            timeout: Duration::from_secs(2),
        }
    }
}

/// A STUN or TURN server, in the browser's `RTCIceServer` JSON shape. Its
/// `Debug` hides the credential, so logging one leaks no secret.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:host:port` / `turn:host:port?transport=udp` URLs.
    pub urls: Vec<String>,
    /// TURN username (empty for STUN).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// TURN credential (empty for STUN).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credential: String,
}

impl std::fmt::Debug for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let credential = if self.credential.is_empty() {
            ""
        } else {
            "<redacted>"
        };
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field("credential", &credential)
            .finish()
    }
}

/// Everything needed to build a [`HearthPeer`](crate::peer::HearthPeer).
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// Offerer or answerer.
    pub role: Role,
    /// Send H.264 video (constrained baseline 42e01f).
    pub send_video: bool,
    /// Send Opus audio.
    pub send_audio: bool,
    /// Receive H.264 video (delivered as Annex-B access units).
    pub recv_video: bool,
    /// Receive Opus audio.
    pub recv_audio: bool,
    /// Open the reliable, ordered `hearth` data channel (the offerer creates it, the answerer
    /// accepts it).
    pub data_channel: bool,
    /// STUN/TURN servers. Empty means host candidates only.
    pub ice_servers: Vec<IceServer>,
    /// Gather and use relay (TURN) candidates only, so the remote peer never
    /// learns this side's addresses. Needs a TURN server in `ice_servers`.
    pub relay_only: bool,
    /// Trickle or gathered (one-message) signalling.
    pub ice_mode: IceMode,
    /// Poll the protocol timers every millisecond while the connection is being set up, which
    /// cuts connect time from ~600 ms to a few ms on a LAN. Switched off automatically once
    /// the connection is up (see [`crate::peer::fast_start`]).
    pub fast_start: bool,
    /// Upper bound on how long fast start may stay on after the offer/answer began.
    pub fast_start_window: Duration,
    /// Local UDP addresses to bind. `0.0.0.0:0` means one socket per non-loopback interface;
    /// a concrete address binds exactly that address. Default: every non-loopback
    /// interface, plus loopback only if there is no other address; an answerer adds
    /// loopback for an offer from this machine ([`crate::peer::loopback`]).
    pub bind_addrs: Vec<SocketAddr>,
    /// Capacity of the event channel returned by
    /// [`HearthPeer::new`](crate::peer::HearthPeer::new). Data-channel messages wait for room
    /// in it, so a slow reader applies back-pressure all the way to the remote sender.
    pub event_capacity: usize,
    /// Capacity of the remote video and audio channels (frames / packets).
    pub media_capacity: usize,
    /// The most this side will send (bits per second), if known: the
    /// congestion controller starts there and never estimates above it, so
    /// on a path that turns slow it comes down from what is really sent
    /// instead of from an estimate that climbed unchecked.
    pub send_ceiling_bps: Option<u64>,
}

impl PeerOptions {
    /// Hearth's viewer: offers, receives video and audio, opens the data channel.
    pub fn viewer() -> Self {
        PeerOptions {
            role: Role::Offerer,
            recv_video: true,
            recv_audio: true,
            ..Self::default()
        }
    }

    /// Hearth's device: answers, sends video and audio, accepts the data channel.
    pub fn device() -> Self {
        PeerOptions {
            role: Role::Answerer,
            send_video: true,
            send_audio: true,
            ..Self::default()
        }
    }

    /// Binds loopback as well when `offer_sdp` (the remote offer this peer
    /// answers) comes from this machine, unless the addresses were configured.
    pub fn for_offer(mut self, offer_sdp: &str) -> Self {
        self.bind_addrs = crate::peer::loopback::binds_for_offer(self.bind_addrs, offer_sdp);
        self
    }

    /// Binds only `127.0.0.1` (for tests and same-host use).
    pub fn loopback_only(mut self) -> Self {
        self.bind_addrs = vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))];
        self
    }
}

impl Default for PeerOptions {
    /// An offerer with nothing but the data channel, fast start on, gathered ICE.
    fn default() -> Self {
        PeerOptions {
            role: Role::Offerer,
            send_video: false,
            send_audio: false,
            recv_video: false,
            recv_audio: false,
            data_channel: true,
            ice_servers: Vec::new(),
            relay_only: false,
            ice_mode: IceMode::default(),
            fast_start: true,
            fast_start_window: Duration::from_secs(5),
            bind_addrs: crate::peer::loopback::default_bind_addrs(
                !crate::host_addresses::host_addresses().is_empty(),
            ),
            event_capacity: 256,
            media_capacity: 64,
            send_ceiling_bps: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_match_the_hearth_shape() {
        let v = PeerOptions::viewer();
        assert_eq!(v.role, Role::Offerer);
        assert!(v.recv_video && v.recv_audio && !v.send_video && !v.send_audio);
        let d = PeerOptions::device();
        assert_eq!(d.role, Role::Answerer);
        assert!(d.send_video && d.send_audio && !d.recv_video && !d.recv_audio);
        assert!(v.data_channel && d.data_channel);
        assert_eq!(v.loopback_only().bind_addrs.len(), 1);
    }

    #[test]
    fn ice_server_reads_browser_json() {
        let s: IceServer = serde_json::from_str(r#"{"urls":["stun:example.org:3478"]}"#).unwrap();
        assert_eq!(s.urls, vec!["stun:example.org:3478"]);
        assert!(s.username.is_empty());
    }

    #[test]
    fn ice_server_debug_hides_the_credential_and_json_skips_empty_fields() {
        let s = IceServer {
            urls: vec!["turn:example.org:3478".into()],
            username: "1700000000:abc".into(),
            credential: "s3cr3t-password".into(),
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cr3t-password") && shown.contains("1700000000:abc"));
        let stun = IceServer {
            urls: vec!["stun:example.org".into()],
            ..IceServer::default()
        };
        assert_eq!(
            serde_json::to_string(&stun).unwrap(),
            r#"{"urls":["stun:example.org"]}"#
        );
    }
}
