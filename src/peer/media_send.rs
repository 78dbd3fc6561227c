//! Sending media: local H.264 and Opus tracks and the [`MediaSender`] handle that writes
//! encoded frames to them, plus the watcher that turns inbound PLI/FIR on our video into
//! [`PeerEvent::KeyframeRequested`].
//!
//! Media written before [`PeerEvent::Connected`] is packetized but dropped by the stack (no
//! SRTP keys yet), so a sender should (re)start with a keyframe on every `Connected`.

use crate::peer::codecs::{h264_codec, opus_codec, H264_MIME, OPUS_MIME};
use crate::peer::error::{PeerError, PeerResult};
use crate::peer::events::{PeerEvent, PeerState};
use crate::peer::fast_start::Milestone;
use crate::peer::keyframe::is_keyframe_request;
use crate::peer::shared::Shared;
use bytes::Bytes;
use rtc::media::Sample;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::rtp_transceiver::RtpSender;

/// Media stream id shared by Hearth's audio and video (so receivers lip-sync them).
const STREAM_ID: &str = "hearth";
/// Marker for "payload type not resolved yet".
const PT_UNKNOWN: u16 = u16::MAX;

/// A random 32-bit SSRC (std's randomly keyed hasher; no extra dependency).
fn random_ssrc() -> u32 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default(),
    );
    (h.finish() >> 16) as u32 | 1
}

/// One local track and what is needed to write to it.
pub(crate) struct LocalTrack {
    pub track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    kind: &'static str,
    mime: &'static str,
    payload_type: AtomicU16,
    sender: OnceCell<Arc<dyn RtpSender>>,
}

impl LocalTrack {
    /// A new H.264 (video) or Opus (audio) track.
    pub fn new(kind: RtpCodecKind) -> PeerResult<Arc<Self>> {
        let (codec, name, mime): (RTCRtpCodec, _, _) = match kind {
            RtpCodecKind::Video => (h264_codec(), "video", H264_MIME),
            _ => (opus_codec(), "audio", OPUS_MIME),
        };
        let ssrc = random_ssrc();
        let track = MediaStreamTrack::new(
            STREAM_ID.to_owned(),
            format!("hearth-{name}"),
            format!("hearth-{name}"),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        );
        let track = TrackLocalStaticSample::new(Instant::now(), track)
            .map_err(PeerError::webrtc("creating a local media track"))?;
        Ok(Arc::new(LocalTrack {
            track: Arc::new(track),
            ssrc,
            kind: name,
            mime,
            payload_type: AtomicU16::new(PT_UNKNOWN),
            sender: OnceCell::new(),
        }))
    }

    /// The track as the trait object `add_track` wants.
    pub fn as_track_local(&self) -> Arc<dyn TrackLocal> {
        self.track.clone()
    }

    /// Remembers the RTP sender the track was attached to.
    pub fn set_sender(&self, sender: Arc<dyn RtpSender>) {
        let _ = self.sender.set(sender);
    }

    /// Looks up the payload type the remote accepted for our codec (after negotiation).
    pub async fn resolve_payload_type(&self) -> PeerResult<u8> {
        let pt = self.payload_type.load(Ordering::Acquire);
        if pt != PT_UNKNOWN {
            return Ok(pt as u8);
        }
        let sender = self
            .sender
            .get()
            .ok_or(PeerError::NotNegotiated(self.kind))?;
        let params = sender
            .get_parameters()
            .await
            .map_err(PeerError::webrtc("reading the negotiated send parameters"))?;
        let pt = params
            .rtp_parameters
            .codecs
            .iter()
            .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(self.mime))
            .map(|c| c.payload_type)
            .ok_or(PeerError::NotNegotiated(self.kind))?;
        self.payload_type.store(pt as u16, Ordering::Release);
        tracing::debug!(kind = self.kind, pt, "negotiated payload type");
        Ok(pt)
    }

    /// Forgets the resolved payload type (after a new negotiation).
    pub fn reset_payload_type(&self) {
        self.payload_type.store(PT_UNKNOWN, Ordering::Release);
    }

    async fn write(&self, data: &[u8], duration: Duration) -> PeerResult<()> {
        let pt = self.resolve_payload_type().await?;
        let sample = Sample {
            data: Bytes::copy_from_slice(data),
            duration,
            ..Sample::new(Instant::now())
        };
        self.track
            .write_sample(self.ssrc, pt, &sample, &[])
            .await
            .map_err(PeerError::webrtc("writing a media sample"))
    }
}

/// Cheap, cloneable handle for writing encoded media to the remote peer.
#[derive(Clone)]
pub struct MediaSender {
    pub(crate) video: Option<Arc<LocalTrack>>,
    pub(crate) audio: Option<Arc<LocalTrack>>,
    pub(crate) shared: Arc<Shared>,
}

impl MediaSender {
    /// Writes one H.264 access unit in Annex-B form (start codes before each NAL unit; SPS
    /// and PPS in front of IDR frames) lasting `duration` (e.g. 33 ms at 30 fps).
    ///
    /// Returns once the packets are queued for sending. Before
    /// [`PeerEvent::Connected`] the packets are dropped by the stack, so send a keyframe
    /// first after every `Connected` and after every [`PeerEvent::KeyframeRequested`].
    pub async fn write_h264(&self, annexb: &[u8], duration: Duration) -> PeerResult<()> {
        let video = self.video.as_ref().ok_or(PeerError::NotSending("video"))?;
        self.write(video, annexb, duration).await
    }

    /// Writes one Opus packet lasting `duration` (typically 20 ms).
    pub async fn write_opus(&self, packet: &[u8], duration: Duration) -> PeerResult<()> {
        let audio = self.audio.as_ref().ok_or(PeerError::NotSending("audio"))?;
        self.write(audio, packet, duration).await
    }

    /// Whether ICE and DTLS are up, i.e. written media actually reaches the remote.
    pub fn is_connected(&self) -> bool {
        self.shared.state() == PeerState::Connected
    }

    async fn write(&self, track: &LocalTrack, data: &[u8], duration: Duration) -> PeerResult<()> {
        if self.shared.is_closed() {
            return Err(PeerError::Closed);
        }
        track.write(data, duration).await?;
        if self.is_connected() {
            if let Some(fast) = &self.shared.fast {
                fast.reached(Milestone::FirstMediaSent);
            }
        }
        Ok(())
    }
}

/// Watches RTCP feedback on our video track and emits `KeyframeRequested` for PLI/FIR.
/// Ends when the track is unbound (the connection closed).
pub(crate) fn spawn_keyframe_watch(shared: Arc<Shared>, video: Arc<LocalTrack>) {
    tokio::spawn(async move {
        while let Some(event) = video.track.poll().await {
            if let TrackLocalEvent::OnRtcpPacket(packets) = event {
                if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                    tracing::debug!("remote requested a keyframe");
                    shared.emit_control(PeerEvent::KeyframeRequested);
                }
            }
        }
        tracing::trace!("keyframe watch ended");
    });
}
