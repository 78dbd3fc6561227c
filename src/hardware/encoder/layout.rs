//! Where the planes of a raw frame go in a hardware encoder's input buffer.
//!
//! The driver decides the row stride (`bytesperline`, e.g. 1280 rounded up to a multiple
//! of 32) and may pad the height (to a multiple of 16) inside one buffer of `sizeimage`
//! bytes. The padded height is read back from those two numbers; copying with the
//! driver's layout instead of assuming a packed one is what keeps a 1280x720 frame from
//! turning into a diagonal smear.

use crate::hardware::camera::format::PixelFormat;
use crate::media::I420Frame;

/// Byte layout of one raw input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLayout {
    /// I420 or NV12.
    pub format: PixelFormat,
    /// Bytes per luma row.
    pub stride: usize,
    /// Rows in the luma plane (at least the frame's height).
    pub plane_height: usize,
    /// Bytes the driver expects to be used.
    pub size: usize,
}

/// Works the layout out from what `VIDIOC_G_FMT` returned; the reason if it cannot hold
/// a `width` x `height` frame.
pub fn raw_layout(
    format: PixelFormat,
    stride: usize,
    size_image: usize,
    width: u32,
    height: u32,
) -> Result<RawLayout, String> {
    let (w, h) = (width as usize, height as usize);
    if !matches!(format, PixelFormat::I420 | PixelFormat::Nv12) {
        return Err(format!("{format} is not a raw encoder input"));
    }
    if stride < w || stride % 2 == 1 {
        return Err(format!("row stride {stride} does not fit a {w}-pixel row"));
    }
    // sizeimage = stride * plane_height * 3/2 for both 4:2:0 layouts.
    let plane_height = (size_image * 2 / (3 * stride)) & !1;
    if plane_height < h {
        return Err(format!(
            "buffer of {size_image} bytes cannot hold {w}x{h} at stride {stride}"
        ));
    }
    Ok(RawLayout {
        format,
        stride,
        plane_height,
        size: stride * plane_height * 3 / 2,
    })
}

/// Copies `frame` into `dst` with `layout` (padding is left as it was).
pub fn fill(layout: &RawLayout, frame: &I420Frame, dst: &mut [u8]) -> Result<(), String> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    if dst.len() < layout.size || layout.plane_height < h || layout.stride < w {
        return Err(format!(
            "buffer of {} bytes is too small for {w}x{h}",
            dst.len()
        ));
    }
    let s = layout.stride;
    for (row, src) in frame.y().chunks_exact(w).enumerate() {
        dst[row * s..row * s + w].copy_from_slice(src);
    }
    let chroma = s * layout.plane_height;
    match layout.format {
        PixelFormat::Nv12 => {
            for (row, (u, v)) in frame
                .u()
                .chunks_exact(w / 2)
                .zip(frame.v().chunks_exact(w / 2))
                .enumerate()
            {
                let line = &mut dst[chroma + row * s..chroma + row * s + w];
                for ((pair, u), v) in line.chunks_exact_mut(2).zip(u).zip(v) {
                    pair[0] = *u;
                    pair[1] = *v;
                }
            }
        }
        _ => {
            let cs = s / 2;
            let v_start = chroma + cs * (layout.plane_height / 2);
            for (row, (u, v)) in frame
                .u()
                .chunks_exact(w / 2)
                .zip(frame.v().chunks_exact(w / 2))
                .enumerate()
            {
                dst[chroma + row * cs..chroma + row * cs + w / 2].copy_from_slice(u);
                dst[v_start + row * cs..v_start + row * cs + w / 2].copy_from_slice(v);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hardware::camera::convert::{i420_to_i420, nv12_to_i420};

    fn pattern(w: u32, h: u32) -> I420Frame {
        let data = (0..I420Frame::byte_len(w, h))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        I420Frame::new(w, h, data).unwrap()
    }

    #[test]
    fn a_pi_style_padded_buffer_is_worked_out() {
        // 1280x720 I420 with rows padded to 1280 and height to 736 (multiple of 16).
        let l = raw_layout(PixelFormat::I420, 1280, 1280 * 736 * 3 / 2, 1280, 720).unwrap();
        assert_eq!((l.stride, l.plane_height), (1280, 736));
        assert!(raw_layout(PixelFormat::I420, 1280, 1280 * 700 * 3 / 2, 1280, 720).is_err());
        assert!(raw_layout(PixelFormat::I420, 1000, 10_000_000, 1280, 720).is_err());
    }

    #[test]
    fn filled_buffers_read_back_as_the_same_frame() {
        let frame = pattern(64, 48);
        for format in [PixelFormat::I420, PixelFormat::Nv12] {
            // Stride 96, no height padding: the camera converters read it back.
            let l = raw_layout(format, 96, 96 * 48 * 3 / 2, 64, 48).unwrap();
            let mut buf = vec![0u8; l.size];
            fill(&l, &frame, &mut buf).unwrap();
            let back = match format {
                PixelFormat::Nv12 => nv12_to_i420(&buf, 64, 48, 96).unwrap(),
                _ => i420_to_i420(&buf, 64, 48, 96).unwrap(),
            };
            assert_eq!(back, frame, "{format}");
        }
    }
}
