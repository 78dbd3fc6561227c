//! The hardware seam for cameras and microphones.
//!
//! The real backends (V4L2, ALSA) are in [`crate::hardware`], behind feature
//! `hardware`; the simulated ones ([`TestPatternCamera`](crate::media::TestPatternCamera),
//! [`ToneMicrophone`](crate::media::ToneMicrophone)) let the whole product run on a
//! laptop, and stand in wherever no hardware is configured. Both traits are blocking on purpose: capture runs on a dedicated
//! thread owned by a pipeline (see [`fanout`](crate::media::fanout)), never on the async
//! runtime.

use std::time::{Duration, Instant};

use crate::media::{I420Frame, MediaError};

/// Audio sample rate used everywhere in Hearth (Opus' native rate).
pub const AUDIO_SAMPLE_RATE: u32 = 48_000;

/// Samples in one 20 ms mono audio frame at 48 kHz.
pub const AUDIO_FRAME_SAMPLES: usize = 960;

/// Duration of one audio frame.
pub const AUDIO_FRAME_DURATION: Duration = Duration::from_millis(20);

/// One 20 ms frame of mono, 48 kHz, signed 16-bit PCM.
pub type AudioFrame = [i16; AUDIO_FRAME_SAMPLES];

/// Size and rate a camera delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VideoFormat {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Nominal frames per second (at least 1).
    pub fps: u32,
}

impl VideoFormat {
    /// Nominal time between two frames.
    pub fn frame_period(&self) -> Duration {
        Duration::from_secs(1) / self.fps.max(1)
    }
}

/// A camera: anything that yields I420 frames.
///
/// Contract for implementations:
/// - `next_frame` blocks until the next frame is ready (about one frame period) and
///   should return within about a second even if the device hangs, so a pipeline can stop.
/// - Calls may be irregular: a pipeline stops calling while nobody watches or while
///   privacy mode is on. After such a gap, return a fresh frame, not a stale queued one.
/// - Errors are not fatal: the pipeline logs them, backs off and calls again, so a
///   backend should try to reopen a vanished device on the next call.
pub trait VideoCapture: Send {
    /// The size and nominal rate of the frames this camera produces.
    fn format(&self) -> VideoFormat;

    /// Blocks until the next frame is available and returns it.
    fn next_frame(&mut self) -> Result<I420Frame, MediaError>;

    /// When the frame [`VideoCapture::next_frame`] last returned was taken,
    /// by the camera's own clock, if it keeps one; `None`: the pipeline uses
    /// the time the frame arrived. RTP time follows it.
    fn last_capture_time(&self) -> Option<Instant> {
        None
    }
}

/// A microphone: anything that yields 20 ms frames of 48 kHz mono PCM.
///
/// The same contract as [`VideoCapture`] applies: blocking, roughly real-time, calls may
/// pause for a while (drop what piled up meanwhile), errors are retried by the caller.
pub trait AudioCapture: Send {
    /// Blocks until the next 20 ms frame is available and returns it.
    fn read_frame(&mut self) -> Result<AudioFrame, MediaError>;
}

impl<T: VideoCapture + ?Sized> VideoCapture for Box<T> {
    fn format(&self) -> VideoFormat {
        (**self).format()
    }
    fn next_frame(&mut self) -> Result<I420Frame, MediaError> {
        (**self).next_frame()
    }
    fn last_capture_time(&self) -> Option<Instant> {
        (**self).last_capture_time()
    }
}

impl<T: AudioCapture + ?Sized> AudioCapture for Box<T> {
    fn read_frame(&mut self) -> Result<AudioFrame, MediaError> {
        (**self).read_frame()
    }
}
