//! Simulated buttons from the terminal: type a button's key and Enter.
//!
//! The keys come from the board profile (`p` privacy, `s` snapshot, `y` yes, `n` no on
//! every built-in one); an upper-case key is a long press. Lines are read, not raw keys,
//! so the terminal keeps working normally for Ctrl-C and logs.

use std::io::{BufRead, IsTerminal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tracing::{info, warn};

use super::{Action, ButtonEvent};
use crate::hardware::Board;

/// Maps one typed character to an event with the board's keys.
pub fn key_event(board: &Board, key: char) -> Option<ButtonEvent> {
    let lower = key.to_ascii_lowercase();
    let b = board.buttons.iter().find(|b| b.key == lower)?;
    let action = if key.is_ascii_uppercase() {
        Action::LongPress
    } else {
        Action::Press
    };
    Some(ButtonEvent {
        button: b.name,
        action,
    })
}

/// A one-line reminder of the keys, e.g. `p=privacy s=snapshot (upper case: long press)`.
pub fn help(board: &Board) -> String {
    let keys: Vec<String> = board
        .buttons
        .iter()
        .map(|b| format!("{}={}", b.key, b.name))
        .collect();
    format!("{} (upper case: long press), then Enter", keys.join(" "))
}

/// Stops forwarding keys when dropped (the reading thread ends at the next line).
#[derive(Debug)]
pub struct KeyboardGuard {
    stop: Arc<AtomicBool>,
}

impl Drop for KeyboardGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads button keys from stdin on a thread, if stdin is a terminal.
pub fn spawn_if_terminal(board: &Board, tx: UnboundedSender<ButtonEvent>) -> Option<KeyboardGuard> {
    if !std::io::stdin().is_terminal() || board.buttons.is_empty() {
        return None;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let guard = KeyboardGuard { stop: stop.clone() };
    let board = board.clone();
    info!("simulated buttons: type {}", help(&board));
    let spawned = std::thread::Builder::new()
        .name("hearth-keys".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                for key in line.chars().filter(|c| !c.is_whitespace()) {
                    match key_event(&board, key) {
                        Some(event) => {
                            if tx.send(event).is_err() {
                                return;
                            }
                        }
                        None => warn!("no button on key `{key}`; type {}", help(&board)),
                    }
                }
            }
        });
    if let Err(e) = spawned {
        warn!("cannot read simulated buttons from the terminal: {e}");
        return None;
    }
    Some(guard)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hardware::buttons::Button;

    #[test]
    fn keys_map_to_buttons_and_case_to_long_press() {
        let board = Board::built_in("laptop").unwrap();
        let e = key_event(&board, 'p').unwrap();
        assert_eq!((e.button, e.action), (Button::Privacy, Action::Press));
        let e = key_event(&board, 'Y').unwrap();
        assert_eq!((e.button, e.action), (Button::Yes, Action::LongPress));
        assert!(key_event(&board, 'q').is_none());
        assert!(help(&board).contains("p=privacy"));
    }
}
