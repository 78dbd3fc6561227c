//! The raw picture type that flows from a camera into an encoder and out of a decoder.
//!
//! I420 (planar YUV 4:2:0) is what both V4L2 cameras and openh264 speak natively, so
//! using it end to end avoids colour conversions on a Raspberry Pi that has no cycles to
//! spare. The layout is the tightly packed one: the Y plane (`width*height` bytes), then
//! U, then V (each `width/2 * height/2` bytes), no row padding.

use crate::media::MediaError;

/// Largest width or height the codecs accept.
pub const MAX_DIMENSION: u32 = 3840;

/// One uncompressed picture in packed I420 layout (Y plane, then U, then V).
#[derive(Clone, PartialEq, Eq)]
pub struct I420Frame {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl std::fmt::Debug for I420Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I420Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl I420Frame {
    /// Number of bytes a packed I420 frame of this size occupies.
    pub fn byte_len(width: u32, height: u32) -> usize {
        let luma = width as usize * height as usize;
        luma + luma / 2
    }

    /// Wraps packed I420 bytes; fails unless the size is even, non-zero and `data` has
    /// exactly [`I420Frame::byte_len`] bytes.
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Result<Self, MediaError> {
        check_size(width, height)?;
        if data.len() != Self::byte_len(width, height) {
            return Err(MediaError::size(
                width,
                height,
                (2, 2),
                "buffer length does not match width*height*3/2",
            ));
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// The frame at half the width and height, each output pixel the mean
    /// of four; `None` unless both sides are multiples of 4 (the half must
    /// stay even).
    pub fn halved(&self) -> Option<I420Frame> {
        if !self.width.is_multiple_of(4) || !self.height.is_multiple_of(4) {
            return None;
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let mut out = Vec::with_capacity(Self::byte_len(self.width / 2, self.height / 2));
        for (plane, pw, ph) in [
            (self.y(), w, h),
            (self.u(), w / 2, h / 2),
            (self.v(), w / 2, h / 2),
        ] {
            for row in (0..ph).step_by(2) {
                let (a, b) = (&plane[row * pw..][..pw], &plane[(row + 1) * pw..][..pw]);
                for x in (0..pw).step_by(2) {
                    let sum = u16::from(a[x])
                        + u16::from(a[x + 1])
                        + u16::from(b[x])
                        + u16::from(b[x + 1]);
                    out.push(((sum + 2) / 4) as u8);
                }
            }
        }
        I420Frame::new(self.width / 2, self.height / 2, out).ok()
    }

    /// A black frame (Y=16, U=V=128, i.e. video-range black).
    pub fn black(width: u32, height: u32) -> Result<Self, MediaError> {
        check_size(width, height)?;
        let luma = width as usize * height as usize;
        let mut data = vec![128u8; Self::byte_len(width, height)];
        data[..luma].fill(16);
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Width in pixels (always even).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels (always even).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// All three planes, packed.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Gives the packed buffer back, e.g. to recycle it.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    fn luma_len(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// The luma (Y) plane, `width` bytes per row, `height` rows.
    pub fn y(&self) -> &[u8] {
        &self.data[..self.luma_len()]
    }

    /// The blue-difference (U, Cb) plane, `width/2` bytes per row, `height/2` rows.
    pub fn u(&self) -> &[u8] {
        let l = self.luma_len();
        &self.data[l..l + l / 4]
    }

    /// The red-difference (V, Cr) plane, `width/2` bytes per row, `height/2` rows.
    pub fn v(&self) -> &[u8] {
        let l = self.luma_len();
        &self.data[l + l / 4..]
    }

    /// Mutable access to the Y, U and V planes at once, for drawing into the frame.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let l = self.luma_len();
        let (y, uv) = self.data.split_at_mut(l);
        let (u, v) = uv.split_at_mut(l / 4);
        (y, u, v)
    }

    /// Mutable luma plane.
    pub fn y_mut(&mut self) -> &mut [u8] {
        let l = self.luma_len();
        &mut self.data[..l]
    }
}

/// Checks that a size is usable for I420 and the codecs: even, non-zero, at most 3840.
pub fn check_size(width: u32, height: u32) -> Result<(), MediaError> {
    if width == 0 || height == 0 {
        return Err(MediaError::size(width, height, (2, 2), "zero size"));
    }
    if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
        return Err(MediaError::size(
            width,
            height,
            (2, 2),
            "I420 needs even dimensions",
        ));
    }
    if width.max(height) > MAX_DIMENSION || width.min(height) > 2160 {
        return Err(MediaError::size(width, height, (2, 2), "too large"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_four_pixels_and_keeps_the_layout() {
        let mut f = I420Frame::black(8, 4).unwrap();
        let (y, u, _) = f.planes_mut();
        y[..4].copy_from_slice(&[10, 20, 30, 40]);
        y[8..12].copy_from_slice(&[50, 60, 70, 80]);
        u[0] = 200;
        let half = f.halved().unwrap();
        assert_eq!((half.width(), half.height()), (4, 2));
        assert_eq!(&half.y()[..2], &[35, 55]);
        assert_eq!(u32::from(half.u()[0]), (200 + 128 * 3 + 2) / 4);
        assert!(I420Frame::black(6, 4).unwrap().halved().is_none());
    }

    #[test]
    fn planes_have_the_right_sizes() {
        let f = I420Frame::black(8, 4).unwrap();
        assert_eq!(f.y().len(), 32);
        assert_eq!(f.u().len(), 8);
        assert_eq!(f.v().len(), 8);
        assert!(f.y().iter().all(|&b| b == 16));
        assert!(f.u().iter().chain(f.v()).all(|&b| b == 128));
    }

    #[test]
    fn rejects_odd_sizes_and_wrong_lengths() {
        assert!(I420Frame::black(7, 4).is_err());
        assert!(I420Frame::new(8, 4, vec![0; 47]).is_err());
        assert!(I420Frame::new(8, 4, vec![0; 48]).is_ok());
    }
}
