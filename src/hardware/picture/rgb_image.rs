//! A plain RGB888 picture in memory that embedded-graphics can draw on.
//!
//! The picture outputs compose a whole screen here (bars, picture, name) and then hand
//! the bytes on: to a PNG file, to a DRM dumb buffer, to an SPI panel. Rows are tightly
//! packed, three bytes per pixel (red, green, blue).

use std::convert::Infallible;

use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

/// An RGB888 picture, `width * 3` bytes per row, starting black.
#[derive(Clone, PartialEq, Eq)]
pub struct RgbImage {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl std::fmt::Debug for RgbImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RgbImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

impl RgbImage {
    /// A black picture of `size`.
    pub fn new(size: Size) -> Self {
        RgbImage {
            width: size.width,
            height: size.height,
            data: vec![0; size.width as usize * size.height as usize * 3],
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes per row (`width * 3`).
    pub fn stride(&self) -> usize {
        self.width as usize * 3
    }

    /// All pixels, row after row.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// All pixels, mutable, row after row.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Paints every pixel black.
    pub fn fill_black(&mut self) {
        self.data.fill(0);
    }

    /// The pixel at (`x`, `y`), or `None` outside the picture.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let at = y as usize * self.stride() + x as usize * 3;
        Some([self.data[at], self.data[at + 1], self.data[at + 2]])
    }

    fn put(&mut self, point: Point, color: Rgb888) {
        let (Ok(x), Ok(y)) = (u32::try_from(point.x), u32::try_from(point.y)) else {
            return;
        };
        if x < self.width && y < self.height {
            let at = y as usize * self.stride() + x as usize * 3;
            self.data[at..at + 3].copy_from_slice(&[color.r(), color.g(), color.b()]);
        }
    }
}

impl OriginDimensions for RgbImage {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for RgbImage {
    type Color = Rgb888;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(point, color) in pixels {
            self.put(point, color);
        }
        Ok(())
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Self::Color) -> Result<(), Self::Error> {
        let area = area.intersection(&self.bounding_box());
        let Some(bottom_right) = area.bottom_right() else {
            return Ok(());
        };
        let (x0, x1) = (area.top_left.x as usize, bottom_right.x as usize);
        let rgb = [color.r(), color.g(), color.b()];
        let stride = self.stride();
        for y in area.top_left.y as usize..=bottom_right.y as usize {
            let row = &mut self.data[y * stride..][x0 * 3..(x1 + 1) * 3];
            for px in row.chunks_exact_mut(3) {
                px.copy_from_slice(&rgb);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};

    #[test]
    fn drawing_lands_on_the_right_bytes_and_is_clipped() {
        let mut image = RgbImage::new(Size::new(4, 3));
        Rectangle::new(Point::new(2, 1), Size::new(5, 5))
            .into_styled(PrimitiveStyle::with_fill(Rgb888::new(1, 2, 3)))
            .draw(&mut image)
            .unwrap();
        Pixel(Point::new(-1, 0), Rgb888::WHITE)
            .draw(&mut image)
            .unwrap();
        assert_eq!(image.pixel(1, 1), Some([0, 0, 0]));
        assert_eq!(image.pixel(2, 1), Some([1, 2, 3]));
        assert_eq!(image.pixel(3, 2), Some([1, 2, 3]));
        assert_eq!(image.pixel(4, 0), None);
        assert_eq!(image.data()[..6], [0; 6]);
    }
}
