//! A thin V4L2 layer for the camera and the memory-to-memory encoder (feature
//! `hardware`).
//!
//! Struct layouts and request numbers come from the `v4l` crate (generated from the
//! kernel's `videodev2.h` for the target, so they are right on armv7 as on aarch64), but
//! every call goes through libc's `open`, `ioctl` and `mmap` symbols rather than raw
//! system calls. That matters: `libcamerify` makes a ribbon (CSI) camera look like a
//! normal V4L2 camera by interposing exactly those libc functions with `LD_PRELOAD`, and
//! a program that makes raw system calls (as the `v4l` crate does) slips past it.

pub mod queue;
pub mod timestamp;

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use v4l::v4l2::vidioc;
use v4l::v4l_sys as sys;

use crate::hardware::error::DeviceKind;
use crate::hardware::HardwareError;

pub use queue::{Dequeued, MmapQueue};

/// Buffer type: single-planar capture (cameras).
pub const CAPTURE: u32 = sys::v4l2_buf_type_V4L2_BUF_TYPE_VIDEO_CAPTURE;
/// Buffer type: multi-planar capture (an encoder's coded output).
pub const CAPTURE_MPLANE: u32 = sys::v4l2_buf_type_V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
/// Buffer type: multi-planar output (an encoder's raw input).
pub const OUTPUT_MPLANE: u32 = sys::v4l2_buf_type_V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;

/// Whether `buf_type` is one of the multi-planar types.
pub fn is_mplane(buf_type: u32) -> bool {
    buf_type == CAPTURE_MPLANE || buf_type == OUTPUT_MPLANE
}

/// What `VIDIOC_QUERYCAP` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caps {
    /// Driver name.
    pub driver: String,
    /// Card name.
    pub card: String,
    /// The node's own capabilities.
    pub caps: u32,
}

/// Frame sizes of one pixel format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameSizes {
    /// A list of sizes.
    Discrete(Vec<(u32, u32)>),
    /// Any size in a range, in steps.
    Stepwise {
        /// Smallest (width, height).
        min: (u32, u32),
        /// Largest (width, height).
        max: (u32, u32),
        /// Step (width, height).
        step: (u32, u32),
    },
}

/// An open V4L2 device node.
#[derive(Debug)]
pub struct Device {
    fd: OwnedFd,
    path: PathBuf,
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl Device {
    /// Opens `path` for reading and writing; errors name the fix (group, missing node).
    pub fn open(path: &Path, kind: DeviceKind) -> Result<Device, HardwareError> {
        let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| HardwareError::Config {
            key: "device path".into(),
            reason: format!("{} contains a NUL byte", path.display()),
        })?;
        // SAFETY: `c` is a valid NUL-terminated string; the result is checked.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(HardwareError::from_io(
                io::Error::last_os_error(),
                path,
                kind,
            ));
        }
        // SAFETY: `fd` was just opened and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Device {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The node's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw descriptor (for `mmap`).
    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// One ioctl with a structure argument, retried on EINTR.
    pub fn ioctl<T>(&self, request: vidioc::_IOC_TYPE, arg: &mut T) -> io::Result<()> {
        loop {
            // SAFETY: `arg` is the structure type `request` expects (the callers pair
            // them as videodev2.h does) and lives for the call.
            let r = unsafe { libc::ioctl(self.raw_fd(), request as _, arg as *mut T) };
            if r != -1 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// `VIDIOC_QUERYCAP`.
    pub fn caps(&self) -> io::Result<Caps> {
        // SAFETY: plain C structure; all-zero is a valid value.
        let mut cap: sys::v4l2_capability = unsafe { std::mem::zeroed() };
        self.ioctl(vidioc::VIDIOC_QUERYCAP, &mut cap)?;
        let caps = if cap.capabilities & sys::V4L2_CAP_DEVICE_CAPS != 0 {
            cap.device_caps
        } else {
            cap.capabilities
        };
        Ok(Caps {
            driver: c_string(&cap.driver),
            card: c_string(&cap.card),
            caps,
        })
    }

    /// The pixel formats of a queue (`VIDIOC_ENUM_FMT`).
    pub fn formats(&self, buf_type: u32) -> io::Result<Vec<[u8; 4]>> {
        let mut out = Vec::new();
        for index in 0..64 {
            // SAFETY: plain C structure; all-zero is a valid value.
            let mut desc: sys::v4l2_fmtdesc = unsafe { std::mem::zeroed() };
            desc.index = index;
            desc.type_ = buf_type;
            match self.ioctl(vidioc::VIDIOC_ENUM_FMT, &mut desc) {
                Ok(()) => out.push(desc.pixelformat.to_le_bytes()),
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The frame sizes of a pixel format (`VIDIOC_ENUM_FRAMESIZES`).
    pub fn frame_sizes(&self, fourcc: [u8; 4]) -> io::Result<FrameSizes> {
        let mut sizes = Vec::new();
        for index in 0..64 {
            // SAFETY: plain C structure; all-zero is a valid value.
            let mut e: sys::v4l2_frmsizeenum = unsafe { std::mem::zeroed() };
            e.index = index;
            e.pixel_format = u32::from_le_bytes(fourcc);
            match self.ioctl(vidioc::VIDIOC_ENUM_FRAMESIZES, &mut e) {
                Ok(()) if e.type_ == sys::v4l2_frmsizetypes_V4L2_FRMSIZE_TYPE_DISCRETE => {
                    // SAFETY: the driver filled the discrete member.
                    let d = unsafe { e.__bindgen_anon_1.discrete };
                    sizes.push((d.width, d.height));
                }
                Ok(()) => {
                    // SAFETY: continuous and stepwise both fill the stepwise member.
                    let s = unsafe { e.__bindgen_anon_1.stepwise };
                    return Ok(FrameSizes::Stepwise {
                        min: (s.min_width, s.min_height),
                        max: (s.max_width, s.max_height),
                        step: (s.step_width.max(1), s.step_height.max(1)),
                    });
                }
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(FrameSizes::Discrete(sizes))
    }

    /// Whole frame rates offered at a size; empty when the driver gives a range or
    /// nothing (`VIDIOC_ENUM_FRAMEINTERVALS`).
    pub fn frame_rates(&self, fourcc: [u8; 4], width: u32, height: u32) -> Vec<u32> {
        let mut rates = Vec::new();
        for index in 0..32 {
            // SAFETY: plain C structure; all-zero is a valid value.
            let mut e: sys::v4l2_frmivalenum = unsafe { std::mem::zeroed() };
            e.index = index;
            e.pixel_format = u32::from_le_bytes(fourcc);
            e.width = width;
            e.height = height;
            if self
                .ioctl(vidioc::VIDIOC_ENUM_FRAMEINTERVALS, &mut e)
                .is_err()
                || e.type_ != sys::v4l2_frmivaltypes_V4L2_FRMIVAL_TYPE_DISCRETE
            {
                break;
            }
            // SAFETY: the driver filled the discrete member.
            let f = unsafe { e.__bindgen_anon_1.discrete };
            if let Some(fps) = (f.denominator + f.numerator / 2).checked_div(f.numerator) {
                rates.push(fps);
            }
        }
        rates
    }

    /// Sets one control (`VIDIOC_S_CTRL`).
    pub fn set_control(&self, id: u32, value: i32) -> io::Result<()> {
        // SAFETY: plain C structure; all-zero is a valid value.
        let mut c: sys::v4l2_control = unsafe { std::mem::zeroed() };
        c.id = id;
        c.value = value;
        self.ioctl(vidioc::VIDIOC_S_CTRL, &mut c)
    }

    /// Sets the frame period of a queue to 1/`fps` (`VIDIOC_S_PARM`); best effort.
    pub fn set_fps(&self, buf_type: u32, fps: u32) -> io::Result<()> {
        // SAFETY: plain C structure; all-zero is a valid value.
        let mut parm: sys::v4l2_streamparm = unsafe { std::mem::zeroed() };
        parm.type_ = buf_type;
        let fract = sys::v4l2_fract {
            numerator: 1,
            denominator: fps,
        };
        if buf_type == CAPTURE || buf_type == CAPTURE_MPLANE {
            parm.parm.capture.timeperframe = fract;
        } else {
            parm.parm.output.timeperframe = fract;
        }
        self.ioctl(vidioc::VIDIOC_S_PARM, &mut parm)
    }

    /// Waits up to `timeout_ms` for `events` (`libc::POLLIN`, `POLLOUT`); true if ready.
    pub fn poll(&self, events: i16, timeout_ms: i32) -> io::Result<bool> {
        let mut fds = libc::pollfd {
            fd: self.raw_fd(),
            events,
            revents: 0,
        };
        loop {
            // SAFETY: one valid pollfd for the duration of the call.
            let r = unsafe { libc::poll(&mut fds, 1, timeout_ms) };
            if r >= 0 {
                if fds.revents & libc::POLLERR != 0 {
                    return Err(io::Error::other("device reported an error (unplugged?)"));
                }
                return Ok(r > 0 && fds.revents & events != 0);
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}
