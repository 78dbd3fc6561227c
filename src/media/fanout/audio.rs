//! The audio pipeline: microphone → Opus encoder → every subscriber, on its own thread.
//!
//! The same shape as the [video pipeline](super::VideoPipeline), minus keyframes: every
//! Opus packet stands alone, so a new listener simply starts with the next one.

use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tracing::{info, warn};

use super::backoff::Backoff;
use super::hub::Hub;
use super::thread::PipelineThread;
use super::{AudioControl, PipelineOptions};
use crate::media::{AudioCapture, EncodedAudio, MediaError, OpusEncoder};

/// Owns a microphone and an Opus encoder and runs them on a dedicated thread;
/// dereferences to its [`AudioControl`]. Dropping it stops the thread and closes every
/// feed.
pub struct AudioPipeline {
    control: AudioControl,
    _thread: PipelineThread<EncodedAudio>,
}

impl AudioPipeline {
    /// Starts the pipeline with default [`PipelineOptions`]. It idles until someone
    /// subscribes.
    pub fn start(capture: Box<dyn AudioCapture>, encoder: OpusEncoder) -> Result<Self, MediaError> {
        Self::start_with(capture, encoder, PipelineOptions::default())
    }

    /// Starts the pipeline with the given options.
    pub fn start_with(
        capture: Box<dyn AudioCapture>,
        encoder: OpusEncoder,
        options: PipelineOptions,
    ) -> Result<Self, MediaError> {
        let hub = Hub::new(options.channel_capacity);
        let thread = PipelineThread::spawn("audio", &hub, move |hub| {
            run(hub, capture, encoder, options)
        })?;
        info!("audio pipeline started");
        Ok(Self {
            control: AudioControl::new(hub),
            _thread: thread,
        })
    }

    /// A clonable handle to control this pipeline from other tasks.
    pub fn control(&self) -> AudioControl {
        self.control.clone()
    }

    /// Stops the thread and waits for it; the same as dropping the pipeline.
    pub fn stop(self) {}
}

impl Deref for AudioPipeline {
    type Target = AudioControl;
    fn deref(&self) -> &AudioControl {
        &self.control
    }
}

fn run(
    hub: Arc<Hub<EncodedAudio>>,
    mut capture: Box<dyn AudioCapture>,
    mut encoder: OpusEncoder,
    options: PipelineOptions,
) {
    let mut backoff = Backoff::new(options.initial_backoff, options.max_backoff);
    while hub.wait_until_wanted("audio") {
        let pcm = match capture.read_frame() {
            Ok(pcm) => pcm,
            Err(e) => {
                hub.capture_errors.fetch_add(1, Ordering::Relaxed);
                let delay = backoff.next_delay();
                warn!(error = %e, retry_in = ?delay, "microphone capture failed; retrying");
                if !hub.sleep(delay) {
                    break;
                }
                continue;
            }
        };
        let captured_at = Instant::now();
        let pcm = Arc::new(pcm);
        if hub.begin_encode(&pcm).is_none() {
            continue;
        }
        match encoder.encode(&pcm) {
            Ok(mut packet) => {
                backoff.reset();
                hub.frames_encoded.fetch_add(1, Ordering::Relaxed);
                packet.captured_at = captured_at;
                hub.publish(packet);
            }
            Err(e) => {
                hub.encode_errors.fetch_add(1, Ordering::Relaxed);
                let delay = backoff.next_delay();
                warn!(error = %e, retry_in = ?delay, "Opus encode failed; retrying");
                if !hub.sleep(delay) {
                    break;
                }
            }
        }
    }
}
