//! A simulated microphone so audio works, and can be tested, without a sound card.
//!
//! It produces a pure sine tone, which makes a round trip through Opus easy to check
//! (count zero crossings, measure energy) and easy to recognise by ear in a browser.

use std::f64::consts::TAU;

use crate::media::capture::{
    AudioCapture, AudioFrame, AUDIO_FRAME_DURATION, AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE,
};
use crate::media::pacer::Pacer;
use crate::media::MediaError;

/// Default tone: concert A.
pub const DEFAULT_TONE_HZ: f64 = 440.0;

/// Generates a continuous sine tone in 20 ms frames, as fast as asked (no pacing).
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    step: f64,
    phase: f64,
    amplitude: f64,
}

impl ToneGenerator {
    /// A tone of `frequency_hz` (0 < f < 24 kHz) at `amplitude` (0.0..=1.0 of full scale).
    pub fn new(frequency_hz: f64, amplitude: f64) -> Result<Self, MediaError> {
        let nyquist = f64::from(AUDIO_SAMPLE_RATE) / 2.0;
        if !(frequency_hz > 0.0 && frequency_hz < nyquist) {
            return Err(MediaError::InvalidConfig(format!(
                "tone frequency {frequency_hz} Hz is out of range; use 0 < f < {nyquist} Hz"
            )));
        }
        if !(0.0..=1.0).contains(&amplitude) {
            return Err(MediaError::InvalidConfig(format!(
                "tone amplitude {amplitude} is out of range; use 0.0..=1.0"
            )));
        }
        Ok(Self {
            step: TAU * frequency_hz / f64::from(AUDIO_SAMPLE_RATE),
            phase: 0.0,
            amplitude: amplitude * f64::from(i16::MAX),
        })
    }

    /// The next 960 samples of the tone, continuing the phase of the previous frame.
    pub fn next_frame(&mut self) -> AudioFrame {
        let mut frame = [0i16; AUDIO_FRAME_SAMPLES];
        for s in frame.iter_mut() {
            *s = (self.phase.sin() * self.amplitude).round() as i16;
            self.phase = (self.phase + self.step) % TAU;
        }
        frame
    }
}

/// A simulated microphone delivering a [`ToneGenerator`]'s frames in real time.
#[derive(Debug)]
pub struct ToneMicrophone {
    tone: ToneGenerator,
    pacer: Pacer,
}

impl ToneMicrophone {
    /// A microphone playing a 440 Hz tone at half of full scale.
    pub fn new() -> Self {
        Self::with_tone(ToneGenerator::new(DEFAULT_TONE_HZ, 0.5).expect("valid default tone"))
    }

    /// A microphone playing the given tone.
    pub fn with_tone(tone: ToneGenerator) -> Self {
        Self {
            tone,
            pacer: Pacer::new(AUDIO_FRAME_DURATION),
        }
    }
}

impl Default for ToneMicrophone {
    fn default() -> Self {
        Self::new()
    }
}

impl AudioCapture for ToneMicrophone {
    /// Sleeps until the next 20 ms deadline, then returns the next frame of the tone.
    fn read_frame(&mut self) -> Result<AudioFrame, MediaError> {
        self.pacer.wait();
        Ok(self.tone.next_frame())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_has_the_right_frequency_and_level() {
        let mut g = ToneGenerator::new(1000.0, 0.5).unwrap();
        let samples: Vec<i16> = (0..50).flat_map(|_| g.next_frame()).collect(); // 1 s
        let crossings = samples
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count();
        assert!((1990..=2010).contains(&crossings), "{crossings} crossings");
        let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((16000..=16500).contains(&peak), "peak {peak}");
    }

    #[test]
    fn rejects_bad_tones() {
        assert!(ToneGenerator::new(0.0, 0.5).is_err());
        assert!(ToneGenerator::new(30_000.0, 0.5).is_err());
        assert!(ToneGenerator::new(440.0, 1.5).is_err());
    }
}
