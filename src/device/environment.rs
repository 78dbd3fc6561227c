//! What a device is built from, read once at start: its settings, its data
//! directory, its board profile and its clock. Every part that needs one of
//! them — the media, the talk-back speaker, the panel — takes it from here,
//! so a board profile is read (and its errors reported) exactly once, and a
//! test can hand the device a manual clock.

use crate::clock::Clock;
use crate::config::Config;
use crate::hardware::{Board, HardwareError};
use std::path::PathBuf;

/// The device's settings, data directory and board, loaded once.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Settings. Once the web server is up, what derives from its address
    /// names the port it got (see [`Config::with_bound_port`]).
    pub config: Config,
    /// Where identity, contacts, shares and the control socket live.
    pub data_dir: PathBuf,
    /// How this board is wired: pins, display, camera, encoder.
    pub board: Board,
    /// The time the device's timing rules read (the panel's notes).
    pub clock: Clock,
}

impl Environment {
    /// Reads the board profile `config` names; time runs on `clock`.
    pub fn load(
        config: Config,
        data_dir: PathBuf,
        clock: Clock,
    ) -> Result<Environment, HardwareError> {
        let board = Board::load(&config.board.profile)?;
        Ok(Environment {
            config,
            data_dir,
            board,
            clock,
        })
    }
}
