//! Buttons: what the family presses, as a stream of [`ButtonEvent`]s.
//!
//! Every source feeds one channel: GPIO pins on a Pi (`gpio`, feature `hardware`),
//! keys typed in the terminal ([`keyboard`]) and `hearth press BUTTON` from another shell
//! through a Unix socket ([`socket`]). Debouncing and long-press detection are a pure
//! function of timestamped edges ([`debounce`]). The device loop calls [`open_buttons`]
//! and then awaits [`ButtonEvents::recv`].

pub mod debounce;
#[cfg(feature = "hardware")]
pub mod gpio;
pub mod keyboard;
pub mod socket;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::Deserialize;
use tokio::sync::mpsc;

pub use debounce::{Action, ButtonMachine, Edge, Timing};
pub use socket::{press, socket_path};

use crate::config::hardware::ButtonSettings;
use crate::config::hardware::ButtonSource;
use crate::hardware::{Board, HardwareError};

/// The buttons Hearth knows. Which ones a device has is up to its board profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Button {
    /// Privacy on/off: camera and microphone stop for everyone.
    Privacy,
    /// Send a snapshot to the family.
    Snapshot,
    /// Yes / approve / OK.
    Yes,
    /// No / refuse / back.
    No,
}

impl Button {
    /// Every button.
    pub const ALL: [Button; 4] = [Button::Privacy, Button::Snapshot, Button::Yes, Button::No];

    /// The name used in board profiles and by `hearth press`.
    pub fn name(self) -> &'static str {
        match self {
            Button::Privacy => "privacy",
            Button::Snapshot => "snapshot",
            Button::Yes => "yes",
            Button::No => "no",
        }
    }
}

impl fmt::Display for Button {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a button.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown button `{0}`; use privacy, snapshot, yes or no")]
pub struct UnknownButton(pub String);

impl FromStr for Button {
    type Err = UnknownButton;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Button::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownButton(s.to_string()))
    }
}

/// One thing the user did with a button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ButtonEvent {
    /// Which button.
    pub button: Button,
    /// Press or long press.
    pub action: Action,
}

/// How the device answers a press made with `hearth press`: done, or
/// refused with its sentence (privacy is on, nobody may receive shares, no
/// pairing request waits…). Dropped without an answer, the press counts as done.
#[derive(Debug)]
pub struct PressReply(std::sync::mpsc::SyncSender<Result<(), String>>);

impl PressReply {
    /// A reply and the end `hearth press`'s socket waits on.
    pub fn channel() -> (PressReply, std::sync::mpsc::Receiver<Result<(), String>>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        (PressReply(tx), rx)
    }

    /// Answers the press.
    pub fn answer(self, result: Result<(), String>) {
        let _ = self.0.try_send(result);
    }
}

/// A press whose sender waits for the device's answer.
pub type AnsweredPress = (ButtonEvent, PressReply);

/// The merged stream of button events from every source. Dropping it stops the sources.
#[derive(Debug)]
pub struct ButtonEvents {
    rx: mpsc::UnboundedReceiver<ButtonEvent>,
    tx: mpsc::UnboundedSender<ButtonEvent>,
    answered_rx: mpsc::UnboundedReceiver<AnsweredPress>,
    answered_tx: mpsc::UnboundedSender<AnsweredPress>,
    guards: Vec<Box<dyn std::any::Any + Send>>,
}

impl ButtonEvents {
    /// An empty stream; add sources with [`ButtonEvents::sender`] and
    /// [`ButtonEvents::keep`].
    pub fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let (answered_tx, answered_rx) = mpsc::unbounded_channel();
        ButtonEvents {
            rx,
            tx,
            answered_rx,
            answered_tx,
            guards: Vec::new(),
        }
    }

    /// A sender a source pushes its events into.
    pub fn sender(&self) -> mpsc::UnboundedSender<ButtonEvent> {
        self.tx.clone()
    }

    /// A sender for presses whose source waits for the device's answer
    /// (`hearth press`); read them with [`ButtonEvents::recv_answerable`].
    pub fn answering_sender(&self) -> mpsc::UnboundedSender<AnsweredPress> {
        self.answered_tx.clone()
    }

    /// The next event from any source, with the way to answer it when its
    /// source waits for an answer.
    pub async fn recv_answerable(&mut self) -> Option<(ButtonEvent, Option<PressReply>)> {
        tokio::select! {
            event = self.rx.recv() => event.map(|e| (e, None)),
            press = self.answered_rx.recv() => press.map(|(e, reply)| (e, Some(reply))),
        }
    }

    /// Keeps a source's guard alive as long as the stream (dropping it stops the source).
    pub fn keep(&mut self, guard: impl std::any::Any + Send) {
        self.guards.push(Box::new(guard));
    }

    /// The next event from any source (a press waiting for an answer counts as done).
    pub async fn recv(&mut self) -> Option<ButtonEvent> {
        self.recv_answerable().await.map(|(event, _)| event)
    }

    /// The next event if one is waiting (a press waiting for an answer counts as done).
    pub fn try_recv(&mut self) -> Option<ButtonEvent> {
        self.rx
            .try_recv()
            .ok()
            .or_else(|| self.answered_rx.try_recv().ok().map(|(event, _)| event))
    }

    /// Blocks for the next event of the sources that wait for no answer
    /// (outside an async runtime).
    pub fn blocking_recv(&mut self) -> Option<ButtonEvent> {
        self.rx.blocking_recv()
    }
}

impl Default for ButtonEvents {
    fn default() -> Self {
        Self::new()
    }
}

/// Opens the buttons `buttons` asks for: GPIO pins from the board profile (feature
/// `hardware`) or the terminal, plus the `hearth press` socket at `press_socket` (use
/// [`socket::socket_path`] of the data directory) in every case.
///
/// The terminal is only read when stdin is a terminal (not under systemd).
pub fn open_buttons(
    buttons: &ButtonSettings,
    board: &Board,
    press_socket: &Path,
) -> Result<ButtonEvents, HardwareError> {
    let mut events = ButtonEvents::new();
    match buttons.source {
        ButtonSource::Simulated => {
            if let Some(guard) = keyboard::spawn_if_terminal(board, events.sender()) {
                events.keep(guard);
            }
        }
        ButtonSource::Gpio => {
            #[cfg(feature = "hardware")]
            events.keep(gpio::GpioButtons::open(
                board,
                timing(buttons),
                events.sender(),
            )?);
            #[cfg(not(feature = "hardware"))]
            return Err(HardwareError::NotBuilt {
                what: "`[buttons] source = \"gpio\"`",
            });
        }
    }
    events.keep(socket::PressSocket::bind_answering(
        press_socket,
        events.answering_sender(),
    )?);
    Ok(events)
}

/// The debounce and long-press times of `[buttons]`.
pub fn timing(buttons: &ButtonSettings) -> Timing {
    Timing {
        debounce: std::time::Duration::from_millis(buttons.debounce_ms),
        long_press: std::time::Duration::from_millis(buttons.long_press_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in Button::ALL {
            assert_eq!(b.name().parse::<Button>().unwrap(), b);
        }
        assert_eq!("PRIVACY".parse::<Button>().unwrap(), Button::Privacy);
        let err = "mute".parse::<Button>().unwrap_err();
        assert!(err.to_string().contains("privacy, snapshot, yes or no"));
    }
}
