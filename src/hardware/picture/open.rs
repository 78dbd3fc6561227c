//! Choosing where a contact's picture goes, from `[picture]`: the HDMI monitor
//! (DRM/KMS, or PNG frames on a laptop) when there is one, else the small screen
//! (through the panel, under LIVE and PRIVATE), or nowhere.

use super::screen_output::{PictureFeed, ScreenPictureOutput};
use super::{PictureOutput, PngPictureOutput};
use crate::config::hardware::{
    DisplayOutput, DisplaySettings, HdmiBackend, PictureSettings, PictureTarget,
};
use crate::hardware::display::simulated_size;
use crate::hardware::{Board, HardwareError};
use embedded_graphics::prelude::Size;
use std::path::Path;

/// The simulated HDMI monitor's size.
pub const SIMULATED_HDMI: Size = Size::new(640, 480);

/// Where incoming pictures go.
pub struct OpenedPicture {
    /// The output frames are shown on; `None`: nowhere.
    pub output: Option<Box<dyn PictureOutput>>,
    /// When it is the small screen: what the panel draws.
    pub feed: Option<PictureFeed>,
}

impl OpenedPicture {
    fn nowhere() -> Self {
        OpenedPicture {
            output: None,
            feed: None,
        }
    }
}

/// Opens the output `picture` asks for. Problems are logged and leave the
/// picture nowhere (contacts are then told it is not shown); the rest of the
/// device runs on.
pub fn open_picture_output(
    picture: &PictureSettings,
    display: &DisplaySettings,
    board: &Board,
    data_dir: &Path,
) -> OpenedPicture {
    let hdmi = || open_hdmi(picture, data_dir);
    let opened = match picture.output {
        PictureTarget::None => return OpenedPicture::nowhere(),
        PictureTarget::Hdmi => hdmi().map(hdmi_only),
        PictureTarget::Screen => open_screen(display, board),
        PictureTarget::Auto => match hdmi() {
            Ok(output) => Ok(hdmi_only(output)),
            Err(e) => {
                tracing::info!(reason = %e, "no HDMI monitor: a contact's picture goes on the small screen");
                open_screen(display, board)
            }
        },
    };
    match opened {
        Ok(opened) => opened,
        Err(e) => {
            tracing::error!(error = %e, "no output for a contact's picture; contacts are told it is not shown");
            OpenedPicture::nowhere()
        }
    }
}

fn hdmi_only(output: Box<dyn PictureOutput>) -> OpenedPicture {
    tracing::info!(size = ?output.size(), "a contact's picture goes on HDMI");
    OpenedPicture {
        output: Some(output),
        feed: None,
    }
}

/// The HDMI monitor: PNG frames under `<data>/picture/`, or DRM/KMS.
fn open_hdmi(
    picture: &PictureSettings,
    data_dir: &Path,
) -> Result<Box<dyn PictureOutput>, HardwareError> {
    match picture.hdmi {
        HdmiBackend::Simulated => Ok(Box::new(PngPictureOutput::new(
            &data_dir.join("picture"),
            SIMULATED_HDMI,
        )?)),
        HdmiBackend::Drm => open_drm(&picture.drm_device),
    }
}

#[cfg(feature = "hardware")]
fn open_drm(device: &Path) -> Result<Box<dyn PictureOutput>, HardwareError> {
    use super::drm::DrmOutput;
    if !device.as_os_str().is_empty() {
        return Ok(Box::new(DrmOutput::open(device)?));
    }
    let cards = std::fs::read_dir("/dev/dri").map_err(|source| HardwareError::Io {
        device: "/dev/dri".into(),
        source,
    })?;
    let mut cards: Vec<_> = cards
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("card"))
        })
        .collect();
    cards.sort();
    let mut last = None;
    for card in cards {
        match DrmOutput::open(&card) {
            Ok(output) => return Ok(Box::new(output)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(HardwareError::Config {
        key: "picture.drm_device".into(),
        reason: "no /dev/dri/card* found".into(),
    }))
}

#[cfg(not(feature = "hardware"))]
fn open_drm(_device: &Path) -> Result<Box<dyn PictureOutput>, HardwareError> {
    Err(HardwareError::NotBuilt {
        what: "`[picture] hdmi = \"drm\"`",
    })
}

/// The small screen, scaled to its size: the simulated one's, or the board's panel.
fn open_screen(display: &DisplaySettings, board: &Board) -> Result<OpenedPicture, HardwareError> {
    let size = match display.output {
        DisplayOutput::None => {
            return Err(HardwareError::Config {
                key: "picture.output".into(),
                reason: "the small screen is off (`[display] output = \"none\"`)".into(),
            })
        }
        DisplayOutput::Simulated => simulated_size(display, board)?,
        DisplayOutput::Board => match board.display.kind.size() {
            Some((width, height)) => Size::new(width, height),
            None => {
                return Err(HardwareError::Config {
                    key: "picture.output".into(),
                    reason: format!("board profile `{}` has no small screen", board.name),
                })
            }
        },
    };
    let (output, feed) = ScreenPictureOutput::new(size);
    tracing::info!(?size, "a contact's picture goes on the small screen");
    Ok(OpenedPicture {
        output: Some(Box::new(output)),
        feed: Some(feed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::hardware::PictureSettings;

    fn laptop() -> Board {
        Board::load("laptop").unwrap()
    }

    #[test]
    fn auto_takes_the_simulated_monitor_and_screen_takes_the_small_screen() {
        let dir = tempfile::tempdir().unwrap();
        let display = DisplaySettings::default();
        let auto =
            open_picture_output(&PictureSettings::default(), &display, &laptop(), dir.path());
        assert_eq!(auto.output.unwrap().size(), SIMULATED_HDMI);
        assert!(auto.feed.is_none());
        let screen = PictureSettings {
            output: PictureTarget::Screen,
            ..PictureSettings::default()
        };
        let small = open_picture_output(&screen, &display, &laptop(), dir.path());
        assert_eq!(small.output.unwrap().size(), Size::new(240, 240));
        assert!(small.feed.is_some());
    }

    #[test]
    fn auto_falls_back_to_the_small_screen_and_none_is_nowhere() {
        let dir = tempfile::tempdir().unwrap();
        let display = DisplaySettings::default();
        // Without a monitor (or without the hardware build) DRM does not open.
        let drm = PictureSettings {
            hdmi: HdmiBackend::Drm,
            drm_device: dir.path().join("no-such-card"),
            ..PictureSettings::default()
        };
        let auto = open_picture_output(&drm, &display, &laptop(), dir.path());
        assert!(auto.feed.is_some(), "the small screen instead");
        let hdmi_only = PictureSettings {
            output: PictureTarget::Hdmi,
            ..drm
        };
        assert!(
            open_picture_output(&hdmi_only, &display, &laptop(), dir.path())
                .output
                .is_none()
        );
        let none = PictureSettings {
            output: PictureTarget::None,
            ..PictureSettings::default()
        };
        assert!(open_picture_output(&none, &display, &laptop(), dir.path())
            .output
            .is_none());
    }
}
