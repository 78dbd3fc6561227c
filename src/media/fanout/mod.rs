//! Encode once, fan out: one capture+encode thread per stream, any number of viewers.
//!
//! A Raspberry Pi can afford one H.264 encode of the camera, not one per viewer, so a
//! [`VideoPipeline`] owns the camera and the encoder, runs them on a dedicated thread
//! (capture blocks) and broadcasts every access unit as an `Arc` to all subscribers.
//! Subscribers steer it: subscribing or [`request_keyframe`](PipelineControl::request_keyframe)
//! asks for an IDR on the next frame (many requests coalesce into one),
//! [`set_paused`](PipelineControl::set_paused) is the privacy switch (no frame leaves
//! after it returns; resuming starts with an IDR), and with no subscribers the thread
//! idles instead of encoding for nobody. [`next_raw`](PipelineControl::next_raw) hands
//! out the next captured frame before encoding (a snapshot needs no H.264 round trip),
//! waking an idle pipeline for one capture. Camera errors are logged and retried with
//! backoff; the thread ends when the pipeline is dropped. [`AudioPipeline`] does the same
//! for the microphone and Opus.

mod audio;
mod backoff;
mod hub;
mod thread;
mod video;

use std::time::{Duration, Instant};

pub use audio::AudioPipeline;
pub use hub::{PipelineControl, Subscriber};
pub use video::VideoPipeline;

use crate::media::{EncodedAudio, EncodedVideo};

/// Control handle of a video pipeline (cheap to clone, usable from any task).
pub type VideoControl = PipelineControl<EncodedVideo>;
/// Control handle of an audio pipeline.
pub type AudioControl = PipelineControl<EncodedAudio>;
/// A viewer's feed of encoded video.
pub type VideoSubscriber = Subscriber<EncodedVideo>;
/// A listener's feed of encoded audio.
pub type AudioSubscriber = Subscriber<EncodedAudio>;

/// Tuning knobs of a pipeline; the defaults suit production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineOptions {
    /// Packets buffered per subscriber before a slow one starts losing them (it then
    /// skips to the next keyframe and asks for one).
    pub channel_capacity: usize,
    /// First wait after a capture or encode error.
    pub initial_backoff: Duration,
    /// Longest wait between retries (the wait doubles after each failure up to this).
    pub max_backoff: Duration,
}

impl Default for PipelineOptions {
    /// 64 packets, backoff from 100 ms doubling to 5 s.
    fn default() -> Self {
        Self {
            channel_capacity: 64,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Counters of a pipeline, for health checks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Frames (or audio packets) the encoder produced: once per frame, however many
    /// subscribers there are.
    pub frames_encoded: u64,
    /// Of those, keyframes (IDRs); always 0 for audio.
    pub keyframes_encoded: u64,
    /// Frames handed to subscribers (encoded frames minus those dropped by a pause
    /// that arrived mid-encode).
    pub frames_published: u64,
    /// Failed capture attempts since start.
    pub capture_errors: u64,
    /// Failed encode attempts since start.
    pub encode_errors: u64,
}

/// What a pipeline needs to know about the packets it broadcasts.
pub trait MediaPacket: Send + Sync + 'static {
    /// What the source captures before encoding (a raw frame, or PCM).
    type Raw: Send + Sync + 'static;
    /// Whether a new subscriber can start decoding at this packet.
    fn is_keyframe(&self) -> bool;
    /// Sets the packet's position in the published stream.
    fn set_sequence(&mut self, sequence: u64);
    /// Sets when the source data was captured.
    fn set_captured_at(&mut self, at: Instant);
}

impl MediaPacket for EncodedVideo {
    type Raw = crate::media::I420Frame;
    fn is_keyframe(&self) -> bool {
        self.keyframe
    }
    fn set_sequence(&mut self, sequence: u64) {
        self.sequence = sequence;
    }
    fn set_captured_at(&mut self, at: Instant) {
        self.captured_at = at;
    }
}

impl MediaPacket for EncodedAudio {
    type Raw = crate::media::AudioFrame;
    /// Every Opus packet can start a stream.
    fn is_keyframe(&self) -> bool {
        true
    }
    fn set_sequence(&mut self, sequence: u64) {
        self.sequence = sequence;
    }
    fn set_captured_at(&mut self, at: Instant) {
        self.captured_at = at;
    }
}
