//! [`WhepSession`]: a session whose offer came over HTTP (WHEP) instead of
//! signalling. The answer goes back in the HTTP response with every local
//! candidate in it (no trickle); the session then connects on its own and
//! carries the same encode-once media as a signalled session.

use super::session::{Session, SessionParts};
use super::setup::{CallSetup, SetupSide};
use super::setup_io::run_setup;
use super::{MediaStream, RemoteStream, RtcError, RtcSettings};
use crate::keys::PeerKey;
use crate::peer::{HearthPeer, IceMode, Role};
use crate::policy::Grant;
use std::sync::Arc;

/// A live WHEP session. Cheap to clone; every clone is the same session.
#[derive(Clone)]
pub struct WhepSession {
    session: Arc<Session>,
}

/// What a WHEP offer asks for: the media kinds it has sections for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfferWants {
    /// The offer has a video section.
    pub video: bool,
    /// The offer has an audio section.
    pub audio: bool,
}

impl OfferWants {
    /// Reads the media sections of an SDP offer (`m=video`, `m=audio`).
    pub fn of(offer_sdp: &str) -> Self {
        let mut wants = OfferWants::default();
        for line in offer_sdp.lines() {
            wants.video |= line.starts_with("m=video ");
            wants.audio |= line.starts_with("m=audio ");
        }
        wants
    }
}

impl WhepSession {
    /// Answers `offer_sdp` from `contact` with the tracks of `stream` (only
    /// the kinds the offer has a section for). Returns the session and the SDP
    /// answer, which already carries every local candidate. If the peer does
    /// not connect within the settings' connect timeout, the session ends.
    /// An offer that cannot be applied is [`RtcError::BadOffer`]; any other
    /// error is this side's.
    pub async fn answer(
        contact: PeerKey,
        offer_sdp: &str,
        stream: &MediaStream,
        settings: &RtcSettings,
    ) -> Result<(WhepSession, String), RtcError> {
        let wants = OfferWants::of(offer_sdp);
        let mut local = stream.clone();
        if !wants.video {
            local = local.without_video();
        }
        if !wants.audio {
            local = local.without_audio();
        }
        let granted = Grant {
            video: local.has_video(),
            audio: local.has_audio(),
            denied: vec![],
        };
        let mut options = settings.peer_options(Role::Answerer).for_offer(offer_sdp);
        options.send_video = granted.video;
        options.send_audio = granted.audio;
        options.ice_mode = IceMode::default();
        let (peer, events) = HearthPeer::new(options).await?;
        let peer = Arc::new(peer);
        let answer = match peer.accept_offer(offer_sdp).await {
            Ok(answer) => answer,
            Err(e) => {
                let _ = peer.close().await;
                return Err(RtcError::BadOffer(e.to_string()));
            }
        };
        let session = Session::start(SessionParts {
            peer: peer.clone(),
            events,
            contact,
            signalling: None,
            local: vec![local],
            remote: RemoteStream::new(None, None),
            granted,
            wanted_media: false,
            answered: true,
        });
        let (setup, first) = CallSetup::start(
            SetupSide::Whep {
                granted: session.granted.clone(),
            },
            settings.setup_times(),
            std::time::Instant::now(),
        );
        let limit = settings.connect_timeout;
        let watched = session.clone();
        tokio::spawn(async move {
            if let Err(failed) = run_setup(&peer, setup, first, None, None, limit).await {
                watched
                    .close(
                        crate::signal::EndCode::Failed,
                        &format!("the player did not connect: {}", failed.error),
                        false,
                    )
                    .await;
            }
        });
        Ok((WhepSession { session }, answer))
    }

    /// The token contact the session belongs to.
    pub fn contact(&self) -> PeerKey {
        self.session.contact
    }

    /// What the session carries.
    pub fn granted(&self) -> Grant {
        self.session.granted.clone()
    }

    /// Ends the session (a WHEP player is told nothing: its connection closes).
    pub async fn close_with(&self, reason: &str) {
        self.session
            .close(crate::signal::EndCode::HungUp, reason, false)
            .await
    }

    /// Waits until the session has ended; returns why.
    pub async fn closed(&self) -> String {
        self.session.wait_ended().await.reason
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.session.closed_reason().is_some()
    }

    /// The network path the session's media takes, once connected (see
    /// [`PeerConnection::path`](super::PeerConnection::path)).
    pub fn path(&self) -> tokio::sync::watch::Receiver<Option<crate::peer::SelectedPath>> {
        self.session.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_sections_are_read() {
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
        assert_eq!(
            OfferWants::of(sdp),
            OfferWants {
                video: true,
                audio: true
            }
        );
        assert_eq!(
            OfferWants::of("v=0\nm=audio 9 x 0\n"),
            OfferWants {
                video: false,
                audio: true
            }
        );
        assert_eq!(OfferWants::of("garbage"), OfferWants::default());
    }
}
