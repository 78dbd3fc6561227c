//! Choosing what to ask a camera for, as a pure function of what it offers.
//!
//! A V4L2 camera lists pixel formats, frame sizes per format and frame rates per size.
//! [`negotiate`] picks one, in this order of importance:
//! 1. the configured size exactly, else the nearest offered size;
//! 2. at least the configured rate (a USB 2 webcam often gives 720p YUYV at 10 fps but
//!    720p MJPEG at 30: then MJPEG wins);
//! 3. the cheapest conversion to I420: I420 itself, then NV12, then YUYV, then MJPEG
//!    (which must be decoded).

use std::fmt;

/// Pixel formats Hearth can turn into I420.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PixelFormat {
    /// Planar 4:2:0, Y then U then V (`YU12`): no conversion.
    I420,
    /// Y plane then interleaved UV at half resolution (`NV12`): a cheap shuffle.
    Nv12,
    /// Packed 4:2:2, Y0 U Y1 V (`YUYV`): the classic USB webcam format.
    Yuyv,
    /// Motion JPEG (`MJPG`): every frame a JPEG to decode.
    Mjpeg,
}

impl PixelFormat {
    /// All of them, most preferred first.
    pub const PREFERENCE: [PixelFormat; 4] = [
        PixelFormat::I420,
        PixelFormat::Nv12,
        PixelFormat::Yuyv,
        PixelFormat::Mjpeg,
    ];

    /// The V4L2 four-character code.
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            PixelFormat::I420 => *b"YU12",
            PixelFormat::Nv12 => *b"NV12",
            PixelFormat::Yuyv => *b"YUYV",
            PixelFormat::Mjpeg => *b"MJPG",
        }
    }

    /// The format with this four-character code, if Hearth can use it (`JPEG` is
    /// accepted as MJPEG, as some drivers call it that).
    pub fn from_fourcc(code: [u8; 4]) -> Option<Self> {
        match &code {
            b"YU12" => Some(PixelFormat::I420),
            b"NV12" => Some(PixelFormat::Nv12),
            b"YUYV" => Some(PixelFormat::Yuyv),
            b"MJPG" | b"JPEG" => Some(PixelFormat::Mjpeg),
            _ => None,
        }
    }

    fn rank(self) -> usize {
        Self::PREFERENCE
            .iter()
            .position(|p| *p == self)
            .unwrap_or(usize::MAX)
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.fourcc()))
    }
}

/// One size a camera offers in one format, with the rates it offers at that size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The four-character code as the driver reports it.
    pub fourcc: [u8; 4],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Whole frame rates offered (e.g. 30, 15); empty if the driver does not say.
    pub fps: Vec<u32>,
}

/// What to ask the camera for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// Pixel format.
    pub format: PixelFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frame rate to request.
    pub fps: u32,
}

/// What was wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
}

/// Picks the best offer for `wanted`; `None` if no offer has a usable pixel format and an
/// even size.
pub fn negotiate(offers: &[Offer], wanted: Wanted) -> Option<Choice> {
    offers
        .iter()
        .filter_map(|o| {
            let format = PixelFormat::from_fourcc(o.fourcc)?;
            let even = o.width >= 2 && o.height >= 2 && o.width % 2 == 0 && o.height % 2 == 0;
            even.then_some((o, format))
        })
        .map(|(o, format)| {
            // The rate: the wanted one if offered or unknown, else the nearest above it,
            // else the fastest below it.
            let fps = if o.fps.is_empty() || o.fps.contains(&wanted.fps) {
                wanted.fps
            } else if let Some(above) = o.fps.iter().filter(|f| **f > wanted.fps).min() {
                *above
            } else {
                o.fps.iter().copied().max().unwrap_or(wanted.fps)
            };
            let exact = o.width == wanted.width && o.height == wanted.height;
            let distance = o.width.abs_diff(wanted.width) + o.height.abs_diff(wanted.height);
            let fast_enough = fps >= wanted.fps;
            let key = (
                !exact,
                !fast_enough,
                distance,
                format.rank(),
                u32::MAX - fps,
            );
            let choice = Choice {
                format,
                width: o.width,
                height: o.height,
                fps,
            };
            (key, choice)
        })
        .min_by_key(|(key, _)| *key)
        .map(|(_, choice)| choice)
}

/// A short list of what a camera offers, for error messages: `YUYV 640x480, H264 …`.
pub fn describe(offers: &[Offer]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for o in offers {
        let name = String::from_utf8_lossy(&o.fourcc).to_string();
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    if seen.is_empty() {
        "nothing".into()
    } else {
        seen.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(fourcc: &[u8; 4], width: u32, height: u32, fps: &[u32]) -> Offer {
        Offer {
            fourcc: *fourcc,
            width,
            height,
            fps: fps.to_vec(),
        }
    }

    #[test]
    fn cheapest_format_at_the_exact_size() {
        let offers = [
            offer(b"MJPG", 640, 480, &[30]),
            offer(b"YUYV", 640, 480, &[30, 15]),
            offer(b"NV12", 640, 480, &[30]),
        ];
        let c = negotiate(
            &offers,
            Wanted {
                width: 640,
                height: 480,
                fps: 30,
            },
        )
        .unwrap();
        assert_eq!((c.format, c.width, c.fps), (PixelFormat::Nv12, 640, 30));
    }

    #[test]
    fn unusable_formats_are_skipped_and_named() {
        let offers = [
            offer(b"H264", 640, 480, &[30]),
            offer(b"RGGB", 640, 480, &[30]),
        ];
        assert_eq!(
            negotiate(
                &offers,
                Wanted {
                    width: 640,
                    height: 480,
                    fps: 30
                }
            ),
            None
        );
        assert_eq!(describe(&offers), "H264, RGGB");
    }
}
