//! Reading back what the device's picture output shows (issue #16): the
//! PNG frames of the simulated screen, `<data>/picture/latest.png` and
//! `frame-NNNNN.png`. The contact's picture sits letterboxed in the middle
//! of the screen (the device's own [`letterbox`]), whatever the screen's
//! size (640×480 HDMI, a 240×240 small screen, …); [`SourcePicture`] maps
//! it back to the size the contact sent, nearest-neighbour, so the frame
//! number the test pattern carries can be read
//! ([`frame_number_shown`]) and its colours checked.

use embedded_graphics::prelude::Size;
use hearth::hardware::picture::fit::{letterbox, Rect};
use hearth::media::{read_frame_number, I420Frame};
use std::path::{Path, PathBuf};

/// The newest picture the device shows, under its data directory `device_dir`.
pub fn latest(device_dir: &Path) -> PathBuf {
    device_dir.join("picture").join("latest.png")
}

/// How many pictures (`frame-*.png`) the device has shown, under its data directory.
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

/// An RGB screen image read from a PNG.
pub struct Screen {
    /// Width and height in pixels.
    pub size: (u32, u32),
    rgb: Vec<u8>,
}

impl Screen {
    /// Reads an 8-bit RGB PNG (as the simulated output writes them); `None`
    /// if it cannot be read.
    pub fn read(png: &Path) -> Option<Screen> {
        let file = std::fs::File::open(png).ok()?;
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .ok()?;
        let mut rgb = vec![0; reader.output_buffer_size()?];
        let info = reader.next_frame(&mut rgb).ok()?;
        if info.color_type != png::ColorType::Rgb || info.bit_depth != png::BitDepth::Eight {
            return None;
        }
        rgb.truncate(info.buffer_size());
        Some(Screen {
            size: (info.width, info.height),
            rgb,
        })
    }

    /// The colour at (`x`, `y`).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y * self.size.0 + x) as usize * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Whether the whole screen is black (the device blanked it).
    pub fn is_black(&self) -> bool {
        self.rgb.iter().all(|&b| b == 0)
    }

    /// Where a picture of `source` size is on this screen: the device's letterbox.
    pub fn picture_area(&self, source: (u32, u32)) -> Rect {
        letterbox(
            Size::new(source.0, source.1),
            Size::new(self.size.0, self.size.1),
        )
    }
}

/// The picture on a screen, mapped back to the size the contact sent.
pub struct SourcePicture {
    /// Width and height: the size the contact sent.
    pub size: (u32, u32),
    rgb: Vec<u8>,
}

impl SourcePicture {
    /// The picture in `screen`, taken as `source`-sized: each source pixel is
    /// the screen pixel its centre falls on, within the letterboxed area.
    pub fn from_screen(screen: &Screen, source: (u32, u32)) -> SourcePicture {
        let area = screen.picture_area(source);
        let (sw, sh) = source;
        let mut rgb = Vec::with_capacity((sw * sh * 3) as usize);
        for sy in 0..sh {
            let y = area.y + nearest(sy, sh, area.height);
            for sx in 0..sw {
                let x = area.x + nearest(sx, sw, area.width);
                rgb.extend_from_slice(&screen.pixel(x, y));
            }
        }
        SourcePicture { size: source, rgb }
    }

    /// The colour at (`x`, `y`) in source pixels.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y * self.size.0 + x) as usize * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The picture as an I420 frame: luma from the colours (BT.601 video
    /// range, as the device converted it), chroma grey. Enough to read the
    /// frame number, which is drawn in luma alone.
    pub fn luma_frame(&self) -> I420Frame {
        let (w, h) = self.size;
        let mut frame = I420Frame::black(w, h).expect("an even size");
        for (y, px) in frame.y_mut().iter_mut().zip(self.rgb.chunks_exact(3)) {
            let (r, g, b) = (f64::from(px[0]), f64::from(px[1]), f64::from(px[2]));
            *y = (16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0).round() as u8;
        }
        frame
    }

    /// The frame number the test pattern carries, if it can be read.
    pub fn frame_number(&self) -> Option<u32> {
        read_frame_number(&self.luma_frame())
    }
}

/// The screen pixel (from the area's start) whose extent holds the centre
/// of source pixel `s`.
fn nearest(s: u32, source_len: u32, area_len: u32) -> u32 {
    let at = (2 * u64::from(s) + 1) * u64::from(area_len) / (2 * u64::from(source_len));
    (at as u32).min(area_len.saturating_sub(1))
}

/// The frame number of the test pattern shown in the PNG `png`, the
/// contact having sent `source`-sized video; `None` when the file cannot be
/// read or shows no readable number.
pub fn frame_number_shown(png: &Path, source: (u32, u32)) -> Option<u32> {
    let screen = Screen::read(png)?;
    SourcePicture::from_screen(&screen, source).frame_number()
}
