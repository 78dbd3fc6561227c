//! The hardware sections of the config file (`[board]`, `[display]`, `[buttons]`,
//! `[led]`) and the choices used by `[video]` and `[audio]`: each a validated
//! enum, so a typo is refused when the file is read, with the choices named.
//!
//! Every default needs no hardware, so a laptop runs Hearth out of the box; a Raspberry
//! Pi switches each part to its real backend in `/etc/hearth/hearth.toml`. The board
//! profile (see [`Board`](crate::hardware::Board)) says *how* the hardware is wired;
//! these settings say *whether* to use it.

use serde::Deserialize;
use std::path::PathBuf;

/// Which H.264 encoder to use (`[video] encoder`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncoderPreference {
    /// The board's hardware encoder when it has a working one, else openh264.
    #[default]
    Auto,
    /// The V4L2 memory-to-memory encoder; falls back to openh264 if it is missing or
    /// cannot encode the configured size.
    V4l2m2m,
    /// Always the software encoder.
    Openh264,
}

/// Where video comes from (`[video] source`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoSource {
    /// A moving test pattern, no hardware needed.
    #[default]
    Simulated,
    /// A V4L2 camera (needs feature `hardware`).
    Camera,
}

/// Where sound comes from (`[audio] source`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioSource {
    /// A 440 Hz tone, no hardware needed.
    #[default]
    Simulated,
    /// An ALSA capture device (needs feature `hardware`).
    Alsa,
}

/// Where talk-back audio plays (`[audio] speaker`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TalkBackOutput {
    /// `talkback.wav` in the data directory.
    #[default]
    Simulated,
    /// An ALSA playback device (needs feature `hardware`).
    Alsa,
    /// Nowhere: talk-back is refused.
    None,
}

/// The words a choice is written with in `hearth.toml`, for logs.
macro_rules! choice_words {
    ($ty:ty { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// The word for this choice in `hearth.toml`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

choice_words!(VideoSource { Simulated => "simulated", Camera => "camera" });
choice_words!(AudioSource { Simulated => "simulated", Alsa => "alsa" });
choice_words!(TalkBackOutput { Simulated => "simulated", Alsa => "alsa", None => "none" });

/// `[board]`: which wiring profile describes this device.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoardSettings {
    /// `auto` (read `/proc/device-tree/model`; a non-Pi is `laptop`), a built-in profile
    /// name (`pi-zero-2w`, `pi3`, `pi4`, `pi5`, `laptop`) or the path of a profile file.
    pub profile: String,
}

impl Default for BoardSettings {
    fn default() -> Self {
        BoardSettings {
            profile: "auto".into(),
        }
    }
}

/// Where screens go (`[display] output`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DisplayOutput {
    /// Render each screen to a PNG file.
    #[default]
    Simulated,
    /// The board profile's display (ST7789 on SPI or SSD1306 on I2C).
    Board,
    /// No screen.
    None,
}

/// `[display]`: the small screen.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DisplaySettings {
    /// `simulated`, `board` or `none`.
    pub output: DisplayOutput,
    /// Simulated only: the directory `screen.png` is written to; empty means the data
    /// directory.
    pub directory: PathBuf,
    /// Simulated only: which screen to imitate: `auto` (the board profile's, else
    /// 240x240), `240x240` (colour) or `128x64` (mono).
    pub size: String,
    /// Seconds a note (a share that arrived, a snapshot going out, a problem)
    /// stays over the resting screen; each new delivery of a snapshot keeps
    /// its note up this long again.
    pub note_secs: u64,
}

impl Default for DisplaySettings {
    fn default() -> Self {
        DisplaySettings {
            output: DisplayOutput::Simulated,
            directory: PathBuf::new(),
            size: "auto".into(),
            note_secs: 5,
        }
    }
}

/// Where button presses come from (`[buttons] source`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ButtonSource {
    /// Keys typed in the terminal and `hearth press BUTTON`.
    #[default]
    Simulated,
    /// The board profile's GPIO pins (`hearth press` keeps working too).
    Gpio,
}

/// `[buttons]`: the physical buttons.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ButtonSettings {
    /// `simulated` or `gpio`.
    pub source: ButtonSource,
    /// A contact must stay closed this long to count (switch bounce is shorter).
    pub debounce_ms: u64,
    /// Holding a button this long is a long press instead of a press.
    pub long_press_ms: u64,
}

impl Default for ButtonSettings {
    fn default() -> Self {
        ButtonSettings {
            source: ButtonSource::Simulated,
            debounce_ms: 30,
            long_press_ms: 1000,
        }
    }
}

/// Where the "live" light goes (`[led] output`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LedOutput {
    /// Log each change.
    #[default]
    Simulated,
    /// The board profile's LED pin.
    Gpio,
    /// No LED.
    None,
}

/// `[led]`: the light that is on whenever camera or microphone is live to anyone.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedSettings {
    /// `simulated`, `gpio` or `none`.
    pub output: LedOutput,
}

/// Where a contact's picture goes (`[picture] output`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PictureTarget {
    /// The HDMI monitor when one is connected at start, otherwise the small screen.
    #[default]
    Auto,
    /// The HDMI monitor only.
    Hdmi,
    /// The small screen only, under the LIVE and PRIVATE states.
    Screen,
    /// Nowhere: contacts are told their picture is not shown.
    None,
}

/// How the HDMI monitor is reached (`[picture] hdmi`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HdmiBackend {
    /// PNG frames under `<data>/picture/` (a laptop): always "connected".
    #[default]
    Simulated,
    /// The monitor through DRM/KMS (needs `--features hardware`).
    Drm,
}

/// `[picture]`: a contact's camera on the device (only contacts allowed
/// `show_on_device`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PictureSettings {
    /// `auto`, `hdmi`, `screen` or `none`.
    pub output: PictureTarget,
    /// `simulated` or `drm`.
    pub hdmi: HdmiBackend,
    /// `drm` only: the card, e.g. `/dev/dri/card1`; empty tries each
    /// `/dev/dri/card*` for one with a monitor connected.
    pub drm_device: PathBuf,
}

impl Default for PictureSettings {
    fn default() -> Self {
        PictureSettings {
            output: PictureTarget::Auto,
            hdmi: HdmiBackend::Simulated,
            drm_device: PathBuf::new(),
        }
    }
}
