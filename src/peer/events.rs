//! What a [`HearthPeer`](crate::peer::HearthPeer) tells its owner: connection events,
//! data-channel messages, ICE candidates, and remote media units.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// An ICE candidate in the browser's `RTCIceCandidateInit` JSON shape
/// (`{"candidate":"candidate:...","sdpMid":"0","sdpMLineIndex":0}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    /// The `candidate:` attribute line (empty = end of candidates).
    pub candidate: String,
    /// The `a=mid` of the media section the candidate belongs to.
    #[serde(default)]
    pub sdp_mid: Option<String>,
    /// The index of that media section.
    #[serde(default, rename = "sdpMLineIndex")]
    pub sdp_mline_index: Option<u16>,
    /// ICE username fragment the candidate belongs to.
    #[serde(default)]
    pub username_fragment: Option<String>,
}

impl IceCandidate {
    /// Serialises to the browser's JSON shape.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the browser's JSON shape.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

/// A data-channel message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataMessage {
    /// A text (UTF-8) message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// The connection's coarse state, as also published on
/// [`HearthPeer::state_watch`](crate::peer::HearthPeer::state_watch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerState {
    /// Built; no offer/answer applied yet, or ICE still checking.
    New,
    /// ICE/DTLS in progress.
    Connecting,
    /// ICE and DTLS up: media can flow.
    Connected,
    /// Connectivity lost; may still recover to `Connected`.
    Disconnected,
    /// ICE or DTLS failed; the connection will not recover.
    Failed,
    /// Closed (locally, or the driver stopped).
    Closed,
}

/// Events from a [`HearthPeer`](crate::peer::HearthPeer), in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// A local ICE candidate to send to the remote peer (trickle ICE).
    LocalCandidate(IceCandidate),
    /// Local candidate gathering finished.
    GatheringComplete,
    /// ICE and DTLS are up. Senders should start with (or force) a keyframe now: media
    /// written before this point was dropped for lack of SRTP keys. Can repeat after a
    /// `Disconnected` that recovered.
    Connected,
    /// Connectivity lost; may recover (another `Connected`) or turn into `Failed`.
    Disconnected,
    /// The connection failed for good.
    Failed,
    /// The connection is closed. Last event.
    Closed,
    /// The `hearth` data channel is open; `send_bytes`/`send_text` work from now on.
    DataChannelOpen,
    /// The data channel closed (normally because the remote peer closed).
    DataChannelClosed,
    /// A data-channel message arrived.
    Message(DataMessage),
    /// The remote peer asked for a keyframe (RTCP PLI or FIR on our video).
    KeyframeRequested,
}

/// One complete H.264 access unit received from the remote peer, in Annex-B form
/// (`00 00 00 01` before every NAL unit), ready for a decoder.
///
/// Only decodable frames are delivered: after packet loss, frames are withheld until the
/// next keyframe (and a keyframe is requested from the sender).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFrame {
    /// Annex-B access unit.
    pub data: Bytes,
    /// RTP timestamp (90 kHz clock).
    pub rtp_timestamp: u32,
    /// Whether the access unit contains an IDR slice.
    pub keyframe: bool,
}

/// One Opus packet received from the remote peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPacket {
    /// The Opus packet (RTP payload).
    pub data: Bytes,
    /// RTP timestamp (48 kHz clock).
    pub rtp_timestamp: u32,
    /// RTP sequence number, for loss detection / jitter buffering.
    pub sequence: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_json_matches_the_browser_shape() {
        let c = IceCandidate {
            candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
            username_fragment: None,
        };
        let json = c.to_json();
        assert!(json.contains("\"sdpMid\":\"0\""));
        assert!(json.contains("\"sdpMLineIndex\":0"));
        assert_eq!(IceCandidate::from_json(&json).unwrap(), c);
        let minimal = IceCandidate::from_json(r#"{"candidate":"candidate:x"}"#).unwrap();
        assert_eq!(minimal.sdp_mid, None);
    }
}
