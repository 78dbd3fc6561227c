//! Fitting a contact's picture onto a screen: where it goes (letterboxed, centred) and
//! scaling it there from I420 to RGB888.
//!
//! Pure functions, no I/O: HDMI, the small SPI screen and the simulator all use them.

use embedded_graphics::prelude::Size;

use super::yuv::yuv_to_rgb;
use crate::media::I420Frame;

/// A rectangle on the output, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Rect {
    /// The whole of an output of `size`.
    pub fn full(size: Size) -> Rect {
        Rect {
            x: 0,
            y: 0,
            width: size.width,
            height: size.height,
        }
    }
}

/// Where a picture of `source` size goes on an output of `output` size: as large as
/// fits with its aspect ratio kept, centred, black bars on the two other sides.
///
/// Width, height, x and y are even (so the rectangle lines up with I420 chroma and
/// with panels that take pixel pairs), unless the output itself is odd-sized. An empty
/// source or output gives an empty rectangle.
pub fn letterbox(source: Size, output: Size) -> Rect {
    if source.width == 0 || source.height == 0 || output.width == 0 || output.height == 0 {
        return Rect {
            x: 0,
            y: 0,
            width: 0,
            height: 0,
        };
    }
    let (sw, sh) = (u64::from(source.width), u64::from(source.height));
    let (ow, oh) = (u64::from(output.width), u64::from(output.height));
    // Compare aspect ratios without division: sw/sh > ow/oh means bars above and below.
    let (width, height) = if sw * oh > ow * sh {
        (ow, even_down(ow * sh / sw).max(2).min(oh))
    } else {
        (even_down(oh * sw / sh).max(2).min(ow), oh)
    };
    Rect {
        x: even_down((ow - width) / 2) as u32,
        y: even_down((oh - height) / 2) as u32,
        width: width as u32,
        height: height as u32,
    }
}

fn even_down(n: u64) -> u64 {
    n & !1
}

/// Scales `frame` into the rectangle `dest` of an RGB888 buffer whose rows are `stride`
/// bytes apart, converting BT.601 video-range YUV to RGB on the way. Pixels of the
/// rectangle that fall outside the buffer are skipped.
///
/// Nearest neighbour, sampling at pixel centres: one table lookup per pixel and no
/// arithmetic on neighbours, which matters on a Raspberry Pi whose cores are already
/// busy decoding H.264, and it leaves flat colours exact (a test pattern's bars keep
/// their values up to their edges). Bilinear would soften the 2.25× enlargement of a
/// 640×480 call on a 1080p television; it can replace this function later without
/// changing its signature.
pub fn scale_into_rgb(frame: &I420Frame, buffer: &mut [u8], stride: usize, dest: Rect) {
    if dest.width == 0 || dest.height == 0 {
        return;
    }
    let (sw, sh) = (frame.width() as usize, frame.height() as usize);
    let (dw, dh) = (dest.width as usize, dest.height as usize);
    let columns: Vec<usize> = (0..dw).map(|dx| centre_sample(dx, dw, sw)).collect();
    let (y_plane, u_plane, v_plane) = (frame.y(), frame.u(), frame.v());
    let chroma_width = sw / 2;
    let (x0, y0) = (dest.x as usize, dest.y as usize);
    let visible_width = dw.min((stride / 3).saturating_sub(x0));
    for dy in 0..dh {
        let row_start = (y0 + dy) * stride + x0 * 3;
        let Some(row) = buffer.get_mut(row_start..row_start + visible_width * 3) else {
            return;
        };
        let sy = centre_sample(dy, dh, sh);
        let luma = &y_plane[sy * sw..][..sw];
        let u = &u_plane[sy / 2 * chroma_width..][..chroma_width];
        let v = &v_plane[sy / 2 * chroma_width..][..chroma_width];
        for (px, &sx) in row.chunks_exact_mut(3).zip(&columns) {
            px.copy_from_slice(&yuv_to_rgb(luma[sx], u[sx / 2], v[sx / 2]));
        }
    }
}

/// The source index whose pixel centre is nearest the centre of destination pixel `d`.
fn centre_sample(d: usize, dest_len: usize, source_len: usize) -> usize {
    ((2 * d + 1) * source_len / (2 * dest_len)).min(source_len - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::test_pattern::TestPattern;

    fn rect(x: u32, y: u32, width: u32, height: u32) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn letterbox_table() {
        let cases = [
            // (source, output, expected)
            ((640, 480), (1920, 1080), rect(240, 0, 1440, 1080)),
            ((640, 480), (240, 240), rect(0, 30, 240, 180)),
            ((1280, 720), (1920, 1080), rect(0, 0, 1920, 1080)),
            ((1920, 1080), (240, 240), rect(0, 52, 240, 134)),
            ((480, 640), (1920, 1080), rect(554, 0, 810, 1080)),
            ((640, 480), (128, 64), rect(22, 0, 84, 64)),
            ((0, 480), (240, 240), rect(0, 0, 0, 0)),
        ];
        for (source, output, expected) in cases {
            let got = letterbox(Size::new(source.0, source.1), Size::new(output.0, output.1));
            assert_eq!(got, expected, "{source:?} into {output:?}");
            assert!([got.x, got.y, got.width, got.height]
                .iter()
                .all(|n| n.is_multiple_of(2)));
            assert!(got.x + got.width <= output.0 && got.y + got.height <= output.1);
        }
    }

    /// Mean distance between two colours, per channel.
    fn close(a: [u8; 3], b: [u8; 3]) -> bool {
        a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 3)
    }

    #[test]
    fn test_pattern_colours_land_where_expected() {
        // Frame 0 does not scroll: eight 75% bars across the top three quarters
        // (white, yellow, cyan, green, magenta, red, blue, black), a grey ramp below.
        let frame = TestPattern::new(640, 480).unwrap().frame(0);
        let output = Size::new(1920, 1080);
        let dest = letterbox(Size::new(640, 480), output);
        let stride = 1920 * 3;
        let mut buffer = vec![0u8; stride * 1080];
        scale_into_rgb(&frame, &mut buffer, stride, dest);
        let at = |x: u32, y: u32| {
            let i = y as usize * stride + x as usize * 3;
            [buffer[i], buffer[i + 1], buffer[i + 2]]
        };
        let bar_width = dest.width / 8;
        let row = dest.y + dest.height / 3;
        let expected = [
            [191, 191, 191],
            [191, 191, 0],
            [0, 191, 191],
            [0, 191, 0],
            [191, 0, 191],
            [191, 0, 0],
            [0, 0, 191],
            [0, 0, 0],
        ];
        for (i, colour) in expected.into_iter().enumerate() {
            let x = dest.x + bar_width * i as u32 + bar_width / 2;
            assert!(close(at(x, row), colour), "bar {i}: {:?}", at(x, row));
        }
        // The bars left and right stay black; the ramp below is grey, darker on the left.
        assert_eq!(at(10, 500), [0, 0, 0]);
        assert_eq!(at(1910, 500), [0, 0, 0]);
        let ramp_y = dest.y + dest.height * 7 / 8;
        let (left, right) = (
            at(dest.x + 100, ramp_y),
            at(dest.x + dest.width - 100, ramp_y),
        );
        assert!(left[0] == left[1] && left[1] == left[2] && left[0] < right[0]);
    }

    #[test]
    fn scaling_down_keeps_the_bars_and_clips_to_the_buffer() {
        let frame = TestPattern::new(640, 480).unwrap().frame(0);
        let dest = letterbox(Size::new(640, 480), Size::new(240, 240));
        let stride = 240 * 3;
        let mut buffer = vec![0u8; stride * 240];
        scale_into_rgb(&frame, &mut buffer, stride, dest);
        let at = |x: usize, y: usize| {
            let i = y * stride + x * 3;
            [buffer[i], buffer[i + 1], buffer[i + 2]]
        };
        assert_eq!(at(120, 10), [0, 0, 0]);
        assert!(close(at(15, 60), [191, 191, 191]), "{:?}", at(15, 60));
        assert!(close(at(15 + 30 * 5, 60), [191, 0, 0]), "{:?}", at(165, 60));
        // A rectangle hanging off the buffer's edge is drawn only where it fits.
        let mut grey = I420Frame::black(16, 16).unwrap();
        grey.y_mut().fill(180);
        let mut small = vec![0u8; 10 * 3 * 10];
        scale_into_rgb(&grey, &mut small, 30, rect(4, 4, 20, 20));
        assert!(close([small[0], small[1], small[2]], [0, 0, 0]));
        let i = 5 * 30 + 5 * 3;
        assert!(close(
            [small[i], small[i + 1], small[i + 2]],
            [191, 191, 191]
        ));
    }
}
