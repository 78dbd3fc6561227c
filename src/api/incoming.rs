//! [`IncomingCall`]: a contact asks for a session. The answering side adds
//! the streams it is willing to share, says whether it takes the caller's
//! audio, then accepts or refuses.

use super::session::{Session, SessionParts, SignalLink};
use super::setup::{CallSetup, SetupSide};
use super::setup_io::{run_setup, Answering, SetupFailed};
use super::{MediaStream, PeerConnection, RemoteStream, RtcError, RtcSettings};
use crate::keys::PeerKey;
use crate::node::{IncomingOffer, Node};
use crate::peer::{HearthPeer, Role};
use crate::policy::Grant;
use crate::signal::{EndCode, Signal};
use std::sync::Arc;

/// A session request from an approved contact, not yet answered.
pub struct IncomingCall {
    node: Node,
    offer: IncomingOffer,
    local: Vec<MediaStream>,
    settings: RtcSettings,
    receive_audio: bool,
    receive_video: bool,
}

impl IncomingCall {
    /// Wraps an offer the node received.
    pub fn new(node: &Node, offer: IncomingOffer, settings: RtcSettings) -> Self {
        IncomingCall {
            node: node.clone(),
            offer,
            local: vec![],
            settings,
            receive_audio: false,
            receive_video: false,
        }
    }

    /// Waits for the next call to `node`.
    pub async fn next(node: &Node, settings: &RtcSettings) -> Option<Self> {
        let offer = node.next_offer().await?;
        Some(Self::new(node, offer, settings.clone()))
    }

    /// Who is calling.
    pub fn from(&self) -> PeerKey {
        self.offer.from
    }

    /// Whether the caller asks for live video.
    pub fn wants_video(&self) -> bool {
        self.offer.want_video
    }

    /// Whether the caller asks for live audio.
    pub fn wants_audio(&self) -> bool {
        self.offer.want_audio
    }

    /// Whether the caller's offer sends audio (a contact talking back).
    pub fn sends_audio(&self) -> bool {
        offer_sends_audio(&self.offer.sdp)
    }

    /// Takes the caller's audio, if it sends any: the accepted connection's
    /// [`PeerConnection::fetch_stream`] then returns it.
    pub fn receive_audio(&mut self) {
        self.receive_audio = true;
    }

    /// Whether the caller's offer sends video (a contact showing their camera).
    pub fn sends_video(&self) -> bool {
        offer_sends(&self.offer.sdp, "video")
    }

    /// Takes the caller's video, if it sends any: the accepted connection's
    /// [`PeerConnection::fetch_stream`] then returns it.
    pub fn receive_video(&mut self) {
        self.receive_video = true;
    }

    /// Shares a local stream with the caller (only what the caller asked for is sent).
    pub fn add_stream(&mut self, stream: &MediaStream) {
        self.local.push(stream.clone());
    }

    /// Refuses the call, telling the caller why: `code` for its programs,
    /// `reason` for its people.
    pub async fn refuse(self, code: EndCode, reason: &str) {
        tracing::info!(from = %self.offer.from.short(), %code, %reason, "refused a session");
        let refusal = Signal::Refused {
            session: self.offer.session.clone(),
            reason: reason.to_string(),
            code: Some(code),
        };
        let _ = self.node.send_to(&self.offer.reply_to, &refusal).await;
        self.node
            .close_session(&self.offer.from, &self.offer.session);
    }

    /// Answers with the added streams; `denied` names permissions the caller
    /// asked for and does not have. Completes once connected and the DTLS
    /// certificate matches the fingerprint the caller signed.
    pub async fn accept(self, denied: Vec<String>) -> Result<PeerConnection, RtcError> {
        let IncomingCall {
            node,
            offer: IncomingOffer { offer, mut signals },
            local,
            settings,
            receive_audio,
            receive_video,
        } = self;
        let receive_audio = receive_audio && offer_sends_audio(&offer.sdp);
        let receive_video = receive_video && offer_sends(&offer.sdp, "video");
        let local: Vec<MediaStream> = local
            .into_iter()
            .map(|s| match (offer.want_video, offer.want_audio) {
                (true, true) => s,
                (true, false) => s.without_audio(),
                (false, true) => s.without_video(),
                (false, false) => s.without_audio().without_video(),
            })
            .collect();
        let granted = Grant {
            video: local.iter().any(MediaStream::has_video),
            audio: local.iter().any(MediaStream::has_audio),
            denied,
        };
        let mut options = settings.peer_options(Role::Answerer).for_offer(&offer.sdp);
        options.send_video = granted.video;
        options.send_audio = granted.audio;
        options.recv_audio = receive_audio;
        options.recv_video = receive_video;
        let (peer, events) = HearthPeer::new(options).await?;
        let peer = Arc::new(peer);
        let (setup, first) = CallSetup::start(
            SetupSide::Callee {
                offer_sdp: offer.sdp.clone(),
                granted: granted.clone(),
            },
            settings.setup_times(),
            std::time::Instant::now(),
        );
        let answering = Answering {
            node: &node,
            reply_to: &offer.reply_to,
            session: &offer.session,
            granted: &granted,
        };
        let result = run_setup(
            &peer,
            setup,
            first,
            Some(&mut signals),
            Some(answering),
            settings.connect_timeout,
        )
        .await;
        let expected = match result {
            Ok((_, fingerprint)) => fingerprint,
            Err(SetupFailed { error, tell }) => {
                tracing::warn!(from = %offer.from.short(), %error, "session failed to start");
                if tell {
                    let bye = Signal::Bye {
                        session: offer.session.clone(),
                        reason: Some(error.to_string()),
                        code: Some(error.end_code()),
                    };
                    let _ = node.send_to(&offer.reply_to, &bye).await;
                }
                node.close_session(&offer.from, &offer.session);
                let _ = peer.close().await;
                return Err(error);
            }
        };
        let remote = RemoteStream::new(peer.take_remote_video(), peer.take_remote_audio());
        let session = Session::start(SessionParts {
            peer,
            events,
            contact: offer.from,
            signalling: Some((
                SignalLink {
                    node: node.clone(),
                    recipient: offer.reply_to,
                    id: offer.session,
                    remote_fingerprint: expected,
                },
                signals,
            )),
            local,
            remote,
            granted,
            wanted_media: true,
            answered: true,
        });
        Ok(PeerConnection::from_session(&node, settings, session))
    }
}

/// Whether an SDP offer has an audio section its sender sends on (`sendrecv`,
/// the default, or `sendonly`) and that is not disabled (port 0).
pub(super) fn offer_sends_audio(sdp: &str) -> bool {
    offer_sends(sdp, "audio")
}

/// Whether `sdp` has an enabled m-line of `kind` ("audio", "video") that
/// sends (neither `recvonly` nor `inactive`).
pub(super) fn offer_sends(sdp: &str, kind: &str) -> bool {
    let mut in_kind = false;
    let mut sends = false;
    for line in sdp.lines().map(str::trim) {
        if let Some(media) = line.strip_prefix("m=") {
            if in_kind && sends {
                return true;
            }
            in_kind = media
                .strip_prefix(kind)
                .is_some_and(|rest| rest.starts_with(' ') && !rest.starts_with(" 0 "));
            sends = true;
        } else if in_kind && matches!(line, "a=recvonly" | "a=inactive") {
            sends = false;
        }
    }
    in_kind && sends
}

#[cfg(test)]
mod tests {
    use super::{offer_sends, offer_sends_audio};

    #[test]
    fn audio_the_caller_sends_is_recognised() {
        let video = "m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=sendrecv\r\n";
        let app = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
        let audio =
            |dir: &str| format!("v=0\r\n{video}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n{dir}{app}");
        assert!(offer_sends_audio(&audio("a=sendrecv\r\n")));
        assert!(offer_sends_audio(&audio("a=sendonly\r\n")));
        assert!(offer_sends_audio(&audio("")), "sendrecv is the default");
        assert!(!offer_sends_audio(&audio("a=recvonly\r\n")));
        assert!(!offer_sends_audio(&audio("a=inactive\r\n")));
        assert!(!offer_sends_audio(&format!("v=0\r\n{video}{app}")));
        assert!(!offer_sends_audio(
            "v=0\r\nm=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"
        ));
        assert!(offer_sends_audio(
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly"
        ));
    }

    #[test]
    fn video_the_caller_sends_is_recognised() {
        let audio = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n";
        let video = |dir: &str| format!("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\n{dir}{audio}");
        assert!(offer_sends(&video("a=sendrecv\r\n"), "video"));
        assert!(offer_sends(&video("a=sendonly\r\n"), "video"));
        assert!(!offer_sends(&video("a=recvonly\r\n"), "video"));
        assert!(!offer_sends(&format!("v=0\r\n{audio}"), "video"));
        assert!(!offer_sends(
            "v=0\r\nm=video 0 UDP/TLS/RTP/SAVPF 102\r\n",
            "video"
        ));
        assert!(!offer_sends(
            "v=0\r\nm=videox 9 UDP/TLS/RTP/SAVPF 102\r\n",
            "video"
        ));
    }
}
