//! Cameras: V4L2 capture (feature `hardware`) behind [`VideoCapture`], with the
//! simulated test pattern as its twin.
//!
//! The pure parts are tested on fixture frames: [`format`](mod@format) negotiation, [`convert`]ing
//! YUYV/NV12/I420 and MJPEG ([`crate::media::jpeg`]) to I420, [`detect`]ing which node is a camera. The real
//! backend (`v4l2`) is wrapped in a [`resilient::ResilientCamera`], so unplugging the
//! camera shows a "camera unavailable" picture while sessions stay up, and replugging it
//! resumes the picture.

pub mod convert;
pub mod detect;
pub mod format;
pub mod resilient;
pub mod unavailable;
#[cfg(feature = "hardware")]
pub mod v4l2;

use crate::config::hardware::VideoSource;
use crate::config::VideoConfig;
use crate::hardware::{Board, HardwareError};
use crate::media::{TestPatternCamera, VideoCapture, VideoFormat};

/// The size and rate `[video]` asks for.
pub fn wanted_format(video: &VideoConfig) -> VideoFormat {
    VideoFormat {
        width: video.width,
        height: video.height,
        fps: video.fps,
    }
}

/// Opens the camera `video` asks for: the test pattern, or (feature `hardware`) a V4L2
/// camera that survives unplugging. A missing camera is not an error (the placeholder
/// shows until it appears); a permission problem or a CSI sensor without libcamerify is.
pub fn open_camera(
    video: &VideoConfig,
    board: &Board,
) -> Result<Box<dyn VideoCapture>, HardwareError> {
    let wanted = wanted_format(video);
    match video.source {
        VideoSource::Camera => open_v4l2(video, board, wanted),
        VideoSource::Simulated => {
            let camera =
                TestPatternCamera::new(wanted.width, wanted.height, wanted.fps).map_err(|e| {
                    HardwareError::Config {
                        key: "video.width/height".into(),
                        reason: e.to_string(),
                    }
                })?;
            Ok(Box::new(camera))
        }
    }
}

#[cfg(feature = "hardware")]
fn open_v4l2(
    video: &VideoConfig,
    board: &Board,
    wanted: VideoFormat,
) -> Result<Box<dyn VideoCapture>, HardwareError> {
    let opener = v4l2::V4l2Opener::new(&video.device, wanted);
    let _ = board;
    let camera = resilient::ResilientCamera::new(Box::new(opener), wanted, resilient::SystemClock)?;
    Ok(Box::new(camera))
}

#[cfg(not(feature = "hardware"))]
fn open_v4l2(
    _video: &VideoConfig,
    _board: &Board,
    _wanted: VideoFormat,
) -> Result<Box<dyn VideoCapture>, HardwareError> {
    Err(HardwareError::NotBuilt {
        what: "`[video] source = \"camera\"`",
    })
}
