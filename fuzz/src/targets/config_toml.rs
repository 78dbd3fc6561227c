//! The settings files the owner writes: the device's `hearth.toml`, a board
//! profile, and the relay's limits file (`hearth relay --limits`). Each is
//! read by the same function the program uses, then validated.
use hearth::config::Config;
use hearth::hardware::Board;
use hearth::relay::RelayServerConfig;
use std::path::Path;

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = Config::from_toml(text, Path::new("fuzz.toml")) {
        let _ = config.relay_urls();
        let _ = config.web_address();
    }
    let _ = Board::from_toml(text, Path::new("board.toml"));
    if let Ok(limits) = toml::from_str::<RelayServerConfig>(text) {
        if limits.validate().is_ok() {
            let _ = limits.edge_limits();
        }
    }
}
