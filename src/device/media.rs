//! The device's camera and microphone, chosen from the config and the board
//! profile: the simulated test pattern and tone on a laptop, V4L2 and ALSA
//! (with the hardware H.264 encoder where the board has one) on a Pi. `hearth
//! watch --camera` and `--talk` open theirs the same way.

use crate::api::LocalMedia;
use crate::config::{AudioConfig, Config, VideoConfig};
use crate::hardware::{audio, camera, encoder, Board, HardwareError};
use crate::media::{
    AudioPipeline, MediaError, OpusConfig, OpusEncoder, VideoFormat, VideoPipeline,
};

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
    let (video, _format) = open_video(&config.video, board)?;
    let audio = open_audio(&config.audio, board)?;
    tracing::info!(board = %board.name, camera = %config.video.source, microphone = %config.audio.source, "media ready");
    Ok(LocalMedia::new(Some(video), Some(audio)))
}

/// Opens the camera `[video]` asks for and its H.264 encoder (the board's
/// hardware one when it has one and `encoder` allows it), and starts their
/// pipeline; with the format the camera takes (a real camera may not take
/// exactly the size asked for).
pub fn open_video(
    video: &VideoConfig,
    board: &Board,
) -> Result<(VideoPipeline, VideoFormat), MediaSetupError> {
    let camera = camera::open_camera(video, board)?;
    let format = camera.format();
    let video_encoder = encoder::open_encoder(video, board, format)?;
    Ok((VideoPipeline::start(camera, video_encoder)?, format))
}

/// Opens the microphone `[audio]` asks for and starts its Opus pipeline.
pub fn open_audio(audio: &AudioConfig, board: &Board) -> Result<AudioPipeline, MediaSetupError> {
    let microphone = audio::open_microphone(audio, board)?;
    let opus = OpusEncoder::new(OpusConfig {
        bitrate_bps: audio.bitrate_kbps * 1000,
        ..OpusConfig::default()
    })?;
    Ok(AudioPipeline::start(microphone, opus)?)
}
