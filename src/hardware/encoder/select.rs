//! Which H.264 encoder to use, as a pure function of the settings, the board and what
//! the V4L2 memory-to-memory device says about itself.
//!
//! The Raspberry Pi's hardware encoder (`bcm2835-codec`, `/dev/video11` on Pi Zero 2 W,
//! 3 and 4) takes up to 1920x1080 at 30 fps (level 4.x); beyond that its firmware fails,
//! so such sizes go to openh264 instead of being tried. The Pi 5 has no H.264 encoder at
//! all. Anything odd — no device, no H.264 on its output, no raw format we can feed it —
//! also means openh264, with the reason logged.

use std::path::{Path, PathBuf};

use crate::config::hardware::EncoderPreference;
use crate::hardware::camera::format::PixelFormat;
use crate::hardware::HardwareError;

/// What a V4L2 M2M encoder node reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct M2mInfo {
    /// Driver name, e.g. `bcm2835-codec`.
    pub driver: String,
    /// Whether the node is a memory-to-memory device at all.
    pub is_m2m: bool,
    /// Raw formats it accepts (its OUTPUT queue).
    pub raw_formats: Vec<[u8; 4]>,
    /// Coded formats it produces (its CAPTURE queue).
    pub coded_formats: Vec<[u8; 4]>,
    /// Largest frame it says it can encode, if it says.
    pub max_size: Option<(u32, u32)>,
    /// Smallest frame it says it can encode, if it says.
    pub min_size: Option<(u32, u32)>,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Use the V4L2 M2M encoder at `device`, feeding it `input`.
    Hardware {
        /// The encoder node.
        device: PathBuf,
        /// The raw format to feed it (I420 or NV12).
        input: PixelFormat,
    },
    /// Use openh264, and why.
    Software {
        /// Why not the hardware encoder (for the log).
        reason: String,
    },
}

/// Most macroblocks per frame the Pi's encoder handles (1920x1088).
pub const MAX_MACROBLOCKS: u32 = 8192;
/// Most macroblocks per second it handles (1080p at 30 fps: level 4.1).
pub const MAX_MACROBLOCK_RATE: u32 = 245_760;
/// Sizes an encoder that does not say are assumed to support.
const DEFAULT_RANGE: ((u32, u32), (u32, u32)) = ((32, 32), (1920, 1920));

/// 16x16 macroblocks in a frame.
pub fn macroblocks(width: u32, height: u32) -> u32 {
    width.div_ceil(16) * height.div_ceil(16)
}

/// The smallest H.264 level (as `level_idc`, e.g. 31) whose limits fit this size and
/// rate, never below 3.1 (`42e01f`, what WebRTC peers expect); `None` beyond level 5.1.
pub fn level_for(width: u32, height: u32, fps: u32) -> Option<u8> {
    // (level_idc, max macroblocks per frame, max macroblocks per second), from Table A-1.
    const LEVELS: [(u8, u32, u32); 6] = [
        (31, 3_600, 108_000),
        (32, 5_120, 216_000),
        (40, 8_192, 245_760),
        (42, 8_704, 522_240),
        (50, 22_080, 589_824),
        (51, 36_864, 983_040),
    ];
    let mbs = macroblocks(width, height);
    let rate = mbs.saturating_mul(fps);
    LEVELS
        .iter()
        .find(|(_, max_mbs, max_rate)| mbs <= *max_mbs && rate <= *max_rate)
        .map(|(level, _, _)| *level)
}

/// Whether the hardware encoder can take this size and rate; the reason if not.
pub fn hardware_can_encode(
    info: &M2mInfo,
    width: u32,
    height: u32,
    fps: u32,
) -> Result<(), String> {
    let ((min_w, min_h), (max_w, max_h)) = (
        info.min_size.unwrap_or(DEFAULT_RANGE.0),
        info.max_size.unwrap_or(DEFAULT_RANGE.1),
    );
    if width < min_w || height < min_h || width > max_w || height > max_h {
        return Err(format!(
            "{width}x{height} is outside what {} encodes ({min_w}x{min_h} to {max_w}x{max_h})",
            info.driver
        ));
    }
    let mbs = macroblocks(width, height);
    if mbs > MAX_MACROBLOCKS || mbs * fps > MAX_MACROBLOCK_RATE {
        return Err(format!(
            "{width}x{height} at {fps} fps is more than the hardware encoder's 1920x1080 at 30 fps"
        ));
    }
    Ok(())
}

/// Decides. `probe` is only called when the hardware encoder is a candidate.
pub fn select(
    preference: EncoderPreference,
    board_has_encoder: bool,
    device: Option<&Path>,
    probe: impl FnOnce(&Path) -> Result<M2mInfo, HardwareError>,
    (width, height, fps): (u32, u32, u32),
) -> Selection {
    let software = |reason: String| Selection::Software { reason };
    match preference {
        EncoderPreference::Openh264 => return software("the config asks for openh264".into()),
        EncoderPreference::Auto if !board_has_encoder => {
            return software("this board has no hardware H.264 encoder".into())
        }
        EncoderPreference::Auto | EncoderPreference::V4l2m2m => {}
    }
    let Some(device) = device else {
        return software("no hardware encoder device is configured".into());
    };
    let info = match probe(device) {
        Ok(info) => info,
        Err(e) => return software(format!("the hardware encoder is unusable: {e}")),
    };
    if !info.is_m2m {
        return software(format!(
            "{} is not a memory-to-memory encoder",
            device.display()
        ));
    }
    if !info.coded_formats.iter().any(|f| f == b"H264") {
        return software(format!(
            "{} ({}) does not produce H.264",
            device.display(),
            info.driver
        ));
    }
    let input = [PixelFormat::I420, PixelFormat::Nv12]
        .into_iter()
        .find(|p| info.raw_formats.contains(&p.fourcc()));
    let Some(input) = input else {
        return software(format!("{} takes neither YU12 nor NV12", info.driver));
    };
    if let Err(reason) = hardware_can_encode(&info, width, height, fps) {
        return software(reason);
    }
    Selection::Hardware {
        device: device.to_path_buf(),
        input,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_size() {
        assert_eq!(level_for(640, 480, 30), Some(31));
        assert_eq!(level_for(1280, 720, 30), Some(31));
        assert_eq!(level_for(1280, 720, 60), Some(32));
        assert_eq!(level_for(1920, 1080, 30), Some(40));
        assert_eq!(level_for(3840, 2160, 60), None);
    }
}
