//! Buttons on Raspberry Pi GPIO pins (feature `hardware`), through rppal.
//!
//! Each button connects its pin to ground; the pin's internal pull-up holds it high
//! otherwise. One thread waits for edges on all pins, stamps them with the kernel's
//! event time, runs them through [`ButtonMachine`] and sends the resulting events. It
//! wakes at the machine's deadlines, so a long press is reported while still held.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rppal::gpio::{Gpio, InputPin, Trigger};
use tokio::sync::mpsc::UnboundedSender;
use tracing::{debug, info, warn};

use super::{Button, ButtonEvent, ButtonMachine, Edge, Timing};
use crate::hardware::rpi::gpio_error;
use crate::hardware::{Board, HardwareError};

/// Longest sleep between checks of the stop flag.
const MAX_WAIT: Duration = Duration::from_millis(100);

/// The button thread; dropping it stops the thread and releases the pins.
#[derive(Debug)]
pub struct GpioButtons {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl GpioButtons {
    /// Claims every button pin of `board` and starts the thread.
    pub fn open(
        board: &Board,
        timing: Timing,
        tx: UnboundedSender<ButtonEvent>,
    ) -> Result<Self, HardwareError> {
        let gpio = Gpio::new().map_err(|e| gpio_error(e, "buttons"))?;
        let mut pins: Vec<(Button, InputPin)> = Vec::new();
        for b in &board.buttons {
            let Some(number) = b.gpio else { continue };
            let what = format!("button `{}`", b.name);
            let mut pin = gpio
                .get(number)
                .map_err(|e| gpio_error(e, &what))?
                .into_input_pullup();
            pin.set_interrupt(Trigger::Both, None)
                .map_err(|e| gpio_error(e, &what))?;
            pins.push((b.name, pin));
        }
        if pins.is_empty() {
            return Err(HardwareError::Config {
                key: "buttons.source".into(),
                reason: format!(
                    "board profile `{}` wires no button to a GPIO pin; use \"simulated\"",
                    board.name
                ),
            });
        }
        info!(count = pins.len(), "GPIO buttons ready");
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("hearth-buttons".into())
            .spawn(move || run(gpio, pins, timing, tx, thread_stop))
            .map_err(|e| HardwareError::Io {
                device: "GPIO".into(),
                source: e,
            })?;
        Ok(GpioButtons {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for GpioButtons {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    gpio: Gpio,
    pins: Vec<(Button, InputPin)>,
    timing: Timing,
    tx: UnboundedSender<ButtonEvent>,
    stop: Arc<AtomicBool>,
) {
    let mut machines: Vec<ButtonMachine> =
        pins.iter().map(|_| ButtonMachine::new(timing)).collect();
    // Kernel event times are on the monotonic clock since boot; `clock` maps an Instant
    // onto that scale, anchored at the latest event.
    let mut anchor: Option<(Duration, Instant)> = None;
    let clock = |anchor: &Option<(Duration, Instant)>| match anchor {
        Some((at, when)) => *at + when.elapsed(),
        None => Duration::ZERO,
    };
    let send = |button: Button, actions: Vec<(Duration, super::Action)>| {
        for (_, action) in actions {
            debug!(%button, ?action, "button");
            let _ = tx.send(ButtonEvent { button, action });
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let now = clock(&anchor);
        let wait = machines
            .iter()
            .filter_map(|m| m.next_deadline())
            .map(|d| d.saturating_sub(now))
            .min()
            .unwrap_or(MAX_WAIT)
            .min(MAX_WAIT);
        let refs: Vec<&InputPin> = pins.iter().map(|(_, p)| p).collect();
        match gpio.poll_interrupts(&refs, false, Some(wait)) {
            Ok(Some((pin, event))) => {
                anchor = Some((event.timestamp, Instant::now()));
                if let Some(i) = pins.iter().position(|(_, p)| p.pin() == pin.pin()) {
                    let pressed = event.trigger == Trigger::FallingEdge;
                    let edge = Edge {
                        at: event.timestamp,
                        pressed,
                    };
                    send(pins[i].0, machines[i].edge(edge));
                }
            }
            Ok(None) => {}
            Err(e) => {
                warn!("reading buttons failed: {}", gpio_error(e, "buttons"));
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        let now = clock(&anchor);
        for (i, m) in machines.iter_mut().enumerate() {
            send(pins[i].0, m.tick(now));
        }
    }
}
