//! The small screen: what it shows ([`Screen`]), how that is drawn ([`render`]), and
//! where it goes (a [`Display`] backend).
//!
//! Backends: [`png::PngDisplay`] writes PNG files and needs nothing; with feature
//! `hardware`, `st7789::St7789Display` (240x240 colour, SPI) and
//! `ssd1306::Ssd1306Display` (128x64 OLED, I2C) drive real panels through rppal. All of
//! them draw with the same [`render`] function, so the golden PNGs under `tests/golden/`
//! show exactly what the panels show.

pub mod photo;
pub mod png;
pub mod qr;
mod render;
pub mod screen;
#[cfg(feature = "hardware")]
pub mod ssd1306;
#[cfg(feature = "hardware")]
pub mod st7789;
pub mod text;
pub mod theme;

use std::path::Path;

use embedded_graphics::prelude::Size;

pub use photo::Thumbnail;
pub use render::{picture_area, render};
pub use screen::{Home, HomeState, Network, Received, Screen};

use crate::config::hardware::DisplayOutput;
use crate::config::hardware::DisplaySettings;
use crate::hardware::board::DisplayKind;
use crate::hardware::{Board, HardwareError};

/// A screen Hearth can show [`Screen`]s on.
pub trait Display: Send {
    /// Its size in pixels.
    fn size(&self) -> Size;

    /// Replaces what is shown with `screen`.
    fn show(&mut self, screen: &Screen) -> Result<(), HardwareError>;
}

/// No screen: showing does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDisplay;

impl Display for NoDisplay {
    fn size(&self) -> Size {
        Size::zero()
    }
    fn show(&mut self, _screen: &Screen) -> Result<(), HardwareError> {
        Ok(())
    }
}

/// The size a simulated display imitates: `[display] size`, or `auto` for the board's
/// panel (240x240 when it has none).
pub fn simulated_size(display: &DisplaySettings, board: &Board) -> Result<Size, HardwareError> {
    match display.size.as_str() {
        "auto" => {
            let (w, h) = board.display.kind.size().unwrap_or((240, 240));
            Ok(Size::new(w, h))
        }
        "240x240" => Ok(Size::new(240, 240)),
        "128x64" => Ok(Size::new(128, 64)),
        other => Err(HardwareError::Config {
            key: "display.size".into(),
            reason: format!("`{other}` is not auto, 240x240 or 128x64"),
        }),
    }
}

/// Opens the display `display` asks for. A simulated display writes `screen.png` into
/// `[display] directory`, or `data_dir` when that is empty.
pub fn open_display(
    display: &DisplaySettings,
    board: &Board,
    data_dir: &Path,
) -> Result<Box<dyn Display>, HardwareError> {
    match display.output {
        DisplayOutput::None => Ok(Box::new(NoDisplay)),
        DisplayOutput::Simulated => {
            let dir = if display.directory.as_os_str().is_empty() {
                data_dir
            } else {
                display.directory.as_path()
            };
            let size = simulated_size(display, board)?;
            Ok(Box::new(png::PngDisplay::new(
                dir,
                size,
                png::viewing_scale(size),
            )?))
        }
        DisplayOutput::Board => open_panel(board),
    }
}

#[cfg(feature = "hardware")]
fn open_panel(board: &Board) -> Result<Box<dyn Display>, HardwareError> {
    match board.display.kind {
        DisplayKind::St7789 => Ok(Box::new(st7789::St7789Display::open(&board.display)?)),
        DisplayKind::Ssd1306 => Ok(Box::new(ssd1306::Ssd1306Display::open(&board.display)?)),
        DisplayKind::None => Err(no_panel(board)),
    }
}

#[cfg(not(feature = "hardware"))]
fn open_panel(board: &Board) -> Result<Box<dyn Display>, HardwareError> {
    if board.display.kind == DisplayKind::None {
        return Err(no_panel(board));
    }
    Err(HardwareError::NotBuilt {
        what: "`[display] output = \"board\"`",
    })
}

fn no_panel(board: &Board) -> HardwareError {
    HardwareError::Config {
        key: "display.output".into(),
        reason: format!(
            "board profile `{}` has no display; use \"simulated\" or \"none\"",
            board.name
        ),
    }
}
