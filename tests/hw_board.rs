//! Board profiles and the constructors the device loop calls, with the default
//! configuration (everything simulated) and with real hardware asked for.

use hearth::config::Config;
use hearth::hardware::board::{DisplayKind, BUILT_IN};
use hearth::hardware::buttons::{open_buttons, socket_path};
use hearth::hardware::camera::open_camera;
use hearth::hardware::display::{open_display, Home, Network, Screen};
use hearth::hardware::encoder::open_encoder;
use hearth::hardware::led::{open_led, LiveState};
use hearth::hardware::Board;

#[test]
fn each_pi_profile_names_the_config_txt_lines_its_display_needs() {
    for (name, _) in BUILT_IN {
        let board = Board::built_in(name).unwrap();
        let needs = match board.display.kind {
            DisplayKind::St7789 => Some("dtparam=spi=on"),
            DisplayKind::Ssd1306 => Some("dtparam=i2c_arm=on"),
            DisplayKind::None => None,
        };
        if let Some(line) = needs {
            assert!(
                board.config_txt.iter().any(|l| l == line),
                "{name} lacks {line}"
            );
        }
    }
    assert!(
        !Board::built_in("pi5").unwrap().encoder.hardware,
        "the Pi 5 has no H.264 encoder"
    );
    assert!(Board::built_in("pi-zero-2w").unwrap().encoder.hardware);
}

#[test]
fn the_default_config_opens_everything_without_hardware() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::default();
    let board = Board::load("laptop").unwrap();

    let mut camera = open_camera(&config.video, &board).unwrap();
    let format = camera.format();
    let frame = camera.next_frame().unwrap();
    let mut encoder = open_encoder(&config.video, &board, format).unwrap();
    assert!(encoder.encode(&frame, true).unwrap().unwrap().keyframe);

    let mut display = open_display(&config.display, &board, dir.path()).unwrap();
    display
        .show(&Screen::Home(Home {
            private: true,
            watchers: vec![],
            network: Network::Online,
        }))
        .unwrap();
    assert!(dir.path().join("screen.png").exists());

    let mut led = open_led(&config.led, &board).unwrap();
    assert!(led
        .update(LiveState {
            video_viewers: 1,
            audio_listeners: 0
        })
        .unwrap());

    let buttons = open_buttons(&config.buttons, &board, &socket_path(dir.path())).unwrap();
    assert!(socket_path(dir.path()).exists());
    drop(buttons);
}

#[test]
fn a_custom_profile_file_is_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("my-board.toml");
    let text = BUILT_IN[2]
        .1
        .replace("name = \"pi4\"", "name = \"kitchen\"");
    std::fs::write(&path, text).unwrap();
    assert_eq!(Board::load(path.to_str().unwrap()).unwrap().name, "kitchen");
    let err = Board::load("pi9").unwrap_err();
    assert!(
        err.to_string()
            .contains("pi-zero-2w, pi3, pi4, pi5, laptop"),
        "{err}"
    );
}

#[cfg(not(feature = "hardware"))]
#[test]
fn asking_for_hardware_without_the_feature_says_how_to_build_it() {
    let board = Board::built_in("pi4").unwrap();
    let mut config = Config::default();
    config.video.source = hearth::config::hardware::VideoSource::Camera;
    let err = open_camera(&config.video, &board).err().expect("refused");
    assert!(err.to_string().contains("--features hardware"), "{err}");
    let mut config = Config::default();
    config.led.output = hearth::config::hardware::LedOutput::Gpio;
    assert!(open_led(&config.led, &board)
        .unwrap_err()
        .to_string()
        .contains("--features hardware"));
}
