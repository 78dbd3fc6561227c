//! The contact code as a QR code, drawn module by module at the largest whole scale that
//! fits, on a light square with a quiet zone (the screen's background is dark).

use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use qrcode::{Color, EcLevel, QrCode};

use crate::hardware::display::theme::ScreenColor;

/// Quiet-zone width in modules. The standard asks for 4; phone scanners read 2 fine, and
/// on a 128x64 screen every pixel counts.
const QUIET: u32 = 2;

/// A QR code ready to draw.
#[derive(Debug, Clone)]
pub struct Qr {
    modules: u32,
    dark: Vec<bool>,
}

impl Qr {
    /// Encodes `text` with low error correction (the smallest code; the screen is clean).
    pub fn new(text: &str) -> Option<Qr> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).ok()?;
        Some(Qr {
            modules: code.width() as u32,
            dark: code.to_colors().iter().map(|c| *c == Color::Dark).collect(),
        })
    }

    /// Modules per side.
    pub fn modules(&self) -> u32 {
        self.modules
    }

    /// Pixels per module if drawn within `side` pixels, quiet zone included; 0 if it
    /// does not fit at all.
    pub fn scale_for(&self, side: u32) -> u32 {
        side / (self.modules + 2 * QUIET)
    }

    /// Side in pixels when drawn at `scale`, quiet zone included.
    pub fn side(&self, scale: u32) -> u32 {
        (self.modules + 2 * QUIET) * scale
    }

    /// Draws the code at `scale` with its quiet zone's top-left corner at `at`.
    pub fn draw<D>(&self, target: &mut D, at: Point, scale: u32) -> Result<(), D::Error>
    where
        D: DrawTarget,
        D::Color: ScreenColor,
    {
        let palette = D::Color::palette();
        let side = self.side(scale);
        Rectangle::new(at, Size::new(side, side))
            .into_styled(PrimitiveStyle::with_fill(palette.qr_light))
            .draw(target)?;
        let origin = at + Point::new((QUIET * scale) as i32, (QUIET * scale) as i32);
        for (i, dark) in self.dark.iter().enumerate() {
            if !dark {
                continue;
            }
            let (x, y) = (i as u32 % self.modules, i as u32 / self.modules);
            Rectangle::new(
                origin + Point::new((x * scale) as i32, (y * scale) as i32),
                Size::new(scale, scale),
            )
            .into_styled(PrimitiveStyle::with_fill(palette.qr_dark))
            .draw(target)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_contact_code_fits_both_screens() {
        // A contact code with one relay URL is about 230 characters.
        let code = format!("hearth1.{}", "A".repeat(224));
        let qr = Qr::new(&code).unwrap();
        assert!(qr.scale_for(180) >= 3, "{} modules", qr.modules());
        assert!(qr.scale_for(64) >= 1, "{} modules", qr.modules());
    }
}
