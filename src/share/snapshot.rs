//! A snapshot: the camera's current frame as a JPEG, at the quality and size
//! the `[share]` settings ask for. The frame comes from the live pipeline's
//! next keyframe, decoded (openh264) and encoded with a pure-Rust JPEG encoder.

use super::ShareError;
use crate::media::I420Frame;
use crate::rtc::LocalMedia;
use std::time::Duration;

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
    let mut quality = settings.quality.clamp(1, 100);
    loop {
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, quality)
            .encode(
                &rgb,
                width as u16,
                height as u16,
                jpeg_encoder::ColorType::Rgb,
            )
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

/// Converts an I420 frame to a JPEG within `settings` (BT.601, full range).
pub fn jpeg_from_i420(
    frame: &I420Frame,
    settings: &SnapshotSettings,
) -> Result<Vec<u8>, ShareError> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (y, u, v) = (frame.y(), frame.u(), frame.v());
    let mut rgb = Vec::with_capacity(w * h * 3);
    for row in 0..h {
        for col in 0..w {
            let yy = y[row * w + col] as f32;
            let c = (row / 2) * (w / 2) + col / 2;
            let (cb, cr) = (u[c] as f32 - 128.0, v[c] as f32 - 128.0);
            let px = [
                yy + 1.402 * cr,
                yy - 0.344 * cb - 0.714 * cr,
                yy + 1.772 * cb,
            ];
            rgb.extend(px.map(|p| p.clamp(0.0, 255.0) as u8));
        }
    }
    jpeg_from_rgb(&rgb, w as u32, h as u32, settings)
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

/// Takes a snapshot of the camera's current frame. Refused while privacy is on.
pub async fn capture(
    media: &LocalMedia,
    settings: SnapshotSettings,
) -> Result<Vec<u8>, ShareError> {
    if media.is_private() {
        return Err(ShareError::NotAllowed(
            "privacy is on: the camera is off. Turn it off with `hearth privacy off` to take a snapshot".into(),
        ));
    }
    let video = media
        .video()
        .ok_or_else(|| ShareError::NotAllowed("this device has no camera configured".into()))?;
    let mut feed = video.subscribe();
    let frame = tokio::time::timeout(Duration::from_secs(5), feed.recv())
        .await
        .ok()
        .flatten()
        .ok_or_else(|| ShareError::NotAllowed("the camera gave no frame within 5 s".into()))?;
    drop(feed);
    let data = frame.data.clone();
    tokio::task::spawn_blocking(move || {
        let mut decoder = crate::media::H264Decoder::new()
            .map_err(|e| ShareError::Malformed(format!("H.264 decoder: {e}")))?;
        let frame = decoder
            .decode(&data)
            .map_err(|e| ShareError::Malformed(format!("decoding the camera frame: {e}")))?
            .ok_or_else(|| ShareError::Malformed("the camera frame did not decode".into()))?;
        jpeg_from_i420(&frame, &settings)
    })
    .await
    .map_err(|e| ShareError::Malformed(format!("snapshot task: {e}")))?
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
