//! A 128x64 SSD1306 OLED on I2C (feature `hardware`), through the `ssd1306` crate and
//! rppal. The crate keeps a frame in memory and sends only what changed.

use embedded_graphics::prelude::*;
use rppal::i2c::I2c;
use ssd1306::mode::BufferedGraphicsMode;
use ssd1306::prelude::*;
use ssd1306::{I2CDisplayInterface, Ssd1306};
use tracing::info;

use super::{render, Display, Screen};
use crate::hardware::board::BoardDisplay;
use crate::hardware::rpi::i2c_error;
use crate::hardware::HardwareError;

type Driver =
    Ssd1306<I2CInterface<I2c>, DisplaySize128x64, BufferedGraphicsMode<DisplaySize128x64>>;

/// The SSD1306 display.
pub struct Ssd1306Display {
    driver: Driver,
    device: String,
}

impl std::fmt::Debug for Ssd1306Display {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ssd1306Display")
            .field("device", &self.device)
            .finish()
    }
}

fn display_error(device: &str, e: impl std::fmt::Debug) -> HardwareError {
    HardwareError::Io {
        device: device.into(),
        source: std::io::Error::other(format!(
            "{e:?}; check the wiring and `i2c_address` (`i2cdetect -y 1` lists devices)"
        )),
    }
}

impl Ssd1306Display {
    /// Initialises the panel wired as `wiring` says.
    pub fn open(wiring: &BoardDisplay) -> Result<Self, HardwareError> {
        let device = format!("/dev/i2c-{}", wiring.i2c_bus);
        let i2c = I2c::with_bus(wiring.i2c_bus).map_err(|e| i2c_error(e, wiring.i2c_bus))?;
        let address = u8::try_from(wiring.i2c_address).map_err(|_| HardwareError::Config {
            key: "board profile [display] i2c_address".into(),
            reason: format!("{:#x} is not a 7-bit address", wiring.i2c_address),
        })?;
        let rotation = if wiring.rotation == 180 {
            DisplayRotation::Rotate180
        } else {
            DisplayRotation::Rotate0
        };
        let interface = I2CDisplayInterface::new_custom_address(i2c, address);
        let mut driver =
            Ssd1306::new(interface, DisplaySize128x64, rotation).into_buffered_graphics_mode();
        driver.init().map_err(|e| display_error(&device, e))?;
        info!(%device, address, "SSD1306 display ready");
        Ok(Ssd1306Display { driver, device })
    }
}

impl Display for Ssd1306Display {
    fn size(&self) -> Size {
        Size::new(128, 64)
    }

    fn show(&mut self, screen: &Screen) -> Result<(), HardwareError> {
        let _ = render(screen, &mut self.driver);
        self.driver
            .flush()
            .map_err(|e| display_error(&self.device, e))
    }
}
