//! rppal's errors (GPIO, SPI, I2C on a Raspberry Pi) turned into errors that name the fix.

use std::path::PathBuf;

use crate::hardware::error::DeviceKind;
use crate::hardware::HardwareError;

/// A GPIO error; `what` names the pin's job, e.g. "button `privacy`".
pub fn gpio_error(err: rppal::gpio::Error, what: &str) -> HardwareError {
    use rppal::gpio::Error;
    match err {
        Error::PermissionDenied(path) => HardwareError::Permission {
            device: PathBuf::from(path),
            group: DeviceKind::Gpio.group(),
        },
        Error::Io(e) => HardwareError::from_io(e, "/dev/gpiochip0", DeviceKind::Gpio),
        Error::UnknownModel => HardwareError::Missing {
            device: "/dev/gpiochip0".into(),
            fix: DeviceKind::Gpio.missing_fix(),
        },
        Error::PinUsed(pin) => HardwareError::Busy {
            device: format!("GPIO {pin} ({what})").into(),
        },
        Error::PinNotAvailable(pin) => HardwareError::Config {
            key: format!("board profile: {what}"),
            reason: format!("GPIO {pin} does not exist on this board; pick another pin"),
        },
        Error::ThreadPanic => HardwareError::Io {
            device: format!("GPIO ({what})").into(),
            source: std::io::Error::other("rppal's interrupt thread panicked"),
        },
    }
}

/// An SPI error on `/dev/spidev{bus}.{cs}`.
pub fn spi_error(err: rppal::spi::Error, bus: u8, cs: u8) -> HardwareError {
    let device = PathBuf::from(format!("/dev/spidev{bus}.{cs}"));
    match err {
        rppal::spi::Error::Io(e) => HardwareError::from_io(e, device, DeviceKind::Spi),
        other => HardwareError::Unsupported {
            device,
            reason: other.to_string(),
            fix: "check `spi_hz` in the board profile (try 16000000)".into(),
        },
    }
}

/// An I2C error on `/dev/i2c-{bus}`.
pub fn i2c_error(err: rppal::i2c::Error, bus: u8) -> HardwareError {
    let device = PathBuf::from(format!("/dev/i2c-{bus}"));
    match err {
        rppal::i2c::Error::Io(e) => HardwareError::from_io(e, device, DeviceKind::I2c),
        other => HardwareError::Unsupported {
            device,
            reason: other.to_string(),
            fix: "check `i2c_bus` and `i2c_address` in the board profile (`i2cdetect -y 1`)".into(),
        },
    }
}
