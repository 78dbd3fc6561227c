//! The simulated screen a device's panel writes (`screen.png` in its data
//! directory), compared with what a given [`Screen`] looks like when drawn.

use hearth::config::Config;
use hearth::hardware::display::png::{viewing_scale, PngDisplay};
use hearth::hardware::display::{simulated_size, Display, Screen};
use hearth::hardware::Board;
use std::path::Path;
use std::time::Duration;

/// The PNG bytes the panel of a device with `config` writes for `screen`.
pub fn drawn(config: &Config, screen: &Screen) -> Vec<u8> {
    let board = Board::load(&config.board.profile).expect("board profile");
    let size = simulated_size(&config.display, &board).expect("display size");
    let dir = tempfile::tempdir().unwrap();
    let mut display = PngDisplay::new(dir.path(), size, viewing_scale(size)).unwrap();
    display.show(screen).unwrap();
    std::fs::read(display.path()).unwrap()
}

/// Waits until the device on `data_dir` shows `screen`.
pub async fn wait_for_screen(what: &str, data_dir: &Path, config: &Config, screen: &Screen) {
    let expected = drawn(config, screen);
    let path = data_dir.join("screen.png");
    super::harness::wait_until(what, Duration::from_secs(60), || {
        std::fs::read(&path).is_ok_and(|now| now == expected)
    })
    .await;
}
