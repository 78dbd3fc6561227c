//! Tests on real hardware, ignored by default. On a Raspberry Pi (or a laptop with a
//! webcam and a sound card), build with the real backends and run them:
//!
//! ```sh
//! cargo test --release --features hardware --test hw_real -- --ignored --nocapture --test-threads 1
//! ```
//!
//! `HEARTH_TEST_BOARD` picks the board profile (default `auto`), `HEARTH_TEST_CAMERA`
//! the camera node (default `auto`). See docs/hardware.md for what each one needs.
#![cfg(feature = "hardware")]

use std::time::{Duration, Instant};

use hearth::config::hardware::{DisplayOutput, EncoderPreference, LedOutput};
use hearth::config::Config;
use hearth::hardware::audio::{open_microphone, open_speaker};
use hearth::hardware::board::DisplayKind;
use hearth::hardware::camera::open_camera;
use hearth::hardware::camera::resilient::CameraOpener;
use hearth::hardware::camera::v4l2::V4l2Opener;
use hearth::hardware::display::{open_display, Home, Network, Received, Screen};
use hearth::hardware::encoder::{encoder_device, m2m, open_encoder};
use hearth::hardware::led::{open_led, LiveState};
use hearth::hardware::Board;
use hearth::media::h264::SpsInfo;
use hearth::media::{H264Decoder, TestPatternCamera, VideoCapture, VideoFormat};

fn board() -> Board {
    Board::load(&std::env::var("HEARTH_TEST_BOARD").unwrap_or_else(|_| "auto".into())).unwrap()
}

fn camera_config() -> Config {
    let mut config = Config::default();
    config.video.source = hearth::config::hardware::VideoSource::Camera;
    config.video.device = std::env::var("HEARTH_TEST_CAMERA").unwrap_or_else(|_| "auto".into());
    config
}

#[test]
#[ignore = "needs a camera"]
fn the_camera_delivers_fresh_frames() {
    let config = camera_config();
    let wanted = hearth::hardware::camera::wanted_format(&config.video);
    let mut camera = V4l2Opener::new(&config.video.device, wanted)
        .open()
        .unwrap_or_else(|e| panic!("{e}"));
    let format = camera.format();
    println!("camera format: {format:?}");
    let start = Instant::now();
    let mut distinct = 0;
    let mut last = None;
    for _ in 0..60 {
        let frame = camera.next_frame().unwrap();
        assert_eq!(
            (frame.width(), frame.height()),
            (format.width, format.height)
        );
        if last.as_ref() != Some(&frame) {
            distinct += 1;
        }
        last = Some(frame);
    }
    let fps = 60.0 / start.elapsed().as_secs_f64();
    println!("{fps:.1} frames per second, {distinct} distinct");
    assert!(
        distinct > 30,
        "the picture should change (sensor noise at least)"
    );
}

#[test]
#[ignore = "needs a camera that is unplugged and replugged by hand during the test"]
fn the_camera_comes_back_after_a_replug() {
    let board = board();
    let mut camera = open_camera(&camera_config().video, &board).expect("camera opens");
    println!("unplug the camera now, then plug it back within 30 seconds");
    let deadline = Instant::now() + Duration::from_secs(40);
    let (mut lost, mut back) = (false, false);
    let placeholder = hearth::hardware::camera::unavailable::unavailable_frame(
        camera.format().width,
        camera.format().height,
    )
    .unwrap();
    while Instant::now() < deadline && !back {
        let frame = camera.next_frame().expect("never an error");
        if frame == placeholder {
            lost = true;
        } else if lost {
            back = true;
        }
    }
    assert!(lost && back, "lost: {lost}, back: {back}");
}

#[test]
#[ignore = "needs a hardware H.264 encoder (Pi Zero 2 W, 3, 4)"]
fn the_hardware_encoder_makes_webrtc_ready_h264() {
    let board = board();
    let device = encoder_device(&Config::default().video, &board).expect("board has an encoder");
    let info = m2m::probe(&device).unwrap_or_else(|e| panic!("{e}"));
    println!("{info:?}");
    let mut config = Config::default();
    config.video.encoder = EncoderPreference::V4l2m2m;
    let format = VideoFormat {
        width: 1280,
        height: 720,
        fps: 30,
    };
    let mut encoder = open_encoder(&config.video, &board, format).unwrap();
    let mut camera = TestPatternCamera::new(1280, 720, 30).unwrap();
    let mut decoder = H264Decoder::new().unwrap();
    let start = Instant::now();
    let mut decoded = 0;
    for i in 0..120 {
        let frame = camera.next_frame().unwrap();
        let out = encoder
            .encode(&frame, i == 60)
            .unwrap()
            .expect("one access unit per frame");
        if i == 0 || i == 60 {
            assert!(out.keyframe, "frame {i} must be an IDR");
            let sps = SpsInfo::find(&out.data).expect("SPS before every IDR");
            assert!(sps.is_constrained_baseline(), "{}", sps.profile_level_id());
            println!("frame {i}: profile-level-id {}", sps.profile_level_id());
        }
        if decoder.decode(&out.data).unwrap().is_some() {
            decoded += 1;
        }
    }
    println!("120 frames of 720p in {:?}", start.elapsed());
    assert!(decoded >= 119, "openh264 decoded {decoded} of 120");
}

#[test]
#[ignore = "needs a microphone"]
fn the_microphone_gives_a_second_of_audio() {
    let mut config = Config::default();
    config.audio.source = hearth::config::hardware::AudioSource::Alsa;
    let mut mic = open_microphone(&config.audio, &board()).unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let mut peak = 0i32;
    for _ in 0..50 {
        let frame = mic.read_frame().unwrap();
        peak = peak.max(frame.iter().map(|s| i32::from(*s).abs()).max().unwrap());
    }
    println!("1 s of audio in {:?}, peak {peak}", start.elapsed());
    assert!(
        start.elapsed() > Duration::from_millis(700),
        "audio comes in real time"
    );
}

#[test]
#[ignore = "needs a speaker; plays a one-second beep"]
fn the_speaker_plays_a_beep() {
    let mut config = Config::default();
    config.audio.speaker = hearth::config::hardware::TalkBackOutput::Alsa;
    let dir = tempfile::tempdir().unwrap();
    let mut speaker =
        open_speaker(&config.audio, &board(), dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let beep: Vec<i16> = (0..48_000)
        .map(|i| ((i as f32 * 440.0 * std::f32::consts::TAU / 48_000.0).sin() * 8000.0) as i16)
        .collect();
    for chunk in beep.chunks(960) {
        speaker.play(chunk).unwrap();
    }
}

#[test]
#[ignore = "needs the board's LED"]
fn the_led_blinks_three_times() {
    let mut config = Config::default();
    config.led.output = LedOutput::Gpio;
    let mut led = open_led(&config.led, &board()).unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..3 {
        assert!(led
            .update(LiveState {
                video_viewers: 1,
                audio_listeners: 0
            })
            .unwrap());
        std::thread::sleep(Duration::from_millis(400));
        assert!(!led.update(LiveState::default()).unwrap());
        std::thread::sleep(Duration::from_millis(400));
    }
}

#[test]
#[ignore = "needs the board's display; shows each screen for two seconds"]
fn the_display_shows_every_screen() {
    let board = board();
    assert_ne!(
        board.display.kind,
        DisplayKind::None,
        "this board profile has no display"
    );
    let mut config = Config::default();
    config.display.output = DisplayOutput::Board;
    let dir = tempfile::tempdir().unwrap();
    let mut display =
        open_display(&config.display, &board, dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let screens = [
        Screen::Home(Home {
            private: true,
            watchers: vec![],
            network: Network::Online,
        }),
        Screen::Home(Home {
            private: false,
            watchers: vec!["Grandma".into()],
            network: Network::Online,
        }),
        Screen::Pairing {
            device_name: "Test".into(),
            code: "hearth1.".to_string() + &"A".repeat(230),
        },
        Screen::Approval {
            name: "Grandma".into(),
        },
        Screen::SnapshotSent {
            delivered: 1,
            total: 2,
        },
        Screen::Received {
            from: "Tom".into(),
            content: Received::Text("Hello from the test".into()),
        },
        Screen::Error {
            message: "This is what an error looks like.".into(),
        },
    ];
    for screen in &screens {
        let start = Instant::now();
        display.show(screen).unwrap();
        println!(
            "{:?} drawn in {:?}",
            std::mem::discriminant(screen),
            start.elapsed()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// Not a check: prints raw edges of every button pin for 10 seconds in the format of
/// `tests/fixtures/buttons/*.edges`, to record real timings as new fixtures.
#[test]
#[ignore = "needs the board's buttons; press them during the 10 seconds"]
fn record_button_edges() {
    use rppal::gpio::{Gpio, Trigger};
    let gpio = Gpio::new().unwrap();
    let mut pins = Vec::new();
    for b in board().buttons.iter().filter(|b| b.gpio.is_some()) {
        let mut pin = gpio.get(b.gpio.unwrap()).unwrap().into_input_pullup();
        pin.set_interrupt(Trigger::Both, None).unwrap();
        pins.push((b.name, pin));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut first = None;
    while Instant::now() < deadline {
        let refs: Vec<_> = pins.iter().map(|(_, p)| p).collect();
        if let Some((pin, event)) = gpio
            .poll_interrupts(&refs, false, Some(Duration::from_millis(100)))
            .unwrap()
        {
            let start = *first.get_or_insert(event.timestamp);
            let name = pins.iter().find(|(_, p)| p.pin() == pin.pin()).unwrap().0;
            let pressed = u8::from(event.trigger == Trigger::FallingEdge);
            println!(
                "{} {pressed} # {name}",
                (event.timestamp - start).as_micros()
            );
        }
    }
}
