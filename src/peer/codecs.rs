//! The only two codecs Hearth negotiates, and the media engine / interceptor registry built
//! from them.
//!
//! * Video: H.264 constrained baseline, `profile-level-id=42e01f;packetization-mode=1;
//!   level-asymmetry-allowed=1` — decodable by Chromium, Firefox, Safari, aiortc, GStreamer.
//! * Audio: Opus 48 kHz stereo, `minptime=10;useinbandfec=1`.
//!
//! Nothing else is registered, so an offer without these codecs negotiates no media.

use crate::peer::abs_capture_time::ABS_CAPTURE_TIME_URI;
use crate::peer::error::{PeerError, PeerResult};
use crate::peer::keyframe::KeyframeRequestForwarder;
use crate::peer::nack_responder::MannerlyNackResponder;
use crate::peer::path_estimator::PathEstimator;
use crate::peer::send_estimate::{SendEstimate, SendEstimateTap};
use rtc::interceptor::{
    CongestionControlBuilder, Gcc, NackGeneratorBuilder, Slot, TwccSenderBuilder,
};
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use webrtc::peer_connection::{MediaEngine, Registry};

/// MIME type of the video codec.
pub const H264_MIME: &str = "video/H264";
/// `a=fmtp` parameters of the only H.264 profile offered and accepted.
pub const H264_FMTP: &str =
    "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1";
/// Payload type used for H.264 when we offer (an answer uses the offerer's number).
pub const H264_PAYLOAD_TYPE: u8 = 102;
/// RTP clock rate of video.
pub const VIDEO_CLOCK_RATE: u32 = 90_000;

/// MIME type of the audio codec.
pub const OPUS_MIME: &str = "audio/opus";
/// `a=fmtp` parameters of Opus.
pub const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";
/// Payload type used for Opus when we offer.
pub const OPUS_PAYLOAD_TYPE: u8 = 111;
/// RTP clock rate of Opus (always 48 kHz, RFC 7587).
pub const OPUS_CLOCK_RATE: u32 = 48_000;

/// Where in the interceptor chain the keyframe-request forwarder sits: after every built-in
/// interceptor (application-most), as the `rtcp-processing` example does.
const KEYFRAME_FORWARDER_SLOT: usize = 14_000;

/// Where the estimate tap sits: application-ward of congestion control (1,000)
/// and the pacer's slot (3,000), wire-ward of the NACK responder (4,000).
const ESTIMATE_TAP_SLOT: usize = 3_500;
/// GCC's first estimate, before feedback, when the most this side sends is
/// not known: high enough that the encoder's own rate applies until the
/// path says otherwise.
const GCC_START_BPS: f64 = 2_000_000.0;
/// GCC's floor and ceiling.
const GCC_MIN_BPS: f64 = 50_000.0;
const GCC_MAX_BPS: f64 = 50_000_000.0;

/// How often missing packets are asked for (the stack's default is 100 ms,
/// which with a 100 ms round trip left too little time to repair).
const NACK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);
/// The most times one missing packet is asked for (the stack's default is
/// without end, which on a slow link asks for the same packet forever).
const NACKS_PER_PACKET: u16 = 5;

/// The H.264 codec description used for tracks and for the media engine.
pub fn h264_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: H264_MIME.to_owned(),
        clock_rate: VIDEO_CLOCK_RATE,
        channels: 0,
        sdp_fmtp_line: H264_FMTP.to_owned(),
        rtcp_feedback: vec![],
    }
}

/// The Opus codec description used for tracks and for the media engine.
pub fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: OPUS_MIME.to_owned(),
        clock_rate: OPUS_CLOCK_RATE,
        channels: 2,
        sdp_fmtp_line: OPUS_FMTP.to_owned(),
        rtcp_feedback: vec![],
    }
}

/// Builds the media engine (H.264 42e01f + Opus only) and the interceptor registry:
/// the crate defaults (NACK, RTCP reports, TWCC receiver) with our
/// [`MannerlyNackResponder`] in the NACK responder's slot (the crate's resends on every
/// ask), plus `ccm fir` feedback and the [`KeyframeRequestForwarder`] that lets inbound
/// PLI/FIR reach the application.
pub fn media_engine_and_registry(
    estimate: SendEstimate,
    send_ceiling_bps: Option<u64>,
) -> PeerResult<(MediaEngine, Registry)> {
    let mut media_engine = MediaEngine::default();
    media_engine
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: h264_codec(),
                payload_type: H264_PAYLOAD_TYPE,
            },
            RtpCodecKind::Video,
        )
        .map_err(PeerError::webrtc("registering the H.264 codec"))?;
    media_engine
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: opus_codec(),
                payload_type: OPUS_PAYLOAD_TYPE,
            },
            RtpCodecKind::Audio,
        )
        .map_err(PeerError::webrtc("registering the Opus codec"))?;

    // FIR is the other keyframe request some receivers (older Chromium, GStreamer) send.
    for (typ, parameter) in [("nack", ""), ("nack", "pli"), ("ccm", "fir")] {
        media_engine.register_feedback(
            RTCPFeedback {
                typ: typ.to_owned(),
                parameter: parameter.to_owned(),
            },
            RtpCodecKind::Video,
        );
    }
    // What `register_default_interceptors` does, with our responder in the NACK slot.
    configure_simulcast_extension_headers(&mut media_engine)
        .map_err(PeerError::webrtc("registering the header extensions"))?;
    media_engine
        .register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: ABS_CAPTURE_TIME_URI.to_owned(),
            },
            RtpCodecKind::Video,
            None,
        )
        .map_err(PeerError::webrtc("registering abs-capture-time"))?;
    let registry = Registry::new()
        .with(Slot::NackResponder, MannerlyNackResponder::default())
        .with(
            Slot::NackGenerator,
            NackGeneratorBuilder::new()
                .with_interval(NACK_INTERVAL)
                .with_max_nacks_per_packet(NACKS_PER_PACKET)
                .build(),
        );
    let registry = configure_twcc_receiver_only(registry, &mut media_engine)
        .map_err(PeerError::webrtc("registering the TWCC receiver"))?;
    let registry = configure_rtcp_reports(registry);
    // Send-side congestion control: the transport-wide numbers TWCC reports
    // against, and the stack's GCC on the feedback; its estimate goes to
    // `estimate` (no pacer: see `send_estimate.rs`).
    let estimator = match send_ceiling_bps {
        Some(ceiling) => {
            let ceiling = (ceiling as f64).max(GCC_MIN_BPS);
            // GCC says nothing until its estimate moves, and on a free path
            // it never does: until then the estimate is where it starts.
            estimate.start_at(ceiling);
            PathEstimator::new(
                Gcc::new(ceiling, GCC_MIN_BPS, ceiling),
                GCC_MIN_BPS,
                ceiling,
            )
        }
        None => PathEstimator::new(
            Gcc::new(GCC_START_BPS, GCC_MIN_BPS, GCC_MAX_BPS),
            GCC_MIN_BPS,
            GCC_MAX_BPS,
        ),
    };
    let registry = registry
        .with(Slot::TwccSender, TwccSenderBuilder::new().build())
        .with(
            Slot::CongestionControl,
            CongestionControlBuilder::new(estimator).build(),
        )
        .with(ESTIMATE_TAP_SLOT.into(), SendEstimateTap::new(estimate));
    let registry = registry.with(
        KEYFRAME_FORWARDER_SLOT.into(),
        KeyframeRequestForwarder::default(),
    );
    Ok((media_engine, registry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_are_the_hearth_ones() {
        let v = h264_codec();
        assert_eq!(v.mime_type, "video/H264");
        assert!(v.sdp_fmtp_line.contains("profile-level-id=42e01f"));
        assert!(v.sdp_fmtp_line.contains("packetization-mode=1"));
        let a = opus_codec();
        assert_eq!((a.clock_rate, a.channels), (48_000, 2));
        assert!(media_engine_and_registry(SendEstimate::default(), None).is_ok());
        assert!(media_engine_and_registry(SendEstimate::default(), Some(750_000)).is_ok());
    }
}
