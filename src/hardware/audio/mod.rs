//! Audio: the microphone (ALSA capture, feature `hardware`, or the simulated tone) and
//! the speaker that plays talk-back from contacts allowed `talk_back`.
//!
//! [`devices::resolve`] picks devices by name; [`talkback::TalkBack`] is the gate and the
//! decoder in front of any [`Speaker`], one per caller; [`output::SpeakerOutput`] mixes
//! every caller's voice onto the one speaker. The ALSA backends (`alsa`) recover from
//! overruns and underruns by themselves; the simulated speaker ([`wav::WavSpeaker`])
//! writes `talkback.wav` in the data directory.

#[cfg(feature = "hardware")]
pub mod alsa;
pub mod devices;
pub mod mixer;
pub mod output;
pub mod talkback;
pub mod wav;

use std::path::Path;
use std::sync::{Arc, Mutex};

pub use output::{MixerInput, SpeakerOutput};
pub use talkback::TalkBack;
pub use wav::{WavSpeaker, TALKBACK_WAV};

use crate::config::hardware::{AudioSource, TalkBackOutput};
use crate::config::AudioConfig;
use crate::hardware::{Board, HardwareError};
use crate::media::{AudioCapture, ToneMicrophone};

/// Something that plays 48 kHz mono PCM.
pub trait Speaker: Send {
    /// Queues `pcm` for playing; blocks while the device's buffer is full.
    fn play(&mut self, pcm: &[i16]) -> Result<(), HardwareError>;

    /// Drops audio queued but not heard yet, so a voice stops at once (default: nothing
    /// to drop).
    fn discard(&mut self) {}
}

/// A speaker that keeps what it is given, for tests and the simulated device (it keeps
/// at most the last minute).
#[derive(Debug, Clone, Default)]
pub struct MemorySpeaker {
    samples: Arc<Mutex<Vec<i16>>>,
}

/// Samples a [`MemorySpeaker`] keeps: one minute.
const MEMORY_LIMIT: usize = 48_000 * 60;

impl MemorySpeaker {
    /// An empty speaker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything played so far (up to a minute).
    pub fn samples(&self) -> Vec<i16> {
        self.samples.lock().expect("speaker lock").clone()
    }
}

impl Speaker for MemorySpeaker {
    fn play(&mut self, pcm: &[i16]) -> Result<(), HardwareError> {
        let mut samples = self.samples.lock().expect("speaker lock");
        samples.extend_from_slice(pcm);
        if samples.len() > MEMORY_LIMIT {
            let drop = samples.len() - MEMORY_LIMIT;
            samples.drain(..drop);
        }
        Ok(())
    }
}

/// No speaker: talk-back is discarded.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSpeaker;

impl Speaker for NoSpeaker {
    fn play(&mut self, _pcm: &[i16]) -> Result<(), HardwareError> {
        Ok(())
    }
}

/// Opens the microphone `[audio] source` asks for.
pub fn open_microphone(
    audio: &AudioConfig,
    board: &Board,
) -> Result<Box<dyn AudioCapture>, HardwareError> {
    match audio.source {
        AudioSource::Alsa => open_alsa_microphone(audio, board),
        AudioSource::Simulated => Ok(Box::new(ToneMicrophone::new())),
    }
}

/// Opens the speaker `[audio] speaker` asks for; the simulated one writes
/// [`TALKBACK_WAV`] in `data_dir`.
pub fn open_speaker(
    audio: &AudioConfig,
    board: &Board,
    data_dir: &Path,
) -> Result<Box<dyn Speaker>, HardwareError> {
    match audio.speaker {
        TalkBackOutput::Alsa => open_alsa_speaker(audio, board),
        TalkBackOutput::None => Ok(Box::new(NoSpeaker)),
        TalkBackOutput::Simulated => {
            Ok(Box::new(WavSpeaker::create(&data_dir.join(TALKBACK_WAV))?))
        }
    }
}

/// The device name `wanted`, or the board's default when it is `default`.
fn device_name<'a>(wanted: &'a str, board_default: &'a str) -> &'a str {
    if wanted == "default" {
        board_default
    } else {
        wanted
    }
}

#[cfg(feature = "hardware")]
fn open_alsa_microphone(
    audio: &AudioConfig,
    board: &Board,
) -> Result<Box<dyn AudioCapture>, HardwareError> {
    let name = device_name(&audio.capture_device, &board.audio.capture);
    Ok(Box::new(alsa::AlsaMicrophone::open(name)?))
}

#[cfg(feature = "hardware")]
fn open_alsa_speaker(
    audio: &AudioConfig,
    board: &Board,
) -> Result<Box<dyn Speaker>, HardwareError> {
    let name = device_name(&audio.playback_device, &board.audio.playback);
    Ok(Box::new(alsa::AlsaSpeaker::open(name)?))
}

#[cfg(not(feature = "hardware"))]
fn open_alsa_microphone(
    audio: &AudioConfig,
    board: &Board,
) -> Result<Box<dyn AudioCapture>, HardwareError> {
    let _ = device_name(&audio.capture_device, &board.audio.capture);
    Err(HardwareError::NotBuilt {
        what: "`[audio] source = \"alsa\"`",
    })
}

#[cfg(not(feature = "hardware"))]
fn open_alsa_speaker(
    audio: &AudioConfig,
    board: &Board,
) -> Result<Box<dyn Speaker>, HardwareError> {
    let _ = device_name(&audio.playback_device, &board.audio.playback);
    Err(HardwareError::NotBuilt {
        what: "`[audio] speaker = \"alsa\"`",
    })
}
