//! Memory-mapped V4L2 buffer queues, single- or multi-planar (one plane).

use std::io;
use std::time::Duration;

use v4l::v4l2::vidioc;
use v4l::v4l_sys as sys;

use super::{is_mplane, Device};

/// One buffer mapped into our address space.
#[derive(Debug)]
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this queue; it is only touched
// through &self/&mut self of the queue that owns it.
unsafe impl Send for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

/// A buffer handed back by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dequeued {
    /// Which buffer.
    pub index: usize,
    /// Bytes of data in it.
    pub bytes_used: usize,
    /// `V4L2_BUF_FLAG_*`.
    pub flags: u32,
    /// The driver's timestamp (monotonic clock for cameras).
    pub timestamp: Duration,
}

/// The buffers of one queue (`VIDIOC_REQBUFS` + `mmap`).
#[derive(Debug)]
pub struct MmapQueue {
    buf_type: u32,
    buffers: Vec<Mapping>,
}

fn buffer(buf_type: u32, index: u32, plane: &mut sys::v4l2_plane) -> sys::v4l2_buffer {
    // SAFETY: plain C structure; all-zero is a valid value.
    let mut b: sys::v4l2_buffer = unsafe { std::mem::zeroed() };
    b.type_ = buf_type;
    b.memory = sys::v4l2_memory_V4L2_MEMORY_MMAP;
    b.index = index;
    if is_mplane(buf_type) {
        b.m.planes = plane;
        b.length = 1;
    }
    b
}

impl MmapQueue {
    /// Asks for `count` buffers of `buf_type` and maps them.
    pub fn new(dev: &Device, buf_type: u32, count: u32) -> io::Result<MmapQueue> {
        // SAFETY: plain C structure; all-zero is a valid value.
        let mut req: sys::v4l2_requestbuffers = unsafe { std::mem::zeroed() };
        req.count = count;
        req.type_ = buf_type;
        req.memory = sys::v4l2_memory_V4L2_MEMORY_MMAP;
        dev.ioctl(vidioc::VIDIOC_REQBUFS, &mut req)?;
        if req.count == 0 {
            return Err(io::Error::other("the driver gave no buffers"));
        }
        let mut buffers = Vec::with_capacity(req.count as usize);
        for index in 0..req.count {
            // SAFETY: plain C structure; all-zero is a valid value.
            let mut plane: sys::v4l2_plane = unsafe { std::mem::zeroed() };
            let mut b = buffer(buf_type, index, &mut plane);
            dev.ioctl(vidioc::VIDIOC_QUERYBUF, &mut b)?;
            let (offset, len) = if is_mplane(buf_type) {
                // SAFETY: for MMAP buffers the driver fills mem_offset.
                (unsafe { plane.m.mem_offset }, plane.length)
            } else {
                // SAFETY: for MMAP buffers the driver fills offset.
                (unsafe { b.m.offset }, b.length)
            };
            // SAFETY: maps the driver's buffer as it told us; the result is checked.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    dev.raw_fd(),
                    offset as libc::off_t,
                )
            };
            if ptr == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            buffers.push(Mapping {
                ptr: ptr.cast(),
                len: len as usize,
            });
        }
        Ok(MmapQueue { buf_type, buffers })
    }

    /// Number of buffers.
    pub fn len(&self) -> usize {
        self.buffers.len()
    }

    /// Whether there are none (never after `new` succeeded).
    pub fn is_empty(&self) -> bool {
        self.buffers.is_empty()
    }

    /// The bytes of buffer `index`.
    pub fn data(&self, index: usize) -> &[u8] {
        let m = &self.buffers[index];
        // SAFETY: the mapping is valid for `len` bytes while the queue lives.
        unsafe { std::slice::from_raw_parts(m.ptr, m.len) }
    }

    /// The bytes of buffer `index`, to fill before queueing it.
    pub fn data_mut(&mut self, index: usize) -> &mut [u8] {
        let m = &self.buffers[index];
        // SAFETY: as in `data`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(m.ptr, m.len) }
    }

    /// Hands buffer `index` to the driver (`bytes_used` matters for output queues).
    pub fn queue(&self, dev: &Device, index: usize, bytes_used: usize) -> io::Result<()> {
        // SAFETY: plain C structure; all-zero is a valid value.
        let mut plane: sys::v4l2_plane = unsafe { std::mem::zeroed() };
        plane.bytesused = bytes_used as u32;
        plane.length = self.buffers[index].len as u32;
        let mut b = buffer(self.buf_type, index as u32, &mut plane);
        b.bytesused = bytes_used as u32;
        b.field = sys::v4l2_field_V4L2_FIELD_NONE;
        dev.ioctl(vidioc::VIDIOC_QBUF, &mut b)
    }

    /// Takes a finished buffer back (blocks unless one is ready: poll first).
    pub fn dequeue(&self, dev: &Device) -> io::Result<Dequeued> {
        // SAFETY: plain C structure; all-zero is a valid value.
        let mut plane: sys::v4l2_plane = unsafe { std::mem::zeroed() };
        let mut b = buffer(self.buf_type, 0, &mut plane);
        dev.ioctl(vidioc::VIDIOC_DQBUF, &mut b)?;
        let bytes_used = if is_mplane(self.buf_type) {
            plane.bytesused as usize
        } else {
            b.bytesused as usize
        };
        let index = b.index as usize;
        if index >= self.buffers.len() {
            return Err(io::Error::other(format!("driver returned buffer {index}")));
        }
        let timestamp = Duration::from_secs(b.timestamp.tv_sec.max(0) as u64)
            + Duration::from_micros(b.timestamp.tv_usec.max(0) as u64);
        Ok(Dequeued {
            index,
            bytes_used: bytes_used.min(self.buffers[index].len),
            flags: b.flags,
            timestamp,
        })
    }

    /// Starts streaming (`VIDIOC_STREAMON`).
    pub fn stream_on(&self, dev: &Device) -> io::Result<()> {
        let mut t = self.buf_type;
        dev.ioctl(vidioc::VIDIOC_STREAMON, &mut t)
    }

    /// Stops streaming (`VIDIOC_STREAMOFF`); every buffer returns to us.
    pub fn stream_off(&self, dev: &Device) -> io::Result<()> {
        let mut t = self.buf_type;
        dev.ioctl(vidioc::VIDIOC_STREAMOFF, &mut t)
    }
}
