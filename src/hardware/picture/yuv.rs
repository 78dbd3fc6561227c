//! One pixel from video-range BT.601 YUV to sRGB, in integers.
//!
//! openh264 decodes to I420 in video range (Y 16..=235, U/V 16..=240) with BT.601
//! colours, which is what the cameras send; every picture output turns it into RGB here,
//! so all of them show the same colours.

/// The sRGB colour of one video-range BT.601 YUV sample, each channel clamped to 0..=255.
pub fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    // Fixed point, 8 fractional bits: 1.164 = 298/256, 1.596 = 409/256, 0.391 = 100/256,
    // 0.813 = 208/256, 2.018 = 516/256.
    let c = 298 * (i32::from(y) - 16);
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let clamp = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
    [
        clamp(c + 409 * e),
        clamp(c - 100 * d - 208 * e),
        clamp(c + 516 * d),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_range_black_white_and_primaries() {
        assert_eq!(yuv_to_rgb(16, 128, 128), [0, 0, 0]);
        assert_eq!(yuv_to_rgb(235, 128, 128), [255, 255, 255]);
        // 100% red, green and blue in BT.601 video range.
        let near = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 2);
        assert!(
            near(yuv_to_rgb(81, 90, 240), [255, 0, 0]),
            "{:?}",
            yuv_to_rgb(81, 90, 240)
        );
        assert!(
            near(yuv_to_rgb(145, 54, 34), [0, 255, 0]),
            "{:?}",
            yuv_to_rgb(145, 54, 34)
        );
        assert!(
            near(yuv_to_rgb(41, 240, 110), [0, 0, 255]),
            "{:?}",
            yuv_to_rgb(41, 240, 110)
        );
    }
}
