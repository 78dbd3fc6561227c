//! The simulated display: screens rendered exactly as the real panels would show them,
//! written to PNG. Also what the golden-image tests use to draw and compare.
//!
//! A 240x240 screen is drawn in RGB565 (the ST7789's colours, so the PNG shows the same
//! rounding), a 128x64 one in one bit (the SSD1306: lit pixels white on black).

use std::path::{Path, PathBuf};

use embedded_graphics::pixelcolor::{BinaryColor, Rgb565, Rgb888};
use embedded_graphics::prelude::*;
use embedded_graphics_simulator::{OutputSettings, SimulatorDisplay};
use tracing::debug;

use super::render::render;
use super::{Display, Screen};
use crate::hardware::HardwareError;

/// The screen sizes Hearth draws for: the ST7789 and the SSD1306.
pub const SIZES: [Size; 2] = [Size::new(240, 240), Size::new(128, 64)];

/// Renders `screen` at `size` as the panel of that size would show it, in RGB888.
pub fn render_rgb(screen: &Screen, size: Size) -> SimulatorDisplay<Rgb888> {
    let mut out = SimulatorDisplay::<Rgb888>::new(size);
    if size.width >= 200 {
        let mut panel = SimulatorDisplay::<Rgb565>::new(size);
        let _ = render(screen, &mut panel);
        copy(&panel, &mut out);
    } else {
        let mut panel = SimulatorDisplay::<BinaryColor>::new(size);
        let _ = render(screen, &mut panel);
        copy(&panel, &mut out);
    }
    out
}

fn copy<C: PixelColor + Into<Rgb888>>(
    from: &SimulatorDisplay<C>,
    to: &mut SimulatorDisplay<Rgb888>,
) {
    let pixels = from
        .bounding_box()
        .points()
        .map(|p| Pixel(p, from.get_pixel(p).into()));
    let _ = to.draw_iter(pixels);
}

/// Writes an image as PNG, scaled up `scale` times (1 keeps every pixel as is).
pub fn save_png(
    image: &SimulatorDisplay<Rgb888>,
    path: &Path,
    scale: u32,
) -> Result<(), HardwareError> {
    let settings = embedded_graphics_simulator::OutputSettingsBuilder::new()
        .scale(scale.max(1))
        .build();
    write_png(image, path, &settings)
}

fn write_png(
    image: &SimulatorDisplay<Rgb888>,
    path: &Path,
    settings: &OutputSettings,
) -> Result<(), HardwareError> {
    // Write next to the target and rename, so a viewer never sees half a file.
    let tmp = path.with_extension("png.tmp");
    let io = |e: std::io::Error| HardwareError::Io {
        device: path.to_path_buf(),
        source: e,
    };
    image
        .to_rgb_output_image(settings)
        .save_png(&tmp)
        .map_err(|e| io(std::io::Error::other(e)))?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Reads a PNG written by [`save_png`] at scale 1.
pub fn load_png(path: &Path) -> Result<SimulatorDisplay<Rgb888>, HardwareError> {
    SimulatorDisplay::load_png(path).map_err(|e| HardwareError::Io {
        device: path.to_path_buf(),
        source: std::io::Error::other(e),
    })
}

/// Number of pixels that differ between two images of the same size; `None` if the
/// sizes differ.
pub fn count_differences(
    a: &SimulatorDisplay<Rgb888>,
    b: &SimulatorDisplay<Rgb888>,
) -> Option<usize> {
    if a.size() != b.size() {
        return None;
    }
    Some(
        a.bounding_box()
            .points()
            .filter(|p| a.get_pixel(*p) != b.get_pixel(*p))
            .count(),
    )
}

/// How many times the simulated display scales a screen of `size` up for
/// viewing: a 128x64 panel 4 times, a 240x240 one twice.
pub fn viewing_scale(size: Size) -> u32 {
    if size.width < 200 {
        4
    } else {
        2
    }
}

/// A display that writes every screen to `screen.png` in a directory.
#[derive(Debug)]
pub struct PngDisplay {
    path: PathBuf,
    size: Size,
    scale: u32,
}

impl PngDisplay {
    /// Writes to `directory/screen.png` at `size` (240x240 or 128x64), scaled up
    /// `scale` times for comfortable viewing.
    pub fn new(directory: &Path, size: Size, scale: u32) -> Result<Self, HardwareError> {
        std::fs::create_dir_all(directory).map_err(|e| HardwareError::Io {
            device: directory.to_path_buf(),
            source: e,
        })?;
        Ok(PngDisplay {
            path: directory.join("screen.png"),
            size,
            scale,
        })
    }

    /// The file each screen is written to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Display for PngDisplay {
    fn size(&self) -> Size {
        self.size
    }

    fn show(&mut self, screen: &Screen) -> Result<(), HardwareError> {
        let image = render_rgb(screen, self.size);
        save_png(&image, &self.path, self.scale)?;
        debug!(path = %self.path.display(), "screen written");
        Ok(())
    }
}
