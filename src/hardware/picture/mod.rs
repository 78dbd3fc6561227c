//! Showing an approved contact's live picture on the device: the outputs it goes to and
//! the pure arithmetic behind them (issue #16).

pub mod drm_layout;
pub mod fit;
pub mod rgb_image;
pub mod spi_rate;
pub mod yuv;
pub use rgb_image::RgbImage;
