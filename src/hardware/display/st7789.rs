//! A 240x240 ST7789 colour panel on SPI (feature `hardware`), through mipidsi and rppal.
//!
//! Screens are drawn into a frame in memory first and sent in one go, so the panel never
//! shows half a screen. Wiring (bus, chip select, data/command, reset and backlight
//! pins, rotation) comes from the board profile's `[display]`.

use embedded_graphics::pixelcolor::Rgb565;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use embedded_graphics_simulator::SimulatorDisplay;
use mipidsi::interface::SpiInterface;
use mipidsi::models::ST7789;
use mipidsi::options::{ColorInversion, Orientation, Rotation};
use mipidsi::{Builder, NoResetPin};
use rppal::gpio::{Gpio, OutputPin};
use rppal::hal::Delay;
use rppal::spi::{Bus, Mode, SimpleHalSpiDevice, SlaveSelect, Spi};
use tracing::info;

use super::{render, Display, Screen};
use crate::hardware::board::BoardDisplay;
use crate::hardware::rpi::{gpio_error, spi_error};
use crate::hardware::HardwareError;

type Interface = SpiInterface<'static, SimpleHalSpiDevice, OutputPin>;

/// The driver with or without a reset pin (two types in mipidsi).
enum Panel {
    WithReset(mipidsi::Display<Interface, ST7789, OutputPin>),
    NoReset(mipidsi::Display<Interface, ST7789, NoResetPin>),
}

/// The ST7789 display.
pub struct St7789Display {
    panel: Panel,
    frame: SimulatorDisplay<Rgb565>,
    _backlight: Option<OutputPin>,
    device: String,
}

impl std::fmt::Debug for St7789Display {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("St7789Display")
            .field("device", &self.device)
            .finish()
    }
}

fn display_error(device: &str, e: impl std::fmt::Debug) -> HardwareError {
    HardwareError::Io {
        device: device.into(),
        source: std::io::Error::other(format!("{e:?}; check the wiring and `spi_hz`")),
    }
}

impl St7789Display {
    /// Initialises the panel wired as `wiring` says.
    pub fn open(wiring: &BoardDisplay) -> Result<Self, HardwareError> {
        let device = format!("/dev/spidev{}.{}", wiring.spi_bus, wiring.spi_chip_select);
        let bus = match wiring.spi_bus {
            0 => Bus::Spi0,
            1 => Bus::Spi1,
            n => return Err(bad_setting("spi_bus", format!("SPI bus {n} is not 0 or 1"))),
        };
        let cs = match wiring.spi_chip_select {
            0 => SlaveSelect::Ss0,
            1 => SlaveSelect::Ss1,
            2 => SlaveSelect::Ss2,
            n => {
                return Err(bad_setting(
                    "spi_chip_select",
                    format!("chip select {n} is not 0, 1 or 2"),
                ))
            }
        };
        let spi = Spi::new(bus, cs, wiring.spi_hz, Mode::Mode0)
            .map_err(|e| spi_error(e, wiring.spi_bus, wiring.spi_chip_select))?;
        let gpio = Gpio::new().map_err(|e| gpio_error(e, "display"))?;
        let pin = |n: u8, what: &str| -> Result<OutputPin, HardwareError> {
            Ok(gpio
                .get(n)
                .map_err(|e| gpio_error(e, what))?
                .into_output_high())
        };
        let dc_pin = wiring
            .dc_gpio
            .ok_or_else(|| bad_setting("dc_gpio", "an ST7789 needs a data/command pin".into()))?;
        let dc = pin(dc_pin, "display dc")?;
        let backlight = wiring
            .backlight_gpio
            .map(|n| pin(n, "display backlight"))
            .transpose()?;
        // The interface borrows its batch buffer for as long as the panel lives, which is
        // the life of the process.
        let buffer: &'static mut [u8] = Box::leak(vec![0u8; 4096].into_boxed_slice());
        let interface = SpiInterface::new(SimpleHalSpiDevice::new(spi), dc, buffer);
        let rotation = match wiring.rotation {
            90 => Rotation::Deg90,
            180 => Rotation::Deg180,
            270 => Rotation::Deg270,
            _ => Rotation::Deg0,
        };
        let inversion = if wiring.invert_colors {
            ColorInversion::Inverted
        } else {
            ColorInversion::Normal
        };
        let builder = Builder::new(ST7789, interface)
            .display_size(240, 240)
            .invert_colors(inversion)
            .orientation(Orientation::new().rotate(rotation));
        let mut delay = Delay::new();
        let panel = match wiring.reset_gpio {
            Some(n) => Panel::WithReset(
                builder
                    .reset_pin(pin(n, "display reset")?)
                    .init(&mut delay)
                    .map_err(|e| display_error(&device, e))?,
            ),
            None => Panel::NoReset(
                builder
                    .init(&mut delay)
                    .map_err(|e| display_error(&device, e))?,
            ),
        };
        info!(%device, "ST7789 display ready");
        Ok(St7789Display {
            panel,
            frame: SimulatorDisplay::new(Size::new(240, 240)),
            _backlight: backlight,
            device,
        })
    }
}

fn bad_setting(key: &str, reason: String) -> HardwareError {
    HardwareError::Config {
        key: format!("board profile [display] {key}"),
        reason,
    }
}

impl Display for St7789Display {
    fn size(&self) -> Size {
        Size::new(240, 240)
    }

    fn show(&mut self, screen: &Screen) -> Result<(), HardwareError> {
        let _ = render(screen, &mut self.frame);
        let area = Rectangle::new(Point::zero(), Size::new(240, 240));
        let frame = &self.frame;
        let pixels = area.points().map(|p| frame.get_pixel(p));
        let result = match &mut self.panel {
            Panel::WithReset(d) => d
                .fill_contiguous(&area, pixels)
                .map_err(|e| format!("{e:?}")),
            Panel::NoReset(d) => d
                .fill_contiguous(&area, pixels)
                .map_err(|e| format!("{e:?}")),
        };
        result.map_err(|e| display_error(&self.device, e))
    }
}
