//! A contact's picture on the small screen, end to end (issue #16)
//! (`cargo bench --bench small_screen_fps`): how many pictures a second the
//! simulated ST7789 reaches at a given SPI clock, and how late they are.
//!
//! A simulated device whose board profile has an ST7789 (240×240) at the
//! clock under test shows a caller's picture on its small screen
//! (`[picture] output = "screen"`); the panel paces pictures to what the bus
//! can take (`spi_rate::panel_fps`) and writes each drawn screen to
//! `screen.png`. The caller sends the test pattern at 320×240 (what the device
//! asks for) and 30 fps, from a camera that notes when it took each numbered
//! frame. A thread reads `screen.png` every 2 ms; each frame number seen for
//! the first time counts as a picture reached, and its latency is when it was
//! seen less when the caller took it. Measured for 10 s after 2 s of warm-up.
//! Prints Markdown rows for BENCHMARKS.md; asserts nothing about time.

#[path = "../tests/support/mod.rs"]
mod support;

use hearth::api::{LocalMedia, PeerConnection, VideoStream};
use hearth::config::hardware::PictureTarget;
use hearth::contacts::Permission;
use hearth::hardware::picture::spi_rate::panel_fps;
use hearth::media::{H264Config, OpenH264Encoder, VideoPipeline};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};
use support::harness::{fast_settings, Household, TestRelay};
use support::noting_camera::NotingCamera;
use support::shown_frame::{screen_area, Shown};

const MEASURE: Duration = Duration::from_secs(10);
const WARM_UP: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(2);
const FPS: u32 = 30;
const SIZE: (u32, u32) = (320, 240);
/// SPI clocks measured: the Pi's usual ST7789 ceiling, the profiles' 32 MHz,
/// and two slow buses where the bus, not the sender, sets the rate.
const CLOCKS_HZ: [u32; 4] = [62_500_000, 32_000_000, 16_000_000, 8_000_000];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!(
        "Caller at {}×{} {FPS} fps → the simulated ST7789 (240×240, 16 bits), {} s after {} s \
         of warm-up, load average {} at the start:",
        SIZE.0,
        SIZE.1,
        MEASURE.as_secs(),
        WARM_UP.as_secs(),
        load.join(" ")
    );
    println!();
    println!("| SPI clock | the bus allows | pictures reached | median latency | p95 |");
    println!("|---|---|---|---|---|");
    for hz in CLOCKS_HZ {
        let (reached, mut latencies) = measure(hz).await;
        latencies.sort_by(|a, b| a.total_cmp(b));
        println!(
            "| {:.1} MHz | {:.1} fps | {:.1} fps | {:.0} ms | {:.0} ms |",
            f64::from(hz) / 1e6,
            panel_fps(240, 240, hz),
            reached,
            quantile(&latencies, 0.5),
            quantile(&latencies, 0.95),
        );
    }
}

fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// A board profile like the laptop's with an ST7789 on an SPI bus at `hz`.
fn board_with_screen(dir: &Path, hz: u32) -> String {
    let laptop = include_str!("../board/laptop.toml");
    let profile = laptop.replace(
        "kind = \"none\"",
        &format!("kind = \"st7789\"\nspi_hz = {hz}\ndc_gpio = 25"),
    );
    assert_ne!(profile, laptop, "the laptop profile names its display");
    let path = dir.join("board.toml");
    std::fs::write(&path, profile).unwrap();
    path.display().to_string()
}

/// Pictures a second reached at `hz`, and each one's latency in ms.
async fn measure(hz: u32) -> (f64, Vec<f64>) {
    let relay = TestRelay::start().await;
    let boards = tempfile::tempdir().unwrap();
    let board = board_with_screen(boards.path(), hz);
    let relays = [relay.url()];
    let home = Household::start_configured(
        &relays,
        &relays,
        "Gran",
        Some(&[Permission::ShowOnDevice]),
        |config| {
            config.picture.output = PictureTarget::Screen;
            config.board.profile = board;
        },
    )
    .await;
    home.device.start_panel().expect("the simulated panel");
    let (camera, taken) = NotingCamera::new(SIZE.0, SIZE.1, FPS);
    let encoder = OpenH264Encoder::new(H264Config::new(SIZE.0, SIZE.1, FPS)).expect("openh264");
    let video = VideoPipeline::start(Box::new(camera), Box::new(encoder)).expect("pipeline");
    let media = LocalMedia::new(Some(video), None);
    let connection =
        PeerConnection::with_settings(&home.viewer, home.device.node.peer_key(), fast_settings());
    connection
        .add_stream(&VideoStream::open(&media).await.expect("the camera"))
        .expect("a stream");
    connection.connect().await.expect("the call is answered");
    let screen = home.device_dir.path().join("screen.png");
    let seen = tokio::task::spawn_blocking(move || watch_screen(&screen))
        .await
        .expect("the watcher");
    connection.close().await;
    let taken = taken.lock().unwrap().clone();
    let latencies = seen
        .iter()
        .filter_map(|(n, at)| {
            taken
                .get(n)
                .map(|t| at.duration_since(*t).as_secs_f64() * 1e3)
        })
        .collect();
    home.device.stop().await;
    drop(media);
    relay.stop().await;
    (seen.len() as f64 / MEASURE.as_secs_f64(), latencies)
}

/// Each frame number first seen on `screen` during the measurement, and when.
fn watch_screen(screen: &Path) -> HashMap<u32, Instant> {
    let area = screen_area((240, 240), SIZE, 2);
    let number = || Shown::read(screen).and_then(|s| s.frame_number(area, SIZE));
    let give_up = Instant::now() + Duration::from_secs(30);
    while number().is_none() {
        assert!(
            Instant::now() < give_up,
            "no picture on the screen within 30 s"
        );
        std::thread::sleep(POLL);
    }
    let start = Instant::now() + WARM_UP;
    let end = start + MEASURE;
    let mut seen = HashMap::new();
    let mut before = HashMap::new();
    while Instant::now() < end {
        if let Some(n) = number() {
            let now = Instant::now();
            if now < start {
                before.entry(n).or_insert(now);
            } else if !before.contains_key(&n) {
                seen.entry(n).or_insert(now);
            }
        }
        std::thread::sleep(POLL);
    }
    seen
}
