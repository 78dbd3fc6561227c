//! Board profiles: how a particular Raspberry Pi (or a laptop) is wired.
//!
//! A profile is a small TOML file under `board/` (built into the binary) naming the GPIO
//! pins of the buttons and the LED, the display and its bus, the camera size that suits
//! the board, whether it has a hardware H.264 encoder, and the `config.txt` lines the
//! wiring needs. `[board] profile = "auto"` picks one from `/proc/device-tree/model`;
//! anything that is not a known Pi is a `laptop`. A custom profile can be given by path.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tracing::info;

use crate::hardware::buttons::Button;
use crate::hardware::HardwareError;

/// The built-in profiles, by name, as TOML text.
pub const BUILT_IN: [(&str, &str); 5] = [
    ("pi-zero-2w", include_str!("../../board/pi-zero-2w.toml")),
    ("pi3", include_str!("../../board/pi3.toml")),
    ("pi4", include_str!("../../board/pi4.toml")),
    ("pi5", include_str!("../../board/pi5.toml")),
    ("laptop", include_str!("../../board/laptop.toml")),
];

/// Where the kernel says which Raspberry Pi this is.
pub const MODEL_FILE: &str = "/proc/device-tree/model";

/// A board profile.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// Short name, e.g. `pi4`.
    pub name: String,
    /// Human-readable name, e.g. "Raspberry Pi 4".
    pub description: String,
    /// Substrings of the device-tree model that select this profile.
    pub models: Vec<String>,
    /// Lines `/boot/firmware/config.txt` needs for this wiring.
    pub config_txt: Vec<String>,
    /// Camera defaults.
    pub camera: BoardCamera,
    /// Hardware H.264 encoder, if any.
    pub encoder: BoardEncoder,
    /// Default ALSA devices.
    pub audio: BoardAudio,
    /// Buttons: GPIO pins and terminal keys.
    #[serde(default)]
    pub buttons: Vec<BoardButton>,
    /// The "live" LED, if wired.
    #[serde(default)]
    pub led: Option<BoardLed>,
    /// The display.
    pub display: BoardDisplay,
}

/// Camera defaults of a board.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardCamera {
    /// Suggested width.
    pub width: u32,
    /// Suggested height.
    pub height: u32,
    /// Suggested frames per second.
    pub fps: u32,
    /// Driver name of the raw CSI node (`unicam`, `rp1-cfe`), if the board has a CSI port.
    #[serde(default)]
    pub csi_driver: Option<String>,
}

/// The board's hardware encoder.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardEncoder {
    /// Whether the board has a V4L2 M2M H.264 encoder.
    pub hardware: bool,
    /// Its device node.
    #[serde(default)]
    pub device: Option<PathBuf>,
}

/// Default ALSA devices of a board.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardAudio {
    /// Microphone.
    pub capture: String,
    /// Speaker.
    pub playback: String,
}

/// One button.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardButton {
    /// What it does.
    pub name: Button,
    /// BCM GPIO pin, wired to ground (internal pull-up); none on a laptop.
    #[serde(default)]
    pub gpio: Option<u8>,
    /// Terminal key of the simulated button (upper case gives a long press).
    pub key: char,
}

/// The LED.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardLed {
    /// BCM GPIO pin.
    pub gpio: u8,
    /// True if the pin sinks the LED's current (lit when low).
    #[serde(default)]
    pub active_low: bool,
}

/// Which display controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DisplayKind {
    /// No display.
    None,
    /// Sitronix ST7789, 240x240 colour, on SPI.
    St7789,
    /// Solomon SSD1306, 128x64 monochrome OLED, on I2C.
    Ssd1306,
}

impl DisplayKind {
    /// Width and height in pixels; `None` for no display.
    pub fn size(self) -> Option<(u32, u32)> {
        match self {
            DisplayKind::None => None,
            DisplayKind::St7789 => Some((240, 240)),
            DisplayKind::Ssd1306 => Some((128, 64)),
        }
    }
}

/// How the display is wired.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardDisplay {
    /// The controller.
    pub kind: DisplayKind,
    /// SPI bus (ST7789): 0 is `/dev/spidev0.*`.
    #[serde(default)]
    pub spi_bus: u8,
    /// SPI chip select (ST7789): 1 is CE1.
    #[serde(default)]
    pub spi_chip_select: u8,
    /// SPI clock in Hz (ST7789).
    #[serde(default = "default_spi_hz")]
    pub spi_hz: u32,
    /// Data/command pin (ST7789).
    #[serde(default)]
    pub dc_gpio: Option<u8>,
    /// Reset pin (ST7789), if wired.
    #[serde(default)]
    pub reset_gpio: Option<u8>,
    /// Backlight pin (ST7789), if wired; driven high.
    #[serde(default)]
    pub backlight_gpio: Option<u8>,
    /// I2C bus (SSD1306): 1 is `/dev/i2c-1`.
    #[serde(default)]
    pub i2c_bus: u8,
    /// I2C address (SSD1306), usually 0x3C.
    #[serde(default)]
    pub i2c_address: u16,
    /// Rotation in degrees: 0, 90, 180 or 270.
    #[serde(default)]
    pub rotation: u16,
    /// ST7789: invert colours (most 240x240 IPS panels need it).
    #[serde(default = "yes")]
    pub invert_colors: bool,
}

fn yes() -> bool {
    true
}

fn default_spi_hz() -> u32 {
    32_000_000
}

impl Board {
    /// A built-in profile by name.
    pub fn built_in(name: &str) -> Result<Board, HardwareError> {
        let (_, text) = BUILT_IN.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
            HardwareError::Config {
                key: "board.profile".into(),
                reason: format!(
                    "no built-in profile `{name}`; use auto, {}, or the path of a profile file",
                    names.join(", ")
                ),
            }
        })?;
        Board::from_toml(text, Path::new(name))
    }

    /// Parses and checks a profile.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Board, HardwareError> {
        let board: Board = toml::from_str(text).map_err(|e| HardwareError::Config {
            key: format!("board profile {}", origin.display()),
            reason: e.to_string(),
        })?;
        board.validate()?;
        Ok(board)
    }

    /// The profile whose `models` matches a device-tree model string, else `laptop`.
    pub fn for_model(model: &str) -> Board {
        for (name, _) in BUILT_IN {
            let board = Board::built_in(name).expect("built-in profiles are valid");
            if board.models.iter().any(|m| model.contains(m.as_str())) {
                return board;
            }
        }
        Board::built_in("laptop").expect("built-in profiles are valid")
    }

    /// Resolves `[board] profile`: `auto`, a built-in name, or a file path.
    pub fn load(profile: &str) -> Result<Board, HardwareError> {
        let board = if profile == "auto" {
            let model = std::fs::read_to_string(MODEL_FILE).unwrap_or_default();
            let model = model.trim_end_matches('\0').trim();
            let board = Board::for_model(model);
            info!(model, board = %board.name, "board profile detected");
            board
        } else if profile.contains('/') || profile.ends_with(".toml") {
            let text = std::fs::read_to_string(profile).map_err(|e| HardwareError::Config {
                key: "board.profile".into(),
                reason: format!("cannot read {profile}: {e}"),
            })?;
            Board::from_toml(&text, Path::new(profile))?
        } else {
            Board::built_in(profile)?
        };
        Ok(board)
    }

    /// The profile's entry for `name`, if the board has that button.
    pub fn button(&self, name: Button) -> Option<&BoardButton> {
        self.buttons.iter().find(|b| b.name == name)
    }

    fn validate(&self) -> Result<(), HardwareError> {
        let bad = |reason: String| HardwareError::Config {
            key: format!("board profile `{}`", self.name),
            reason,
        };
        let mut names = HashSet::new();
        let mut keys = HashSet::new();
        for b in &self.buttons {
            if !names.insert(b.name) {
                return Err(bad(format!("button `{}` is listed twice", b.name)));
            }
            if !b.key.is_ascii_lowercase() || !keys.insert(b.key) {
                return Err(bad(format!(
                    "key `{}` of button `{}` must be a lower-case letter used once",
                    b.key, b.name
                )));
            }
        }
        // Every pin used at most once, never a pin of the display's bus.
        let d = &self.display;
        let bus_pins: &[u8] = match d.kind {
            DisplayKind::None => &[],
            DisplayKind::St7789 => &[7, 8, 10, 11],
            DisplayKind::Ssd1306 => &[2, 3],
        };
        let mut used: HashSet<u8> = bus_pins.iter().copied().collect();
        let pins = self
            .buttons
            .iter()
            .filter_map(|b| b.gpio.map(|p| (p, format!("button `{}`", b.name))))
            .chain(self.led.iter().map(|l| (l.gpio, "led".to_string())))
            .chain(d.dc_gpio.map(|p| (p, "display dc".into())))
            .chain(d.reset_gpio.map(|p| (p, "display reset".into())))
            .chain(d.backlight_gpio.map(|p| (p, "display backlight".into())));
        for (pin, what) in pins {
            if pin > 27 {
                return Err(bad(format!("{what}: GPIO {pin} does not exist (0..=27)")));
            }
            if !used.insert(pin) {
                return Err(bad(format!(
                    "{what}: GPIO {pin} is already used (or belongs to the display's bus)"
                )));
            }
        }
        if d.kind == DisplayKind::St7789 && d.dc_gpio.is_none() {
            return Err(bad("an ST7789 needs `dc_gpio`".into()));
        }
        if !matches!(d.rotation, 0 | 90 | 180 | 270) {
            return Err(bad(format!(
                "rotation {} is not 0, 90, 180 or 270",
                d.rotation
            )));
        }
        if self.encoder.hardware && self.encoder.device.is_none() {
            return Err(bad("a hardware encoder needs `device`".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_profile_is_valid() {
        for (name, _) in BUILT_IN {
            let board = Board::built_in(name).unwrap();
            assert_eq!(board.name, name);
        }
    }

    #[test]
    fn models_pick_the_right_profile() {
        let cases = [
            ("Raspberry Pi Zero 2 W Rev 1.0", "pi-zero-2w"),
            ("Raspberry Pi 3 Model B Plus Rev 1.3", "pi3"),
            ("Raspberry Pi 4 Model B Rev 1.4", "pi4"),
            ("Raspberry Pi 5 Model B Rev 1.0", "pi5"),
            ("", "laptop"),
            ("Raspberry Pi Model B Rev 2", "laptop"),
        ];
        for (model, name) in cases {
            assert_eq!(Board::for_model(model).name, name, "{model}");
        }
    }

    #[test]
    fn clashing_pins_are_refused() {
        let text = BUILT_IN[2].1.replace("gpio = 26", "gpio = 5");
        let err = Board::from_toml(&text, Path::new("x")).unwrap_err();
        assert!(err.to_string().contains("GPIO 5 is already used"), "{err}");
        let text = BUILT_IN[2].1.replace("gpio = 26", "gpio = 10");
        assert!(Board::from_toml(&text, Path::new("x")).is_err(), "SPI MOSI");
    }
}
