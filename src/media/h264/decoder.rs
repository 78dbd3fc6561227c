//! Software H.264 decoding with openh264, for the receiving side and for tests.
//!
//! Decoded pictures come out of openh264 with padded rows; this copies them into a
//! packed [`I420Frame`] so the rest of Hearth sees one picture type.

use openh264::decoder::{DecodedYUV, Decoder, DecoderConfig};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

use crate::media::{I420Frame, MediaError};

/// Decodes Annex-B H.264 access units into I420 frames.
pub struct H264Decoder {
    inner: Decoder,
}

impl std::fmt::Debug for H264Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Decoder").finish_non_exhaustive()
    }
}

impl H264Decoder {
    /// Creates a decoder.
    pub fn new() -> Result<Self, MediaError> {
        let inner = Decoder::with_api_config(OpenH264API::from_source(), DecoderConfig::new())
            .map_err(|e| MediaError::Decode(format!("could not create openh264 decoder: {e}")))?;
        Ok(Self { inner })
    }

    /// Decodes one access unit (one or more NAL units with start codes). Returns the
    /// picture, or `None` if the decoder needs more data first (e.g. only SPS/PPS given).
    pub fn decode(&mut self, access_unit: &[u8]) -> Result<Option<I420Frame>, MediaError> {
        match self.inner.decode(access_unit) {
            Ok(Some(yuv)) => pack(&yuv).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(MediaError::Decode(e.to_string())),
        }
    }
}

/// Copies a decoded picture row by row into a packed I420 frame.
fn pack(yuv: &DecodedYUV<'_>) -> Result<I420Frame, MediaError> {
    let (w, h) = yuv.dimensions();
    let (sy, su, sv) = yuv.strides();
    let mut data = Vec::with_capacity(I420Frame::byte_len(w as u32, h as u32));
    for (plane, stride, pw, ph) in [
        (yuv.y(), sy, w, h),
        (yuv.u(), su, w / 2, h / 2),
        (yuv.v(), sv, w / 2, h / 2),
    ] {
        for row in 0..ph {
            let start = row * stride;
            let line = plane.get(start..start + pw).ok_or_else(|| {
                MediaError::Decode("decoded plane is smaller than its stride says".into())
            })?;
            data.extend_from_slice(line);
        }
    }
    I420Frame::new(w as u32, h as u32, data)
}
