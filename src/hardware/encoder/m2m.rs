//! The V4L2 memory-to-memory H.264 encoder (feature `hardware`): `bcm2835-codec` on the
//! Pi Zero 2 W, 3 and 4, or any multi-planar M2M encoder.
//!
//! One frame in, one access unit out, synchronously: the raw frame is copied into an
//! OUTPUT buffer with the driver's stride, and the call waits (at most a second) for the
//! CAPTURE buffer holding its H.264. Constrained baseline, the level the size needs,
//! the configured bitrate and IDR interval, SPS/PPS repeated before each IDR, and
//! `FORCE_KEY_FRAME` on request. The bitrate follows the weakest viewer's path estimate
//! like openh264's ([`RateFollower`]), set between frames with `VIDEO_BITRATE`; the
//! picture size does not (that would mean stopping and reconfiguring both queues).
//! Wrapped in a
//! [`FallbackEncoder`](super::fallback::FallbackEncoder) by
//! [`open_encoder`](super::open_encoder), so a failure continues in openh264.

use std::path::Path;
use std::time::{Duration, Instant};

use tracing::{debug, warn};
use v4l::v4l2::vidioc;
use v4l::v4l_sys as sys;

use super::assemble::Assembler;
use super::layout::{fill, raw_layout, RawLayout};
use super::select::{level_for, M2mInfo};
use crate::hardware::camera::detect::CAP_VIDEO_M2M_MPLANE;
use crate::hardware::camera::format::PixelFormat;
use crate::hardware::error::DeviceKind;
use crate::hardware::v4l2::{Device, FrameSizes, MmapQueue, CAPTURE_MPLANE, OUTPUT_MPLANE};
use crate::hardware::HardwareError;
use crate::media::rate::RateFollower;
use crate::media::{EncodedVideo, H264Config, I420Frame, MediaError, VideoEncoder};

/// Buffers on each side.
const BUFFERS: u32 = 4;
/// How long to wait for the encoder.
const TIMEOUT_MS: i32 = 1000;

/// Reads what an encoder node says about itself. Only multi-planar M2M devices count.
pub fn probe(path: &Path) -> Result<M2mInfo, HardwareError> {
    let dev = Device::open(path, DeviceKind::Encoder)?;
    let io = |e| HardwareError::from_io(e, path, DeviceKind::Encoder);
    let caps = dev.caps().map_err(io)?;
    let is_m2m = caps.caps & CAP_VIDEO_M2M_MPLANE != 0;
    if !is_m2m {
        return Ok(M2mInfo {
            driver: caps.driver,
            is_m2m,
            raw_formats: vec![],
            coded_formats: vec![],
            max_size: None,
            min_size: None,
        });
    }
    let raw_formats = dev.formats(OUTPUT_MPLANE).map_err(io)?;
    let coded_formats = dev.formats(CAPTURE_MPLANE).map_err(io)?;
    let (min_size, max_size) = match dev.frame_sizes(*b"H264") {
        Ok(FrameSizes::Stepwise { min, max, .. }) => (Some(min), Some(max)),
        Ok(FrameSizes::Discrete(sizes)) if !sizes.is_empty() => {
            (sizes.iter().min().copied(), sizes.iter().max().copied())
        }
        _ => (None, None),
    };
    Ok(M2mInfo {
        driver: caps.driver,
        is_m2m,
        raw_formats,
        coded_formats,
        max_size,
        min_size,
    })
}

/// The V4L2 control value of an H.264 `level_idc`.
fn level_control(level_idc: u8) -> i32 {
    let level = match level_idc {
        31 => sys::v4l2_mpeg_video_h264_level_V4L2_MPEG_VIDEO_H264_LEVEL_3_1,
        32 => sys::v4l2_mpeg_video_h264_level_V4L2_MPEG_VIDEO_H264_LEVEL_3_2,
        40 => sys::v4l2_mpeg_video_h264_level_V4L2_MPEG_VIDEO_H264_LEVEL_4_0,
        41 => sys::v4l2_mpeg_video_h264_level_V4L2_MPEG_VIDEO_H264_LEVEL_4_1,
        _ => sys::v4l2_mpeg_video_h264_level_V4L2_MPEG_VIDEO_H264_LEVEL_4_2,
    };
    level as i32
}

/// A hardware H.264 encoder session.
#[derive(Debug)]
pub struct V4l2M2mEncoder {
    output: MmapQueue,
    capture: MmapQueue,
    dev: Device,
    layout: RawLayout,
    free: Vec<usize>,
    assembler: Assembler,
    settings: H264Config,
    frames_out: u64,
    /// When to change the bitrate.
    follower: RateFollower,
    /// Whether the driver refused a new bitrate already (said once).
    rate_refused: bool,
}

fn encode_error(what: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::Encode(format!("hardware encoder: {what}: {e}"))
}

impl V4l2M2mEncoder {
    /// Configures the encoder at `path` for `settings`, fed with `input` frames.
    pub fn open(
        path: &Path,
        input: PixelFormat,
        settings: H264Config,
    ) -> Result<Self, HardwareError> {
        let dev = Device::open(path, DeviceKind::Encoder)?;
        let io = |e| HardwareError::from_io(e, path, DeviceKind::Encoder);
        let unsupported = |reason: String| HardwareError::Unsupported {
            device: path.to_path_buf(),
            reason,
            fix: "Hearth uses openh264 instead; set `[video] encoder = \"openh264\"` to \
                  skip the hardware encoder"
                .into(),
        };
        let (w, h) = (settings.width, settings.height);
        let level = level_for(w, h, settings.fps).unwrap_or(42);

        dev.set_control(
            sys::V4L2_CID_MPEG_VIDEO_BITRATE,
            settings.bitrate_bps as i32,
        )
        .map_err(io)?;
        let optional = [
            (
                "profile",
                sys::V4L2_CID_MPEG_VIDEO_H264_PROFILE,
                sys::v4l2_mpeg_video_h264_profile_V4L2_MPEG_VIDEO_H264_PROFILE_CONSTRAINED_BASELINE
                    as i32,
            ),
            (
                "level",
                sys::V4L2_CID_MPEG_VIDEO_H264_LEVEL,
                level_control(level),
            ),
            (
                "repeat headers",
                sys::V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER,
                1,
            ),
            (
                "IDR interval",
                sys::V4L2_CID_MPEG_VIDEO_H264_I_PERIOD,
                if settings.idr_interval == 0 {
                    i32::MAX
                } else {
                    settings.idr_interval as i32
                },
            ),
        ];
        for (what, id, value) in optional {
            if let Err(e) = dev.set_control(id, value) {
                // The output check of the fallback wrapper catches a wrong profile.
                warn!("hardware encoder refused its {what} setting: {e}");
            }
        }

        // Raw input side.
        // SAFETY: plain C structure; all-zero is a valid value.
        let mut fmt: sys::v4l2_format = unsafe { std::mem::zeroed() };
        fmt.type_ = OUTPUT_MPLANE;
        fmt.fmt.pix_mp.width = w;
        fmt.fmt.pix_mp.height = h;
        fmt.fmt.pix_mp.pixelformat = u32::from_le_bytes(input.fourcc());
        fmt.fmt.pix_mp.field = sys::v4l2_field_V4L2_FIELD_NONE;
        fmt.fmt.pix_mp.colorspace = sys::v4l2_colorspace_V4L2_COLORSPACE_SMPTE170M;
        fmt.fmt.pix_mp.num_planes = 1;
        dev.ioctl(vidioc::VIDIOC_S_FMT, &mut fmt).map_err(io)?;
        // SAFETY: the driver filled `pix_mp`.
        let raw = unsafe { fmt.fmt.pix_mp };
        // The structure is packed: copy fields out before using them.
        let (got_w, got_h, got_format, planes) =
            (raw.width, raw.height, raw.pixelformat, raw.plane_fmt);
        if (got_w, got_h) != (w, h) || got_format != u32::from_le_bytes(input.fourcc()) {
            return Err(unsupported(format!(
                "it changed {w}x{h} {input} to {got_w}x{got_h} on input"
            )));
        }
        let plane = planes[0];
        let (stride, size_image) = (plane.bytesperline as usize, plane.sizeimage as usize);
        let layout = raw_layout(input, stride, size_image, w, h).map_err(unsupported)?;

        // Coded output side.
        // SAFETY: plain C structures; all-zero is a valid value.
        let (mut fmt, mut pix, mut planes): (
            sys::v4l2_format,
            sys::v4l2_pix_format_mplane,
            [sys::v4l2_plane_pix_format; 8],
        ) = unsafe { (std::mem::zeroed(), std::mem::zeroed(), std::mem::zeroed()) };
        planes[0].sizeimage = (w * h / 2).max(512 * 1024);
        pix.width = w;
        pix.height = h;
        pix.pixelformat = u32::from_le_bytes(*b"H264");
        pix.field = sys::v4l2_field_V4L2_FIELD_NONE;
        pix.num_planes = 1;
        pix.plane_fmt = planes;
        fmt.type_ = CAPTURE_MPLANE;
        fmt.fmt.pix_mp = pix;
        dev.ioctl(vidioc::VIDIOC_S_FMT, &mut fmt).map_err(io)?;

        if let Err(e) = dev.set_fps(OUTPUT_MPLANE, settings.fps) {
            debug!("hardware encoder takes no frame rate: {e}");
        }
        let output = MmapQueue::new(&dev, OUTPUT_MPLANE, BUFFERS).map_err(io)?;
        let capture = MmapQueue::new(&dev, CAPTURE_MPLANE, BUFFERS).map_err(io)?;
        for i in 0..capture.len() {
            capture.queue(&dev, i, 0).map_err(io)?;
        }
        output.stream_on(&dev).map_err(io)?;
        capture.stream_on(&dev).map_err(io)?;
        Ok(V4l2M2mEncoder {
            free: (0..output.len()).rev().collect(),
            output,
            capture,
            dev,
            layout,
            assembler: Assembler::new(),
            settings,
            frames_out: 0,
            follower: RateFollower::new(settings.bitrate_bps),
            rate_refused: false,
        })
    }

    /// Takes back input buffers the encoder is done with; waits up to `wait_ms` for one.
    fn reclaim(&mut self, wait_ms: i32) -> Result<(), MediaError> {
        let mut wait = wait_ms;
        while self
            .dev
            .poll(libc::POLLOUT, wait)
            .map_err(|e| encode_error("poll", e))?
        {
            let d = self
                .output
                .dequeue(&self.dev)
                .map_err(|e| encode_error("VIDIOC_DQBUF (input)", e))?;
            self.free.push(d.index);
            wait = 0;
        }
        Ok(())
    }
}

impl VideoEncoder for V4l2M2mEncoder {
    fn follow_estimate(&mut self, weakest: Option<u64>) {
        let Some(bps) = self.follower.follow(weakest) else {
            return;
        };
        match self
            .dev
            .set_control(sys::V4L2_CID_MPEG_VIDEO_BITRATE, bps as i32)
        {
            Ok(()) => debug!(bps, "hardware video rate follows the weakest viewer"),
            Err(error) if !self.rate_refused => {
                self.rate_refused = true;
                warn!(%error, bps, "the hardware encoder refused a new bitrate; it keeps its rate");
            }
            Err(_) => {}
        }
    }

    fn encode(
        &mut self,
        frame: &I420Frame,
        force_keyframe: bool,
    ) -> Result<Option<EncodedVideo>, MediaError> {
        if (frame.width(), frame.height()) != (self.settings.width, self.settings.height) {
            return Err(MediaError::InvalidConfig(format!(
                "frame is {}x{} but the hardware encoder was set up for {}x{}",
                frame.width(),
                frame.height(),
                self.settings.width,
                self.settings.height
            )));
        }
        let captured_at = Instant::now();
        if force_keyframe && self.frames_out > 0 {
            self.dev
                .set_control(sys::V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME, 1)
                .map_err(|e| encode_error("forcing a keyframe", e))?;
        }
        self.reclaim(0)?;
        if self.free.is_empty() {
            self.reclaim(TIMEOUT_MS)?;
        }
        let index = self
            .free
            .pop()
            .ok_or_else(|| encode_error("input", "no buffer came back within a second"))?;
        fill(&self.layout, frame, self.output.data_mut(index))
            .map_err(|e| encode_error("copy", e))?;
        self.output
            .queue(&self.dev, index, self.layout.size)
            .map_err(|e| encode_error("VIDIOC_QBUF (input)", e))?;

        // Headers may come in a buffer of their own: allow a few buffers per frame.
        for _ in 0..3 {
            let ready = self
                .dev
                .poll(libc::POLLIN, TIMEOUT_MS)
                .map_err(|e| encode_error("poll", e))?;
            if !ready {
                return Err(encode_error("output", "nothing within a second"));
            }
            let d = self
                .capture
                .dequeue(&self.dev)
                .map_err(|e| encode_error("VIDIOC_DQBUF (output)", e))?;
            let unit = self
                .assembler
                .push(&self.capture.data(d.index)[..d.bytes_used]);
            self.capture
                .queue(&self.dev, d.index, 0)
                .map_err(|e| encode_error("VIDIOC_QBUF (output)", e))?;
            if let Some(unit) = unit {
                let sequence = self.frames_out;
                self.frames_out += 1;
                return Ok(Some(EncodedVideo {
                    data: unit.data,
                    keyframe: unit.keyframe,
                    sequence,
                    captured_at,
                    duration: Duration::from_secs(1) / self.settings.fps.max(1),
                    temporal_layer: 0,
                }));
            }
        }
        Err(encode_error("output", "only stream headers came back"))
    }
}

impl Drop for V4l2M2mEncoder {
    fn drop(&mut self) {
        let _ = self.output.stream_off(&self.dev);
        let _ = self.capture.stream_off(&self.dev);
    }
}
