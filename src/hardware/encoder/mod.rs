//! H.264 encoders: the V4L2 memory-to-memory hardware encoder (feature `hardware`) when
//! the board has one and it can take the configured size, openh264 otherwise.
//!
//! [`select()`] decides from the settings, the board and what the device reports (tested
//! against fake devices); [`fallback::FallbackEncoder`] switches to openh264 at run time
//! if the hardware fails or produces a stream viewers would refuse; [`assemble`] turns
//! hardware output buffers into access units with SPS/PPS before every IDR. Both
//! encoders follow the live link's rules: constrained baseline (`42e01f`), Annex-B, one
//! access unit per frame, keyframes on request, configured bitrate and IDR interval.

pub mod assemble;
pub mod fallback;
pub mod layout;
#[cfg(feature = "hardware")]
pub mod m2m;
pub mod select;

use std::path::PathBuf;

use tracing::info;

pub use select::{select, M2mInfo, Selection};

use crate::config::VideoConfig;
use crate::hardware::{Board, HardwareError};
use crate::media::{H264Config, MediaError, OpenH264Encoder, VideoEncoder, VideoFormat};

/// The encoder settings `[video]` asks for, at the camera's actual `format`.
pub fn h264_config(video: &VideoConfig, format: VideoFormat) -> H264Config {
    H264Config::new(format.width, format.height, format.fps)
        .with_bitrate(video.bitrate_kbps.saturating_mul(1000))
        .with_idr_interval(video.keyframe_interval_secs.saturating_mul(format.fps))
}

/// The hardware encoder node: `[video] encoder_device`, or the board's when `auto`.
pub fn encoder_device(video: &VideoConfig, board: &Board) -> Option<PathBuf> {
    match video.encoder_device.as_str() {
        "auto" => board.encoder.device.clone(),
        path => Some(PathBuf::from(path)),
    }
}

/// Opens the encoder for frames of `format` (take it from the camera, which may have
/// negotiated another size than configured).
pub fn open_encoder(
    video: &VideoConfig,
    board: &Board,
    format: VideoFormat,
) -> Result<Box<dyn VideoEncoder>, MediaError> {
    let settings = h264_config(video, format);
    let device = encoder_device(video, board);
    let selection = select(
        video.encoder,
        board.encoder.hardware,
        device.as_deref(),
        probe,
        (format.width, format.height, format.fps),
    );
    match selection {
        Selection::Software { reason } => {
            info!(%reason, "H.264 in software (openh264)");
            Ok(Box::new(OpenH264Encoder::new(settings)?))
        }
        Selection::Hardware { device, input } => open_hardware(&device, input, settings),
    }
}

#[cfg(feature = "hardware")]
fn probe(device: &std::path::Path) -> Result<M2mInfo, HardwareError> {
    m2m::probe(device)
}

#[cfg(not(feature = "hardware"))]
fn probe(_device: &std::path::Path) -> Result<M2mInfo, HardwareError> {
    Err(HardwareError::NotBuilt {
        what: "the hardware H.264 encoder",
    })
}

#[cfg(feature = "hardware")]
fn open_hardware(
    device: &std::path::Path,
    input: crate::hardware::camera::format::PixelFormat,
    settings: H264Config,
) -> Result<Box<dyn VideoEncoder>, MediaError> {
    let software: fallback::SoftwareFactory =
        Box::new(move || Ok(Box::new(OpenH264Encoder::new(settings)?) as Box<dyn VideoEncoder>));
    let max_level = select::level_for(settings.width, settings.height, settings.fps).unwrap_or(40);
    match m2m::V4l2M2mEncoder::open(device, input, settings) {
        Ok(hw) => {
            info!(device = %device.display(), "H.264 in hardware (V4L2 M2M)");
            Ok(Box::new(fallback::FallbackEncoder::new(
                Box::new(hw),
                software,
                max_level,
            )))
        }
        Err(e) => {
            info!("hardware H.264 encoder did not open ({e}); using openh264");
            Ok(Box::new(OpenH264Encoder::new(settings)?))
        }
    }
}

#[cfg(not(feature = "hardware"))]
fn open_hardware(
    _device: &std::path::Path,
    _input: crate::hardware::camera::format::PixelFormat,
    settings: H264Config,
) -> Result<Box<dyn VideoEncoder>, MediaError> {
    Ok(Box::new(OpenH264Encoder::new(settings)?))
}
