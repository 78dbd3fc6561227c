//! The device's own cameras and microphones, shared by every stream opened on
//! them, and the owner's privacy switch that silences them all at once.

use crate::media::{AudioControl, AudioPipeline, VideoControl, VideoPipeline};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// This peer's media sources. Cheap to clone; the sources stop when the last clone goes.
#[derive(Clone)]
pub struct LocalMedia {
    video: Option<VideoControl>,
    audio: Option<AudioControl>,
    private: watch::Sender<bool>,
    _pipelines: Arc<(Option<VideoPipeline>, Option<AudioPipeline>)>,
}

impl LocalMedia {
    /// Media from already-started pipelines; either may be absent.
    pub fn new(video: Option<VideoPipeline>, audio: Option<AudioPipeline>) -> Self {
        LocalMedia {
            video: video.as_ref().map(|p| p.control()),
            audio: audio.as_ref().map(|p| p.control()),
            private: watch::Sender::new(false),
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

    /// Turns privacy on (camera and microphone stop for everyone) or off.
    pub fn set_private(&self, on: bool) {
        if let Some(v) = &self.video {
            v.set_paused(on);
        }
        if let Some(a) = &self.audio {
            a.set_paused(on);
        }
        self.private.send_replace(on);
        tracing::info!(private = on, "privacy switched");
    }

    /// Whether privacy is on.
    pub fn is_private(&self) -> bool {
        *self.private.borrow()
    }

    /// Follows the privacy switch: `true` while privacy is on.
    pub fn privacy_changes(&self) -> watch::Receiver<bool> {
        self.private.subscribe()
    }

    /// Waits until privacy is off.
    pub async fn until_public(&self) {
        let mut rx = self.private.subscribe();
        let _ = rx.wait_for(|private| !private).await;
    }

    /// Waits at most `limit` for privacy to be off; whether it is.
    pub async fn until_public_within(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.until_public())
            .await
            .is_ok()
    }
}
