//! Colours and fonts for the two screen sizes Hearth supports.
//!
//! Layouts are written once against a [`Theme`]: the 240x240 colour ST7789 gets large
//! Helvetica and clear colours (green PRIVATE, red LIVE), the 128x64 monochrome SSD1306
//! gets smaller fonts and tells states apart by shape (outlined PRIVATE, solid LIVE).

use embedded_graphics::pixelcolor::{BinaryColor, Rgb565, Rgb888, RgbColor};
use embedded_graphics::prelude::*;
use u8g2_fonts::{fonts, FontRenderer};

/// The colours of one kind of display.
#[derive(Debug, Clone, Copy)]
pub struct Palette<C> {
    /// Screen background.
    pub background: C,
    /// Normal text.
    pub text: C,
    /// Less important text (network line, hints).
    pub muted: C,
    /// Banner fill and text when private.
    pub private: (C, C),
    /// Banner fill and text when the camera is on but nobody watches.
    pub ready: (C, C),
    /// Banner fill and text when live.
    pub live: (C, C),
    /// Header band fill and text (who sent a photo or thought).
    pub header: (C, C),
    /// Header band fill and text of the error screen.
    pub alert: (C, C),
    /// Good news (delivered, online).
    pub good: C,
    /// Bad news (errors, offline).
    pub bad: C,
    /// True on a one-bit display: draw shapes instead of relying on colour.
    pub mono: bool,
    /// Light colour behind a QR code.
    pub qr_light: C,
    /// Dark colour of QR modules.
    pub qr_dark: C,
}

/// A pixel colour Hearth knows how to draw screens in.
pub trait ScreenColor: PixelColor + 'static {
    /// The palette for this colour type.
    fn palette() -> Palette<Self>;
    /// The nearest colour to an sRGB value (photos).
    fn from_rgb(r: u8, g: u8, b: u8) -> Self;
}

fn rgb888(hex: u32) -> Rgb888 {
    Rgb888::new((hex >> 16) as u8, (hex >> 8) as u8, hex as u8)
}

impl ScreenColor for Rgb888 {
    fn palette() -> Palette<Self> {
        Palette {
            background: Rgb888::BLACK,
            text: Rgb888::WHITE,
            muted: rgb888(0xB0BEC5),
            private: (rgb888(0x2E7D32), Rgb888::WHITE),
            ready: (rgb888(0xF9A825), Rgb888::BLACK),
            live: (rgb888(0xD32F2F), Rgb888::WHITE),
            header: (rgb888(0x1565C0), Rgb888::WHITE),
            alert: (rgb888(0xC62828), Rgb888::WHITE),
            good: rgb888(0x66BB6A),
            bad: rgb888(0xEF5350),
            mono: false,
            qr_light: Rgb888::WHITE,
            qr_dark: Rgb888::BLACK,
        }
    }
    fn from_rgb(r: u8, g: u8, b: u8) -> Self {
        Rgb888::new(r, g, b)
    }
}

impl ScreenColor for Rgb565 {
    fn palette() -> Palette<Self> {
        let p = Rgb888::palette();
        let c = Rgb565::from;
        Palette {
            background: c(p.background),
            text: c(p.text),
            muted: c(p.muted),
            private: (c(p.private.0), c(p.private.1)),
            ready: (c(p.ready.0), c(p.ready.1)),
            live: (c(p.live.0), c(p.live.1)),
            header: (c(p.header.0), c(p.header.1)),
            alert: (c(p.alert.0), c(p.alert.1)),
            good: c(p.good),
            bad: c(p.bad),
            mono: false,
            qr_light: c(p.qr_light),
            qr_dark: c(p.qr_dark),
        }
    }
    fn from_rgb(r: u8, g: u8, b: u8) -> Self {
        Rgb565::from(Rgb888::new(r, g, b))
    }
}

impl ScreenColor for BinaryColor {
    fn palette() -> Palette<Self> {
        use BinaryColor::{Off, On};
        Palette {
            background: Off,
            text: On,
            muted: On,
            private: (Off, On),
            ready: (Off, On),
            live: (On, Off),
            header: (On, Off),
            alert: (On, Off),
            good: On,
            bad: On,
            mono: true,
            qr_light: On,
            qr_dark: Off,
        }
    }
    fn from_rgb(r: u8, g: u8, b: u8) -> Self {
        BinaryColor::from(luma(r, g, b) >= 128)
    }
}

/// BT.601 luma of an sRGB pixel, 0..=255.
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 77 + u32::from(g) * 150 + u32::from(b) * 29) >> 8) as u8
}

/// Fonts and spacing for one screen size.
#[derive(Debug, Clone)]
pub struct Theme {
    /// The banner word (PRIVATE, LIVE) and big headlines.
    pub huge: FontRenderer,
    /// Names and titles.
    pub title: FontRenderer,
    /// Sentences.
    pub body: FontRenderer,
    /// Status lines and hints.
    pub small: FontRenderer,
    /// Space kept free at the screen's edges.
    pub margin: i32,
    /// Height of the home screen's banner.
    pub banner_height: u32,
    /// Border of outlined shapes on a mono display.
    pub stroke: u32,
}

const fn font<F: u8g2_fonts::Font>() -> FontRenderer {
    FontRenderer::new::<F>().with_ignore_unknown_chars(true)
}

impl Theme {
    /// For a screen of `size`: the large theme from 200 pixels wide, else the small one.
    pub fn for_size(size: Size) -> Theme {
        if size.width >= 200 {
            Theme {
                huge: font::<fonts::u8g2_font_helvB24_tf>(),
                title: font::<fonts::u8g2_font_helvB18_tf>(),
                body: font::<fonts::u8g2_font_helvR18_tf>(),
                small: font::<fonts::u8g2_font_helvR14_tf>(),
                margin: 8,
                banner_height: 84,
                stroke: 3,
            }
        } else {
            Theme {
                huge: font::<fonts::u8g2_font_helvB14_tf>(),
                title: font::<fonts::u8g2_font_helvB10_tf>(),
                body: font::<fonts::u8g2_font_helvR10_tf>(),
                small: font::<fonts::u8g2_font_helvR08_tf>(),
                margin: 2,
                banner_height: 26,
                stroke: 1,
            }
        }
    }
}
