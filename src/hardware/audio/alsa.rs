//! The real microphone and speaker (feature `hardware`), through ALSA.
//!
//! Both run 48 kHz mono signed 16-bit in 20 ms periods, so one period is one Opus frame.
//! Overruns (the microphone was not read in time) and underruns (the speaker ran dry)
//! are recovered in place: the stream is prepared again and the call carries on. Devices
//! are picked by name with [`devices::resolve`](super::devices::resolve).

use std::time::Instant;

use alsa::pcm::{Access, Format, Frames, HwParams, PCM};
use alsa::{Direction, ValueOr};
use tracing::{info, warn};

use super::devices::{resolve, DeviceHint};
use super::Speaker;
use crate::hardware::error::DeviceKind;
use crate::hardware::HardwareError;
use crate::media::{AudioCapture, AudioFrame, MediaError, AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};

/// Periods in the device buffer (80 ms): enough to ride out a busy moment.
const PERIODS: Frames = 4;
/// One period (20 ms) in ALSA's frame count, whose width follows the target's `long`.
const PERIOD: Frames = AUDIO_FRAME_SAMPLES as Frames;
/// A pause longer than this between reads means the buffered audio is stale.
const STALE_AFTER_MS: u128 = 100;

/// ALSA's list of PCM devices (what `arecord -L` / `aplay -L` print).
pub fn hints() -> Vec<DeviceHint> {
    alsa::device_name::HintIter::new_str(None, "pcm")
        .map(|iter| {
            iter.filter_map(|h| {
                Some(DeviceHint {
                    name: h.name?,
                    description: h.desc.unwrap_or_default(),
                })
            })
            .collect()
        })
        .unwrap_or_default()
}

fn alsa_error(name: &str, e: alsa::Error) -> HardwareError {
    HardwareError::from_io(
        std::io::Error::from_raw_os_error(e.errno()),
        format!("ALSA device `{name}`"),
        DeviceKind::Audio,
    )
}

/// Opens `wanted` (resolved by name) for `direction` at 48 kHz mono S16, 20 ms periods.
fn open_pcm(wanted: &str, direction: Direction) -> Result<(PCM, String), HardwareError> {
    let name = resolve(wanted, &hints()).map_err(|reason| HardwareError::Config {
        key: match direction {
            Direction::Capture => "audio.capture_device".into(),
            Direction::Playback => "audio.playback_device".into(),
        },
        reason,
    })?;
    let pcm = PCM::new(&name, direction, false).map_err(|e| alsa_error(&name, e))?;
    {
        let hw = HwParams::any(&pcm).map_err(|e| alsa_error(&name, e))?;
        let setup = || -> alsa::Result<u32> {
            hw.set_access(Access::RWInterleaved)?;
            hw.set_format(Format::s16())?;
            hw.set_channels(1)?;
            let rate = hw.set_rate_near(AUDIO_SAMPLE_RATE, ValueOr::Nearest)?;
            hw.set_period_size_near(PERIOD, ValueOr::Nearest)?;
            hw.set_buffer_size_near(PERIOD * PERIODS)?;
            pcm.hw_params(&hw)?;
            Ok(rate)
        };
        let rate = setup().map_err(|e| HardwareError::Unsupported {
            device: format!("ALSA device `{name}`").into(),
            reason: format!("it does not take 48 kHz mono 16-bit audio ({e})"),
            fix: "use its `plughw:` name, which converts (see `arecord -L`)".into(),
        })?;
        if rate != AUDIO_SAMPLE_RATE {
            return Err(HardwareError::Unsupported {
                device: format!("ALSA device `{name}`").into(),
                reason: format!("it runs at {rate} Hz, not 48000"),
                fix: "use its `plughw:` name, which resamples (see `arecord -L`)".into(),
            });
        }
    }
    Ok((pcm, name))
}

/// A microphone read through ALSA.
pub struct AlsaMicrophone {
    pcm: PCM,
    name: String,
    xruns: u64,
    last_read: Option<Instant>,
}

impl std::fmt::Debug for AlsaMicrophone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlsaMicrophone")
            .field("name", &self.name)
            .field("xruns", &self.xruns)
            .finish()
    }
}

impl AlsaMicrophone {
    /// Opens the capture device `wanted` (`default`, an ALSA name, or part of one).
    pub fn open(wanted: &str) -> Result<Self, HardwareError> {
        let (pcm, name) = open_pcm(wanted, Direction::Capture)?;
        pcm.start().map_err(|e| alsa_error(&name, e))?;
        info!(device = %name, "microphone open");
        Ok(AlsaMicrophone {
            pcm,
            name,
            xruns: 0,
            last_read: None,
        })
    }

    /// Overruns recovered so far.
    pub fn xruns(&self) -> u64 {
        self.xruns
    }

    fn restart(&self) -> alsa::Result<()> {
        self.pcm.drop()?;
        self.pcm.prepare()?;
        self.pcm.start()
    }
}

impl AudioCapture for AlsaMicrophone {
    fn read_frame(&mut self) -> Result<AudioFrame, MediaError> {
        let err = |e: alsa::Error| MediaError::AudioCapture(format!("{}: {e}", self.name));
        // After a pause, what is buffered is old: start over from now.
        if self
            .last_read
            .is_some_and(|t| t.elapsed().as_millis() > STALE_AFTER_MS)
        {
            self.restart().map_err(err)?;
        }
        let mut frame = [0i16; AUDIO_FRAME_SAMPLES];
        let mut filled = 0;
        let io = self.pcm.io_i16().map_err(err)?;
        while filled < frame.len() {
            match io.readi(&mut frame[filled..]) {
                Ok(n) => filled += n,
                Err(e) if e.errno() == libc::EPIPE || e.errno() == libc::ESTRPIPE => {
                    self.xruns += 1;
                    if self.xruns.is_power_of_two() {
                        warn!(device = %self.name, xruns = self.xruns, "microphone overrun, recovering");
                    }
                    self.pcm.try_recover(e, true).map_err(err)?;
                    self.pcm
                        .start()
                        .or_else(|e| {
                            if e.errno() == libc::EBADFD {
                                Ok(())
                            } else {
                                Err(e)
                            }
                        })
                        .map_err(err)?;
                }
                Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {}
                Err(e) => return Err(err(e)),
            }
        }
        self.last_read = Some(Instant::now());
        Ok(frame)
    }
}

/// A speaker written through ALSA.
pub struct AlsaSpeaker {
    pcm: PCM,
    name: String,
    xruns: u64,
}

impl std::fmt::Debug for AlsaSpeaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlsaSpeaker")
            .field("name", &self.name)
            .field("xruns", &self.xruns)
            .finish()
    }
}

impl AlsaSpeaker {
    /// Opens the playback device `wanted` (`default`, an ALSA name, or part of one).
    pub fn open(wanted: &str) -> Result<Self, HardwareError> {
        let (pcm, name) = open_pcm(wanted, Direction::Playback)?;
        {
            // Start playing once two periods are queued: low delay, no instant underrun.
            let sw = pcm.sw_params_current().map_err(|e| alsa_error(&name, e))?;
            sw.set_start_threshold(PERIOD * 2)
                .and_then(|_| pcm.sw_params(&sw))
                .map_err(|e| alsa_error(&name, e))?;
        }
        info!(device = %name, "speaker open");
        Ok(AlsaSpeaker {
            pcm,
            name,
            xruns: 0,
        })
    }

    /// Underruns recovered so far.
    pub fn xruns(&self) -> u64 {
        self.xruns
    }
}

impl Speaker for AlsaSpeaker {
    fn play(&mut self, pcm: &[i16]) -> Result<(), HardwareError> {
        let name = self.name.clone();
        let err = move |e: alsa::Error| HardwareError::Io {
            device: format!("ALSA speaker `{name}`").into(),
            source: std::io::Error::from_raw_os_error(e.errno()),
        };
        let io = self.pcm.io_i16().map_err(&err)?;
        let mut written = 0;
        while written < pcm.len() {
            match io.writei(&pcm[written..]) {
                Ok(n) => written += n,
                Err(e) if e.errno() == libc::EPIPE || e.errno() == libc::ESTRPIPE => {
                    // Ran dry between two packets (a late one): prepare and go on.
                    self.xruns += 1;
                    self.pcm.try_recover(e, true).map_err(&err)?;
                }
                Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {}
                Err(e) => return Err(err(e)),
            }
        }
        Ok(())
    }
}
