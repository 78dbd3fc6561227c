//! Where a contact's live picture is shown, and what the whole screen looks like then.
//!
//! Every output (HDMI, the small SPI screen, PNG files in the simulator) shows the same
//! composition, drawn by [`compose`]: black bars, the picture letterboxed in the middle,
//! and the contact's name in a band at the bottom-left corner, so whoever looks at the
//! screen always knows who is watching them back.

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use u8g2_fonts::{fonts, FontRenderer};

use super::fit::{letterbox, scale_into_rgb};
use super::rgb_image::RgbImage;
use crate::hardware::display::text::{self, Align};
use crate::hardware::display::theme::{ScreenColor, Theme};
use crate::hardware::HardwareError;
use crate::media::I420Frame;

/// A screen that shows a contact's decoded picture.
pub trait PictureOutput: Send {
    /// Its size in pixels.
    fn size(&self) -> Size;

    /// Shows `frame` full screen, letterboxed, with `who` (the contact's name) in a
    /// corner.
    fn show(&mut self, frame: &I420Frame, who: &str) -> Result<(), HardwareError>;

    /// Shows nothing: a black screen.
    fn clear(&mut self) -> Result<(), HardwareError>;
}

/// The font names are drawn in on an output of `size`: the small screens' title font,
/// and larger ones on a television, where 18 pixels would be lost across the room.
pub fn name_font(size: Size) -> FontRenderer {
    if size.height >= 1000 {
        FontRenderer::new::<fonts::u8g2_font_fub42_tf>().with_ignore_unknown_chars(true)
    } else if size.height >= 600 {
        FontRenderer::new::<fonts::u8g2_font_fub30_tf>().with_ignore_unknown_chars(true)
    } else {
        Theme::for_size(size).title
    }
}

/// Space between the name band and the screen's edges, and around the name inside it.
fn margin(size: Size) -> i32 {
    (size.height / 60).max(2) as i32
}

/// The band the name is drawn in on an output of `size`: at the bottom-left corner, as
/// wide as the (shortened) name, never wider than the screen.
pub fn name_band(size: Size, who: &str) -> Rectangle {
    let font = name_font(size);
    let margin = margin(size);
    let max_text = size.width as i32 - 4 * margin;
    let shown = text::ellipsize(&font, who, max_text);
    let width = (text::width(&font, &shown) + 2 * margin).max(0) as u32;
    let height = (text::line_height(&font) + margin).max(0) as u32;
    Rectangle::new(
        Point::new(margin, size.height as i32 - margin - height as i32),
        Size::new(width, height),
    )
}

/// Draws the whole screen into `image`: black, `frame` letterboxed to fit, and `who` in
/// its band (see [`name_band`]); an empty name draws no band.
pub fn compose(frame: &I420Frame, who: &str, image: &mut RgbImage) {
    let size = image.size();
    image.fill_black();
    let dest = letterbox(Size::new(frame.width(), frame.height()), size);
    let stride = image.stride();
    scale_into_rgb(frame, image.data_mut(), stride, dest);
    if who.trim().is_empty() {
        return;
    }
    let (fill, ink) = Rgb888::palette().header;
    let band = name_band(size, who);
    let font = name_font(size);
    let margin = margin(size);
    let shown = text::ellipsize(&font, who, size.width as i32 - 4 * margin);
    // Drawing into memory cannot fail (the error type is Infallible).
    let _ = band
        .into_styled(PrimitiveStyle::with_fill(fill))
        .draw(image);
    let _ = text::draw(
        image,
        &font,
        &shown,
        band.top_left.x + margin,
        band.top_left.y + margin / 2 + margin / 4,
        Align::Left,
        ink,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::TestPattern;

    fn count_not(image: &RgbImage, area: &Rectangle, colour: [u8; 3]) -> usize {
        area.points()
            .filter(|p| image.pixel(p.x as u32, p.y as u32) != Some(colour))
            .count()
    }

    #[test]
    fn the_screen_has_bars_the_picture_and_the_name() {
        let frame = TestPattern::new(640, 480).unwrap().frame(0);
        for size in [
            Size::new(1920, 1080),
            Size::new(240, 240),
            Size::new(128, 64),
        ] {
            let mut image = RgbImage::new(size);
            compose(&frame, "Grandma Rose", &mut image);
            let band = name_band(size, "Grandma Rose");
            assert!(band.size.width > 0 && band.size.height > 0);
            let inside = image.bounding_box();
            assert_eq!(
                inside.intersection(&band),
                band,
                "{size:?}: band off screen"
            );
            // The band is filled, and the name's white ink is inside it.
            let (fill, _) = Rgb888::palette().header;
            let fill = [fill.r(), fill.g(), fill.b()];
            let ink = band
                .points()
                .filter(|p| image.pixel(p.x as u32, p.y as u32) == Some([255, 255, 255]))
                .count();
            assert!(ink > 20, "{size:?}: {ink} white pixels in the band");
            let not_fill = count_not(&image, &band, fill);
            assert!(not_fill < band.size.width as usize * band.size.height as usize / 2);
            // The top corners are bars or picture, never the band.
            let dest = letterbox(Size::new(640, 480), size);
            if dest.x > 0 {
                assert_eq!(image.pixel(0, 0), Some([0, 0, 0]));
                assert_eq!(image.pixel(size.width - 1, 0), Some([0, 0, 0]));
            }
        }
    }

    #[test]
    fn long_names_are_shortened_and_empty_names_draw_no_band() {
        let size = Size::new(240, 240);
        let band = name_band(size, &"Bartholomew ".repeat(10));
        assert!(band.top_left.x + band.size.width as i32 <= 240);
        let frame = I420Frame::black(64, 64).unwrap();
        let mut image = RgbImage::new(size);
        compose(&frame, "  ", &mut image);
        assert!(image.data().iter().all(|&b| b == 0));
    }
}
