//! The arithmetic of a DRM/KMS screen, kept apart from the ioctls so it can be tested
//! without a display: which of a connector's modes to use, and where each pixel sits in
//! an XRGB8888 dumb buffer.

use thiserror::Error;

/// One display mode a connector offers, as far as choosing between them needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeInfo {
    /// Visible width in pixels.
    pub width: u32,
    /// Visible height in pixels.
    pub height: u32,
    /// Vertical refresh rate in Hz.
    pub refresh_hz: u32,
    /// The display itself (its EDID) marks this mode as its best.
    pub preferred: bool,
}

/// The largest mode Hearth picks by itself: more pixels than 1080p only cost a Pi
/// composing time, for a picture that arrives at 720p at best.
pub const MAX_AUTO_SIZE: (u32, u32) = (1920, 1080);

/// Which of `modes` to use, as an index into it; `None` only for an empty list.
///
/// 1. the first mode the display marks as preferred;
/// 2. else the largest area within [`MAX_AUTO_SIZE`], the highest refresh among equals;
/// 3. else (every mode is larger) the first mode, which drivers list as their best.
pub fn choose_mode(modes: &[ModeInfo]) -> Option<usize> {
    if let Some(preferred) = modes.iter().position(|m| m.preferred) {
        return Some(preferred);
    }
    let fits = |m: &ModeInfo| m.width <= MAX_AUTO_SIZE.0 && m.height <= MAX_AUTO_SIZE.1;
    let best_fitting = modes
        .iter()
        .enumerate()
        .filter(|(_, m)| fits(m))
        // max_by_key keeps the last of equals; reversing keeps the first listed instead.
        .rev()
        .max_by_key(|(_, m)| (u64::from(m.width) * u64::from(m.height), m.refresh_hz))
        .map(|(i, _)| i);
    best_fitting.or(if modes.is_empty() { None } else { Some(0) })
}

/// Bytes per XRGB8888 pixel.
pub const XRGB_BYTES: u32 = 4;

/// Why a buffer layout or a write into it does not fit.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LayoutError {
    /// The driver's pitch is shorter than a row of pixels.
    #[error("pitch {pitch} is shorter than {width} pixels of 4 bytes")]
    PitchTooSmall {
        /// The pitch given.
        pitch: u32,
        /// The width of a row in pixels.
        width: u32,
    },
    /// The mapped buffer is shorter than the layout says.
    #[error("buffer of {len} bytes is shorter than the {needed} bytes of its layout")]
    BufferTooSmall {
        /// Its length.
        len: usize,
        /// The layout's size.
        needed: usize,
    },
    /// The RGB source does not hold `width * height * 3` bytes.
    #[error("RGB source of {len} bytes does not hold {width}x{height} pixels")]
    SourceSize {
        /// Its length.
        len: usize,
        /// Its width in pixels.
        width: u32,
        /// Its height in pixels.
        height: u32,
    },
}

/// Where pixels sit in a linear XRGB8888 dumb buffer: each pixel 4 bytes in memory order
/// blue, green, red, unused (little-endian `0x00RRGGBB`), rows `pitch` bytes apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XrgbLayout {
    width: u32,
    height: u32,
    pitch: u32,
}

impl XrgbLayout {
    /// The layout of a `width`×`height` buffer whose driver chose `pitch` bytes per row
    /// (often rounded up to 64 or 256 bytes, so larger than `width * 4`).
    pub fn new(width: u32, height: u32, pitch: u32) -> Result<Self, LayoutError> {
        if u64::from(pitch) < u64::from(width) * u64::from(XRGB_BYTES) {
            return Err(LayoutError::PitchTooSmall { pitch, width });
        }
        Ok(XrgbLayout {
            width,
            height,
            pitch,
        })
    }

    /// The tightest layout: `width * 4` bytes per row.
    pub fn packed(width: u32, height: u32) -> Self {
        XrgbLayout {
            width,
            height,
            pitch: width * XRGB_BYTES,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes from the start of one row to the next.
    pub fn pitch(&self) -> u32 {
        self.pitch
    }

    /// Bytes the whole buffer occupies (`pitch * height`).
    pub fn size(&self) -> usize {
        self.pitch as usize * self.height as usize
    }

    /// Byte offset of pixel (`x`, `y`), or `None` outside the buffer.
    pub fn offset(&self, x: u32, y: u32) -> Option<usize> {
        (x < self.width && y < self.height)
            .then(|| y as usize * self.pitch as usize + x as usize * XRGB_BYTES as usize)
    }

    /// Copies a tightly packed RGB888 picture of `width`×`height` into `buffer` with
    /// its top-left corner at (`x`, `y`), clipped to the buffer's size; the padding at
    /// the end of each row is left as it was.
    ///
    /// Writes only, in address order: a dumb buffer is often uncached memory, where
    /// reading back is slow and sequential writes are what the CPU combines best.
    pub fn write_rgb(
        &self,
        buffer: &mut [u8],
        rgb: &[u8],
        (width, height): (u32, u32),
        (x, y): (u32, u32),
    ) -> Result<(), LayoutError> {
        if buffer.len() < self.size() {
            return Err(LayoutError::BufferTooSmall {
                len: buffer.len(),
                needed: self.size(),
            });
        }
        let src_stride = width as usize * 3;
        if rgb.len() != src_stride * height as usize {
            return Err(LayoutError::SourceSize {
                len: rgb.len(),
                width,
                height,
            });
        }
        let columns = width.min(self.width.saturating_sub(x)) as usize;
        let rows = height.min(self.height.saturating_sub(y)) as usize;
        for row in 0..rows {
            let src = &rgb[row * src_stride..][..columns * 3];
            let start = (y as usize + row) * self.pitch as usize + x as usize * 4;
            let dst = &mut buffer[start..start + columns * 4];
            for (out, px) in dst.chunks_exact_mut(4).zip(src.chunks_exact(3)) {
                out.copy_from_slice(&[px[2], px[1], px[0], 0]);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(width: u32, height: u32, refresh_hz: u32, preferred: bool) -> ModeInfo {
        ModeInfo {
            width,
            height,
            refresh_hz,
            preferred,
        }
    }

    #[test]
    fn the_preferred_mode_wins_even_when_larger() {
        let modes = [
            mode(1920, 1080, 60, false),
            mode(3840, 2160, 30, true),
            mode(1280, 720, 60, true),
        ];
        assert_eq!(choose_mode(&modes), Some(1));
    }

    #[test]
    fn without_a_preference_the_largest_up_to_1080p_with_the_highest_refresh() {
        let modes = [
            mode(3840, 2160, 60, false),
            mode(1280, 720, 60, false),
            mode(1920, 1080, 30, false),
            mode(1920, 1080, 60, false),
            mode(1920, 1080, 50, false),
            mode(1920, 1200, 60, false),
        ];
        assert_eq!(choose_mode(&modes), Some(3));
        // Among identical modes the first listed.
        let twins = [mode(1280, 720, 60, false), mode(1280, 720, 60, false)];
        assert_eq!(choose_mode(&twins), Some(0));
    }

    #[test]
    fn when_every_mode_is_too_large_the_first_and_none_for_no_modes() {
        let modes = [mode(3840, 2160, 30, false), mode(2560, 1440, 60, false)];
        assert_eq!(choose_mode(&modes), Some(0));
        assert_eq!(choose_mode(&[]), None);
    }

    #[test]
    fn a_padded_pitch_moves_rows_not_pixels() {
        // 5 pixels of 4 bytes = 20, padded by the driver to 32.
        let layout = XrgbLayout::new(5, 3, 32).unwrap();
        assert_eq!(layout.size(), 96);
        assert_eq!(layout.offset(0, 0), Some(0));
        assert_eq!(layout.offset(4, 0), Some(16));
        assert_eq!(layout.offset(1, 2), Some(68));
        assert_eq!(layout.offset(5, 0), None);
        assert_eq!(layout.offset(0, 3), None);
        assert_eq!(XrgbLayout::packed(5, 3).pitch(), 20);
        assert_eq!(
            XrgbLayout::new(5, 3, 16),
            Err(LayoutError::PitchTooSmall {
                pitch: 16,
                width: 5
            })
        );
    }

    #[test]
    fn rgb_is_written_as_bgrx_leaving_the_padding_alone() {
        let layout = XrgbLayout::new(3, 2, 16).unwrap();
        let mut buffer = vec![0xEE; layout.size()];
        // 2×2 picture at (1, 0): red, green / blue, white.
        let rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255];
        layout.write_rgb(&mut buffer, &rgb, (2, 2), (1, 0)).unwrap();
        assert_eq!(&buffer[0..4], &[0xEE; 4], "left of the picture untouched");
        assert_eq!(&buffer[4..8], &[0, 0, 255, 0]);
        assert_eq!(&buffer[8..12], &[0, 255, 0, 0]);
        assert_eq!(&buffer[12..16], &[0xEE; 4], "padding untouched");
        assert_eq!(&buffer[20..24], &[255, 0, 0, 0]);
        assert_eq!(&buffer[24..28], &[255, 255, 255, 0]);
    }

    #[test]
    fn writes_are_clipped_and_bad_sizes_refused() {
        let layout = XrgbLayout::new(2, 2, 12).unwrap();
        let mut buffer = vec![0xEE; layout.size()];
        let rgb = [9u8; 3 * 3 * 3];
        layout.write_rgb(&mut buffer, &rgb, (3, 3), (1, 1)).unwrap();
        assert_eq!(&buffer[12..16], &[0xEE; 4]);
        assert_eq!(&buffer[16..20], &[9, 9, 9, 0]);
        assert_eq!(&buffer[20..24], &[0xEE; 4], "padding untouched");
        assert!(matches!(
            layout.write_rgb(&mut buffer[..10], &rgb, (3, 3), (0, 0)),
            Err(LayoutError::BufferTooSmall { .. })
        ));
        assert!(matches!(
            layout.write_rgb(&mut buffer, &rgb[..5], (3, 3), (0, 0)),
            Err(LayoutError::SourceSize { .. })
        ));
    }
}
