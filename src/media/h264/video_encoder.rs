//! The hardware seam for video encoders, and what they produce.
//!
//! openh264 in software is the encoder today; a Raspberry Pi hardware encoder (V4L2 M2M)
//! may come later. Both sit behind [`VideoEncoder`] so the pipeline and the WebRTC side
//! never care which one is in use.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::media::{I420Frame, MediaError};

/// One encoded H.264 access unit (one frame), ready to packetize into RTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedVideo {
    /// Annex-B byte stream (start codes included). Keyframes start with SPS and PPS.
    pub data: Bytes,
    /// True for an IDR frame, which a new viewer can start decoding from.
    pub keyframe: bool,
    /// Position in the stream: 0, 1, 2, … A [`VideoPipeline`](crate::media::VideoPipeline)
    /// renumbers to its own publish order, so there are no gaps for subscribers.
    pub sequence: u64,
    /// When the frame was captured (the encoder uses the time it was handed the frame; a
    /// pipeline overwrites it with the capture time). Use it for RTP timestamps.
    pub captured_at: Instant,
    /// Nominal display duration (one frame period).
    pub duration: Duration,
    /// Temporal layer: 0 for the base layer, which every other frame of it
    /// and of the upper layers may reference; a frame of layer 1 or above is
    /// referenced by none, so a viewer whose path is too slow may be sent
    /// the base layer alone. Encoders without layers say 0.
    pub temporal_layer: u8,
}

/// Something that turns I420 frames into H.264 access units.
///
/// Implementations must emit constrained-baseline H.264 (profile_idc 66 with
/// constraint_set1) at most level 3.1 for sizes up to 1280×720 at 30 fps, one access
/// unit per call, in Annex-B form with SPS and PPS before every IDR.
pub trait VideoEncoder: Send {
    /// Encodes one frame. `force_keyframe` makes this frame an IDR. Returns `Ok(None)`
    /// if the encoder decided to drop the frame (rate control).
    fn encode(
        &mut self,
        frame: &I420Frame,
        force_keyframe: bool,
    ) -> Result<Option<EncodedVideo>, MediaError>;

    /// The weakest viewer's path estimate (bits per second), or `None`
    /// when no viewer has one; an encoder that can follows it
    /// ([`crate::media::rate`]). Called before every frame.
    fn follow_estimate(&mut self, _weakest: Option<u64>) {}

    /// Whether to make temporal layers (see [`EncodedVideo::temporal_layer`]):
    /// on while the viewers' paths are far apart ([`crate::media::rate::Layering`]).
    /// Called before every frame; an encoder that cannot ignores it.
    fn use_temporal_layers(&mut self, _on: bool) {}
}

impl<T: VideoEncoder + ?Sized> VideoEncoder for Box<T> {
    fn encode(
        &mut self,
        frame: &I420Frame,
        force_keyframe: bool,
    ) -> Result<Option<EncodedVideo>, MediaError> {
        (**self).encode(frame, force_keyframe)
    }
    fn follow_estimate(&mut self, weakest: Option<u64>) {
        (**self).follow_estimate(weakest)
    }
    fn use_temporal_layers(&mut self, on: bool) {
        (**self).use_temporal_layers(on)
    }
}
