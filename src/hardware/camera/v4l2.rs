//! The real camera (feature `hardware`): a V4L2 capture node, negotiated, streamed
//! through memory-mapped buffers and converted to I420.
//!
//! Opened through [`V4l2Opener`] by a [`ResilientCamera`](super::resilient::ResilientCamera),
//! which reopens it after an unplug. Stale frames are dropped after a pause (the driver
//! keeps the oldest ones), so a viewer who arrives sees now, not the past.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::{debug, info};
use v4l::v4l2::vidioc;
use v4l::v4l_sys as sys;

use super::convert::{i420_to_i420, nv12_to_i420, yuyv_to_i420};
use super::detect::{self, classify, NodeInfo, NodeKind};
use super::format::{describe, negotiate, Choice, Offer, PixelFormat, Wanted};
use super::resilient::CameraOpener;
use crate::hardware::error::DeviceKind;
use crate::hardware::v4l2::timestamp::capture_instant;
use crate::hardware::v4l2::{Device, FrameSizes, MmapQueue, CAPTURE};
use crate::hardware::HardwareError;
use crate::media::jpeg::mjpeg_to_i420;
use crate::media::{I420Frame, MediaError, VideoCapture, VideoFormat};

/// Buffers in the capture queue.
const BUFFERS: u32 = 4;
/// How long `next_frame` waits for the driver.
const FRAME_TIMEOUT_MS: i32 = 1000;

/// Opens `[video] device` (or the first camera for `auto`) at the wanted format.
#[derive(Debug, Clone)]
pub struct V4l2Opener {
    device: String,
    wanted: VideoFormat,
}

impl V4l2Opener {
    /// For `device` (`auto` or a path) at `wanted`.
    pub fn new(device: &str, wanted: VideoFormat) -> Self {
        V4l2Opener {
            device: device.to_string(),
            wanted,
        }
    }
}

impl CameraOpener for V4l2Opener {
    fn open(&mut self) -> Result<Box<dyn VideoCapture>, HardwareError> {
        let path = if self.device == "auto" {
            detect::pick_camera(&list_nodes())?
        } else {
            PathBuf::from(&self.device)
        };
        Ok(Box::new(V4l2Camera::open(&path, self.wanted)?))
    }
}

/// Every `/dev/video*` node that answers `VIDIOC_QUERYCAP`.
pub fn list_nodes() -> Vec<NodeInfo> {
    detect::video_nodes()
        .into_iter()
        .filter_map(|path| {
            let dev = Device::open(&path, DeviceKind::Camera).ok()?;
            let caps = dev.caps().ok()?;
            Some(NodeInfo {
                path,
                driver: caps.driver,
                card: caps.card,
                caps: caps.caps,
            })
        })
        .collect()
}

/// Everything the camera offers, one [`Offer`] per format and size; a stepwise range
/// becomes the wanted size clamped into it.
pub fn offers(dev: &Device, wanted: Wanted) -> std::io::Result<Vec<Offer>> {
    let mut out = Vec::new();
    for fourcc in dev.formats(CAPTURE)? {
        let sizes = match dev.frame_sizes(fourcc)? {
            FrameSizes::Discrete(sizes) => sizes,
            FrameSizes::Stepwise { min, max, step } => {
                let fit = |want: u32, lo: u32, hi: u32, step: u32| {
                    let v = want.clamp(lo, hi);
                    lo + (v - lo) / step * step
                };
                vec![(
                    fit(wanted.width, min.0, max.0, step.0),
                    fit(wanted.height, min.1, max.1, step.1),
                )]
            }
        };
        for (width, height) in sizes {
            let fps = dev.frame_rates(fourcc, width, height);
            out.push(Offer {
                fourcc,
                width,
                height,
                fps,
            });
        }
    }
    Ok(out)
}

/// A streaming V4L2 camera.
#[derive(Debug)]
pub struct V4l2Camera {
    queue: MmapQueue,
    dev: Device,
    choice: Choice,
    stride: usize,
    last_call: Option<Instant>,
    /// When the driver stamped the last frame (monotonic clock only).
    taken: Option<Instant>,
}

fn capture_error(path: &Path, what: &str, e: std::io::Error) -> MediaError {
    MediaError::Capture(format!("{}: {what}: {e}", path.display()))
}

impl V4l2Camera {
    /// Opens, negotiates and starts streaming.
    pub fn open(path: &Path, wanted: VideoFormat) -> Result<V4l2Camera, HardwareError> {
        let dev = Device::open(path, DeviceKind::Camera)?;
        let io = |e| HardwareError::from_io(e, path, DeviceKind::Camera);
        let caps = dev.caps().map_err(io)?;
        let node = NodeInfo {
            path: path.to_path_buf(),
            driver: caps.driver.clone(),
            card: caps.card.clone(),
            caps: caps.caps,
        };
        match classify(&node) {
            NodeKind::Camera => {}
            NodeKind::CsiRaw => {
                return Err(HardwareError::CsiNeedsLibcamera {
                    device: path.to_path_buf(),
                    driver: caps.driver,
                })
            }
            NodeKind::Other => {
                return Err(HardwareError::Unsupported {
                    device: path.to_path_buf(),
                    reason: format!("it is not a camera (driver {})", caps.driver),
                    fix: "set `[video] device` to the camera's node (`v4l2-ctl --list-devices`) \
                          or to \"auto\""
                        .into(),
                })
            }
        }
        let want = Wanted {
            width: wanted.width,
            height: wanted.height,
            fps: wanted.fps,
        };
        let offered = offers(&dev, want).map_err(io)?;
        let mut choice = negotiate(&offered, want).ok_or_else(|| HardwareError::Unsupported {
            device: path.to_path_buf(),
            reason: format!("it offers only {}", describe(&offered)),
            fix: "use a camera that offers YUYV, NV12, YU12 or MJPEG (most USB webcams do)".into(),
        })?;

        // SAFETY: plain C structure; all-zero is a valid value.
        let mut fmt: sys::v4l2_format = unsafe { std::mem::zeroed() };
        fmt.type_ = CAPTURE;
        // `pix` is the member for single-planar capture.
        fmt.fmt.pix.width = choice.width;
        fmt.fmt.pix.height = choice.height;
        fmt.fmt.pix.pixelformat = u32::from_le_bytes(choice.format.fourcc());
        fmt.fmt.pix.field = sys::v4l2_field_V4L2_FIELD_NONE;
        dev.ioctl(vidioc::VIDIOC_S_FMT, &mut fmt).map_err(io)?;
        // SAFETY: the driver filled `pix`.
        let pix = unsafe { fmt.fmt.pix };
        let got = PixelFormat::from_fourcc(pix.pixelformat.to_le_bytes());
        match got {
            Some(format) if pix.width % 2 == 0 && pix.height % 2 == 0 => {
                choice.format = format;
                choice.width = pix.width;
                choice.height = pix.height;
            }
            _ => {
                return Err(HardwareError::Unsupported {
                    device: path.to_path_buf(),
                    reason: format!(
                        "it switched to {:?} {}x{}",
                        String::from_utf8_lossy(&pix.pixelformat.to_le_bytes()),
                        pix.width,
                        pix.height
                    ),
                    fix: "pick another size in `[video]`".into(),
                })
            }
        }
        if let Err(e) = dev.set_fps(CAPTURE, choice.fps) {
            debug!("camera does not take a frame rate: {e}");
        }
        let queue = MmapQueue::new(&dev, CAPTURE, BUFFERS).map_err(io)?;
        for i in 0..queue.len() {
            queue.queue(&dev, i, 0).map_err(io)?;
        }
        queue.stream_on(&dev).map_err(io)?;
        info!(
            device = %path.display(),
            card = %caps.card,
            format = %choice.format,
            width = choice.width,
            height = choice.height,
            fps = choice.fps,
            "camera streaming"
        );
        Ok(V4l2Camera {
            queue,
            dev,
            stride: pix.bytesperline as usize,
            choice,
            last_call: None,
            taken: None,
        })
    }

    fn period(&self) -> Duration {
        Duration::from_secs(1) / self.choice.fps.max(1)
    }

    /// Dequeues the next filled buffer, converts it and gives the buffer back.
    fn take(&mut self) -> Result<I420Frame, MediaError> {
        let path = self.dev.path().to_path_buf();
        let ready = self
            .dev
            .poll(libc::POLLIN, FRAME_TIMEOUT_MS)
            .map_err(|e| capture_error(&path, "waiting for a frame", e))?;
        if !ready {
            return Err(MediaError::Capture(format!(
                "{}: no frame for a second",
                path.display()
            )));
        }
        let d = self
            .queue
            .dequeue(&self.dev)
            .map_err(|e| capture_error(&path, "VIDIOC_DQBUF", e))?;
        self.taken = capture_instant(d.flags, d.timestamp);
        let result = self.convert(&self.queue.data(d.index)[..d.bytes_used]);
        self.queue
            .queue(&self.dev, d.index, 0)
            .map_err(|e| capture_error(&path, "VIDIOC_QBUF", e))?;
        result
    }

    fn convert(&self, data: &[u8]) -> Result<I420Frame, MediaError> {
        let (w, h) = (self.choice.width, self.choice.height);
        let stride = self.stride;
        match self.choice.format {
            PixelFormat::Yuyv => yuyv_to_i420(data, w, h, stride.max(w as usize * 2)),
            PixelFormat::Nv12 => nv12_to_i420(data, w, h, stride.max(w as usize)),
            PixelFormat::I420 => i420_to_i420(data, w, h, stride.max(w as usize)),
            PixelFormat::Mjpeg => mjpeg_to_i420(data),
        }
    }

    /// After a pause the queue holds old frames: hand them back unread.
    fn drop_stale(&mut self) -> Result<(), MediaError> {
        let path = self.dev.path().to_path_buf();
        for _ in 0..self.queue.len() {
            let ready = self
                .dev
                .poll(libc::POLLIN, 0)
                .map_err(|e| capture_error(&path, "poll", e))?;
            if !ready {
                break;
            }
            let d = self
                .queue
                .dequeue(&self.dev)
                .map_err(|e| capture_error(&path, "VIDIOC_DQBUF", e))?;
            self.queue
                .queue(&self.dev, d.index, 0)
                .map_err(|e| capture_error(&path, "VIDIOC_QBUF", e))?;
        }
        Ok(())
    }
}

impl VideoCapture for V4l2Camera {
    fn format(&self) -> VideoFormat {
        VideoFormat {
            width: self.choice.width,
            height: self.choice.height,
            fps: self.choice.fps,
        }
    }

    fn next_frame(&mut self) -> Result<I420Frame, MediaError> {
        let paused = self
            .last_call
            .is_some_and(|t| t.elapsed() > self.period() * 3);
        if paused {
            self.drop_stale()?;
        }
        let frame = self.take();
        self.last_call = Some(Instant::now());
        frame
    }

    /// The driver's stamp of the last frame, when it stamps on the monotonic clock.
    fn last_capture_time(&self) -> Option<Instant> {
        self.taken
    }
}

impl Drop for V4l2Camera {
    fn drop(&mut self) {
        // Unplugged devices refuse this; the buffers go with the descriptor anyway.
        let _ = self.queue.stream_off(&self.dev);
    }
}
