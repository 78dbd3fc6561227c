//! The picture viewers see while the camera is gone: dark grey with "Camera unavailable"
//! written across it, so a session stays up and says why instead of freezing.

use embedded_graphics::pixelcolor::Gray8;
use embedded_graphics::prelude::*;
use u8g2_fonts::types::{FontColor, HorizontalAlignment, VerticalPosition};
use u8g2_fonts::{fonts, FontRenderer};

use crate::media::{I420Frame, MediaError};

/// Luma of the background (dark grey, video range).
pub const BACKGROUND_LUMA: u8 = 40;
/// Luma of the text (near white, video range).
pub const TEXT_LUMA: u8 = 235;

/// Draws into the luma plane of an I420 frame.
struct Luma<'a> {
    y: &'a mut [u8],
    width: u32,
    height: u32,
}

impl OriginDimensions for Luma<'_> {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for Luma<'_> {
    type Color = Gray8;
    type Error = core::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<Gray8>>>(
        &mut self,
        pixels: I,
    ) -> Result<(), Self::Error> {
        for Pixel(p, c) in pixels {
            if p.x >= 0 && p.y >= 0 && (p.x as u32) < self.width && (p.y as u32) < self.height {
                self.y[p.y as usize * self.width as usize + p.x as usize] = c.luma();
            }
        }
        Ok(())
    }
}

/// The "camera unavailable" picture at `width` x `height`.
pub fn unavailable_frame(width: u32, height: u32) -> Result<I420Frame, MediaError> {
    let mut frame = I420Frame::black(width, height)?;
    frame.y_mut().fill(BACKGROUND_LUMA);
    let font = if width >= 1200 {
        FontRenderer::new::<fonts::u8g2_font_fub30_tr>()
    } else if width >= 600 {
        FontRenderer::new::<fonts::u8g2_font_helvB24_tr>()
    } else {
        FontRenderer::new::<fonts::u8g2_font_helvB12_tr>()
    };
    let line = font.get_default_line_height() as i32;
    let mut canvas = Luma {
        y: frame.y_mut(),
        width,
        height,
    };
    let centre = width as i32 / 2;
    let top = height as i32 / 2 - line;
    for (i, text) in ["Camera unavailable", "reconnecting..."].iter().enumerate() {
        let _ = font.render_aligned(
            *text,
            Point::new(centre, top + i as i32 * line),
            VerticalPosition::Top,
            HorizontalAlignment::Center,
            FontColor::Transparent(Gray8::new(TEXT_LUMA)),
            &mut canvas,
        );
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_are_drawn_in_the_middle() {
        for (w, h) in [(320, 240), (640, 480), (1280, 720)] {
            let f = unavailable_frame(w, h).unwrap();
            let lit = f.y().iter().filter(|&&v| v == TEXT_LUMA).count();
            assert!(lit > 100, "{w}x{h}: {lit} text pixels");
            // Nothing in the top rows: the text is centred.
            assert!(f.y()[..(w * 10) as usize]
                .iter()
                .all(|&v| v == BACKGROUND_LUMA));
        }
    }
}
