//! The "live" light: on whenever the camera or the microphone is live to anyone.
//!
//! It is the family's promise that nobody watches unseen, so the rule is a pure function
//! ([`should_be_lit`]) the device loop applies to what its pipelines report, and
//! [`LiveIndicator`] only touches the pin when the answer changes. [`SimulatedLed`] logs
//! and remembers; `gpio::GpioLed` (feature `hardware`) drives the board's pin.

#[cfg(feature = "hardware")]
pub mod gpio;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tracing::info;

use crate::config::hardware::LedOutput;
use crate::config::hardware::LedSettings;
use crate::hardware::{Board, HardwareError};

/// A light that can be switched.
pub trait Led: Send {
    /// Lights it or puts it out.
    fn set_lit(&mut self, lit: bool) -> Result<(), HardwareError>;
}

/// What is live right now, as the device loop knows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveState {
    /// Sessions receiving the camera.
    pub video_viewers: usize,
    /// Sessions receiving the microphone.
    pub audio_listeners: usize,
}

/// The rule: lit if anyone receives the camera or the microphone.
pub fn should_be_lit(state: LiveState) -> bool {
    state.video_viewers > 0 || state.audio_listeners > 0
}

/// Drives an [`Led`] from [`LiveState`] updates, writing only changes.
pub struct LiveIndicator {
    led: Box<dyn Led>,
    lit: Option<bool>,
}

impl std::fmt::Debug for LiveIndicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveIndicator")
            .field("lit", &self.lit)
            .finish()
    }
}

impl LiveIndicator {
    /// Starts with the light out.
    pub fn new(mut led: Box<dyn Led>) -> Result<Self, HardwareError> {
        led.set_lit(false)?;
        Ok(LiveIndicator {
            led,
            lit: Some(false),
        })
    }

    /// Applies the rule to `state`; returns whether the light is now lit.
    pub fn update(&mut self, state: LiveState) -> Result<bool, HardwareError> {
        let lit = should_be_lit(state);
        if self.lit != Some(lit) {
            // Forget the state if writing fails, so the next update tries again.
            self.lit = None;
            self.led.set_lit(lit)?;
            self.lit = Some(lit);
        }
        Ok(lit)
    }
}

/// An LED that logs changes; clones share the state, so a test can look at it.
#[derive(Debug, Clone, Default)]
pub struct SimulatedLed {
    lit: Arc<AtomicBool>,
}

impl SimulatedLed {
    /// An unlit LED.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether it is lit.
    pub fn is_lit(&self) -> bool {
        self.lit.load(Ordering::Relaxed)
    }
}

impl Led for SimulatedLed {
    fn set_lit(&mut self, lit: bool) -> Result<(), HardwareError> {
        if self.lit.swap(lit, Ordering::Relaxed) != lit {
            info!(lit, "live LED");
        }
        Ok(())
    }
}

/// No LED at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLed;

impl Led for NoLed {
    fn set_lit(&mut self, _lit: bool) -> Result<(), HardwareError> {
        Ok(())
    }
}

/// Opens the LED `led` asks for, wrapped in a [`LiveIndicator`] (light out).
pub fn open_led(led: &LedSettings, board: &Board) -> Result<LiveIndicator, HardwareError> {
    let led: Box<dyn Led> = match led.output {
        LedOutput::Simulated => Box::new(SimulatedLed::new()),
        LedOutput::None => Box::new(NoLed),
        LedOutput::Gpio => {
            let Some(wiring) = &board.led else {
                return Err(HardwareError::Config {
                    key: "led.output".into(),
                    reason: format!(
                        "board profile `{}` has no [led]; add one or use \"simulated\"",
                        board.name
                    ),
                });
            };
            #[cfg(feature = "hardware")]
            {
                Box::new(gpio::GpioLed::open(wiring)?)
            }
            #[cfg(not(feature = "hardware"))]
            {
                let _ = wiring;
                return Err(HardwareError::NotBuilt {
                    what: "`[led] output = \"gpio\"`",
                });
            }
        }
    };
    LiveIndicator::new(led)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lit_whenever_anything_is_live() {
        let cases = [
            ((0, 0), false),
            ((1, 0), true),
            ((0, 2), true),
            ((3, 1), true),
        ];
        for ((video_viewers, audio_listeners), lit) in cases {
            let state = LiveState {
                video_viewers,
                audio_listeners,
            };
            assert_eq!(should_be_lit(state), lit, "{state:?}");
        }
    }

    #[test]
    fn the_indicator_follows_the_state() {
        let led = SimulatedLed::new();
        let mut ind = LiveIndicator::new(Box::new(led.clone())).unwrap();
        assert!(!led.is_lit());
        ind.update(LiveState {
            video_viewers: 1,
            audio_listeners: 0,
        })
        .unwrap();
        assert!(led.is_lit());
        ind.update(LiveState::default()).unwrap();
        assert!(!led.is_lit());
    }
}
