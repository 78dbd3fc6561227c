//! The one error type of the hardware module, and the table that turns an OS error on a
//! device node into a message that names the fix.
//!
//! Whoever reads these is setting up a Raspberry Pi in a living room: "permission denied"
//! alone is useless, "add the `hearth` user to group `video`" is a next step.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// What kind of device a node is, which decides the Unix group and the fix to suggest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// A V4L2 camera (`/dev/video*`).
    Camera,
    /// The V4L2 memory-to-memory H.264 encoder (`/dev/video11` on a Pi).
    Encoder,
    /// An ALSA microphone or speaker.
    Audio,
    /// A GPIO chip (`/dev/gpiochip*`), for buttons and the LED.
    Gpio,
    /// An SPI bus (`/dev/spidev*`), for the ST7789 display.
    Spi,
    /// An I2C bus (`/dev/i2c-*`), for the SSD1306 display.
    I2c,
    /// A DRM/KMS card (`/dev/dri/card*`), for a contact's picture on HDMI.
    Drm,
}

impl DeviceKind {
    /// The Unix group that owns such nodes on Raspberry Pi OS and Debian.
    pub fn group(self) -> &'static str {
        match self {
            DeviceKind::Camera | DeviceKind::Encoder | DeviceKind::Drm => "video",
            DeviceKind::Audio => "audio",
            DeviceKind::Gpio => "gpio",
            DeviceKind::Spi => "spi",
            DeviceKind::I2c => "i2c",
        }
    }

    /// What to do when the node does not exist.
    pub fn missing_fix(self) -> &'static str {
        match self {
            DeviceKind::Camera => {
                "connect a USB camera, or for a ribbon-cable (CSI) camera see docs/hardware.md \
                 (run Hearth under `libcamerify`); `v4l2-ctl --list-devices` shows what is there"
            }
            DeviceKind::Encoder => {
                "this board has no hardware H.264 encoder (Pi 5 and laptops don't); set \
                 `[video] encoder = \"openh264\"` or leave it on \"auto\""
            }
            DeviceKind::Audio => {
                "connect the microphone or speaker; `arecord -L` and `aplay -L` list the device \
                 names `[audio] capture_device` and `playback_device` accept"
            }
            DeviceKind::Gpio => {
                "this does not look like a Raspberry Pi; set `[buttons] source = \"simulated\"` \
                 and `[led] output = \"simulated\"`"
            }
            DeviceKind::Spi => {
                "enable SPI: add `dtparam=spi=on` to /boot/firmware/config.txt and reboot"
            }
            DeviceKind::I2c => {
                "enable I2C: add `dtparam=i2c_arm=on` to /boot/firmware/config.txt and reboot"
            }
            DeviceKind::Drm => {
                "enable KMS: keep `dtoverlay=vc4-kms-v3d` in /boot/firmware/config.txt and \
                 reboot; `ls /dev/dri` shows the cards (HDMI is card1 on a Pi 5, card0 or card1 \
                 on older Pis)"
            }
        }
    }
}

/// Everything that can go wrong opening or driving hardware.
#[derive(Debug, Error)]
pub enum HardwareError {
    /// The device exists but this user may not open it.
    #[error(
        "permission denied on {device}: add the hearth user to group `{group}` \
         (`sudo usermod -aG {group} hearth`) and restart Hearth"
    )]
    Permission {
        /// The device node.
        device: PathBuf,
        /// The group that grants access.
        group: &'static str,
    },

    /// The device node does not exist.
    #[error("{device} does not exist: {fix}")]
    Missing {
        /// The device node or name that was looked for.
        device: PathBuf,
        /// What to do about it.
        fix: &'static str,
    },

    /// Another program has the device open.
    #[error(
        "{device} is busy: another program is using it; stop it (`sudo fuser -v {device}` \
         shows which) or pick another device in the config"
    )]
    Busy {
        /// The device node.
        device: PathBuf,
    },

    /// The only camera is a raw CSI sensor node, which needs libcamera.
    #[error(
        "{device} is a raw CSI camera sensor ({driver}) that only libcamera can drive; run \
         Hearth under `libcamerify` (package `libcamera-v4l2`) so it appears as a normal \
         camera, see docs/hardware.md"
    )]
    CsiNeedsLibcamera {
        /// The unicam / rp1-cfe node.
        device: PathBuf,
        /// The driver that was found.
        driver: String,
    },

    /// The device works but cannot do what Hearth needs.
    #[error("{device} cannot be used: {reason}; {fix}")]
    Unsupported {
        /// The device involved.
        device: PathBuf,
        /// What it lacks.
        reason: String,
        /// What to do about it.
        fix: String,
    },

    /// The running device refused a press made with `hearth press`.
    #[error("the device refused `{button}`: {reason}")]
    Refused {
        /// The button pressed.
        button: &'static str,
        /// The device's sentence: why, and what to do.
        reason: String,
    },

    /// A setting in the config or the board profile is wrong.
    #[error("`{key}` is invalid: {reason}")]
    Config {
        /// The setting.
        key: String,
        /// What is wrong and what would be right.
        reason: String,
    },

    /// Hearth was built without the real backend that the config asks for.
    #[error(
        "{what} needs the real hardware backends, but this Hearth was built without them; \
         rebuild with `cargo build --release --features hardware` or set it to \"simulated\""
    )]
    NotBuilt {
        /// The setting that asked for hardware.
        what: &'static str,
    },

    /// Decoding or encoding failed (e.g. a broken talk-back packet).
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),

    /// Any other I/O error on a device.
    #[error("{device}: {source}; if it repeats, unplug and replug it or reboot")]
    Io {
        /// The device involved.
        device: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl HardwareError {
    /// Turns an OS error from opening or using `device` into the error that names its fix.
    pub fn from_io(err: io::Error, device: impl AsRef<Path>, kind: DeviceKind) -> Self {
        let device = device.as_ref().to_path_buf();
        match err.raw_os_error() {
            Some(code) if code == EACCES || code == EPERM => HardwareError::Permission {
                device,
                group: kind.group(),
            },
            Some(code) if code == ENOENT || code == ENODEV || code == ENXIO => {
                HardwareError::Missing {
                    device,
                    fix: kind.missing_fix(),
                }
            }
            Some(code) if code == EBUSY => HardwareError::Busy { device },
            _ => match err.kind() {
                io::ErrorKind::PermissionDenied => HardwareError::Permission {
                    device,
                    group: kind.group(),
                },
                io::ErrorKind::NotFound => HardwareError::Missing {
                    device,
                    fix: kind.missing_fix(),
                },
                _ => HardwareError::Io {
                    device,
                    source: err,
                },
            },
        }
    }

    /// True for errors that waiting will not fix (permissions, wrong kind of device,
    /// settings), as opposed to an unplugged or busy device that may come back.
    pub fn is_permanent(&self) -> bool {
        !matches!(
            self,
            HardwareError::Missing { .. } | HardwareError::Busy { .. } | HardwareError::Io { .. }
        )
    }
}

// Linux errno values (identical on x86_64, aarch64 and armv7).
const EPERM: i32 = 1;
const ENOENT: i32 = 2;
const ENXIO: i32 = 6;
const EACCES: i32 = 13;
const EBUSY: i32 = 16;
const ENODEV: i32 = 19;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_errors_name_the_group() {
        let err = HardwareError::from_io(
            io::Error::from_raw_os_error(EACCES),
            "/dev/video0",
            DeviceKind::Camera,
        );
        let text = err.to_string();
        assert!(text.contains("group `video`"), "{text}");
        assert!(text.contains("usermod -aG video hearth"), "{text}");
        let err = HardwareError::from_io(
            io::Error::from_raw_os_error(EACCES),
            "/dev/gpiochip0",
            DeviceKind::Gpio,
        );
        assert!(err.to_string().contains("group `gpio`"));
    }

    #[test]
    fn missing_spi_says_how_to_enable_it() {
        let err = HardwareError::from_io(
            io::Error::from_raw_os_error(ENOENT),
            "/dev/spidev0.0",
            DeviceKind::Spi,
        );
        assert!(err.to_string().contains("dtparam=spi=on"), "{err}");
        assert!(!err.is_permanent());
        let err = HardwareError::from_io(
            io::Error::from_raw_os_error(ENOENT),
            "/dev/i2c-1",
            DeviceKind::I2c,
        );
        assert!(err.to_string().contains("dtparam=i2c_arm=on"), "{err}");
        let err = HardwareError::from_io(
            io::Error::from_raw_os_error(ENOENT),
            "/dev/dri/card1",
            DeviceKind::Drm,
        );
        assert!(err.to_string().contains("vc4-kms-v3d"), "{err}");
    }

    #[test]
    fn busy_and_other_errors_are_kept_apart() {
        let busy = HardwareError::from_io(
            io::Error::from_raw_os_error(EBUSY),
            "/dev/video0",
            DeviceKind::Camera,
        );
        assert!(matches!(busy, HardwareError::Busy { .. }));
        let other = HardwareError::from_io(
            io::Error::from_raw_os_error(5),
            "/dev/video0",
            DeviceKind::Camera,
        );
        assert!(matches!(other, HardwareError::Io { .. }));
        assert!(HardwareError::Permission {
            device: "/dev/video0".into(),
            group: "video"
        }
        .is_permanent());
    }
}
