//! The device's camera and microphone, chosen from the config and the board
//! profile: the simulated test pattern and tone on a laptop, V4L2 and ALSA
//! (with the hardware H.264 encoder where the board has one) on a Pi.

use crate::api::LocalMedia;
use crate::config::Config;
use crate::hardware::{audio, camera, encoder, Board, HardwareError};
use crate::media::{AudioPipeline, MediaError, OpusConfig, OpusEncoder, VideoPipeline};

/// Errors opening the device's media.
#[derive(Debug, thiserror::Error)]
pub enum MediaSetupError {
    /// A camera, microphone or board profile problem; the message says the fix.
    #[error(transparent)]
    Hardware(#[from] HardwareError),
    /// An encoder or pipeline could not start.
    #[error(transparent)]
    Media(#[from] MediaError),
}

/// Opens the camera and microphone `config` asks for, wired as `board` says,
/// and starts their encode-once pipelines.
pub fn open_media(config: &Config, board: &Board) -> Result<LocalMedia, MediaSetupError> {
    let camera = camera::open_camera(&config.video, board)?;
    let video_encoder = encoder::open_encoder(&config.video, board, camera.format())?;
    let video = VideoPipeline::start(camera, video_encoder)?;
    let microphone = audio::open_microphone(&config.audio, board)?;
    let opus = OpusEncoder::new(OpusConfig {
        bitrate_bps: config.audio.bitrate_kbps * 1000,
        ..OpusConfig::default()
    })?;
    let audio = AudioPipeline::start(microphone, opus)?;
    tracing::info!(board = %board.name, camera = %config.video.source, microphone = %config.audio.source, "media ready");
    Ok(LocalMedia::new(Some(video), Some(audio)))
}
