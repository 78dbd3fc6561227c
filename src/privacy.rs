//! The owner's privacy switch as device-level state: a pure state machine
//! (one press toggles, an explicit command sets) and its persistence in
//! `privacy.toml` in the data directory, written atomically so the switch
//! survives reboots. The device applies it to its camera and microphone
//! ([`crate::api::LocalMedia::set_private`]), its LED and its screen.

use crate::atomic_file::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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

#[cfg(test)]
mod tests {
    use super::*;

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
