//! A frame counter drawn into the picture itself, readable after lossy compression.
//!
//! Glass-to-glass latency is measured by reading which frame the viewer is showing, so
//! the number must survive H.264 at modest bitrates and must never be misread. It is
//! drawn as a strip of big black/white luma blocks in the top-left corner: 64 bits in
//! 4 rows of 16, each block at least 16×16 px and aligned to the 16 px macroblock grid so
//! the encoder keeps every block flat. The bits are the 32-bit number followed by a
//! CRC-32 of it (xored with a magic), read MSB first, row by row. Reading averages a
//! 4×4 grid of samples in the middle of each block (1,024 pixel reads in all), refuses
//! blocks whose average is not clearly black or white, and verifies the CRC, so a damaged
//! strip yields `None` rather than a wrong number.

use crate::media::{I420Frame, MediaError};

/// Blocks per row of the strip.
const COLUMNS: u32 = 16;
/// Rows of blocks in the strip.
const ROWS: u32 = 4;
/// Total bits carried: 32 for the number, 32 for the checksum.
const BITS: u32 = COLUMNS * ROWS;
/// Distinguishes our stamp from any other CRC-protected pattern.
const MAGIC: u32 = 0x4845_5254; // "HERT"
/// Video-range black and white luma.
const BLACK: u8 = 16;
const WHITE: u8 = 235;
/// Block averages strictly between these are "unclear" and make the read fail.
const UNCLEAR_LOW: u32 = 80;
const UNCLEAR_HIGH: u32 = 176;

/// Where the frame-number strip sits in a frame of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripGeometry {
    /// Side of one square block in pixels (a multiple of 16).
    pub block: u32,
    /// Blocks per row.
    pub columns: u32,
    /// Rows of blocks.
    pub rows: u32,
}

impl StripGeometry {
    /// The strip layout for a frame of `width`×`height`, or `None` if the frame is too
    /// small to carry it (it needs at least 256×64 pixels).
    pub fn for_size(width: u32, height: u32) -> Option<Self> {
        // 16 px up to 639 px wide, then grow with the width (32 px at 1280, 48 at 1920).
        let block = ((width / 40) / 16 * 16).max(16);
        let g = Self {
            block,
            columns: COLUMNS,
            rows: ROWS,
        };
        (g.width() <= width && g.height() <= height).then_some(g)
    }

    /// Width of the whole strip in pixels.
    pub fn width(&self) -> u32 {
        self.block * self.columns
    }

    /// Height of the whole strip in pixels.
    pub fn height(&self) -> u32 {
        self.block * self.rows
    }

    /// Top-left pixel of the block carrying bit `index` (0 = most significant).
    pub fn block_origin(&self, index: u32) -> (u32, u32) {
        (
            (index % self.columns) * self.block,
            (index / self.columns) * self.block,
        )
    }
}

/// Draws `number` into the top-left corner of `frame` (and makes that area grey in chroma).
///
/// Fails only if the frame is smaller than 256×64.
pub fn stamp_frame_number(frame: &mut I420Frame, number: u32) -> Result<(), MediaError> {
    let (w, h) = (frame.width(), frame.height());
    let g = StripGeometry::for_size(w, h)
        .ok_or_else(|| MediaError::size(w, h, (256, 64), "too small for the frame-number strip"))?;
    let word = encode_word(number);
    let (y, u, v) = frame.planes_mut();
    let stride = w as usize;
    for bit in 0..BITS {
        let value = if word >> (BITS - 1 - bit) & 1 == 1 {
            WHITE
        } else {
            BLACK
        };
        let (x0, y0) = g.block_origin(bit);
        for row in y0..y0 + g.block {
            let start = row as usize * stride + x0 as usize;
            y[start..start + g.block as usize].fill(value);
        }
    }
    let cstride = stride / 2;
    for row in 0..(g.height() / 2) as usize {
        let start = row * cstride;
        u[start..start + (g.width() / 2) as usize].fill(128);
        v[start..start + (g.width() / 2) as usize].fill(128);
    }
    Ok(())
}

/// Reads the number drawn by [`stamp_frame_number`], or `None` if the frame carries no
/// strip, the strip is damaged, or any block is not clearly black or white.
pub fn read_frame_number(frame: &I420Frame) -> Option<u32> {
    let g = StripGeometry::for_size(frame.width(), frame.height())?;
    let y = frame.y();
    let stride = frame.width() as usize;
    let mut word = 0u64;
    for bit in 0..BITS {
        let (x0, y0) = g.block_origin(bit);
        // 4x4 samples at 5/16, 7/16, 9/16 and 11/16 of the block in each direction:
        // the middle half, away from edges that deblocking and neighbours may blur.
        let mut sum = 0u32;
        for sy in 0..4 {
            let row = (y0 + g.block * (5 + 2 * sy) / 16) as usize;
            let base = row * stride + x0 as usize;
            for sx in 0..4 {
                sum += u32::from(y[base + (g.block * (5 + 2 * sx) / 16) as usize]);
            }
        }
        let mean = sum / 16;
        if mean > UNCLEAR_LOW && mean < UNCLEAR_HIGH {
            return None;
        }
        word = word << 1 | u64::from(mean >= UNCLEAR_HIGH);
    }
    let number = (word >> 32) as u32;
    (word as u32 == checksum(number)).then_some(number)
}

fn encode_word(number: u32) -> u64 {
    u64::from(number) << 32 | u64::from(checksum(number))
}

/// CRC-32 (IEEE 802.3) of the big-endian bytes of `number`, xored with [`MAGIC`].
fn checksum(number: u32) -> u32 {
    let mut crc = !0u32;
    for byte in number.to_be_bytes() {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                crc >> 1 ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc ^ MAGIC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        // CRC-32 of "1234" is 0x9BE3E0A3.
        let n = u32::from_be_bytes(*b"1234");
        assert_eq!(checksum(n) ^ MAGIC, 0x9BE3_E0A3);
    }

    #[test]
    fn geometry_scales_with_width() {
        assert_eq!(StripGeometry::for_size(320, 240).unwrap().block, 16);
        assert_eq!(StripGeometry::for_size(640, 480).unwrap().block, 16);
        assert_eq!(StripGeometry::for_size(1280, 720).unwrap().block, 32);
        assert!(StripGeometry::for_size(160, 120).is_none());
    }

    #[test]
    fn uncompressed_round_trip_and_blank_frames() {
        let mut f = I420Frame::black(320, 240).unwrap();
        assert_eq!(read_frame_number(&f), None);
        for n in [0, 1, 0xDEAD_BEEF, u32::MAX] {
            stamp_frame_number(&mut f, n).unwrap();
            assert_eq!(read_frame_number(&f), Some(n));
        }
    }
}
