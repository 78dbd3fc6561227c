//! The owner's privacy switch, with one owner: [`Privacy`] holds the state,
//! closes the capture pipelines' gates the moment it goes on, saves it in
//! `privacy.toml` (atomically, so it survives reboots) and holds the only
//! `watch` everyone else follows: calls, WHEP, snapshots, the panel (LED and
//! screen) and `status`. [`PrivacyState`] is the pure state machine under it
//! (one press toggles, an explicit command sets).

use crate::atomic_file::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// File name of the privacy state inside the data directory.
pub const PRIVACY_FILE: &str = "privacy.toml";

/// Errors reading or writing the privacy state.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The file could not be read or written.
    #[error("cannot access {path}: {source}. Privacy stays as it is in memory; check the data directory's permissions")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is damaged.
    #[error("{path} is damaged: {reason}. Privacy is ON until it is fixed: delete the file or run `hearth privacy off`")]
    Corrupt {
        /// The file involved.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// What can change the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivacyInput {
    /// The privacy button was pressed: toggle.
    Press,
    /// An explicit command: on or off.
    Set(bool),
}

/// The switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyState {
    /// Camera and microphone off for everyone.
    pub on: bool,
}

impl PrivacyState {
    /// Applies an input; returns the new state when it changed.
    pub fn apply(&mut self, input: PrivacyInput) -> Option<bool> {
        let next = match input {
            PrivacyInput::Press => !self.on,
            PrivacyInput::Set(on) => on,
        };
        let changed = next != self.on;
        self.on = next;
        changed.then_some(next)
    }

    /// Reads the saved state; a missing file means off. A damaged file
    /// errs (the caller keeps privacy on: fail closed).
    pub fn load(data_dir: &Path) -> Result<Self, PrivacyError> {
        let path = data_dir.join(PRIVACY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| PrivacyError::Corrupt {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(PrivacyError::Io { path, source }),
        }
    }

    /// Saves the state atomically.
    pub fn save(&self, data_dir: &Path) -> Result<(), PrivacyError> {
        let path = data_dir.join(PRIVACY_FILE);
        let text = format!(
            "# Privacy switch: true = camera and microphone off for everyone.\non = {}\n",
            self.on
        );
        write_atomic(&path, text.as_bytes(), 0o600)
            .map_err(|source| PrivacyError::Io { path, source })
    }
}

/// Something that must close the moment privacy goes on, before anyone is
/// told: a capture pipeline. Once `set_private(true)` returns, nothing more
/// passes it.
pub trait PrivacyGate: Send + Sync {
    /// Closes (`true`) or opens (`false`) the gate.
    fn set_private(&self, on: bool);
}

/// The privacy switch: the one place that knows whether privacy is on.
pub struct Privacy {
    inner: Mutex<Inner>,
    changes: watch::Sender<bool>,
    gates: std::sync::RwLock<Vec<Arc<dyn PrivacyGate>>>,
}

struct Inner {
    state: PrivacyState,
    /// Where changes are saved; `None` keeps them in memory only.
    data_dir: Option<PathBuf>,
}

impl std::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Privacy")
            .field("on", &self.is_on())
            .finish()
    }
}

impl Privacy {
    /// Off, kept in memory only, closing `gates` whenever it goes on.
    pub fn new(gates: Vec<Arc<dyn PrivacyGate>>) -> Self {
        Privacy {
            inner: Mutex::new(Inner {
                state: PrivacyState::default(),
                data_dir: None,
            }),
            changes: watch::Sender::new(false),
            gates: std::sync::RwLock::new(gates),
        }
    }

    /// Adds a gate that closes with the others from now on (a contact's
    /// picture on the device's screen); it is set to the switch at once.
    pub fn add_gate(&self, gate: Arc<dyn PrivacyGate>) {
        // Held so the switch cannot move between reading and adding.
        let _switch = self.lock();
        gate.set_private(self.is_on());
        self.gates
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(gate);
    }

    /// Takes the state saved in `data_dir` and saves every later change
    /// there. A damaged file means privacy on (fail closed), logged.
    pub fn keep_in(&self, data_dir: &Path) {
        let saved = PrivacyState::load(data_dir).unwrap_or_else(|e| {
            tracing::error!(error = %e, "privacy state unreadable; privacy is ON");
            PrivacyState { on: true }
        });
        let mut inner = self.lock();
        inner.data_dir = Some(data_dir.to_path_buf());
        inner.state = saved;
        self.publish(saved.on);
    }

    /// A button press or a command; returns whether privacy is on now.
    /// Turning privacy on takes effect before it is saved; turning it off
    /// only once saved.
    pub fn apply(&self, input: PrivacyInput) -> Result<bool, PrivacyError> {
        let mut inner = self.lock();
        let mut next = inner.state;
        let Some(on) = next.apply(input) else {
            return Ok(inner.state.on);
        };
        if on {
            self.publish(true);
            inner.state = next;
            tracing::info!("PRIVATE: camera and microphone off for everyone");
            inner.save(next)?;
        } else {
            inner.save(next)?;
            inner.state = next;
            self.publish(false);
            tracing::info!("privacy off: camera and microphone available to allowed contacts");
        }
        Ok(on)
    }

    /// Sets privacy on or off; returns whether it is on.
    pub fn set(&self, on: bool) -> Result<bool, PrivacyError> {
        self.apply(PrivacyInput::Set(on))
    }

    /// Whether privacy is on.
    pub fn is_on(&self) -> bool {
        *self.changes.borrow()
    }

    /// Follows the switch: `true` while privacy is on.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.changes.subscribe()
    }

    /// Waits until privacy is off.
    pub async fn until_off(&self) {
        let mut changes = self.subscribe();
        let _ = changes.wait_for(|on| !on).await;
    }

    /// Gates first, then everyone who follows the switch.
    fn publish(&self, on: bool) {
        for gate in self.gates.read().unwrap_or_else(|p| p.into_inner()).iter() {
            gate.set_private(on);
        }
        self.changes.send_replace(on);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere must not take the privacy switch down with it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    fn save(&self, state: PrivacyState) -> Result<(), PrivacyError> {
        match &self.data_dir {
            Some(dir) => state.save(dir),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[derive(Default)]
    struct Gate(AtomicBool);

    impl PrivacyGate for Gate {
        fn set_private(&self, on: bool) {
            self.0.store(on, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_owner_closes_gates_before_telling_and_saves_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Arc::new(Gate::default());
        let privacy = Privacy::new(vec![gate.clone()]);
        privacy.keep_in(dir.path());
        let changes = privacy.subscribe();
        assert!(!privacy.is_on() && !*changes.borrow());
        assert!(privacy.apply(PrivacyInput::Press).unwrap());
        assert!(gate.0.load(Ordering::SeqCst) && *changes.borrow());
        assert!(PrivacyState::load(dir.path()).unwrap().on, "saved");

        // A second owner on the same directory (a restart) starts private.
        let restarted = Privacy::new(vec![]);
        restarted.keep_in(dir.path());
        assert!(restarted.is_on());
        assert!(!privacy.set(false).unwrap());
        assert!(!gate.0.load(Ordering::SeqCst) && !*changes.borrow());
    }

    #[test]
    fn a_damaged_file_means_private() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PRIVACY_FILE), "on = maybe").unwrap();
        let gate = Arc::new(Gate::default());
        let privacy = Privacy::new(vec![gate.clone()]);
        privacy.keep_in(dir.path());
        assert!(privacy.is_on() && gate.0.load(Ordering::SeqCst));
    }

    #[test]
    fn a_press_toggles_and_a_command_sets() {
        let mut state = PrivacyState::default();
        assert_eq!(state.apply(PrivacyInput::Press), Some(true));
        assert_eq!(state.apply(PrivacyInput::Set(true)), None, "already on");
        assert_eq!(state.apply(PrivacyInput::Press), Some(false));
        assert_eq!(state.apply(PrivacyInput::Set(false)), None);
    }

    #[test]
    fn survives_a_restart_and_fails_closed_when_damaged() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            !PrivacyState::load(dir.path()).unwrap().on,
            "off by default"
        );
        PrivacyState { on: true }.save(dir.path()).unwrap();
        assert!(PrivacyState::load(dir.path()).unwrap().on);
        std::fs::write(dir.path().join(PRIVACY_FILE), "on = maybe").unwrap();
        let err = PrivacyState::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("hearth privacy off"), "{err}");
    }
}
