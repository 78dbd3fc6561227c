//! Camera logic on committed fixture frames: format negotiation, pixel conversion to
//! I420, and surviving an unplugged camera. No camera needed.
//!
//! The fixtures come from `tests/fixtures/make_fixtures.py`, which computes the expected
//! I420 frames independently of the Rust code.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hearth::hardware::camera::convert::{i420_to_i420, nv12_to_i420, yuyv_to_i420};
use hearth::hardware::camera::format::{negotiate, Offer, PixelFormat, Wanted};
use hearth::hardware::camera::resilient::{CameraOpener, Clock, ResilientCamera};
use hearth::hardware::camera::unavailable::unavailable_frame;
use hearth::hardware::HardwareError;
use hearth::media::jpeg::mjpeg_to_i420;
use hearth::media::{I420Frame, MediaError, VideoCapture, VideoFormat};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/camera")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn yuyv_converts_exactly_with_and_without_row_padding() {
    let expected = fixture("yuyv_64x48.i420");
    let tight = yuyv_to_i420(&fixture("yuyv_64x48.raw"), 64, 48, 128).unwrap();
    assert_eq!(tight.data(), &expected[..]);
    let padded = yuyv_to_i420(&fixture("yuyv_64x48_stride160.raw"), 64, 48, 160).unwrap();
    assert_eq!(padded.data(), &expected[..]);
}

#[test]
fn nv12_converts_exactly() {
    let frame = nv12_to_i420(&fixture("nv12_64x48_stride80.raw"), 64, 48, 80).unwrap();
    assert_eq!(frame.data(), &fixture("nv12_64x48.i420")[..]);
}

#[test]
fn padded_i420_is_repacked() {
    let packed = fixture("nv12_64x48.i420");
    let (w, h, stride) = (64usize, 48usize, 80usize);
    let mut padded = Vec::new();
    for row in packed[..w * h].chunks(w) {
        padded.extend_from_slice(row);
        padded.resize(padded.len() + stride - w, 0xEE);
    }
    for plane in packed[w * h..].chunks(w * h / 4) {
        for row in plane.chunks(w / 2) {
            padded.extend_from_slice(row);
            padded.resize(padded.len() + (stride - w) / 2, 0xEE);
        }
    }
    let frame = i420_to_i420(&padded, 64, 48, stride).unwrap();
    assert_eq!(frame.data(), &packed[..]);
}

fn max_difference(a: &[u8], b: &[u8]) -> u8 {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

#[test]
fn mjpeg_decodes_to_studio_range_i420() {
    let frame = mjpeg_to_i420(&fixture("mjpeg_64x48.jpg")).unwrap();
    assert_eq!((frame.width(), frame.height()), (64, 48));
    let expected = fixture("mjpeg_64x48.i420");
    // JPEG is lossy: flat blocks at quality 95 come back within a few levels.
    let worst = max_difference(frame.y(), &expected[..64 * 48]);
    assert!(worst <= 4, "luma: worst difference {worst}");
    // The decoder smooths 4:2:2 chroma across block edges; compare inside the blocks.
    for (plane, got) in [(0, frame.u()), (1, frame.v())] {
        let want = &expected[64 * 48 + plane * 768..64 * 48 + (plane + 1) * 768];
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let column = i % 32;
            if column % 8 != 0 && column % 8 != 7 {
                assert!(g.abs_diff(*w) <= 4, "chroma {plane} at {i}: {g} vs {w}");
            }
        }
    }
    // White and black are studio white (235) and black (16), not 255 and 0.
    assert!(frame.y()[0].abs_diff(235) <= 2 && frame.y()[16].abs_diff(16) <= 2);
}

#[test]
fn mjpeg_without_huffman_tables_decodes_the_same() {
    let with = mjpeg_to_i420(&fixture("mjpeg_64x48.jpg")).unwrap();
    let without = mjpeg_to_i420(&fixture("mjpeg_64x48_no_dht.jpg")).unwrap();
    assert_eq!(with, without);
}

fn offers(list: &[(&[u8; 4], u32, u32, &[u32])]) -> Vec<Offer> {
    list.iter()
        .map(|(fourcc, width, height, fps)| Offer {
            fourcc: **fourcc,
            width: *width,
            height: *height,
            fps: fps.to_vec(),
        })
        .collect()
}

/// What a typical USB 2 webcam (a C920-class camera) lists.
fn usb_webcam() -> Vec<Offer> {
    offers(&[
        (b"YUYV", 640, 480, &[30, 24, 15]),
        (b"YUYV", 1280, 720, &[10, 5]),
        (b"YUYV", 1920, 1080, &[5]),
        (b"H264", 1280, 720, &[30]),
        (b"MJPG", 640, 480, &[30, 24, 15]),
        (b"MJPG", 1280, 720, &[30, 24, 15]),
        (b"MJPG", 1920, 1080, &[30]),
    ])
}

fn want(width: u32, height: u32, fps: u32) -> Wanted {
    Wanted { width, height, fps }
}

#[test]
fn a_usb_webcam_gives_yuyv_when_fast_enough_and_mjpeg_otherwise() {
    let cam = usb_webcam();
    let c = negotiate(&cam, want(640, 480, 30)).unwrap();
    assert_eq!(
        (c.format, c.width, c.height, c.fps),
        (PixelFormat::Yuyv, 640, 480, 30)
    );
    let c = negotiate(&cam, want(1280, 720, 30)).unwrap();
    assert_eq!((c.format, c.width, c.fps), (PixelFormat::Mjpeg, 1280, 30));
    let c = negotiate(&cam, want(1280, 720, 10)).unwrap();
    assert_eq!((c.format, c.width, c.fps), (PixelFormat::Yuyv, 1280, 10));
    // A size the camera lacks: the nearest one.
    let c = negotiate(&cam, want(800, 600, 30)).unwrap();
    assert_eq!((c.format, c.width, c.height), (PixelFormat::Yuyv, 640, 480));
}

#[test]
fn a_csi_camera_under_libcamerify_gives_i420() {
    let cam = offers(&[
        (b"YU12", 1280, 720, &[30]),
        (b"NV12", 1280, 720, &[30]),
        (b"RGB3", 1280, 720, &[30]),
    ]);
    let c = negotiate(&cam, want(1280, 720, 30)).unwrap();
    assert_eq!(c.format, PixelFormat::I420);
}

#[test]
fn an_mjpeg_only_camera_is_accepted_and_a_bayer_only_one_is_not() {
    let c = negotiate(&offers(&[(b"MJPG", 1280, 720, &[30])]), want(640, 480, 30)).unwrap();
    assert_eq!((c.format, c.width), (PixelFormat::Mjpeg, 1280));
    assert!(negotiate(&offers(&[(b"pRAA", 1640, 1232, &[30])]), want(640, 480, 30)).is_none());
}

// --- Unplug and replug, on fake time. ---

#[derive(Clone, Default)]
struct FakeClock {
    now: Arc<Mutex<Option<Instant>>>,
    slept: Arc<Mutex<Duration>>,
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        *self.now.lock().unwrap().get_or_insert_with(Instant::now) + *self.slept.lock().unwrap()
    }
    fn sleep(&self, d: Duration) {
        *self.slept.lock().unwrap() += d;
    }
}

/// A camera that gives `frames` frames of one grey level, then fails like an unplug.
struct FakeCamera {
    format: VideoFormat,
    left: u32,
    level: u8,
    taken: Option<std::time::Instant>,
}

impl VideoCapture for FakeCamera {
    fn format(&self) -> VideoFormat {
        self.format
    }
    fn next_frame(&mut self) -> Result<I420Frame, MediaError> {
        if self.left == 0 {
            return Err(MediaError::Capture("ENODEV".into()));
        }
        self.left -= 1;
        self.taken = Some(std::time::Instant::now());
        let mut f = I420Frame::black(self.format.width, self.format.height)?;
        f.y_mut().fill(self.level);
        Ok(f)
    }
    fn last_capture_time(&self) -> Option<std::time::Instant> {
        self.taken
    }
}

/// Scripted opens: each entry is either a camera (size, frames, level) or an error.
struct Script(Vec<Result<(u32, u32, u32, u8), HardwareError>>);

impl CameraOpener for Script {
    fn open(&mut self) -> Result<Box<dyn VideoCapture>, HardwareError> {
        if self.0.is_empty() {
            return Err(missing());
        }
        let (width, height, left, level) = self.0.remove(0)?;
        Ok(Box::new(FakeCamera {
            format: VideoFormat {
                width,
                height,
                fps: 30,
            },
            left,
            level,
            taken: None,
        }))
    }
}

fn missing() -> HardwareError {
    HardwareError::Missing {
        device: "/dev/video0".into(),
        fix: "plug it in",
    }
}

const VGA: VideoFormat = VideoFormat {
    width: 64,
    height: 48,
    fps: 30,
};

#[test]
fn an_unplugged_camera_shows_a_placeholder_then_comes_back() {
    let script = Script(vec![
        Ok((64, 48, 3, 100)),
        Err(missing()),
        Err(missing()),
        Ok((64, 48, 1000, 200)),
    ]);
    let clock = FakeClock::default();
    let mut cam = ResilientCamera::new(Box::new(script), VGA, clock.clone()).unwrap();
    let placeholder = unavailable_frame(64, 48).unwrap();
    let mut seen = Vec::new();
    for _ in 0..60 {
        let frame = cam
            .next_frame()
            .expect("never an error while sessions are up");
        seen.push(if frame == placeholder {
            0
        } else {
            frame.y()[0]
        });
    }
    assert_eq!(
        &seen[..4],
        &[100, 100, 100, 0],
        "three real frames, then the placeholder"
    );
    let back = seen
        .iter()
        .position(|&l| l == 200)
        .expect("the camera came back");
    assert!(seen[3..back].iter().all(|&l| l == 0));
    assert!(seen[back..].iter().all(|&l| l == 200));
    assert_eq!(cam.reopen_count(), 1);
    assert!(cam.is_available());
    assert!(
        *clock.slept.lock().unwrap() > Duration::ZERO,
        "placeholders are paced"
    );
}

#[test]
fn the_cameras_capture_times_pass_through_and_the_placeholder_has_none() {
    let script = Script(vec![Ok((64, 48, 2, 100))]);
    let mut cam = ResilientCamera::new(Box::new(script), VGA, FakeClock::default()).unwrap();
    let mut times = vec![];
    for _ in 0..3 {
        cam.next_frame().unwrap();
        times.push(cam.last_capture_time());
    }
    assert!(times[0].is_some() && times[1] > times[0], "{times:?}");
    assert_eq!(times[2], None, "the placeholder was not captured");
}

#[test]
fn a_camera_missing_at_start_is_waited_for_at_the_configured_size() {
    let script = Script(vec![Err(missing()), Ok((128, 96, 10, 50))]);
    let mut cam = ResilientCamera::new(Box::new(script), VGA, FakeClock::default()).unwrap();
    assert_eq!(cam.format(), VGA);
    assert!(!cam.is_available());
    let frames: Vec<I420Frame> = (0..20).map(|_| cam.next_frame().unwrap()).collect();
    // Once it appears at another size, its frames are scaled to the configured one.
    let real = frames
        .iter()
        .find(|f| f.y()[0] == 50)
        .expect("camera appeared");
    assert_eq!((real.width(), real.height()), (64, 48));
}

#[test]
fn a_permission_problem_is_reported_at_once() {
    let script = Script(vec![Err(HardwareError::Permission {
        device: "/dev/video0".into(),
        group: "video",
    })]);
    let err = ResilientCamera::new(Box::new(script), VGA, FakeClock::default()).unwrap_err();
    assert!(err.to_string().contains("group `video`"), "{err}");
}

/// A benchmark, not a check: prints how fast frames convert on this machine. Run with
/// `cargo test --release --test hw_camera -- --ignored --nocapture conversion_speed`.
#[test]
#[ignore = "benchmark; prints numbers"]
fn conversion_speed() {
    let (w, h) = (1280u32, 720u32);
    let yuyv = vec![128u8; (w * h * 2) as usize];
    let nv12 = vec![128u8; (w * h * 3 / 2) as usize];
    let photo = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/photo/garden.jpg"),
    )
    .unwrap();
    let time = |name: &str, megapixels: f64, f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..50 {
            f();
        }
        let per = start.elapsed() / 50;
        println!(
            "{name}: {per:?} per frame, {:.0} megapixels/s",
            megapixels / per.as_secs_f64()
        );
    };
    time("YUYV 1280x720", 0.9216, &|| {
        yuyv_to_i420(&yuyv, w, h, (w * 2) as usize).unwrap();
    });
    time("NV12 1280x720", 0.9216, &|| {
        nv12_to_i420(&nv12, w, h, w as usize).unwrap();
    });
    time("MJPEG 320x240", 0.0768, &|| {
        mjpeg_to_i420(&photo).unwrap();
    });
}
