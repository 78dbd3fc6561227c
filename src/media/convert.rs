//! Pixel-format conversion from what cameras deliver to what the encoder takes.
//!
//! USB webcams over V4L2 mostly deliver packed YUYV 4:2:2; the Raspberry Pi camera stack
//! and hardware decoders deliver NV12 (a luma plane and one interleaved UV plane). The
//! H.264 encoder takes planar I420, so every captured frame passes through one of these.
//! They are plain loops the compiler vectorises; `cargo bench --bench media` measures them.

use crate::media::frame::check_size;
use crate::media::{I420Frame, MediaError};

/// Converts packed YUYV 4:2:2 (`Y0 U Y1 V`, `width * 2` bytes per row) to I420, averaging
/// the chroma of each pair of rows.
pub fn yuyv_to_i420(width: u32, height: u32, yuyv: &[u8]) -> Result<I420Frame, MediaError> {
    check_size(width, height)?;
    let (w, h) = (width as usize, height as usize);
    if yuyv.len() != w * h * 2 {
        return Err(MediaError::size(
            width,
            height,
            (2, 2),
            "YUYV buffer length does not match width*height*2",
        ));
    }
    let mut frame = I420Frame::black(width, height)?;
    let (y, u, v) = frame.planes_mut();
    let cw = w / 2;
    for row in 0..h {
        let src = &yuyv[row * w * 2..(row + 1) * w * 2];
        for (dst, pair) in y[row * w..(row + 1) * w]
            .chunks_exact_mut(2)
            .zip(src.chunks_exact(4))
        {
            dst[0] = pair[0];
            dst[1] = pair[2];
        }
    }
    for crow in 0..h / 2 {
        let top = &yuyv[crow * 2 * w * 2..(crow * 2 + 1) * w * 2];
        let bottom = &yuyv[(crow * 2 + 1) * w * 2..(crow * 2 + 2) * w * 2];
        let (urow, vrow) = (
            &mut u[crow * cw..(crow + 1) * cw],
            &mut v[crow * cw..(crow + 1) * cw],
        );
        for (i, (t, b)) in top.chunks_exact(4).zip(bottom.chunks_exact(4)).enumerate() {
            urow[i] = (u16::from(t[1]) + u16::from(b[1])).div_ceil(2) as u8;
            vrow[i] = (u16::from(t[3]) + u16::from(b[3])).div_ceil(2) as u8;
        }
    }
    Ok(frame)
}

/// Converts NV12 (a `width`×`height` luma plane, then interleaved `U V` at half
/// resolution) to I420.
pub fn nv12_to_i420(width: u32, height: u32, nv12: &[u8]) -> Result<I420Frame, MediaError> {
    check_size(width, height)?;
    let luma = width as usize * height as usize;
    if nv12.len() != luma * 3 / 2 {
        return Err(MediaError::size(
            width,
            height,
            (2, 2),
            "NV12 buffer length does not match width*height*3/2",
        ));
    }
    let mut frame = I420Frame::black(width, height)?;
    let (y, u, v) = frame.planes_mut();
    y.copy_from_slice(&nv12[..luma]);
    for ((uv, u), v) in nv12[luma..]
        .chunks_exact(2)
        .zip(u.iter_mut())
        .zip(v.iter_mut())
    {
        *u = uv[0];
        *v = uv[1];
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_keeps_luma_and_averages_chroma_rows() {
        // 2x2: row 0 = Y 10,20 U 100 V 200; row 1 = Y 30,40 U 110 V 210.
        let yuyv = [10, 100, 20, 200, 30, 110, 40, 210];
        let f = yuyv_to_i420(2, 2, &yuyv).unwrap();
        assert_eq!(f.y(), &[10, 20, 30, 40]);
        assert_eq!(f.u(), &[105]);
        assert_eq!(f.v(), &[205]);
        assert!(yuyv_to_i420(2, 2, &yuyv[..6]).is_err());
    }

    #[test]
    fn nv12_splits_the_chroma_plane() {
        let nv12 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 50, 60, 70, 80];
        // 4x2 frame: 8 luma bytes, then 2 UV pairs... sized for 4x2 = 12 bytes.
        let f = nv12_to_i420(4, 2, &nv12[..12]).unwrap();
        assert_eq!(f.y(), &nv12[..8]);
        assert_eq!(f.u(), &[9, 11]);
        assert_eq!(f.v(), &[10, 12]);
        assert!(nv12_to_i420(4, 2, &nv12).is_err());
    }
}
