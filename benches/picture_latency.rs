//! A contact's picture on the device, end to end (issue #16)
//! (`cargo bench --bench picture_latency`).
//!
//! A simulated device and a Rust caller run in this process on loopback,
//! with a relay as the tests use. The caller sends the test pattern at 30 fps
//! (openh264), from a camera that notes when it took each numbered frame
//! (tests/support/noting_camera.rs); the device holds the caller allowed
//! `show_on_device`, decodes and shows it on its simulated output (640×480
//! PNG files, `<data>/picture/frame-NNNNN.png`, each written atomically). A
//! thread looks for the next `frame-NNNNN.png` every 2 ms and notes when it
//! appears; afterwards each file's frame number is read back
//! (tests/support/shown_frame.rs) and the latency is the file's
//! appearance less the caller's capture of that frame. One machine, one
//! clock; polling adds up to 2 ms (1 ms on average).
//!
//! Measured for 10 s after 2 s of warm-up, at 320×240 and 640×480. Prints
//! Markdown rows for BENCHMARKS.md; asserts nothing about time.

#[path = "../tests/support/mod.rs"]
mod support;

use hearth::api::{LocalMedia, PeerConnection, VideoStream};
use hearth::contacts::Permission;
use hearth::media::{H264Config, OpenH264Encoder, VideoPipeline};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::harness::{fast_settings, Household, TestRelay};
use support::noting_camera::{NotingCamera, Taken};
use support::shown_frame::frame_number_shown;

/// Measured after [`WARM_UP`], for this long.
const MEASURE: Duration = Duration::from_secs(10);
/// From the first frame shown until measuring starts.
const WARM_UP: Duration = Duration::from_secs(2);
/// How often the picture directory is looked at.
const POLL: Duration = Duration::from_millis(2);
const FPS: u32 = 30;

/// One size's figures.
struct Figures {
    size: (u32, u32),
    captured: usize,
    shown: usize,
    read: usize,
    latencies_ms: Vec<f64>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful: skip.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let mut rows = vec![];
    for size in [(320, 240), (640, 480)] {
        rows.push(measure(size).await);
    }
    println!(
        "Caller's capture → `frame-NNNNN.png` on the device, loopback, {FPS} fps, {} s \
         after {} s of warm-up, load average {} at the start:",
        MEASURE.as_secs(),
        WARM_UP.as_secs(),
        load.join(" ")
    );
    println!();
    println!("| caller sends | frames shown / captured | number read | median | p95 | max |");
    println!("|---|---|---|---|---|---|");
    for f in rows {
        let mut v = f.latencies_ms.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        println!(
            "| {}×{} | {} / {} | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
            f.size.0,
            f.size.1,
            f.shown,
            f.captured,
            f.read,
            quantile(&v, 0.5),
            quantile(&v, 0.95),
            v.last().copied().unwrap_or(f64::NAN),
        );
    }
}

/// The value below which `q` of the sorted `v` lies (nearest rank).
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Starts a device and a caller sending the test pattern at `size`, and
/// measures.
async fn measure(size: (u32, u32)) -> Figures {
    let relay = TestRelay::start().await;
    let home = Household::start(&relay.url(), "Gran", Some(&[Permission::ShowOnDevice])).await;
    let (camera, taken) = NotingCamera::new(size.0, size.1, FPS);
    let encoder = OpenH264Encoder::new(H264Config::new(size.0, size.1, FPS)).expect("openh264");
    let video = VideoPipeline::start(Box::new(camera), Box::new(encoder)).expect("pipeline");
    let media = LocalMedia::new(Some(video), None);
    let connection =
        PeerConnection::with_settings(&home.viewer, home.device.node.peer_key(), fast_settings());
    connection
        .add_stream(&VideoStream::open(&media).await.expect("the camera"))
        .expect("a stream");
    connection.connect().await.expect("the call is answered");
    let picture = home.device_dir.path().join("picture");
    let appeared = tokio::task::spawn_blocking(move || watch_files(&picture))
        .await
        .expect("the watcher");
    connection.close().await;
    let figures = figures(size, &appeared, &taken);
    home.device.stop().await;
    drop(media);
    relay.stop().await;
    figures
}

/// Notes when each `frame-NNNNN.png` appears in `dir`, from the first one
/// until [`WARM_UP`] + [`MEASURE`] later; only those after the warm-up are
/// returned, as (path, when).
fn watch_files(dir: &Path) -> Vec<(PathBuf, Instant)> {
    let path = |n: u64| dir.join(format!("frame-{n:05}.png"));
    let give_up = Instant::now() + Duration::from_secs(30);
    while !path(0).exists() {
        assert!(Instant::now() < give_up, "no frame shown within 30 s");
        std::thread::sleep(POLL);
    }
    let start = Instant::now() + WARM_UP;
    let end = start + MEASURE;
    let mut next = 1;
    let mut appeared = vec![];
    while Instant::now() < end {
        while path(next).exists() {
            let at = Instant::now();
            if at >= start {
                appeared.push((path(next), at));
            }
            next += 1;
        }
        std::thread::sleep(POLL);
    }
    appeared
}

/// Reads back the frame number of every file that `appeared` and pairs it
/// with its capture time.
fn figures(size: (u32, u32), appeared: &[(PathBuf, Instant)], taken: &Taken) -> Figures {
    let taken = taken.lock().unwrap();
    let (first, last) = match (appeared.first(), appeared.last()) {
        (Some((_, first)), Some((_, last))) => (*first, *last),
        _ => {
            return Figures {
                size,
                captured: 0,
                shown: 0,
                read: 0,
                latencies_ms: vec![],
            }
        }
    };
    let captured = taken
        .values()
        .filter(|&&at| at >= first && at <= last)
        .count();
    let mut latencies_ms = vec![];
    for (path, at) in appeared {
        let Some(number) = frame_number_shown(path, size) else {
            continue;
        };
        if let Some(taken_at) = taken.get(&number) {
            latencies_ms.push(at.duration_since(*taken_at).as_secs_f64() * 1000.0);
        }
    }
    Figures {
        size,
        captured,
        shown: appeared.len(),
        read: latencies_ms.len(),
        latencies_ms,
    }
}
