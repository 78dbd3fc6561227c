//! Media for Hearth: where pictures and sound come from and how they are compressed.
//!
//! - [`capture`]: the camera/microphone traits real hardware backends implement, with
//!   simulated devices in [`test_pattern`] and [`tone`] so everything runs on a laptop.
//! - [`frame_number`]: a frame counter drawn into the picture that survives H.264, for
//!   glass-to-glass latency measurements.
//! - [`h264`] and [`opus`]: the codecs, configured for WebRTC peers (constrained
//!   baseline H.264 in Annex-B, 20 ms mono Opus).
//! - [`fanout`]: encode once on a dedicated thread and broadcast to every viewer.

pub mod capture;
mod error;
pub mod fanout;
pub mod frame;
pub mod frame_number;
pub mod h264;
pub mod jpeg;
pub mod opus;
mod pacer;
pub mod rate;
pub mod test_pattern;
pub mod tone;

pub use capture::{
    AudioCapture, AudioFrame, VideoCapture, VideoFormat, AUDIO_FRAME_DURATION, AUDIO_FRAME_SAMPLES,
    AUDIO_SAMPLE_RATE,
};
pub use error::MediaError;
pub use fanout::{
    AudioControl, AudioPipeline, AudioSubscriber, PipelineOptions, PipelineStats, VideoControl,
    VideoPipeline, VideoSubscriber,
};
pub use frame::I420Frame;
pub use frame_number::{read_frame_number, stamp_frame_number};
pub use h264::{EncodedVideo, H264Config, H264Decoder, OpenH264Encoder, SpsInfo, VideoEncoder};
pub use opus::{EncodedAudio, OpusConfig, OpusDecoder, OpusEncoder, OpusMode};
pub use pacer::Pacer;
pub use test_pattern::{TestPattern, TestPatternCamera};
pub use tone::{ToneGenerator, ToneMicrophone};
