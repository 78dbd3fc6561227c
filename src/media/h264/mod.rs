//! H.264: the encoder seam, the openh264 encoder and decoder, and Annex-B helpers.
//!
//! Everything here speaks Annex-B (start-code delimited) access units, one per frame,
//! constrained baseline, because that is what WebRTC peers (Chromium, aiortc) accept
//! with `packetization-mode=1`.

pub mod annexb;
mod decoder;
mod openh264_encoder;
mod video_encoder;

pub use annexb::SpsInfo;
pub use decoder::H264Decoder;
pub use openh264_encoder::{H264Config, OpenH264Encoder};
pub use video_encoder::{EncodedVideo, VideoEncoder};
