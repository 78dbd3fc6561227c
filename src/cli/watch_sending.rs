//! What `hearth watch` sends while it watches: this machine's microphone
//! (`--talk`) and camera (`--camera`), opened from `[audio]` and `[video]`
//! the way the device opens its own, and what the contact says about the
//! camera: shown on its screen or not, and why.

use hearth::api::{LocalMedia, MediaStream, PeerConnection, PictureNotice};
use hearth::config::Config;
use hearth::device::media::{open_audio, open_video};
use hearth::hardware::Board;

/// The camera and/or microphone `hearth watch` sends with each call.
pub struct Sending {
    /// Keeps the pipelines running.
    _media: LocalMedia,
    /// Added to each connection.
    pub stream: MediaStream,
    /// The size the camera sends, when it sends one.
    pub camera: Option<(u32, u32)>,
}

impl Sending {
    /// Opens what `camera` and `talk` ask for; `None` when neither does.
    pub async fn open(config: &Config, camera: bool, talk: bool) -> anyhow::Result<Option<Self>> {
        if !camera && !talk {
            return Ok(None);
        }
        let board = Board::load(&config.board.profile)?;
        let (video, size) = match camera {
            true => {
                let (pipeline, format) = open_video(&config.video, &board)?;
                (Some(pipeline), Some((format.width, format.height)))
            }
            false => (None, None),
        };
        let audio = match talk {
            true => Some(open_audio(&config.audio, &board)?),
            false => None,
        };
        let media = LocalMedia::new(video, audio);
        let stream = MediaStream::open(&media, camera, talk).await?;
        Ok(Some(Sending {
            _media: media,
            stream,
            camera: size,
        }))
    }
}

/// The next picture notice on `connection`'s data channel (other messages
/// are passed over); never, once the channel has ended (`open` turns false).
pub async fn next_notice(connection: &PeerConnection, open: &mut bool) -> PictureNotice {
    while *open {
        match connection.recv().await {
            Some(message) => {
                if let Some(notice) = message.as_text().and_then(PictureNotice::parse) {
                    return notice;
                }
            }
            None => *open = false,
        }
    }
    std::future::pending().await
}

/// What a picture notice from `name` means, in one line; `camera` is the
/// size this side sends. A device that asks for a smaller picture is told
/// about but still sent the camera's size (its output scales it to fit).
pub fn picture_words(name: &str, notice: &PictureNotice, camera: Option<(u32, u32)>) -> String {
    match notice {
        PictureNotice::Shown { wants } => {
            let smaller = wants
                .zip(camera)
                .filter(|((w, h), (cw, ch))| w < cw || h < ch);
            match smaller {
                Some(((w, h), (cw, ch))) => format!(
                    "{name} shows your camera on its screen (it asked for {w}×{h}; \
                     sending the camera's {cw}×{ch}, which it scales to fit)."
                ),
                None => format!("{name} shows your camera on its screen."),
            }
        }
        PictureNotice::NotShown { code, reason } if reason.is_empty() => {
            format!("{name} does not show your camera [{code}].")
        }
        PictureNotice::NotShown { code, reason } => {
            format!("{name} does not show your camera: {reason} [{code}]")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_the_device_did_with_the_camera() {
        let not_shown = |code: &str, reason: &str| PictureNotice::NotShown {
            code: code.into(),
            reason: reason.into(),
        };
        let cases = [
            (
                PictureNotice::Shown { wants: None },
                Some((640, 480)),
                "Kitchen shows your camera on its screen.",
            ),
            (
                PictureNotice::Shown {
                    wants: Some((640, 480)),
                },
                Some((640, 480)),
                "Kitchen shows your camera on its screen.",
            ),
            (
                PictureNotice::Shown {
                    wants: Some((1280, 720)),
                },
                Some((640, 480)),
                "Kitchen shows your camera on its screen.",
            ),
            (
                PictureNotice::Shown {
                    wants: Some((320, 240)),
                },
                Some((640, 480)),
                "Kitchen shows your camera on its screen (it asked for 320×240; \
                 sending the camera's 640×480, which it scales to fit).",
            ),
            (
                not_shown("show_not_allowed", "The owner has not allowed it."),
                Some((640, 480)),
                "Kitchen does not show your camera: The owner has not allowed it. [show_not_allowed]",
            ),
            (
                not_shown("replaced", ""),
                None,
                "Kitchen does not show your camera [replaced].",
            ),
        ];
        for (notice, camera, want) in cases {
            assert_eq!(picture_words("Kitchen", &notice, camera), want);
        }
    }
}
