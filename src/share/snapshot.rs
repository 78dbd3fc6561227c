//! A snapshot's JPEG: a raw frame encoded with a pure-Rust JPEG encoder, at the
//! quality and size the `[share]` settings ask for. Taking the frame from the
//! camera is the device's job ([`crate::device::snapshot`]).

use super::ShareError;
use crate::media::I420Frame;

/// How snapshots are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotSettings {
    /// JPEG quality, 1–100.
    pub quality: u8,
    /// Wider frames are scaled down to this width.
    pub max_width: u32,
    /// The JPEG's size cap; quality is lowered (down to 30) to fit.
    pub max_bytes: usize,
}

/// Encodes packed RGB as a JPEG within `settings`.
pub fn jpeg_from_rgb(
    rgb: &[u8],
    width: u32,
    height: u32,
    settings: &SnapshotSettings,
) -> Result<Vec<u8>, ShareError> {
    let (rgb, width, height) = scale_down(rgb, width, height, settings.max_width);
    encode_within(settings, |encoder| {
        encoder.encode(
            &rgb,
            width as u16,
            height as u16,
            jpeg_encoder::ColorType::Rgb,
        )
    })
}

/// Encodes with the highest quality from `settings.quality` down to 30 (in steps of
/// 15) whose JPEG fits `settings.max_bytes`.
fn encode_within(
    settings: &SnapshotSettings,
    encode: impl Fn(jpeg_encoder::Encoder<&mut Vec<u8>>) -> Result<(), jpeg_encoder::EncodingError>,
) -> Result<Vec<u8>, ShareError> {
    let mut quality = settings.quality.clamp(1, 100);
    loop {
        let mut out = Vec::new();
        encode(jpeg_encoder::Encoder::new(&mut out, quality))
            .map_err(|e| ShareError::Malformed(format!("JPEG encoding failed: {e}")))?;
        if out.len() <= settings.max_bytes {
            return Ok(out);
        }
        if quality <= 30 {
            return Err(ShareError::TooLarge(format!(
                "a snapshot of {} bytes at quality {quality}; raise [share] max_jpeg_bytes or lower max_width",
                out.len()
            )));
        }
        quality = quality.saturating_sub(15).max(30);
    }
}

/// Converts an I420 frame to a JPEG within `settings`. The frame's Y, U and V go into
/// the JPEG as its Y, Cb and Cr, stretched from video ("studio") range — what cameras
/// and H.264 use — to the full range JFIF expects, and scaled down by nearest
/// neighbour when wider than `max_width`: no RGB round trip.
pub fn jpeg_from_i420(
    frame: &I420Frame,
    settings: &SnapshotSettings,
) -> Result<Vec<u8>, ShareError> {
    let view = I420Image::new(frame, settings.max_width);
    encode_within(settings, |encoder| encoder.encode_image(&view))
}

/// An I420 frame as the JPEG encoder reads it, row by row, optionally scaled down.
struct I420Image<'a> {
    frame: &'a I420Frame,
    width: u32,
    height: u32,
    luma: [u8; 256],
    chroma: [u8; 256],
}

/// Studio-range luma (16–235) to full range (0–255).
fn full_range_luma() -> [u8; 256] {
    std::array::from_fn(|v| ((v as i32 - 16) * 255 + 109).div_euclid(219).clamp(0, 255) as u8)
}

/// Studio-range chroma (16–240, centred on 128) to full range.
fn full_range_chroma() -> [u8; 256] {
    std::array::from_fn(|v| {
        (128 + ((v as i32 - 128) * 255 + 112).div_euclid(224)).clamp(0, 255) as u8
    })
}

impl<'a> I420Image<'a> {
    fn new(frame: &'a I420Frame, max_width: u32) -> Self {
        let (w, h) = (frame.width(), frame.height());
        let (width, height) = if w <= max_width || max_width == 0 {
            (w, h)
        } else {
            (
                max_width,
                (h as u64 * max_width as u64 / w as u64).max(1) as u32,
            )
        };
        I420Image {
            frame,
            width,
            height,
            luma: full_range_luma(),
            chroma: full_range_chroma(),
        }
    }
}

impl jpeg_encoder::ImageBuffer for &I420Image<'_> {
    fn get_jpeg_color_type(&self) -> jpeg_encoder::JpegColorType {
        jpeg_encoder::JpegColorType::Ycbcr
    }

    fn width(&self) -> u16 {
        self.width as u16
    }

    fn height(&self) -> u16 {
        self.height as u16
    }

    fn fill_buffers(&self, row: u16, buffers: &mut [Vec<u8>; 4]) {
        let (w, h) = (self.frame.width() as usize, self.frame.height() as usize);
        let (out_w, out_h) = (self.width as usize, self.height as usize);
        let sy = row as usize * h / out_h;
        let (y, u, v) = (self.frame.y(), self.frame.u(), self.frame.v());
        let luma = &y[sy * w..sy * w + w];
        let chroma = (sy / 2) * (w / 2);
        let (u, v) = (&u[chroma..chroma + w / 2], &v[chroma..chroma + w / 2]);
        let (ly, lc) = (&self.luma, &self.chroma);
        if out_w == w {
            buffers[0].extend(luma.iter().map(|&p| ly[p as usize]));
            for x in 0..w {
                buffers[1].push(lc[u[x / 2] as usize]);
                buffers[2].push(lc[v[x / 2] as usize]);
            }
        } else {
            for x in 0..out_w {
                let sx = x * w / out_w;
                buffers[0].push(ly[luma[sx] as usize]);
                buffers[1].push(lc[u[sx / 2] as usize]);
                buffers[2].push(lc[v[sx / 2] as usize]);
            }
        }
    }
}

fn scale_down(rgb: &[u8], width: u32, height: u32, max_width: u32) -> (Vec<u8>, u32, u32) {
    if width <= max_width || max_width == 0 {
        return (rgb.to_vec(), width, height);
    }
    let (nw, nh) = (
        max_width,
        (height as u64 * max_width as u64 / width as u64).max(1) as u32,
    );
    let mut out = Vec::with_capacity((nw * nh * 3) as usize);
    for row in 0..nh {
        let sy = (row as u64 * height as u64 / nh as u64) as usize;
        for col in 0..nw {
            let sx = (col as u64 * width as u64 / nw as u64) as usize;
            let at = (sy * width as usize + sx) * 3;
            out.extend_from_slice(&rgb[at..at + 3]);
        }
    }
    (out, nw, nh)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: SnapshotSettings = SnapshotSettings {
        quality: 80,
        max_width: 160,
        max_bytes: 256 * 1024,
    };

    #[test]
    fn an_i420_frame_becomes_a_scaled_jpeg() {
        let frame = I420Frame::black(320, 240).unwrap();
        let jpeg = jpeg_from_i420(&frame, &SETTINGS).unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "JPEG start marker");
        let sof = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("SOF0");
        let h = u16::from_be_bytes([jpeg[sof + 5], jpeg[sof + 6]]);
        let w = u16::from_be_bytes([jpeg[sof + 7], jpeg[sof + 8]]);
        assert_eq!((w, h), (160, 120));
    }

    /// A frame of one studio-range colour, JPEG-encoded and decoded to RGB.
    fn round_trip(y: u8, u: u8, v: u8) -> [u8; 3] {
        let mut frame = I420Frame::black(64, 48).unwrap();
        let (py, pu, pv) = frame.planes_mut();
        py.fill(y);
        pu.fill(u);
        pv.fill(v);
        let jpeg = jpeg_from_i420(&frame, &SETTINGS).unwrap();
        let (w, h, rgb) = crate::media::jpeg::decode_rgb(&jpeg).unwrap();
        assert_eq!((w, h), (64, 48), "not scaled: narrower than max_width");
        let at = (24 * 64 + 32) * 3;
        [rgb[at], rgb[at + 1], rgb[at + 2]]
    }

    fn near(got: [u8; 3], want: [u8; 3]) -> bool {
        got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 6)
    }

    #[test]
    fn colours_and_contrast_survive_from_video_range_to_jpeg() {
        // BT.601 studio range: black, white, red, blue.
        let cases = [
            ((16, 128, 128), [0, 0, 0]),
            ((235, 128, 128), [255, 255, 255]),
            ((81, 90, 240), [255, 0, 0]),
            ((41, 240, 110), [0, 0, 255]),
        ];
        for ((y, u, v), want) in cases {
            let got = round_trip(y, u, v);
            assert!(
                near(got, want),
                "YUV {y},{u},{v}: got {got:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn a_size_cap_that_cannot_be_met_is_an_error_that_names_the_setting() {
        let noise: Vec<u8> = (0..320 * 240 * 3).map(|i| (i * 7919 % 251) as u8).collect();
        let tiny = SnapshotSettings {
            max_bytes: 100,
            ..SETTINGS
        };
        let err = jpeg_from_rgb(&noise, 320, 240, &tiny).unwrap_err();
        assert!(err.to_string().contains("max_jpeg_bytes"), "{err}");
    }
}
