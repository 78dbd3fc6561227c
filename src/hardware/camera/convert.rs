//! Camera pixels to I420, the only layout the encoders take.
//!
//! Each function reads one frame as the driver delivered it (rows may be padded: `stride`
//! is V4L2's `bytesperline`) and writes a packed [`I420Frame`]. Chroma that the camera
//! sends per row (YUYV is 4:2:2) is averaged over each pair of rows, rounding half up.
//! The loops work on whole rows with `chunks_exact`, which the compiler vectorises.

use crate::media::{I420Frame, MediaError};

fn too_short(what: &str, have: usize, need: usize) -> MediaError {
    MediaError::Capture(format!(
        "{what} frame has {have} bytes but needs {need}; the driver changed the format \
         under us, the camera will be reopened"
    ))
}

fn check(width: u32, height: u32, stride: usize, min_stride: usize) -> Result<(), MediaError> {
    crate::media::frame::check_size(width, height)?;
    if stride < min_stride {
        return Err(MediaError::Capture(format!(
            "row stride {stride} is shorter than a row ({min_stride} bytes)"
        )));
    }
    Ok(())
}

/// Packed YUYV (Y0 U Y1 V) with `stride` bytes per row to I420.
pub fn yuyv_to_i420(
    src: &[u8],
    width: u32,
    height: u32,
    stride: usize,
) -> Result<I420Frame, MediaError> {
    let (w, h) = (width as usize, height as usize);
    check(width, height, stride, w * 2)?;
    let need = stride * (h - 1) + w * 2;
    if src.len() < need {
        return Err(too_short("YUYV", src.len(), need));
    }
    let mut data = vec![0u8; I420Frame::byte_len(width, height)];
    let (y, chroma) = data.split_at_mut(w * h);
    let (u, v) = chroma.split_at_mut(w * h / 4);
    let (cw, rows) = (w / 2, h / 2);
    for (pair, ((y_pair, u_row), v_row)) in y
        .chunks_exact_mut(2 * w)
        .zip(u.chunks_exact_mut(cw))
        .zip(v.chunks_exact_mut(cw))
        .enumerate()
        .take(rows)
    {
        let top = &src[2 * pair * stride..2 * pair * stride + w * 2];
        let bottom = &src[(2 * pair + 1) * stride..(2 * pair + 1) * stride + w * 2];
        let (y_top, y_bottom) = y_pair.split_at_mut(w);
        // One pass over both rows: four bytes (two pixels) of each at a time.
        let pixels = top.chunks_exact(4).zip(bottom.chunks_exact(4));
        let luma = y_top.chunks_exact_mut(2).zip(y_bottom.chunks_exact_mut(2));
        let chroma = u_row.iter_mut().zip(v_row.iter_mut());
        for (((a, b), (yt, yb)), (du, dv)) in pixels.zip(luma).zip(chroma) {
            yt[0] = a[0];
            yt[1] = a[2];
            yb[0] = b[0];
            yb[1] = b[2];
            *du = (u16::from(a[1]) + u16::from(b[1])).div_ceil(2) as u8;
            *dv = (u16::from(a[3]) + u16::from(b[3])).div_ceil(2) as u8;
        }
    }
    let frame = I420Frame::new(width, height, data)?;
    Ok(frame)
}

/// NV12 (Y plane, then interleaved UV rows) with `stride` bytes per row in both planes,
/// the UV plane starting right after `height` luma rows, to I420.
pub fn nv12_to_i420(
    src: &[u8],
    width: u32,
    height: u32,
    stride: usize,
) -> Result<I420Frame, MediaError> {
    let (w, h) = (width as usize, height as usize);
    check(width, height, stride, w)?;
    let need = stride * h + stride * (h / 2 - 1) + w;
    if src.len() < need {
        return Err(too_short("NV12", src.len(), need));
    }
    let mut frame = I420Frame::black(width, height)?;
    let (y, u, v) = frame.planes_mut();
    for row in 0..h {
        y[row * w..(row + 1) * w].copy_from_slice(&src[row * stride..row * stride + w]);
    }
    let uv = &src[stride * h..];
    for row in 0..h / 2 {
        let line = &uv[row * stride..row * stride + w];
        let c = row * (w / 2);
        for ((du, dv), pair) in u[c..c + w / 2]
            .iter_mut()
            .zip(v[c..c + w / 2].iter_mut())
            .zip(line.chunks_exact(2))
        {
            *du = pair[0];
            *dv = pair[1];
        }
    }
    Ok(frame)
}

/// Planar I420 (`YU12`) with `stride` bytes per luma row (chroma rows `stride / 2`) to
/// a packed I420 frame.
pub fn i420_to_i420(
    src: &[u8],
    width: u32,
    height: u32,
    stride: usize,
) -> Result<I420Frame, MediaError> {
    let (w, h) = (width as usize, height as usize);
    check(width, height, stride, w)?;
    let cs = stride / 2;
    let need = stride * h + 2 * cs * (h / 2);
    if src.len() < need {
        return Err(too_short("I420", src.len(), need));
    }
    if stride == w {
        return I420Frame::new(
            width,
            height,
            src[..I420Frame::byte_len(width, height)].to_vec(),
        );
    }
    let mut frame = I420Frame::black(width, height)?;
    let (y, u, v) = frame.planes_mut();
    for row in 0..h {
        y[row * w..(row + 1) * w].copy_from_slice(&src[row * stride..row * stride + w]);
    }
    let (u_src, v_src) = (stride * h, stride * h + cs * (h / 2));
    for row in 0..h / 2 {
        let c = row * (w / 2);
        u[c..c + w / 2].copy_from_slice(&src[u_src + row * cs..u_src + row * cs + w / 2]);
        v[c..c + w / 2].copy_from_slice(&src[v_src + row * cs..v_src + row * cs + w / 2]);
    }
    Ok(frame)
}

/// Resizes an I420 frame by picking the nearest pixel: used when a replugged camera comes
/// back at another size than the encoder was built for.
pub fn scale_i420(frame: &I420Frame, width: u32, height: u32) -> Result<I420Frame, MediaError> {
    if (frame.width(), frame.height()) == (width, height) {
        return Ok(frame.clone());
    }
    let mut out = I420Frame::black(width, height)?;
    let (sw, sh) = (frame.width() as usize, frame.height() as usize);
    let (dw, dh) = (width as usize, height as usize);
    let resample = |src: &[u8], s: (usize, usize), dst: &mut [u8], d: (usize, usize)| {
        for y in 0..d.1 {
            let sy = y * s.1 / d.1;
            for x in 0..d.0 {
                dst[y * d.0 + x] = src[sy * s.0 + x * s.0 / d.0];
            }
        }
    };
    let (y, u, v) = out.planes_mut();
    resample(frame.y(), (sw, sh), y, (dw, dh));
    resample(frame.u(), (sw / 2, sh / 2), u, (dw / 2, dh / 2));
    resample(frame.v(), (sw / 2, sh / 2), v, (dw / 2, dh / 2));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_chroma_is_averaged_over_row_pairs() {
        // 2x2: top row U=10 V=20, bottom row U=11 V=40.
        let src = [1, 10, 2, 20, 3, 11, 4, 40];
        let f = yuyv_to_i420(&src, 2, 2, 4).unwrap();
        assert_eq!(f.y(), &[1, 2, 3, 4]);
        assert_eq!((f.u(), f.v()), (&[11u8][..], &[30u8][..]));
    }

    #[test]
    fn short_buffers_are_errors_not_panics() {
        assert!(yuyv_to_i420(&[0; 7], 2, 2, 4).is_err());
        assert!(nv12_to_i420(&[0; 5], 2, 2, 2).is_err());
        assert!(i420_to_i420(&[0; 5], 2, 2, 2).is_err());
        assert!(
            yuyv_to_i420(&[0; 64], 4, 2, 4).is_err(),
            "stride shorter than a row"
        );
    }

    #[test]
    fn scaling_keeps_flat_colours() {
        let f = I420Frame::black(8, 4).unwrap();
        let s = scale_i420(&f, 4, 2).unwrap();
        assert_eq!(s, I420Frame::black(4, 2).unwrap());
    }
}
