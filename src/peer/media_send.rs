//! Sending media: local H.264 and Opus tracks and the [`MediaSender`] handle that writes
//! encoded frames to them, plus the watcher that turns inbound PLI/FIR on our video into
//! [`PeerEvent::KeyframeRequested`].
//!
//! Media written before [`PeerEvent::Connected`] is packetized but dropped by the stack (no
//! SRTP keys yet), so a sender should (re)start with a keyframe on every `Connected`.

use crate::peer::abs_capture_time::{AbsCaptureTime, ABS_CAPTURE_TIME_URI};
use crate::peer::codecs::{
    h264_codec, opus_codec, H264_MIME, OPUS_CLOCK_RATE, OPUS_MIME, VIDEO_CLOCK_RATE,
};
use crate::peer::error::{PeerError, PeerResult};
use crate::peer::events::{PeerEvent, PeerState};
use crate::peer::fast_start::Milestone;
use crate::peer::keyframe::is_keyframe_request;
use crate::peer::rtp_clock::RtpClock;
use crate::peer::shared::Shared;
use bytes::Bytes;
use rtc::rtp::packetizer::Packetizer;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::rtp_transceiver::RtpSender;

/// Media stream id shared by Hearth's audio and video (so receivers lip-sync them).
const STREAM_ID: &str = "hearth";
/// The largest RTP packet we send (what the stack's own sample track uses).
const RTP_MTU: usize = 1200;
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
    pub track: Arc<TrackLocalStaticRTP>,
    /// Cuts samples into RTP packets at their time, under one lock so that
    /// concurrent writes cannot interleave a timestamp's move and its cut.
    cutter: std::sync::Mutex<Cutter>,
    kind: &'static str,
    mime: &'static str,
    payload_type: AtomicU16,
    /// The negotiated id of abs-capture-time: [`PT_UNKNOWN`] until known, 0 if none.
    capture_time_id: AtomicU16,
    sender: OnceCell<Arc<dyn RtpSender>>,
}

/// A track's packetizer and its RTP time.
struct Cutter {
    /// Cuts samples into RTP packets; its timestamp is moved to each
    /// sample's time before the sample is cut (`rtp_clock.rs`).
    packetizer: Box<dyn Packetizer>,
    /// The track's RTP time, from its samples' capture times.
    clock: RtpClock,
}

impl LocalTrack {
    /// A new H.264 (video) or Opus (audio) track.
    pub fn new(kind: RtpCodecKind) -> PeerResult<Arc<Self>> {
        let (codec, name, mime, rate, clock): (RTCRtpCodec, _, _, _, _) = match kind {
            RtpCodecKind::Video => (
                h264_codec(),
                "video",
                H264_MIME,
                VIDEO_CLOCK_RATE,
                RtpClock::stamped(VIDEO_CLOCK_RATE),
            ),
            _ => (
                opus_codec(),
                "audio",
                OPUS_MIME,
                OPUS_CLOCK_RATE,
                RtpClock::counted(OPUS_CLOCK_RATE),
            ),
        };
        let ssrc = random_ssrc();
        let payloader = codec
            .payloader()
            .map_err(PeerError::webrtc("making the track's payloader"))?;
        let packetizer = rtc::rtp::packetizer::new_packetizer(
            Instant::now(),
            RTP_MTU,
            0, // set on each packet, once negotiated
            ssrc,
            payloader,
            Box::new(rtc::rtp::sequence::new_random_sequencer()),
            rate,
        );
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
        Ok(Arc::new(LocalTrack {
            track: Arc::new(TrackLocalStaticRTP::new(track)),
            cutter: std::sync::Mutex::new(Cutter {
                packetizer: Box::new(packetizer),
                clock,
            }),
            kind: name,
            mime,
            payload_type: AtomicU16::new(PT_UNKNOWN),
            capture_time_id: AtomicU16::new(PT_UNKNOWN),
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
        // The stack fills in negotiated header extensions only for its own;
        // ours is written onto each packet by the id the answer gave it.
        let capture_time_id = params
            .rtp_parameters
            .header_extensions
            .iter()
            .find(|e| e.uri == ABS_CAPTURE_TIME_URI)
            .map_or(0, |e| e.id);
        self.capture_time_id
            .store(capture_time_id, Ordering::Release);
        self.payload_type.store(pt as u16, Ordering::Release);
        tracing::debug!(kind = self.kind, pt, "negotiated payload type");
        Ok(pt)
    }

    /// Forgets the resolved payload type (after a new negotiation).
    pub fn reset_payload_type(&self) {
        self.payload_type.store(PT_UNKNOWN, Ordering::Release);
        self.capture_time_id.store(PT_UNKNOWN, Ordering::Release);
    }

    async fn write(&self, data: &[u8], captured_at: Instant, duration: Duration) -> PeerResult<()> {
        let pt = self.resolve_payload_type().await?;
        // Each sample's RTP time is its capture time on the track's clock:
        // the packetizer's timestamp moves there (no sequence number is spent).
        let packets = {
            let mut cutter = self.cutter.lock().expect("packetizer lock");
            let skip = cutter.clock.skip_to(captured_at, duration);
            cutter.packetizer.skip_samples(skip);
            cutter
                .packetizer
                .packetize(Instant::now(), &Bytes::copy_from_slice(data), 0)
                .map_err(PeerError::webrtc("cutting a media sample into packets"))?
        };
        // The first packet of each frame says when it was captured, if negotiated
        // (one-byte header extension ids are 1–14).
        let id = self.capture_time_id.load(Ordering::Acquire);
        let mut capture_time = (1..=14)
            .contains(&id)
            .then(|| AbsCaptureTime::of(captured_at).to_bytes());
        for mut packet in packets {
            packet.header.payload_type = pt;
            if let Some(bytes) = capture_time.take() {
                packet
                    .header
                    .set_extension(id as u8, bytes)
                    .map_err(PeerError::webrtc("adding the capture time"))?;
            }
            self.track
                .write_rtp_with_extensions(packet, &[])
                .await
                .map_err(PeerError::webrtc("writing a media sample"))?;
        }
        Ok(())
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
    /// and PPS in front of IDR frames) captured at `captured_at`, lasting `duration`
    /// (e.g. 33 ms at 30 fps). RTP time follows the capture times (see `rtp_clock.rs`).
    ///
    /// Returns once the packets are queued for sending. Before
    /// [`PeerEvent::Connected`] the packets are dropped by the stack, so send a keyframe
    /// first after every `Connected` and after every [`PeerEvent::KeyframeRequested`].
    pub async fn write_h264(
        &self,
        annexb: &[u8],
        captured_at: Instant,
        duration: Duration,
    ) -> PeerResult<()> {
        let video = self.video.as_ref().ok_or(PeerError::NotSending("video"))?;
        self.write(video, annexb, captured_at, duration).await
    }

    /// Writes one Opus packet captured at `captured_at`, lasting `duration`
    /// (typically 20 ms).
    pub async fn write_opus(
        &self,
        packet: &[u8],
        captured_at: Instant,
        duration: Duration,
    ) -> PeerResult<()> {
        let audio = self.audio.as_ref().ok_or(PeerError::NotSending("audio"))?;
        self.write(audio, packet, captured_at, duration).await
    }

    /// What the congestion controller estimates the path to this peer
    /// carries, in bits per second, once it has feedback to go on.
    pub fn send_rate_estimate(&self) -> Option<u64> {
        self.shared.send_estimate.get()
    }

    /// Whether ICE and DTLS are up, i.e. written media actually reaches the remote.
    pub fn is_connected(&self) -> bool {
        self.shared.state() == PeerState::Connected
    }

    async fn write(
        &self,
        track: &LocalTrack,
        data: &[u8],
        captured_at: Instant,
        duration: Duration,
    ) -> PeerResult<()> {
        if self.shared.is_closed() {
            return Err(PeerError::Closed);
        }
        track.write(data, captured_at, duration).await?;
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
