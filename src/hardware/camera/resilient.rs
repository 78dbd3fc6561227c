//! A camera that survives being unplugged.
//!
//! [`ResilientCamera`] wraps whatever opens the real device. When a frame fails it drops
//! the device, shows the "camera unavailable" picture at a low rate so sessions stay up,
//! and tries to reopen with a backoff (doubling from 250 ms to 5 s). When the camera comes
//! back — even at another size — frames are scaled to the size the encoder was built for.
//! Time comes from a [`Clock`], so tests replay unplug/replug without waiting.

use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::convert::scale_i420;
use super::unavailable::unavailable_frame;
use crate::hardware::HardwareError;
use crate::media::{I420Frame, MediaError, VideoCapture, VideoFormat};

/// Opens the real camera; called again after every failure.
pub trait CameraOpener: Send {
    /// Opens the device, or says why not.
    fn open(&mut self) -> Result<Box<dyn VideoCapture>, HardwareError>;
}

/// Time, injectable for tests.
pub trait Clock: Send {
    /// The current time.
    fn now(&self) -> Instant;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration);
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// First wait before reopening.
pub const FIRST_RETRY: Duration = Duration::from_millis(250);
/// Longest wait between reopen attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(5);
/// Time between two "unavailable" frames (5 fps keeps the session alive cheaply).
pub const UNAVAILABLE_PERIOD: Duration = Duration::from_millis(200);

/// A camera that reopens its device after errors; see the module documentation.
pub struct ResilientCamera<C: Clock = SystemClock> {
    opener: Box<dyn CameraOpener>,
    clock: C,
    format: VideoFormat,
    camera: Option<Box<dyn VideoCapture>>,
    retry_at: Instant,
    backoff: Duration,
    placeholder: I420Frame,
    /// Whether the last frame came from the camera (not the placeholder).
    from_camera: bool,
    reopened: u64,
}

impl<C: Clock> std::fmt::Debug for ResilientCamera<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResilientCamera")
            .field("format", &self.format)
            .field("open", &self.camera.is_some())
            .field("reopened", &self.reopened)
            .finish()
    }
}

impl<C: Clock> ResilientCamera<C> {
    /// Tries to open the camera once. The format is the camera's if that worked, else
    /// `fallback` (the configured size), and never changes afterwards. A permanent error
    /// (permission, wrong kind of device) is returned; a missing or busy camera is not:
    /// the wrapper shows the placeholder and keeps trying.
    pub fn new(
        mut opener: Box<dyn CameraOpener>,
        fallback: VideoFormat,
        clock: C,
    ) -> Result<Self, HardwareError> {
        let now = clock.now();
        let (camera, format) = match opener.open() {
            Ok(camera) => {
                let format = camera.format();
                (Some(camera), format)
            }
            Err(e) if e.is_permanent() => return Err(e),
            Err(e) => {
                warn!("camera not available yet, showing a placeholder: {e}");
                (None, fallback)
            }
        };
        let placeholder =
            unavailable_frame(format.width, format.height).map_err(|e| HardwareError::Config {
                key: "video.width/height".into(),
                reason: e.to_string(),
            })?;
        Ok(ResilientCamera {
            opener,
            clock,
            format,
            camera,
            retry_at: now + FIRST_RETRY,
            backoff: FIRST_RETRY,
            placeholder,
            from_camera: false,
            reopened: 0,
        })
    }

    /// Whether a real camera is delivering frames right now.
    pub fn is_available(&self) -> bool {
        self.camera.is_some()
    }

    /// How many times the camera was reopened after a failure.
    pub fn reopen_count(&self) -> u64 {
        self.reopened
    }

    fn lost(&mut self, why: &dyn std::fmt::Display) {
        warn!("camera lost ({why}); showing \"camera unavailable\" and retrying");
        self.camera = None;
        self.backoff = FIRST_RETRY;
        self.retry_at = self.clock.now() + FIRST_RETRY;
    }

    fn try_reopen(&mut self) {
        if self.clock.now() < self.retry_at {
            return;
        }
        match self.opener.open() {
            Ok(camera) => {
                info!(format = ?camera.format(), "camera is back");
                self.camera = Some(camera);
                self.backoff = FIRST_RETRY;
                self.reopened += 1;
            }
            Err(e) => {
                self.backoff = (self.backoff * 2).min(MAX_RETRY);
                self.retry_at = self.clock.now() + self.backoff;
                if e.is_permanent() {
                    warn!("camera cannot be reopened: {e}");
                }
            }
        }
    }
}

impl<C: Clock> VideoCapture for ResilientCamera<C> {
    fn format(&self) -> VideoFormat {
        self.format
    }

    fn next_frame(&mut self) -> Result<I420Frame, MediaError> {
        if self.camera.is_none() {
            self.try_reopen();
        }
        self.from_camera = false;
        if let Some(camera) = self.camera.as_mut() {
            let frame = camera.next_frame();
            self.from_camera = frame.is_ok();
            match frame {
                Ok(frame)
                    if frame.width() == self.format.width
                        && frame.height() == self.format.height =>
                {
                    return Ok(frame)
                }
                Ok(frame) => return scale_i420(&frame, self.format.width, self.format.height),
                Err(e) => self.lost(&e),
            }
        }
        self.clock.sleep(UNAVAILABLE_PERIOD);
        Ok(self.placeholder.clone())
    }

    /// The camera's time for its frames; none for the placeholder.
    fn last_capture_time(&self) -> Option<Instant> {
        self.camera
            .as_ref()
            .filter(|_| self.from_camera)
            .and_then(|c| c.last_capture_time())
    }
}
