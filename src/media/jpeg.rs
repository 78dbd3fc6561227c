//! JPEG decoding with a pure-Rust decoder (zune-jpeg): Motion-JPEG camera
//! frames to I420, and photos to RGB (for the screen and the photo checks).
//!
//! Some USB cameras offer their larger sizes only as MJPEG. Each frame is a JPEG, often
//! without Huffman tables (the MJPEG convention; the decoder supplies the standard ones).
//! JPEG samples are full range (0–255); video is "studio" range (Y 16–235, chroma
//! 16–240), which is what H.264 decoders assume, so values are rescaled on the way.

use std::borrow::Cow;

use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::media::{I420Frame, MediaError};

/// Largest JPEG side accepted (matches the encoders' limit).
const MAX_SIDE: usize = 3840;

fn decode(jpeg: &[u8], colorspace: ColorSpace) -> Result<(u32, u32, Vec<u8>), String> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(colorspace)
        .set_max_width(MAX_SIDE)
        .set_max_height(MAX_SIDE);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
    let pixels = decoder.decode().map_err(|e| e.to_string())?;
    let info = decoder.info().ok_or("no image information")?;
    Ok((u32::from(info.width), u32::from(info.height), pixels))
}

/// Decodes a JPEG into (width, height, RGB bytes), for photos shown on the screen.
pub fn decode_rgb(jpeg: &[u8]) -> Result<(u32, u32, Vec<u8>), MediaError> {
    decode(jpeg, ColorSpace::RGB).map_err(MediaError::Photo)
}

/// Full-range luma to studio range.
fn y_lut() -> [u8; 256] {
    std::array::from_fn(|v| (16 + (v as u32 * 219 + 127) / 255) as u8)
}

/// Full-range chroma to studio range (centred on 128).
fn c_lut() -> [u8; 256] {
    std::array::from_fn(|v| {
        (128 + ((v as i32 - 128) * 224 + 127 * (v as i32 - 128).signum()) / 255) as u8
    })
}

/// Whether the JPEG carries Huffman tables (a DHT segment) or says it is AVI1 MJPEG
/// (whose decoder then uses the standard tables), looking at the headers before the scan.
fn has_tables_or_avi1(jpeg: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        let length = usize::from(jpeg[i + 2]) << 8 | usize::from(jpeg[i + 3]);
        match marker {
            0xC4 => return true,
            0xE0 if jpeg.get(i + 4..i + 9) == Some(b"AVI1\0") => return true,
            0xDA => return false,
            _ => i += 2 + length,
        }
    }
    false
}

/// Many webcams leave the (always identical) Huffman tables out of every frame. Such a
/// frame gets an `AVI1` APP0 segment, which makes the decoder supply the standard tables.
fn with_standard_tables(jpeg: &[u8]) -> Cow<'_, [u8]> {
    if jpeg.len() < 4 || has_tables_or_avi1(jpeg) {
        return Cow::Borrowed(jpeg);
    }
    let mut fixed = Vec::with_capacity(jpeg.len() + 20);
    fixed.extend_from_slice(&jpeg[..2]);
    fixed.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10]);
    fixed.extend_from_slice(b"AVI1\0");
    fixed.extend_from_slice(&[0; 9]);
    fixed.extend_from_slice(&jpeg[2..]);
    Cow::Owned(fixed)
}

/// Decodes one MJPEG frame to studio-range I420. Odd sizes lose their last row/column.
pub fn mjpeg_to_i420(jpeg: &[u8]) -> Result<I420Frame, MediaError> {
    let jpeg = with_standard_tables(jpeg);
    let (w, h, ycc) = decode(&jpeg, ColorSpace::YCbCr)
        .map_err(|e| MediaError::Capture(format!("broken MJPEG frame ({e})")))?;
    let (ew, eh) = (w & !1, h & !1);
    let mut frame = I420Frame::black(ew, eh)?;
    let (ylut, clut) = (y_lut(), c_lut());
    let (w, ew, eh) = (w as usize, ew as usize, eh as usize);
    let (y, u, v) = frame.planes_mut();
    for row in 0..eh {
        let src = &ycc[row * w * 3..row * w * 3 + ew * 3];
        for (dst, px) in y[row * ew..(row + 1) * ew]
            .iter_mut()
            .zip(src.chunks_exact(3))
        {
            *dst = ylut[px[0] as usize];
        }
    }
    for row in 0..eh / 2 {
        let top = &ycc[2 * row * w * 3..];
        let bottom = &ycc[(2 * row + 1) * w * 3..];
        let c = row * (ew / 2);
        for col in 0..ew / 2 {
            let i = col * 6;
            let avg = |k: usize| {
                let sum = u32::from(top[i + k])
                    + u32::from(top[i + 3 + k])
                    + u32::from(bottom[i + k])
                    + u32::from(bottom[i + 3 + k]);
                ((sum + 2) / 4) as usize
            };
            u[c + col] = clut[avg(1)];
            v[c + col] = clut[avg(2)];
        }
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_tables_map_the_ends_and_the_middle() {
        let (y, c) = (y_lut(), c_lut());
        assert_eq!((y[0], y[255]), (16, 235));
        assert_eq!((c[0], c[128], c[255]), (16, 128, 240));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(mjpeg_to_i420(b"not a jpeg").is_err());
        assert!(decode_rgb(&[0xff, 0xd8, 0xff]).is_err());
    }
}
