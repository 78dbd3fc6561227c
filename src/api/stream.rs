//! Streams, in the shape of the original network's browser API:
//! `VideoStream`, `AudioStream` and `AudioVideoStream` open a [`MediaStream`]
//! on this peer's sources; [`RemoteStream`] is what a contact shares back.

use super::{LocalMedia, RtcError};
use crate::media::{AudioControl, VideoControl};
use crate::peer::{AudioPacket, VideoFrame};
use tokio::sync::mpsc;

/// A local stream: live video and/or audio from this peer's sources, ready
/// to be shared with [`super::PeerConnection::add_stream`].
#[derive(Clone)]
pub struct MediaStream {
    pub(super) video: Option<VideoControl>,
    pub(super) audio: Option<AudioControl>,
}

impl MediaStream {
    /// Opens a stream with the chosen tracks. Completes once the sources exist
    /// and the owner's privacy settings allow it (waits while privacy is on).
    pub async fn open(media: &LocalMedia, video: bool, audio: bool) -> Result<Self, RtcError> {
        let video = match video {
            true => Some(media.video().cloned().ok_or(RtcError::NoCamera)?),
            false => None,
        };
        let audio = match audio {
            true => Some(media.audio().cloned().ok_or(RtcError::NoMicrophone)?),
            false => None,
        };
        media.until_public().await;
        Ok(MediaStream { video, audio })
    }

    /// Whether the stream carries video.
    pub fn has_video(&self) -> bool {
        self.video.is_some()
    }

    /// Whether the stream carries audio.
    pub fn has_audio(&self) -> bool {
        self.audio.is_some()
    }

    /// The same stream without its video.
    pub fn without_video(&self) -> Self {
        MediaStream {
            video: None,
            audio: self.audio.clone(),
        }
    }

    /// The same stream without its audio.
    pub fn without_audio(&self) -> Self {
        MediaStream {
            video: self.video.clone(),
            audio: None,
        }
    }
}

/// Opens a video-only [`MediaStream`] on the camera.
pub struct VideoStream;

impl VideoStream {
    /// Opens the camera's stream; see [`MediaStream::open`].
    pub async fn open(media: &LocalMedia) -> Result<MediaStream, RtcError> {
        MediaStream::open(media, true, false).await
    }
}

/// Opens an audio-only [`MediaStream`] on the microphone.
pub struct AudioStream;

impl AudioStream {
    /// Opens the microphone's stream; see [`MediaStream::open`].
    pub async fn open(media: &LocalMedia) -> Result<MediaStream, RtcError> {
        MediaStream::open(media, false, true).await
    }
}

/// Opens a [`MediaStream`] with both camera and microphone.
pub struct AudioVideoStream;

impl AudioVideoStream {
    /// Opens the camera and microphone stream; see [`MediaStream::open`].
    pub async fn open(media: &LocalMedia) -> Result<MediaStream, RtcError> {
        MediaStream::open(media, true, true).await
    }
}

/// A contact's stream as it arrives: H.264 access units (Annex-B) and Opus packets.
pub struct RemoteStream {
    video: Option<mpsc::Receiver<VideoFrame>>,
    audio: Option<mpsc::Receiver<AudioPacket>>,
}

impl RemoteStream {
    pub(super) fn new(
        video: Option<mpsc::Receiver<VideoFrame>>,
        audio: Option<mpsc::Receiver<AudioPacket>>,
    ) -> Self {
        RemoteStream { video, audio }
    }

    /// Whether the contact shares video.
    pub fn has_video(&self) -> bool {
        self.video.is_some()
    }

    /// Whether the contact shares audio.
    pub fn has_audio(&self) -> bool {
        self.audio.is_some()
    }

    /// The next complete video frame; `None` when there is no video or it ended.
    pub async fn next_video_frame(&mut self) -> Option<VideoFrame> {
        self.video.as_mut()?.recv().await
    }

    /// The next Opus packet; `None` when there is no audio or it ended.
    pub async fn next_audio_packet(&mut self) -> Option<AudioPacket> {
        self.audio.as_mut()?.recv().await
    }

    /// Takes the video frames out, to consume them on their own task.
    pub fn take_video(&mut self) -> Option<mpsc::Receiver<VideoFrame>> {
        self.video.take()
    }

    /// Takes the audio packets out, to consume them on their own task.
    pub fn take_audio(&mut self) -> Option<mpsc::Receiver<AudioPacket>> {
        self.audio.take()
    }
}
