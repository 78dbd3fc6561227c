//! Real hardware, each part with a simulated twin: camera, H.264 encoder, microphone and
//! speaker, buttons, LED and display.
//!
//! Every part is a small trait with one backend per implementation, one of which always
//! needs no hardware, chosen from its own section of the config
//! ([`config::hardware`](crate::config::hardware) and `[video]`/`[audio]`) and the
//! [`Board`] profile. The real backends (V4L2, ALSA, GPIO, SPI/I2C panels) are behind
//! feature `hardware`; without it everything builds and runs on a laptop. Nothing here
//! reads the whole config.
//!
//! The device reads the board once ([`crate::device::Environment`]), then calls:
//! - [`camera::open_camera`]`(&config.video, board)` → `Box<dyn VideoCapture>`, then
//!   [`encoder::open_encoder`]`(&config.video, board, camera.format())` → `Box<dyn VideoEncoder>`;
//! - [`audio::open_microphone`]`(&config.audio, board)` → `Box<dyn AudioCapture>`, and
//!   [`audio::open_speaker`]`(&config.audio, board, data_dir)` → `Box<dyn Speaker>`, played by
//!   an [`audio::SpeakerOutput`] that mixes one [`audio::TalkBack`] per caller;
//! - [`buttons::open_buttons`]`(&config.buttons, board, &buttons::socket_path(data_dir))` →
//!   [`buttons::ButtonEvents`] (`recv().await`);
//! - [`led::open_led`]`(&config.led, board)` → [`led::LiveIndicator`] (`update(LiveState)`);
//! - [`display::open_display`]`(&config.display, board, data_dir)` → `Box<dyn Display>`
//!   (`show(&Screen)`).
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
pub mod picture;
#[cfg(feature = "hardware")]
mod rpi;
#[cfg(feature = "hardware")]
pub mod v4l2;

pub use board::Board;
pub use error::{DeviceKind, HardwareError};
