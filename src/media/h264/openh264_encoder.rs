//! Software H.264 encoding with Cisco's openh264, tuned for WebRTC viewers.
//!
//! What openh264 (2.x, as bundled by the `openh264` crate 0.9) does with the settings
//! below, checked by `tests/media_h264.rs`:
//! - Profile: asking for Baseline makes it set `constraint_set0_flag` and
//!   `constraint_set1_flag`, so the SPS starts `42 c0 <level>`: constrained baseline,
//!   which a `profile-level-id=42e01f` SDP line accepts (the e0/c0 difference is only the
//!   Extended-profile compatibility bit).
//! - Level: we ask for 3.1 (`level_idc` 31, i.e. `…1f`); openh264 raises it by itself if
//!   the size, rate or bitrate need more (e.g. 1080p), never lowers it.
//! - IDR: `force_keyframe` calls `ForceIntraFrame(true)`; the next frame is an IDR.
//!   With `idr_interval` > 0 openh264 also makes every n-th frame an IDR.
//! - Parameter sets: openh264 writes SPS and PPS into every IDR access unit by itself
//!   (constant SPS/PPS ids); this wrapper still prepends the last seen ones if an IDR
//!   ever lacks them.
//! - Slices: single-slice mode and one encoder thread, so one slice NAL per frame.
//! - Frame skipping is on by default, so the bitrate is a ceiling: without it, rate
//!   control cannot go below its largest quantiser, and a noisy 640×480 source with a
//!   keyframe every 2 s came out at 170 kbit/s when 100 were asked (1.7×; 1.13× with
//!   skipping, `tests/media_h264.rs`). A skipped frame is a gap in the frame numbers a
//!   viewer sees; RTP time follows capture time, so players see the gap as time.
//!   See [`H264Config::allow_frame_skip`].

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Level,
    Profile, RateControlMode, SpsPpsStrategy, UsageType,
};
use openh264::formats::YUVSlices;
use openh264::{OpenH264API, Timestamp};
use tracing::{debug, warn};

use super::annexb::{nal_type, nal_units, NAL_PPS, NAL_SPS};
use super::video_encoder::{EncodedVideo, VideoEncoder};
use crate::media::frame::check_size;
use crate::media::rate::{RateFollower, SizeRule};
use crate::media::{I420Frame, MediaError};

/// Settings for [`OpenH264Encoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H264Config {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Frames per second the camera delivers (1..=120).
    pub fps: u32,
    /// Target bitrate in bits per second.
    pub bitrate_bps: u32,
    /// An IDR every this many frames; 0 means only when forced.
    pub idr_interval: u32,
    /// Let rate control drop frames to hold the bitrate on hard content. On by default,
    /// so the bitrate is a ceiling a slow link can rely on. Off: every frame comes out
    /// (no gaps in frame numbers), but the bitrate overshoots on noisy scenes at low
    /// rates (openh264 warns about this once per encoder).
    pub allow_frame_skip: bool,
}

impl H264Config {
    /// Defaults for a size and rate: about 0.1 bit per pixel (≈1 Mbps at 640×480×30),
    /// and an IDR every 3 seconds as a safety net for lost keyframe requests.
    pub fn new(width: u32, height: u32, fps: u32) -> Self {
        let pixels_per_second = u64::from(width) * u64::from(height) * u64::from(fps);
        let bitrate = (pixels_per_second / 10).clamp(100_000, 8_000_000) as u32;
        Self {
            width,
            height,
            fps,
            bitrate_bps: bitrate,
            idr_interval: fps.saturating_mul(3),
            allow_frame_skip: true,
        }
    }

    /// Same settings with another target bitrate.
    pub fn with_bitrate(mut self, bitrate_bps: u32) -> Self {
        self.bitrate_bps = bitrate_bps;
        self
    }

    /// Same settings with another IDR interval (0 = only forced IDRs).
    pub fn with_idr_interval(mut self, frames: u32) -> Self {
        self.idr_interval = frames;
        self
    }

    /// Same settings with frame skipping allowed or not.
    pub fn with_frame_skip(mut self, allow: bool) -> Self {
        self.allow_frame_skip = allow;
        self
    }

    fn validate(&self) -> Result<(), MediaError> {
        check_size(self.width, self.height)?;
        if !(1..=120).contains(&self.fps) {
            return Err(MediaError::InvalidConfig(format!(
                "H.264 fps {} is out of range; use 1..=120",
                self.fps
            )));
        }
        if !(10_000..=50_000_000).contains(&self.bitrate_bps) {
            return Err(MediaError::InvalidConfig(format!(
                "H.264 bitrate {} bps is out of range; use 10 kbps..=50 Mbps",
                self.bitrate_bps
            )));
        }
        Ok(())
    }
}

/// [`VideoEncoder`] backed by openh264 (software, any CPU).
pub struct OpenH264Encoder {
    inner: Encoder,
    config: H264Config,
    frames_in: u64,
    frames_out: u64,
    parameter_sets: Option<Bytes>,
    /// The weakest viewer's path estimate ([`VideoEncoder::follow_estimate`]).
    weakest: Option<u64>,
    /// When to change the rate.
    follower: RateFollower,
    /// Temporal layers wanted: 1 or [`TEMPORAL_LAYERS`].
    layers: i32,
    /// The rate openh264 was last set to.
    rate: u32,
    /// Whether the picture is halved for a low rate.
    size: SizeRule,
    /// The width of the last frame given to openh264 (`None` before the first).
    previous_width: Option<u32>,
}

impl std::fmt::Debug for OpenH264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenH264Encoder")
            .field("config", &self.config)
            .field("frames_out", &self.frames_out)
            .finish()
    }
}

impl OpenH264Encoder {
    /// Creates an encoder; fails if the configuration is out of range.
    pub fn new(config: H264Config) -> Result<Self, MediaError> {
        config.validate()?;
        let oh_config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(config.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(config.fps as f32))
            .rate_control_mode(RateControlMode::Bitrate)
            .skip_frames(config.allow_frame_skip)
            .usage_type(UsageType::CameraVideoRealTime)
            .profile(Profile::Baseline)
            .level(Level::Level_3_1)
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            .complexity(Complexity::Low)
            .scene_change_detect(false)
            .intra_frame_period(IntraFramePeriod::from_num_frames(config.idr_interval))
            .num_threads(1);
        let inner = Encoder::with_api_config(OpenH264API::from_source(), oh_config)
            .map_err(|e| MediaError::Encode(format!("could not create openh264 encoder: {e}")))?;
        debug!(?config, "openh264 encoder created");
        Ok(Self {
            inner,
            config,
            frames_in: 0,
            frames_out: 0,
            parameter_sets: None,
            weakest: None,
            follower: RateFollower::new(config.bitrate_bps),
            layers: 1,
            rate: config.bitrate_bps,
            size: SizeRule::default(),
            previous_width: None,
        })
    }

    /// The frame to encode: `frame`, or half of it while the rate is low;
    /// sets openh264's rate to follow the weakest viewer first.
    fn sized<'a>(&mut self, frame: &'a I420Frame) -> std::borrow::Cow<'a, I420Frame> {
        if let Some(target) = self.follower.follow(self.weakest) {
            self.set_rate(target, false);
        }
        let pixels =
            u64::from(frame.width()) * u64::from(frame.height()) * u64::from(self.config.fps);
        if self.size.update(self.rate, pixels, Instant::now()) {
            if let Some(half) = frame.halved() {
                return std::borrow::Cow::Owned(half);
            }
        }
        std::borrow::Cow::Borrowed(frame)
    }

    /// Sets openh264's target rate (once it is initialised; `force` after
    /// it was re-initialised for a new size).
    fn set_rate(&mut self, bps: u32, force: bool) {
        if bps == self.rate && !force {
            return;
        }
        if self.previous_width.is_some() {
            let mut info = openh264_sys2::SBitrateInfo {
                iLayer: openh264_sys2::SPATIAL_LAYER_ALL,
                iBitrate: bps.min(i32::MAX as u32) as i32,
            };
            // SAFETY: ENCODER_OPTION_BITRATE reads an SBitrateInfo, which
            // `info` is, and the encoder is initialised (a frame went in).
            let status = unsafe {
                self.inner.raw_api().set_option(
                    openh264_sys2::ENCODER_OPTION_BITRATE,
                    std::ptr::addr_of_mut!(info).cast(),
                )
            };
            if status != 0 {
                warn!(bps, status, "openh264 refused a new bitrate");
                return;
            }
        }
        if bps != self.rate {
            debug!(
                from = self.rate,
                to = bps,
                "video rate follows the weakest viewer"
            );
        }
        self.rate = bps;
    }

    /// Asks openh264 for the layers wanted (the `openh264` crate initialises
    /// it with one); once it is initialised: after each (re-)initialisation,
    /// and when the wish changes.
    fn set_temporal_layers(&mut self) {
        let mut params = openh264_sys2::SEncParamExt::default();
        // SAFETY: ENCODER_OPTION_SVC_ENCODE_PARAM_EXT reads and writes an
        // SEncParamExt, which `params` is; the encoder is initialised.
        let status = unsafe {
            let api = self.inner.raw_api();
            let got = api.get_option(
                openh264_sys2::ENCODER_OPTION_SVC_ENCODE_PARAM_EXT,
                std::ptr::addr_of_mut!(params).cast(),
            );
            if got != 0 || params.iTemporalLayerNum == self.layers {
                got
            } else {
                params.iTemporalLayerNum = self.layers;
                api.set_option(
                    openh264_sys2::ENCODER_OPTION_SVC_ENCODE_PARAM_EXT,
                    std::ptr::addr_of_mut!(params).cast(),
                )
            }
        };
        if status != 0 {
            warn!(
                status,
                "openh264 refused temporal layers; every frame is in the base layer"
            );
        }
    }

    /// The configuration this encoder was built with.
    pub fn config(&self) -> &H264Config {
        &self.config
    }

    fn frame_duration(&self) -> Duration {
        Duration::from_secs(1) / self.config.fps
    }

    /// Remembers SPS+PPS from an IDR, or puts remembered ones in front of an IDR
    /// that came without them.
    fn with_parameter_sets(&mut self, au: Vec<u8>) -> Bytes {
        let has_sps = nal_units(&au).any(|n| nal_type(n) == NAL_SPS);
        if has_sps {
            let mut sets = BytesMut::new();
            for nal in nal_units(&au).filter(|n| matches!(nal_type(n), NAL_SPS | NAL_PPS)) {
                sets.extend_from_slice(&[0, 0, 0, 1]);
                sets.extend_from_slice(nal);
            }
            self.parameter_sets = Some(sets.freeze());
            return Bytes::from(au);
        }
        match &self.parameter_sets {
            Some(sets) => {
                warn!("openh264 IDR without SPS/PPS; prepending the previous ones");
                let mut out = BytesMut::with_capacity(sets.len() + au.len());
                out.extend_from_slice(sets);
                out.extend_from_slice(&au);
                out.freeze()
            }
            None => Bytes::from(au),
        }
    }
}

/// Temporal layers openh264 makes: every other frame is in layer 1, which
/// no frame references (see [`EncodedVideo::temporal_layer`]).
pub const TEMPORAL_LAYERS: i32 = 2;

/// The temporal layer of the frame openh264 just encoded.
fn temporal_layer_of(info: &openh264_sys2::SFrameBSInfo) -> u8 {
    let layers = usize::try_from(info.iLayerNum)
        .unwrap_or(0)
        .min(info.sLayerInfo.len());
    info.sLayerInfo[..layers]
        .iter()
        .find(|l| l.uiLayerType == openh264_sys2::VIDEO_CODING_LAYER as u8)
        .map_or(0, |l| l.uiTemporalId)
}

impl VideoEncoder for OpenH264Encoder {
    fn follow_estimate(&mut self, weakest: Option<u64>) {
        self.weakest = weakest;
    }

    fn use_temporal_layers(&mut self, on: bool) {
        let layers = if on { TEMPORAL_LAYERS } else { 1 };
        if layers == self.layers {
            return;
        }
        self.layers = layers;
        debug!(layers, "temporal layers");
        // Before the first frame, initialisation applies it.
        if self.previous_width.is_some() {
            self.set_temporal_layers();
            self.set_rate(self.rate, true);
            self.inner.force_intra_frame();
        }
    }

    fn encode(
        &mut self,
        frame: &I420Frame,
        force_keyframe: bool,
    ) -> Result<Option<EncodedVideo>, MediaError> {
        let (w, h) = (frame.width(), frame.height());
        if (w, h) != (self.config.width, self.config.height) {
            return Err(MediaError::InvalidConfig(format!(
                "frame is {w}x{h} but the encoder was configured for {}x{}; recreate the \
                 encoder with the camera's current format",
                self.config.width, self.config.height
            )));
        }
        let captured_at = Instant::now();
        // Before the first frame the encoder is not initialised yet, and the first frame
        // is an IDR anyway.
        if force_keyframe && self.frames_in > 0 {
            self.inner.force_intra_frame();
        }
        let frame = self.sized(frame);
        let frame = frame.as_ref();
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        let yuv = YUVSlices::new((frame.y(), frame.u(), frame.v()), (w, h), (w, w / 2, w / 2));
        let millis = self.frames_in * 1000 / u64::from(self.config.fps);
        self.frames_in += 1;
        let resized = self.previous_width != Some(frame.width());
        self.previous_width = Some(frame.width());
        let layered = self.layers > 1;
        if resized && layered {
            // openh264 (re-)initialises on the first frame of a size, with one
            // temporal layer and the configured rate: let it, then ask for the
            // layers and our rate, and encode the frame again as the first of
            // the new sequence (an IDR), so a new size costs one IDR, not two.
            self.inner
                .encode_at(&yuv, Timestamp::from_millis(millis))
                .map_err(|e| MediaError::Encode(e.to_string()))?;
            self.set_temporal_layers();
            self.set_rate(self.rate, true);
            self.inner.force_intra_frame();
        }
        let stream = self
            .inner
            .encode_at(&yuv, Timestamp::from_millis(millis))
            .map_err(|e| MediaError::Encode(e.to_string()))?;
        let frame_type = stream.frame_type();
        let temporal_layer = temporal_layer_of(stream.raw_info());
        let au = stream.to_vec();
        if resized && !layered {
            // A new size re-initialised openh264 with the configured rate.
            self.set_rate(self.rate, true);
        }
        let keyframe = match frame_type {
            FrameType::IDR => true,
            FrameType::I | FrameType::P | FrameType::IPMixed => false,
            FrameType::Skip | FrameType::Invalid => return Ok(None),
        };
        if au.is_empty() {
            return Ok(None);
        }
        let data = if keyframe {
            self.with_parameter_sets(au)
        } else {
            Bytes::from(au)
        };
        let sequence = self.frames_out;
        self.frames_out += 1;
        Ok(Some(EncodedVideo {
            data,
            keyframe,
            sequence,
            captured_at,
            duration: self.frame_duration(),
            temporal_layer,
        }))
    }
}
