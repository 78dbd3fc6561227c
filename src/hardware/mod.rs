//! Real hardware, each part with a simulated twin: camera, H.264 encoder, microphone and
//! speaker, buttons, LED and display.
//!
//! Every part is a small trait with one backend per implementation, one of which always
//! needs no hardware, chosen from the [`Config`](crate::config::Config) and the
//! [`Board`] profile. The real backends (V4L2, ALSA, GPIO, SPI/I2C panels) are behind
//! feature `hardware`; without it everything builds and runs on a laptop.
//!
//! The device loop calls, once at start:
//! - [`Board::load`] with `config.board.profile`;
//! - [`camera::open_camera`] → `Box<dyn VideoCapture>`, then [`encoder::open_encoder`]
//!   with the camera's format → `Box<dyn VideoEncoder>`;
//! - [`audio::open_microphone`] → `Box<dyn AudioCapture>`, [`audio::open_speaker`] →
//!   `Box<dyn Speaker>` (wrap it in a [`audio::TalkBack`]);
//! - [`buttons::open_buttons`] → [`buttons::ButtonEvents`];
//! - [`led::open_led`] → [`led::LiveIndicator`];
//! - [`display::open_display`] → `Box<dyn Display>`.
//!
//! Pure logic lives beside each backend and is tested without hardware: format
//! negotiation and pixel conversion, encoder selection, debouncing, screen rendering.

pub mod audio;
pub mod board;
pub mod buttons;
pub mod camera;
pub mod display;
pub mod encoder;
mod error;
pub mod led;
#[cfg(feature = "hardware")]
mod rpi;
pub mod settings;
#[cfg(feature = "hardware")]
pub mod v4l2;

pub use board::Board;
pub use error::{DeviceKind, HardwareError};
