//! Showing an approved contact's live picture on the device: the outputs it goes to and
//! the pure arithmetic behind them.
//!
//! A decoded [`I420Frame`](crate::media::I420Frame) is shown through a
//! [`PictureOutput`]: on HDMI through DRM/KMS (`drm::DrmOutput`, feature `hardware`),
//! as PNG files in the simulator ([`png_output::PngPictureOutput`]), and on the small
//! SPI/I2C screen ([`screen_output::ScreenPictureOutput`]: scaled down, drawn by the
//! panel under LIVE and PRIVATE, paced by [`spi_rate`]). [`open::open_picture_output`]
//! picks one from `[picture]`. HDMI and PNG compose the same screen
//! ([`output::compose`]): the picture letterboxed ([`fit`]) on black, with the
//! contact's name in a corner.
//!
//! Pure parts, tested without hardware: [`fit`] (letterbox and scaling), [`yuv`]
//! (colour conversion), [`drm_layout`] (mode choice and dumb-buffer layout) and
//! [`spi_rate`] (how fast a small panel can take pictures, which frames to drop).

#[cfg(feature = "hardware")]
pub mod drm;
pub mod drm_layout;
pub mod fit;
pub mod open;
pub mod output;
pub mod png_output;
pub mod rgb_image;
pub mod screen_output;
pub mod spi_rate;
pub mod yuv;

pub use open::{open_picture_output, OpenedPicture};
pub use output::{compose, PictureOutput};
pub use png_output::PngPictureOutput;
pub use rgb_image::RgbImage;
pub use screen_output::{PictureFeed, ScreenPictureOutput, ShownPicture};
