//! Setting up what a connection carries: the transceiver (and local track) for each media
//! kind according to role and directions, and the channels for received media.

use crate::peer::error::{PeerError, PeerResult};
use crate::peer::media_send::LocalTrack;
use crate::peer::options::Role;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::Arc;
use tokio::sync::mpsc;
use webrtc::peer_connection::PeerConnection;
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};

/// A bounded channel if `enabled`, else nothing.
pub(crate) fn channel_if<T>(
    enabled: bool,
    capacity: usize,
) -> (Option<mpsc::Sender<T>>, Option<mpsc::Receiver<T>>) {
    if enabled {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Some(tx), Some(rx))
    } else {
        (None, None)
    }
}

/// Adds the transceiver for one media kind according to role and directions; returns the
/// local track if we send.
pub(crate) async fn add_media(
    pc: &Arc<dyn PeerConnection>,
    role: Role,
    kind: RtpCodecKind,
    send: bool,
    recv: bool,
) -> PeerResult<Option<Arc<LocalTrack>>> {
    if send {
        let track = LocalTrack::new(kind)?;
        let sender = match role {
            Role::Offerer => {
                let direction = if recv {
                    RTCRtpTransceiverDirection::Sendrecv
                } else {
                    RTCRtpTransceiverDirection::Sendonly
                };
                let transceiver = pc
                    .add_transceiver_from_track(
                        track.as_track_local(),
                        Some(RTCRtpTransceiverInit {
                            direction,
                            ..Default::default()
                        }),
                    )
                    .await
                    .map_err(PeerError::webrtc("adding a send transceiver"))?;
                transceiver
                    .sender()
                    .await
                    .map_err(PeerError::webrtc("reading the transceiver's sender"))?
            }
            // The answerer's direction follows the offer; add_track pairs with its m-line.
            Role::Answerer => Some(
                pc.add_track(track.as_track_local())
                    .await
                    .map_err(PeerError::webrtc("adding a local track"))?,
            ),
        };
        if let Some(sender) = sender {
            track.set_sender(sender);
        }
        Ok(Some(track))
    } else {
        if recv && role == Role::Offerer {
            pc.add_transceiver_from_kind(
                kind,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    ..Default::default()
                }),
            )
            .await
            .map_err(PeerError::webrtc("adding a receive-only transceiver"))?;
        }
        Ok(None)
    }
}
