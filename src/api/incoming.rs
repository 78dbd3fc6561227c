//! [`IncomingCall`]: a contact asks for a session. The answering side adds
//! the streams it is willing to share, says whether it takes the caller's
//! audio, then accepts or refuses.

use super::session::{Session, SessionParts, SignalLink};
use super::{MediaStream, PeerConnection, RemoteStream, RtcError, RtcSettings};
use crate::keys::PeerKey;
use crate::node::{IncomingOffer, Node};
use crate::peer::{sdp_fingerprint, HearthPeer, IceCandidate, Role};
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
            mut offer,
            local,
            settings,
            receive_audio,
        } = self;
        let receive_audio = receive_audio && offer_sends_audio(&offer.sdp);
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
        let mut options = settings.peer_options(Role::Answerer);
        options.send_video = granted.video;
        options.send_audio = granted.audio;
        options.recv_audio = receive_audio;
        let (peer, events) = HearthPeer::new(options).await?;
        let peer = Arc::new(peer);
        let expected = sdp_fingerprint(&offer.sdp).unwrap_or_default();
        let result = async {
            if expected.is_empty() {
                return Err(RtcError::FingerprintMismatch);
            }
            let answer = Signal::Answer {
                session: offer.session.clone(),
                sdp: peer.accept_offer(&offer.sdp).await?,
                video: granted.video,
                audio: granted.audio,
                denied: granted.denied.clone(),
            };
            node.send_to(&offer.reply_to, &answer).await?;
            connect_with_trickle(&peer, &mut offer.signals, settings.connect_timeout)
                .await
                .map_err(|e| match e {
                    RtcError::Peer(e) => RtcError::from_connect(e, settings.has_turn()),
                    // The caller found no path first: none from here either.
                    RtcError::Refused {
                        code: EndCode::NoPath,
                        ..
                    } => RtcError::NoPath {
                        turn: settings.has_turn(),
                    },
                    other => other,
                })?;
            if peer.verify_remote_fingerprint(&expected).await.is_err() {
                return Err(RtcError::FingerprintMismatch);
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(from = %offer.from.short(), error = %e, "session failed to start");
            let bye = Signal::Bye {
                session: offer.session.clone(),
                reason: Some(e.to_string()),
                code: Some(e.end_code()),
            };
            let _ = node.send_to(&offer.reply_to, &bye).await;
            node.close_session(&offer.from, &offer.session);
            let _ = peer.close().await;
            return Err(e);
        }
        let remote = RemoteStream::new(None, peer.take_remote_audio());
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
                offer.signals,
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
    let mut in_audio = false;
    let mut sends = false;
    for line in sdp.lines().map(str::trim) {
        if let Some(media) = line.strip_prefix("m=") {
            if in_audio && sends {
                return true;
            }
            in_audio = media.starts_with("audio ") && !media.starts_with("audio 0 ");
            sends = true;
        } else if in_audio && matches!(line, "a=recvonly" | "a=inactive") {
            sends = false;
        }
    }
    in_audio && sends
}

/// Waits for the connection while applying candidates the caller trickles
/// (browsers do) and noticing if it hangs up.
async fn connect_with_trickle(
    peer: &HearthPeer,
    signals: &mut tokio::sync::mpsc::Receiver<Signal>,
    limit: std::time::Duration,
) -> Result<(), RtcError> {
    let connected = peer.wait_connected(limit);
    tokio::pin!(connected);
    let mut signals_open = true;
    loop {
        tokio::select! {
            result = &mut connected => return result.map_err(Into::into),
            signal = signals.recv(), if signals_open => match signal {
                Some(Signal::Candidate { candidate, sdp_mid, sdp_mline_index, .. }) if !candidate.is_empty() => {
                    let candidate = IceCandidate { candidate, sdp_mid, sdp_mline_index, username_fragment: None };
                    if let Err(e) = peer.add_remote_candidate(&candidate).await {
                        tracing::debug!(error = %e, "ignored a remote candidate");
                    }
                }
                Some(Signal::Bye { reason, code, .. }) => {
                    return Err(RtcError::Refused {
                        code: code.unwrap_or(EndCode::HungUp),
                        reason: reason.unwrap_or_else(|| "the caller hung up".into()),
                    })
                }
                Some(_) => {}
                None => signals_open = false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::offer_sends_audio;

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
}
