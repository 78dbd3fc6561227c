//! The LED on a Raspberry Pi GPIO pin (feature `hardware`).

use rppal::gpio::{Gpio, OutputPin};

use super::Led;
use crate::hardware::board::BoardLed;
use crate::hardware::rpi::gpio_error;
use crate::hardware::HardwareError;

/// An LED on an output pin; put out when dropped.
#[derive(Debug)]
pub struct GpioLed {
    pin: OutputPin,
    active_low: bool,
}

impl GpioLed {
    /// Claims the pin of `wiring` with the LED out.
    pub fn open(wiring: &BoardLed) -> Result<Self, HardwareError> {
        let gpio = Gpio::new().map_err(|e| gpio_error(e, "led"))?;
        let pin = gpio.get(wiring.gpio).map_err(|e| gpio_error(e, "led"))?;
        let mut pin = if wiring.active_low {
            pin.into_output_high()
        } else {
            pin.into_output_low()
        };
        // Leave the LED out rather than lit if Hearth stops.
        pin.set_reset_on_drop(true);
        Ok(GpioLed {
            pin,
            active_low: wiring.active_low,
        })
    }
}

impl Led for GpioLed {
    fn set_lit(&mut self, lit: bool) -> Result<(), HardwareError> {
        if lit != self.active_low {
            self.pin.set_high();
        } else {
            self.pin.set_low();
        }
        Ok(())
    }
}
