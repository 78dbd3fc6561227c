//! [`super::photo_check`]: PNGs become JPEGs the way the page makes them,
//! JPEGs that decode are kept byte for byte, and anything cut short or
//! damaged is refused as undecodable.

use super::photo_check::{check_jpeg, jpeg_within, prepare_photo, MAX_PHOTO_BYTES, MAX_SIDE};
use super::ShareError;

/// A picture with detail (so its JPEG is not trivially small).
fn noisy_rgb(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..width * height * 3)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            ((i % 97) as u8).wrapping_add((state >> 24) as u8 / 4)
        })
        .collect()
}

fn png_of(width: u32, height: u32, color: png::ColorType, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(pixels).unwrap();
    writer.finish().unwrap();
    out
}

fn jpeg_of(width: u32, height: u32) -> Vec<u8> {
    jpeg_within(&noisy_rgb(width, height), width, height, usize::MAX).unwrap()
}

fn undecodable(result: Result<impl std::fmt::Debug, ShareError>) -> String {
    match result {
        Err(e @ ShareError::Undecodable(_)) => e.to_string(),
        other => panic!("expected Undecodable, got {other:?}"),
    }
}

#[test]
fn a_png_becomes_a_jpeg_of_at_most_2048_px_on_white() {
    // 3000×1000, its left half fully transparent (black underneath).
    let (width, height) = (3000u32, 1000u32);
    let mut rgba = vec![0u8; (width * height * 4) as usize];
    for (i, px) in rgba.chunks_exact_mut(4).enumerate() {
        if (i as u32 % width) >= width / 2 {
            px.copy_from_slice(&[200, 30, 30, 255]);
        }
    }
    let png = png_of(width, height, png::ColorType::Rgba, &rgba);
    let jpeg = prepare_photo(&png, MAX_PHOTO_BYTES).unwrap();
    assert!(jpeg.len() <= MAX_PHOTO_BYTES);
    let size = check_jpeg(&jpeg).unwrap();
    assert_eq!((size.width, size.height), (MAX_SIDE, 683));
    let (w, _, rgb) = crate::media::jpeg::decode_rgb(&jpeg).unwrap();
    let at = |x: u32, y: u32| {
        let i = ((y * w + x) * 3) as usize;
        (rgb[i], rgb[i + 1], rgb[i + 2])
    };
    let (r, g, b) = at(100, 300);
    assert!(
        r > 240 && g > 240 && b > 240,
        "transparent is white: {r},{g},{b}"
    );
    let (r, g, b) = at(1900, 300);
    assert!(
        r > 170 && g < 70 && b < 70,
        "the red half stays red: {r},{g},{b}"
    );
}

#[test]
fn a_detailed_png_is_made_smaller_until_it_fits() {
    let (width, height) = (1200u32, 900u32);
    let png = png_of(
        width,
        height,
        png::ColorType::Rgb,
        &noisy_rgb(width, height),
    );
    let cap = 60 * 1024;
    let jpeg = prepare_photo(&png, cap).unwrap();
    assert!(jpeg.len() <= cap, "{} bytes", jpeg.len());
    let size = check_jpeg(&jpeg).unwrap();
    assert!(size.width < width, "scaled down to fit: {size:?}");
    // Grey decodes too.
    let grey = png_of(40, 30, png::ColorType::Grayscale, &[90; 1200]);
    check_jpeg(&prepare_photo(&grey, cap).unwrap()).unwrap();
}

#[test]
fn a_jpeg_that_decodes_is_kept_byte_for_byte() {
    let jpeg = jpeg_of(640, 480);
    assert_eq!(prepare_photo(&jpeg, MAX_PHOTO_BYTES).unwrap(), jpeg);
    let err = prepare_photo(&jpeg, 1000).unwrap_err();
    assert!(matches!(err, ShareError::TooLarge(_)), "{err}");
}

#[test]
fn a_jpeg_cut_short_or_damaged_is_refused() {
    let jpeg = jpeg_of(640, 480);
    for cut in [
        jpeg.len() - 2,
        jpeg.len() - 40,
        jpeg.len() * 3 / 4,
        jpeg.len() / 2,
        700,
    ] {
        let reason = undecodable(prepare_photo(&jpeg[..cut], MAX_PHOTO_BYTES));
        assert!(
            reason.contains("cannot be decoded"),
            "cut at {cut}: {reason}"
        );
    }
    // Its scan overwritten with markers that cannot be there.
    let mut damaged = jpeg.clone();
    let middle = damaged.len() / 2;
    damaged[middle..middle + 64].copy_from_slice(&[0xFF, 0xC4].repeat(32));
    undecodable(check_jpeg(&damaged));
    undecodable(prepare_photo(b"GIF89a not a photo", MAX_PHOTO_BYTES));
    undecodable(prepare_photo(&[], MAX_PHOTO_BYTES));
}

#[test]
fn a_png_cut_short_is_refused() {
    let png = png_of(200, 100, png::ColorType::Rgb, &noisy_rgb(200, 100));
    for cut in [png.len() - 4, png.len() / 2, 40] {
        let reason = undecodable(prepare_photo(&png[..cut], MAX_PHOTO_BYTES));
        assert!(reason.contains("PNG"), "cut at {cut}: {reason}");
    }
}
