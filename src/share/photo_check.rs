//! Photos are decoded in full before they go anywhere: before `hearth share
//! --photo` or the control socket accepts one, and before a received photo
//! is stored. A truncated or damaged JPEG is refused with
//! [`ShareError::Undecodable`] instead of travelling as a broken picture.
//!
//! A PNG is turned into a JPEG the way the viewer page does it
//! (`web/photo.js`): transparency on white, at most [`MAX_SIDE`] pixels on
//! the long side, the best quality of [`QUALITIES`] that fits the byte cap,
//! and smaller again (× 0.7) until it fits. A JPEG that decodes is kept as
//! it is, byte for byte.

use super::ShareError;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

/// Largest JPEG a PNG becomes (the page's cap; the device accepts 2 MiB by default).
pub const MAX_PHOTO_BYTES: usize = 1536 * 1024;
/// Longest side, in pixels, of a JPEG made from a PNG.
pub const MAX_SIDE: u32 = 2048;
/// JPEG qualities tried in turn, as the page does.
pub const QUALITIES: [u8; 4] = [88, 80, 70, 60];
/// Largest side of a picture this module decodes at all.
const MAX_DECODE_SIDE: usize = 16_384;
/// Largest decoded picture, in bytes (a PNG bomb stops here).
const MAX_DECODE_BYTES: usize = 256 * 1024 * 1024;
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The size of a picture that decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Decodes `jpeg` in full (strictly: a truncated or damaged scan, or a
/// missing end marker, is an error) and returns its size.
pub fn check_jpeg(jpeg: &[u8]) -> Result<Dimensions, ShareError> {
    if !jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(ShareError::Undecodable("it is not a JPEG".into()));
    }
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(MAX_DECODE_SIDE)
        .set_max_height(MAX_DECODE_SIDE)
        .set_strict_mode(true);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
    decoder
        .decode()
        .map_err(|e| ShareError::Undecodable(format!("the JPEG is damaged: {e}")))?;
    let info = decoder
        .info()
        .ok_or_else(|| ShareError::Undecodable("the JPEG has no picture".into()))?;
    if !ends_after_its_scan(jpeg) {
        return Err(ShareError::Undecodable(
            "the JPEG is cut short: its end marker is missing".into(),
        ));
    }
    Ok(Dimensions {
        width: u32::from(info.width),
        height: u32::from(info.height),
    })
}

/// Whether an end-of-image marker (`FF D9`) follows the first scan. Inside
/// a scan every `FF` byte is stuffed (`FF 00`) or a restart marker, so the
/// first `FF D9` after it is the real end; bytes after the end are allowed
/// (some cameras append data there).
fn ends_after_its_scan(jpeg: &[u8]) -> bool {
    let Some(scan) = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]) else {
        return false;
    };
    jpeg[scan..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// A photo ready to share: `bytes` (a JPEG or a PNG) decoded in full. A
/// JPEG is kept as it is (refused over `max_bytes`, the device's
/// `[share] max_jpeg_bytes`); a PNG becomes a JPEG of at most
/// [`MAX_PHOTO_BYTES`] (or `max_bytes`, if smaller), as the page makes them.
pub fn prepare_photo(bytes: &[u8], max_bytes: usize) -> Result<Vec<u8>, ShareError> {
    if bytes.starts_with(PNG_SIGNATURE) {
        let (width, height, rgb) = decode_png(bytes)?;
        return jpeg_within(&rgb, width, height, max_bytes.min(MAX_PHOTO_BYTES));
    }
    if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(ShareError::Undecodable(
            "it is neither a JPEG nor a PNG".into(),
        ));
    }
    check_jpeg(bytes)?;
    if bytes.len() > max_bytes {
        return Err(ShareError::TooLarge(format!(
            "a photo of {} bytes; at most {max_bytes} ([share] max_jpeg_bytes): make it smaller, or send it as a PNG and it is scaled down",
            bytes.len()
        )));
    }
    Ok(bytes.to_vec())
}

/// Decodes a PNG in full to packed RGB, transparency composited on white.
fn decode_png(png_bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), ShareError> {
    let bad = |e: png::DecodingError| ShareError::Undecodable(format!("the PNG is damaged: {e}"));
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(png_bytes),
        png::Limits {
            bytes: MAX_DECODE_BYTES,
        },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(bad)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| ShareError::TooLarge("a PNG too large to decode".into()))?;
    let mut buf = vec![0; size];
    let frame = reader.next_frame(&mut buf).map_err(bad)?;
    reader.finish().map_err(bad)?;
    let (width, height) = (frame.width, frame.height);
    if width as usize > MAX_DECODE_SIDE || height as usize > MAX_DECODE_SIDE {
        return Err(ShareError::TooLarge(format!(
            "a PNG of {width}×{height} pixels (at most {MAX_DECODE_SIDE} a side)"
        )));
    }
    let pixels = &buf[..frame.buffer_size()];
    let on_white =
        |v: u8, a: u8| ((u32::from(v) * u32::from(a) + 255 * (255 - u32::from(a))) / 255) as u8;
    let rgb: Vec<u8> = match frame.color_type {
        png::ColorType::Rgb => pixels.to_vec(),
        png::ColorType::Rgba => pixels
            .chunks_exact(4)
            .flat_map(|p| {
                [
                    on_white(p[0], p[3]),
                    on_white(p[1], p[3]),
                    on_white(p[2], p[3]),
                ]
            })
            .collect(),
        png::ColorType::Grayscale => pixels.iter().flat_map(|&g| [g, g, g]).collect(),
        png::ColorType::GrayscaleAlpha => pixels
            .chunks_exact(2)
            .flat_map(|p| [on_white(p[0], p[1]); 3])
            .collect(),
        png::ColorType::Indexed => {
            return Err(ShareError::Undecodable(
                "the PNG's palette could not be expanded".into(),
            ))
        }
    };
    Ok((width, height, rgb))
}

/// Encodes packed RGB as a JPEG of at most `max_bytes`, as the page does:
/// at most [`MAX_SIDE`] a side, the first of [`QUALITIES`] that fits, and
/// 0.7 times smaller until one does (down to 64 pixels).
pub fn jpeg_within(
    rgb: &[u8],
    width: u32,
    height: u32,
    max_bytes: usize,
) -> Result<Vec<u8>, ShareError> {
    let mut scale = (f64::from(MAX_SIDE) / f64::from(width.max(height))).min(1.0);
    loop {
        let w = ((f64::from(width) * scale).round() as u32).max(1);
        let h = ((f64::from(height) * scale).round() as u32).max(1);
        let small = shrink(rgb, width, height, w, h);
        for quality in QUALITIES {
            let mut out = Vec::new();
            jpeg_encoder::Encoder::new(&mut out, quality)
                .encode(&small, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
                .map_err(|e| ShareError::Malformed(format!("JPEG encoding failed: {e}")))?;
            if out.len() <= max_bytes {
                return Ok(out);
            }
        }
        if w <= 64 && h <= 64 {
            return Err(ShareError::TooLarge(format!(
                "the picture stays over {max_bytes} bytes even at 64 pixels"
            )));
        }
        scale *= 0.7;
    }
}

/// Scales packed RGB down to `w`×`h` by averaging the source pixels each
/// target pixel covers.
fn shrink(rgb: &[u8], width: u32, height: u32, w: u32, h: u32) -> Vec<u8> {
    if (w, h) == (width, height) {
        return rgb.to_vec();
    }
    let span = |i: u32, to: u32, from: u32| {
        let start = (u64::from(i) * u64::from(from) / u64::from(to)) as usize;
        let end = (u64::from(i + 1) * u64::from(from) / u64::from(to)) as usize;
        start..end.max(start + 1)
    };
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h {
        let rows = span(y, h, height);
        for x in 0..w {
            let cols = span(x, w, width);
            let mut sum = [0u64; 3];
            for sy in rows.clone() {
                let row = sy * width as usize;
                for sx in cols.clone() {
                    let i = (row + sx) * 3;
                    sum[0] += u64::from(rgb[i]);
                    sum[1] += u64::from(rgb[i + 1]);
                    sum[2] += u64::from(rgb[i + 2]);
                }
            }
            let n = (rows.len() * cols.len()) as u64;
            out.extend(sum.iter().map(|s| (s / n) as u8));
        }
    }
    out
}
