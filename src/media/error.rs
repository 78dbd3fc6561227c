//! The one error type of the media module.
//!
//! Every variant says what went wrong *and* what to do about it, because these
//! messages end up in the logs of a camera in someone's living room and whoever
//! reads them needs a next step, not a code.

use thiserror::Error;

/// Everything that can go wrong while capturing, encoding or decoding media.
#[derive(Debug, Error)]
pub enum MediaError {
    /// A frame or configuration has a size the codecs cannot handle.
    #[error(
        "invalid video size {width}x{height}: {reason}; use even dimensions between \
         {min_width}x{min_height} and 3840x2160 (e.g. 320x240, 640x480 or 1280x720)"
    )]
    InvalidSize {
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
        /// Smallest width accepted by the component that complained.
        min_width: u32,
        /// Smallest height accepted by the component that complained.
        min_height: u32,
        /// What exactly is wrong with the size.
        reason: &'static str,
    },

    /// A configuration value is out of range.
    #[error("invalid media configuration: {0}")]
    InvalidConfig(String),

    /// The camera produced no frame (unplugged, busy, or driver error).
    #[error(
        "camera capture failed: {0}; check that the camera is connected, that no other \
         program holds /dev/video*, and that the `hearth` user is in the `video` group"
    )]
    Capture(String),

    /// The microphone produced no audio.
    #[error(
        "audio capture failed: {0}; check that the microphone is connected and that the \
         `hearth` user is in the `audio` group"
    )]
    AudioCapture(String),

    /// The H.264 encoder rejected a frame or its configuration.
    #[error(
        "H.264 encoder error: {0}; the next frame will be a keyframe; if this repeats, lower \
         the resolution or bitrate"
    )]
    Encode(String),

    /// The H.264 decoder could not decode an access unit.
    #[error(
        "H.264 decoder error: {0}; request a keyframe (PLI) from the sender and keep \
         feeding access units"
    )]
    Decode(String),

    /// The Opus codec failed.
    #[error("Opus error: {0}; check that PCM frames are 960 samples (20 ms mono at 48 kHz)")]
    Opus(String),

    /// A photo is not a JPEG that can be decoded.
    #[error("photo: not a readable JPEG ({0}); ask the sender to send it again")]
    Photo(String),

    /// The media pipeline thread could not be started.
    #[error("could not start the media thread: {0}; the system may be out of memory or threads")]
    Thread(String),
}

impl MediaError {
    /// Shorthand for [`MediaError::InvalidSize`].
    pub(crate) fn size(width: u32, height: u32, min: (u32, u32), reason: &'static str) -> Self {
        MediaError::InvalidSize {
            width,
            height,
            min_width: min.0,
            min_height: min.1,
            reason,
        }
    }
}
