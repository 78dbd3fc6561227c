//! The video pipeline: camera → H.264 encoder → every subscriber, on its own thread.
//!
//! The thread waits (without touching the camera) while paused or unwatched, captures
//! and encodes one frame at a time otherwise, and survives camera and encoder errors by
//! logging and retrying with backoff. See the [module docs](super) for the guarantees.

use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use tracing::{info, warn};

use super::backoff::Backoff;
use super::hub::Hub;
use super::thread::PipelineThread;
use super::{PipelineOptions, VideoControl};
use crate::media::rate::{estimate_to_follow, KeyframePacing, Layering};
use crate::media::{EncodedVideo, MediaError, VideoCapture, VideoEncoder};

/// Owns a camera and an encoder and runs them on a dedicated thread; dereferences to its
/// [`VideoControl`] for subscribing, keyframe requests and the privacy pause. Dropping
/// it stops the thread (waiting for a capture in progress) and closes every feed.
pub struct VideoPipeline {
    control: VideoControl,
    _thread: PipelineThread<EncodedVideo>,
}

impl VideoPipeline {
    /// Starts the pipeline with default [`PipelineOptions`]. It idles until someone
    /// subscribes.
    pub fn start(
        capture: Box<dyn VideoCapture>,
        encoder: Box<dyn VideoEncoder>,
    ) -> Result<Self, MediaError> {
        Self::start_with(capture, encoder, PipelineOptions::default())
    }

    /// Starts the pipeline with the given options.
    pub fn start_with(
        capture: Box<dyn VideoCapture>,
        encoder: Box<dyn VideoEncoder>,
        options: PipelineOptions,
    ) -> Result<Self, MediaError> {
        let hub = Hub::new(options.channel_capacity);
        let format = capture.format();
        let thread = PipelineThread::spawn("video", &hub, move |hub| {
            run(hub, capture, encoder, options)
        })?;
        info!(?format, "video pipeline started");
        Ok(Self {
            control: VideoControl::new(hub),
            _thread: thread,
        })
    }

    /// A clonable handle to control this pipeline from other tasks.
    pub fn control(&self) -> VideoControl {
        self.control.clone()
    }

    /// Stops the thread and waits for it; the same as dropping the pipeline.
    pub fn stop(self) {}
}

impl Deref for VideoPipeline {
    type Target = VideoControl;
    fn deref(&self) -> &VideoControl {
        &self.control
    }
}

fn run(
    hub: Arc<Hub<EncodedVideo>>,
    mut capture: Box<dyn VideoCapture>,
    mut encoder: Box<dyn VideoEncoder>,
    options: PipelineOptions,
) {
    let mut backoff = Backoff::new(options.initial_backoff, options.max_backoff);
    let mut keyframes = KeyframePacing::default();
    let mut layering = Layering::default();
    while hub.wait_until_wanted("video") {
        let frame = match capture.next_frame() {
            Ok(frame) => frame,
            Err(e) => {
                hub.capture_errors.fetch_add(1, Ordering::Relaxed);
                let delay = backoff.next_delay();
                warn!(error = %e, retry_in = ?delay, "camera capture failed; retrying");
                if !hub.sleep(delay) {
                    break;
                }
                continue;
            }
        };
        // The camera's clock when it keeps one (RTP time follows it).
        let captured_at = capture.last_capture_time().unwrap_or_else(Instant::now);
        let frame = Arc::new(frame);
        // Paused or abandoned while we were capturing (or only a raw frame was
        // wanted): drop the frame unencoded.
        let Some(mut force) = hub.begin_encode(&frame) else {
            continue;
        };
        // A keyframe asked for too soon after the last one waits (the request stays).
        if force && !keyframes.may_force(Instant::now()) {
            force = false;
            hub.request_keyframe();
        }
        let (weakest, strongest) = hub.estimate_range();
        let apart = layering.update(weakest, strongest, Instant::now());
        encoder.use_temporal_layers(apart);
        encoder.follow_estimate(estimate_to_follow(weakest, strongest, apart));
        match encoder.encode(&frame, force) {
            Ok(Some(mut encoded)) => {
                backoff.reset();
                hub.frames_encoded.fetch_add(1, Ordering::Relaxed);
                if encoded.keyframe {
                    hub.keyframes_encoded.fetch_add(1, Ordering::Relaxed);
                    keyframes.sent(encoded.data.len(), weakest, Instant::now());
                } else if force {
                    warn!("encoder ignored a keyframe request; asking again");
                    hub.request_keyframe();
                }
                encoded.captured_at = captured_at;
                hub.publish(encoded);
            }
            Ok(None) => {
                backoff.reset();
                if force {
                    hub.request_keyframe();
                }
            }
            Err(e) => {
                hub.encode_errors.fetch_add(1, Ordering::Relaxed);
                hub.request_keyframe();
                let delay = backoff.next_delay();
                warn!(error = %e, retry_in = ?delay, "video encode failed; retrying");
                if !hub.sleep(delay) {
                    break;
                }
            }
        }
    }
}
