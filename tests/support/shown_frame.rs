//! Which test-pattern frame a picture output shows: the output's PNG is read,
//! the picture's rectangle is sampled back to the sender's size (nearest
//! neighbour) and the frame-number strip is read from it. A golden-frame
//! check that needs no stored image: a wrong, garbled or stale picture reads
//! as no number, or as one that does not advance.

use hearth::media::{read_frame_number, I420Frame};
use std::path::Path;

/// A rectangle of an image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// An RGB image read from a PNG.
pub struct Shown {
    pub width: u32,
    pub height: u32,
    rgb: Vec<u8>,
}

impl Shown {
    /// Reads `path`; `None` while it is missing or half-written.
    pub fn read(path: &Path) -> Option<Shown> {
        let file = std::fs::File::open(path).ok()?;
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .ok()?;
        let mut pixels = vec![0; reader.output_buffer_size()?];
        let info = reader.next_frame(&mut pixels).ok()?;
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            _ => return None,
        };
        let rgb = pixels[..info.buffer_size()]
            .chunks_exact(channels)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        Some(Shown {
            width: info.width,
            height: info.height,
            rgb,
        })
    }

    /// The colour at (`x`, `y`).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The picture in `area`, sampled back to `source` size as an I420
    /// frame (luma only; chroma grey).
    pub fn sample(&self, area: Area, source: (u32, u32)) -> I420Frame {
        let (sw, sh) = source;
        let mut frame = I420Frame::black(sw, sh).expect("an even source size");
        let luma = frame.y_mut();
        for sy in 0..sh {
            let y = area.y + ((2 * sy + 1) * area.height / (2 * sh)).min(area.height - 1);
            for sx in 0..sw {
                let x = area.x + ((2 * sx + 1) * area.width / (2 * sw)).min(area.width - 1);
                let [r, g, b] = self.pixel(x.min(self.width - 1), y.min(self.height - 1));
                let y601 = 16.0
                    + (65.738 * f64::from(r) + 129.057 * f64::from(g) + 25.064 * f64::from(b))
                        / 256.0;
                luma[(sy * sw + sx) as usize] = y601.round().clamp(0.0, 255.0) as u8;
            }
        }
        frame
    }

    /// The frame number of the test pattern shown in `area`, sent at `source` size.
    pub fn frame_number(&self, area: Area, source: (u32, u32)) -> Option<u32> {
        read_frame_number(&self.sample(area, source))
    }
}

/// Where a `source`-sized picture sits on the simulated HDMI output of `output` size.
pub fn hdmi_area(output: (u32, u32), source: (u32, u32)) -> Area {
    use embedded_graphics::prelude::Size;
    let rect = hearth::hardware::picture::fit::letterbox(
        Size::new(source.0, source.1),
        Size::new(output.0, output.1),
    );
    Area {
        x: rect.x,
        y: rect.y,
        width: rect.width,
        height: rect.height,
    }
}

/// Where a `source`-sized picture sits in the simulated small screen's
/// `screen.png`: a `screen`-sized panel drawn `scale` times larger.
pub fn screen_area(screen: (u32, u32), source: (u32, u32), scale: u32) -> Area {
    use embedded_graphics::prelude::Size;
    let panel = Size::new(screen.0, screen.1);
    let fitted = hearth::hardware::picture::fit::letterbox(Size::new(source.0, source.1), panel);
    let placed = hearth::hardware::display::photo::placed(
        Size::new(fitted.width, fitted.height),
        hearth::hardware::display::picture_area(panel),
    );
    Area {
        x: placed.top_left.x as u32 * scale,
        y: placed.top_left.y as u32 * scale,
        width: placed.size.width * scale,
        height: placed.size.height * scale,
    }
}

/// The frame number in `png`, written by the simulated HDMI output, of a
/// caller whose frames are `source` (width, height); `None` when the file
/// cannot be read or carries no readable number.
pub fn frame_number_shown(png: &Path, source: (u32, u32)) -> Option<u32> {
    let shown = Shown::read(png)?;
    shown.frame_number(hdmi_area((shown.width, shown.height), source), source)
}

/// How many frames the device whose data directory is `device_dir` has
/// shown on its simulated HDMI output so far (`picture/frame-NNNNN.png`).
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
