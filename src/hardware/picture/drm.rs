//! HDMI through DRM/KMS: a contact's picture full screen on a television, with no X or
//! Wayland, by drawing into one dumb buffer that the display controller scans out.
//!
//! [`DrmOutput::open`] finds a connected connector, picks its mode with
//! [`choose_mode`], creates an XRGB8888 dumb buffer and a framebuffer on it, and sets the
//! CRTC. Each [`PictureOutput::show`] composes the screen in memory ([`compose`]) and
//! copies it into the mapped buffer row by row ([`XrgbLayout::write_rgb`]); dropping the
//! output gives the screen back as it was.
//!
//! One buffer, no page flips: a picture being copied may tear for one refresh. Double
//! buffering with `page_flip` can come once the decoder feeds it; the layout arithmetic
//! does not change. The buffer is mapped for each frame (an mmap and munmap, a few
//! hundred microseconds on a Pi), because the `drm` crate ties a mapping's lifetime to a
//! borrow of its buffer.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use drm::buffer::{Buffer as _, DrmFourcc};
use drm::control::dumbbuffer::DumbBuffer;
use drm::control::{
    connector, crtc, framebuffer, ClipRect, Device as ControlDevice, Mode, ModeTypeFlags,
    ResourceHandles,
};
use embedded_graphics::prelude::Size;
use tracing::{debug, info, warn};

use super::drm_layout::{choose_mode, LayoutError, ModeInfo, XrgbLayout};
use super::output::{compose, PictureOutput};
use super::rgb_image::RgbImage;
use crate::hardware::{DeviceKind, HardwareError};
use crate::media::I420Frame;

/// An open DRM card node.
#[derive(Debug)]
struct Card(File);

impl AsFd for Card {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl drm::Device for Card {}
impl ControlDevice for Card {}

/// What to do when the card has no connected display.
const NO_DISPLAY_FIX: &str = "connect an HDMI display and switch it on before Hearth starts \
                              (or pick the other card: HDMI is /dev/dri/card1 on a Pi 5)";

/// A contact's picture on an HDMI display, through DRM/KMS.
#[derive(Debug)]
pub struct DrmOutput {
    card: Card,
    path: PathBuf,
    connector: connector::Handle,
    crtc: crtc::Handle,
    /// What the CRTC showed before, given back on drop.
    previous: Option<crtc::Info>,
    buffer: DumbBuffer,
    framebuffer: framebuffer::Handle,
    layout: XrgbLayout,
    image: RgbImage,
}

impl DrmOutput {
    /// Opens the card at `path` (e.g. `/dev/dri/card1`), takes its first connected
    /// display at the mode [`choose_mode`] picks, and shows black on it.
    pub fn open(path: &Path) -> Result<Self, HardwareError> {
        let io_err = |e: io::Error| HardwareError::from_io(e, path, DeviceKind::Drm);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io_err)?;
        let card = Card(file);
        let resources = card.resource_handles().map_err(io_err)?;
        let found = find_display(&card, &resources).map_err(io_err)?;
        let Some(screen) = found else {
            return Err(HardwareError::Missing {
                device: path.to_path_buf(),
                fix: NO_DISPLAY_FIX,
            });
        };
        let (width, height) = screen.mode.size();
        let (width, height) = (u32::from(width), u32::from(height));
        let previous = card.get_crtc(screen.crtc).ok();

        let buffer = card
            .create_dumb_buffer((width, height), DrmFourcc::Xrgb8888, 32)
            .map_err(io_err)?;
        let layout = match XrgbLayout::new(width, height, buffer.pitch()) {
            Ok(layout) => layout,
            Err(e) => {
                let _ = card.destroy_dumb_buffer(buffer);
                return Err(layout_error(path, e));
            }
        };
        let framebuffer = match card.add_framebuffer(&buffer, 24, 32) {
            Ok(fb) => fb,
            Err(e) => {
                let _ = card.destroy_dumb_buffer(buffer);
                return Err(io_err(e));
            }
        };
        // From here on, Drop releases the framebuffer and the buffer.
        let mut output = DrmOutput {
            card,
            path: path.to_path_buf(),
            connector: screen.connector,
            crtc: screen.crtc,
            previous,
            buffer,
            framebuffer,
            layout,
            image: RgbImage::new(Size::new(width, height)),
        };
        output.clear()?;
        output
            .card
            .set_crtc(
                output.crtc,
                Some(output.framebuffer),
                (0, 0),
                &[output.connector],
                Some(screen.mode),
            )
            .map_err(|e| set_crtc_error(path, e))?;
        info!(
            card = %path.display(),
            connector = %screen.name,
            width,
            height,
            refresh_hz = screen.mode.vrefresh(),
            pitch = layout.pitch(),
            "HDMI picture output ready"
        );
        Ok(output)
    }

    /// The card node this output drives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies the composed image into the scanned-out buffer.
    fn present(&mut self) -> Result<(), HardwareError> {
        let path = &self.path;
        let mut map = self
            .card
            .map_dumb_buffer(&mut self.buffer)
            .map_err(|e| HardwareError::from_io(e, path, DeviceKind::Drm))?;
        let size = (self.image.width(), self.image.height());
        self.layout
            .write_rgb(&mut map, self.image.data(), size, (0, 0))
            .map_err(|e| layout_error(path, e))?;
        drop(map);
        self.mark_dirty();
        Ok(())
    }

    /// Tells drivers that only scan out on request (USB and virtual displays) that the
    /// whole screen changed; the Pi's vc4 scans out continuously and does not need it.
    fn mark_dirty(&self) {
        let clip = ClipRect::new(
            0,
            0,
            u16::try_from(self.layout.width()).unwrap_or(u16::MAX),
            u16::try_from(self.layout.height()).unwrap_or(u16::MAX),
        );
        if let Err(e) = self.card.dirty_framebuffer(self.framebuffer, &[clip]) {
            debug!(error = %e, "DIRTYFB not needed or not supported");
        }
    }
}

impl PictureOutput for DrmOutput {
    fn size(&self) -> Size {
        Size::new(self.layout.width(), self.layout.height())
    }

    fn show(&mut self, frame: &I420Frame, who: &str) -> Result<(), HardwareError> {
        compose(frame, who, &mut self.image);
        self.present()
    }

    fn clear(&mut self) -> Result<(), HardwareError> {
        self.image.fill_black();
        self.present()
    }
}

impl Drop for DrmOutput {
    fn drop(&mut self) {
        if let Some(previous) = &self.previous {
            let restored = self.card.set_crtc(
                self.crtc,
                previous.framebuffer(),
                previous.position(),
                &[self.connector],
                previous.mode(),
            );
            if let Err(e) = restored {
                warn!(card = %self.path.display(), error = %e, "could not restore the screen");
            }
        }
        if let Err(e) = self.card.destroy_framebuffer(self.framebuffer) {
            warn!(card = %self.path.display(), error = %e, "could not remove the framebuffer");
        }
        if let Err(e) = self.card.destroy_dumb_buffer(self.buffer) {
            warn!(card = %self.path.display(), error = %e, "could not free the dumb buffer");
        }
    }
}

/// A connected display: its connector, the CRTC to drive it and the chosen mode.
struct ConnectedDisplay {
    connector: connector::Handle,
    name: String,
    crtc: crtc::Handle,
    mode: Mode,
}

/// The first connected connector with modes and a CRTC that can drive it.
fn find_display(card: &Card, resources: &ResourceHandles) -> io::Result<Option<ConnectedDisplay>> {
    for &handle in resources.connectors() {
        let info = card.get_connector(handle, true)?;
        if info.state() != connector::State::Connected || info.modes().is_empty() {
            continue;
        }
        let name = format!("{}-{}", info.interface().as_str(), info.interface_id());
        let modes: Vec<ModeInfo> = info.modes().iter().map(mode_info).collect();
        let Some(mode) = choose_mode(&modes).map(|i| info.modes()[i]) else {
            continue;
        };
        let Some(crtc) = find_crtc(card, resources, &info)? else {
            debug!(connector = %name, "connected, but no CRTC can drive it");
            continue;
        };
        return Ok(Some(ConnectedDisplay {
            connector: handle,
            name,
            crtc,
            mode,
        }));
    }
    Ok(None)
}

/// The CRTC the connector's current encoder uses, else the first one any of its
/// encoders can use.
fn find_crtc(
    card: &Card,
    resources: &ResourceHandles,
    info: &connector::Info,
) -> io::Result<Option<crtc::Handle>> {
    if let Some(encoder) = info.current_encoder() {
        if let Some(crtc) = card.get_encoder(encoder)?.crtc() {
            return Ok(Some(crtc));
        }
    }
    for &encoder in info.encoders() {
        let encoder = card.get_encoder(encoder)?;
        if let Some(&crtc) = resources.filter_crtcs(encoder.possible_crtcs()).first() {
            return Ok(Some(crtc));
        }
    }
    Ok(None)
}

/// What [`choose_mode`] needs to know about a DRM mode.
fn mode_info(mode: &Mode) -> ModeInfo {
    let (width, height) = mode.size();
    ModeInfo {
        width: u32::from(width),
        height: u32::from(height),
        refresh_hz: mode.vrefresh(),
        preferred: mode.mode_type().contains(ModeTypeFlags::PREFERRED),
    }
}

fn layout_error(path: &Path, e: LayoutError) -> HardwareError {
    HardwareError::Unsupported {
        device: path.to_path_buf(),
        reason: format!("its dumb buffer has an unexpected layout ({e})"),
        fix: "report this with the output of `modetest -c`".into(),
    }
}

/// Setting the CRTC is refused with EACCES/EPERM when another program (a desktop, a
/// login manager) is DRM master, which group membership does not fix.
fn set_crtc_error(path: &Path, e: io::Error) -> HardwareError {
    match e.kind() {
        io::ErrorKind::PermissionDenied => HardwareError::Unsupported {
            device: path.to_path_buf(),
            reason: "another program (a desktop or login screen) is driving the display".into(),
            fix: "boot to the console instead (`sudo systemctl set-default multi-user.target` \
                  and reboot)"
                .into(),
        },
        _ => HardwareError::from_io(e, path, DeviceKind::Drm),
    }
}
