//! The test-pattern frame number a picture shown on the device carries: the
//! simulated picture output (`<data>/picture/*.png`, 640×480 RGB) letterboxes
//! the caller's frame, so the picture's rectangle is mapped back to the
//! source size (nearest neighbour, pixel centres, as the output scaled it),
//! turned back into video-range luma, and read with
//! `hearth::media::read_frame_number`. A golden-frame check: the number only
//! reads when every block of the strip came through clearly, and its CRC
//! holds.

use embedded_graphics::prelude::Size;
use hearth::hardware::picture::fit::letterbox;
use hearth::media::{read_frame_number, I420Frame};
use std::path::Path;

/// The frame number shown in `png` (written by the device's simulated
/// output) of a caller whose frames are `source` (width, height); `None`
/// if the file cannot be read or carries no readable number.
pub fn frame_number_shown(png: &Path, source: (u32, u32)) -> Option<u32> {
    let (width, height, rgb) = read_rgb(png)?;
    let frame = source_frame(width, height, &rgb, source)?;
    read_frame_number(&frame)
}

/// An 8-bit RGB PNG as (width, height, pixels); `None` when it is not one.
pub fn read_rgb(png: &Path) -> Option<(u32, u32, Vec<u8>)> {
    let file = std::fs::File::open(png).ok()?;
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .ok()?;
    let mut buf = vec![0; reader.output_buffer_size()?];
    let info = reader.next_frame(&mut buf).ok()?;
    if info.color_type != png::ColorType::Rgb || info.bit_depth != png::BitDepth::Eight {
        return None;
    }
    buf.truncate(info.buffer_size());
    Some((info.width, info.height, buf))
}

/// The `source`-sized I420 frame (grey chroma) whose luma the letterboxed
/// picture in an RGB `width`×`height` image shows.
fn source_frame(width: u32, height: u32, rgb: &[u8], source: (u32, u32)) -> Option<I420Frame> {
    let (sw, sh) = source;
    let rect = letterbox(Size::new(sw, sh), Size::new(width, height));
    if rect.width == 0 || rect.height == 0 {
        return None;
    }
    let mut frame = I420Frame::black(sw, sh).ok()?;
    let y_plane = frame.y_mut();
    for sy in 0..sh {
        let oy = rect.y + nearest(sy, sh, rect.height);
        for sx in 0..sw {
            let ox = rect.x + nearest(sx, sw, rect.width);
            let i = (oy as usize * width as usize + ox as usize) * 3;
            let [r, g, b] = [rgb[i], rgb[i + 1], rgb[i + 2]].map(u32::from);
            // BT.601 video range, as the output's `yuv_to_rgb` undid it.
            let luma = 16 + ((66 * r + 129 * g + 25 * b + 128) >> 8);
            y_plane[(sy * sw + sx) as usize] = luma.min(255) as u8;
        }
    }
    Some(frame)
}

/// The output pixel (of `out_len`) whose centre is nearest the centre of
/// source pixel `s` (of `source_len`).
fn nearest(s: u32, source_len: u32, out_len: u32) -> u32 {
    let s = u64::from(s);
    (((2 * s + 1) * u64::from(out_len)) / (2 * u64::from(source_len))).min(u64::from(out_len) - 1)
        as u32
}

/// How many frames the device whose data directory is `device_dir` has
/// shown so far (`picture/frame-NNNNN.png`).
pub fn frames_shown(device_dir: &Path) -> usize {
    std::fs::read_dir(device_dir.join("picture"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("frame-"))
                .count()
        })
        .unwrap_or(0)
}
