//! Real pictures for tests: photos must decode in full to be shared or kept,
//! so a test that needs a photo of a given size pads a small real JPEG.

/// A real JPEG of exactly `len` bytes (at least 800): a small picture padded
/// with comment segments, which decoders skip.
pub fn padded_jpeg(len: usize) -> Vec<u8> {
    let picture = small_jpeg(16, 16);
    let mut pad = len
        .checked_sub(picture.len())
        .expect("len covers the picture");
    assert!(!(1..4).contains(&pad), "a comment segment takes 4 bytes");
    let mut jpeg = picture[..2].to_vec();
    let mut filler = 0u8;
    while pad > 0 {
        let mut n = (pad - 4).min(65533);
        if (1..4).contains(&(pad - 4 - n)) {
            n -= 4;
        }
        jpeg.extend_from_slice(&[0xFF, 0xFE]);
        jpeg.extend_from_slice(&(n as u16 + 2).to_be_bytes());
        jpeg.extend((0..n).map(|_| {
            filler = filler.wrapping_add(37);
            filler & 0x7F
        }));
        pad -= 4 + n;
    }
    jpeg.extend_from_slice(&picture[2..]);
    assert_eq!(jpeg.len(), len);
    jpeg
}

/// A real JPEG of `width`×`height` with some detail in it.
pub fn small_jpeg(width: u16, height: u16) -> Vec<u8> {
    let rgb: Vec<u8> = (0..width as usize * height as usize * 3)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 80)
        .encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    jpeg
}
