//! Taking a snapshot: the camera pipeline's next frame, captured raw (before
//! H.264, so none of its loss), encoded as the `[share]` settings ask
//! ([`crate::share::snapshot`]). Refused while privacy is on.

use crate::api::LocalMedia;
use crate::share::snapshot::{jpeg_from_i420, SnapshotSettings};
use crate::share::ShareError;
use std::time::Duration;

/// Takes a snapshot of the camera's current frame: the next frame it captures, before
/// H.264 (so no encode–decode round trip, and none of its loss). Refused while privacy
/// is on, including when privacy comes on while the frame is awaited.
pub async fn capture(
    media: &LocalMedia,
    settings: SnapshotSettings,
) -> Result<Vec<u8>, ShareError> {
    let private = || {
        ShareError::NotAllowed(
            "privacy is on: the camera is off. Turn it off with `hearth privacy off` to take a snapshot".into(),
        )
    };
    if media.is_private() {
        return Err(private());
    }
    let video = media
        .video()
        .ok_or_else(|| ShareError::NotAllowed("this device has no camera configured".into()))?;
    let frame = match tokio::time::timeout(Duration::from_secs(5), video.next_raw()).await {
        Ok(Some(frame)) => frame,
        Ok(None) if media.is_private() || video.is_paused() => return Err(private()),
        Ok(None) => return Err(ShareError::NotAllowed("the camera has stopped".into())),
        Err(_) => {
            return Err(ShareError::NotAllowed(
                "the camera gave no frame within 5 s".into(),
            ))
        }
    };
    tokio::task::spawn_blocking(move || jpeg_from_i420(&frame, &settings))
        .await
        .map_err(|e| ShareError::Malformed(format!("snapshot task: {e}")))?
}
