//! The device's own cameras and microphones, shared by every stream opened on
//! them, with the owner's privacy switch ([`Privacy`]) that silences them all
//! at once: their pipelines are its gates.

use crate::media::{AudioControl, AudioPipeline, VideoControl, VideoPipeline};
use crate::privacy::{Privacy, PrivacyGate};
use std::sync::Arc;
use std::time::Duration;

/// This peer's media sources. Cheap to clone; the sources stop when the last clone goes.
#[derive(Clone)]
pub struct LocalMedia {
    video: Option<VideoControl>,
    audio: Option<AudioControl>,
    privacy: Arc<Privacy>,
    _pipelines: Arc<(Option<VideoPipeline>, Option<AudioPipeline>)>,
}

impl LocalMedia {
    /// Media from already-started pipelines; either may be absent. Privacy
    /// starts off and is kept in memory until [`Privacy::keep_in`] is called.
    pub fn new(video: Option<VideoPipeline>, audio: Option<AudioPipeline>) -> Self {
        let video_control = video.as_ref().map(|p| p.control());
        let audio_control = audio.as_ref().map(|p| p.control());
        let mut gates: Vec<Arc<dyn PrivacyGate>> = vec![];
        if let Some(v) = &video_control {
            gates.push(Arc::new(v.clone()));
        }
        if let Some(a) = &audio_control {
            gates.push(Arc::new(a.clone()));
        }
        LocalMedia {
            video: video_control,
            audio: audio_control,
            privacy: Arc::new(Privacy::new(gates)),
            _pipelines: Arc::new((video, audio)),
        }
    }

    /// No camera and no microphone: a viewer that only watches.
    pub fn none() -> Self {
        Self::new(None, None)
    }

    /// The camera's feed, if there is a camera.
    pub fn video(&self) -> Option<&VideoControl> {
        self.video.as_ref()
    }

    /// The microphone's feed, if there is a microphone.
    pub fn audio(&self) -> Option<&AudioControl> {
        self.audio.as_ref()
    }

    /// The owner's privacy switch over these sources.
    pub fn privacy(&self) -> &Arc<Privacy> {
        &self.privacy
    }

    /// Whether privacy is on.
    pub fn is_private(&self) -> bool {
        self.privacy.is_on()
    }

    /// Waits until privacy is off.
    pub async fn until_public(&self) {
        self.privacy.until_off().await;
    }

    /// Waits at most `limit` for privacy to be off; whether it is.
    pub async fn until_public_within(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.until_public())
            .await
            .is_ok()
    }
}
