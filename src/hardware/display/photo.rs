//! Photos on the screen: a small RGB [`Thumbnail`], made from a JPEG, drawn scaled to fit
//! (and dithered on a one-bit display so faces stay recognisable).

use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

use crate::hardware::display::theme::{luma, ScreenColor};
use crate::hardware::HardwareError;

/// A small picture: `width * height` RGB pixels, row by row.
#[derive(Clone, PartialEq, Eq)]
pub struct Thumbnail {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl std::fmt::Debug for Thumbnail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Thumbnail({}x{})", self.width, self.height)
    }
}

/// Largest thumbnail kept, in either direction (the biggest screen is 240 wide).
pub const MAX_SIDE: u32 = 240;

impl Thumbnail {
    /// Wraps RGB bytes; `None` unless there are exactly `width * height * 3` of them.
    pub fn new(width: u32, height: u32, rgb: Vec<u8>) -> Option<Self> {
        (width > 0 && height > 0 && rgb.len() == width as usize * height as usize * 3)
            .then_some(Thumbnail { width, height, rgb })
    }

    /// Decodes a JPEG and shrinks it to at most [`MAX_SIDE`] pixels a side.
    pub fn from_jpeg(jpeg: &[u8]) -> Result<Self, HardwareError> {
        let (width, height, rgb) = crate::media::jpeg::decode_rgb(jpeg)?;
        let full = Thumbnail { width, height, rgb };
        Ok(full.shrink_to(MAX_SIDE))
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel at (x, y) as RGB.
    pub fn pixel(&self, x: u32, y: u32) -> (u8, u8, u8) {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        (self.rgb[i], self.rgb[i + 1], self.rgb[i + 2])
    }

    /// A copy no larger than `side` in either direction (box-filtered).
    pub fn shrink_to(&self, side: u32) -> Thumbnail {
        let factor = self.width.max(self.height).div_ceil(side).max(1);
        if factor == 1 {
            return self.clone();
        }
        let (w, h) = (self.width / factor, self.height / factor);
        let mut rgb = Vec::with_capacity(w as usize * h as usize * 3);
        for y in 0..h {
            for x in 0..w {
                let mut sum = [0u32; 3];
                for dy in 0..factor {
                    for dx in 0..factor {
                        let (r, g, b) = self.pixel(x * factor + dx, y * factor + dy);
                        sum[0] += u32::from(r);
                        sum[1] += u32::from(g);
                        sum[2] += u32::from(b);
                    }
                }
                let n = factor * factor;
                rgb.extend(sum.iter().map(|s| (s / n) as u8));
            }
        }
        Thumbnail {
            width: w.max(1),
            height: h.max(1),
            rgb,
        }
    }
}

/// 4x4 Bayer matrix for ordered dithering.
const BAYER: [[u8; 4]; 4] = [[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]];

/// Where [`draw`] puts a photo of `photo` size in `area`: as large as fits,
/// aspect ratio kept, centred.
pub fn placed(photo: Size, area: Rectangle) -> Rectangle {
    let scale = scale_256(photo, area);
    let (w, h) = (photo.width * scale / 256, photo.height * scale / 256);
    let (aw, ah) = (area.size.width, area.size.height);
    let left = area.top_left.x + (aw - w) as i32 / 2;
    let top = area.top_left.y + (ah - h) as i32 / 2;
    Rectangle::new(Point::new(left, top), Size::new(w, h))
}

/// The scale that fits `photo` in `area`, in 1/256ths so both up- and
/// down-scaling keep the aspect ratio.
fn scale_256(photo: Size, area: Rectangle) -> u32 {
    let (aw, ah) = (area.size.width, area.size.height);
    (aw * 256 / photo.width.max(1))
        .min(ah * 256 / photo.height.max(1))
        .max(1)
}

/// Draws `photo` as large as fits in `area`, centred, keeping its shape.
pub fn draw<D>(target: &mut D, photo: &Thumbnail, area: Rectangle) -> Result<(), D::Error>
where
    D: DrawTarget,
    D::Color: ScreenColor,
{
    let mono = D::Color::palette().mono;
    let scale = scale_256(Size::new(photo.width, photo.height), area);
    let placed = placed(Size::new(photo.width, photo.height), area);
    let (w, h) = (placed.size.width, placed.size.height);
    let (left, top) = (placed.top_left.x, placed.top_left.y);
    let pixels = (0..h).flat_map(move |y| {
        (0..w).map(move |x| {
            let (r, g, b) = photo.pixel(
                (x * 256 / scale).min(photo.width - 1),
                (y * 256 / scale).min(photo.height - 1),
            );
            let color = if mono {
                let threshold = BAYER[(y % 4) as usize][(x % 4) as usize] * 16 + 8;
                let v = if luma(r, g, b) > threshold { 255 } else { 0 };
                D::Color::from_rgb(v, v, v)
            } else {
                D::Color::from_rgb(r, g, b)
            };
            Pixel(Point::new(left + x as i32, top + y as i32), color)
        })
    });
    target.draw_iter(pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinking_averages_and_keeps_the_shape() {
        let mut rgb = Vec::new();
        for y in 0..480u32 {
            for _ in 0..640u32 {
                let v = if y < 240 { 0 } else { 200 };
                rgb.extend([v, v, v]);
            }
        }
        let t = Thumbnail::new(640, 480, rgb).unwrap().shrink_to(240);
        assert_eq!((t.width(), t.height()), (213, 160));
        assert_eq!(t.pixel(0, 0), (0, 0, 0));
        assert_eq!(t.pixel(0, 159), (200, 200, 200));
    }

    #[test]
    fn wrong_lengths_are_refused() {
        assert!(Thumbnail::new(2, 2, vec![0; 11]).is_none());
        assert!(Thumbnail::new(0, 2, vec![]).is_none());
    }
}
