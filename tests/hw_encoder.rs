//! Encoder selection and fallback against fake memory-to-memory devices: no hardware
//! encoder needed. The software side is the real openh264.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hearth::config::hardware::EncoderPreference;
use hearth::config::Config;
use hearth::hardware::camera::format::PixelFormat;
use hearth::hardware::encoder::fallback::{FallbackEncoder, SoftwareFactory, MAX_EMPTY_FRAMES};
use hearth::hardware::encoder::{h264_config, open_encoder, select, M2mInfo, Selection};
use hearth::hardware::{Board, HardwareError};
use hearth::media::h264::SpsInfo;
use hearth::media::{
    EncodedVideo, I420Frame, MediaError, OpenH264Encoder, VideoEncoder, VideoFormat,
};

/// What the Pi's bcm2835-codec encoder node reports.
fn bcm2835() -> M2mInfo {
    M2mInfo {
        driver: "bcm2835-codec".into(),
        is_m2m: true,
        raw_formats: vec![*b"YU12", *b"YV12", *b"NV12", *b"NV21", *b"RGBP"],
        coded_formats: vec![*b"H264"],
        max_size: Some((1920, 1920)),
        min_size: Some((32, 32)),
    }
}

fn pick(
    pref: EncoderPreference,
    board_hw: bool,
    info: Result<M2mInfo, HardwareError>,
    size: (u32, u32, u32),
) -> Selection {
    select(
        pref,
        board_hw,
        Some(Path::new("/dev/video11")),
        |_| info,
        size,
    )
}

fn is_software(s: &Selection) -> bool {
    matches!(s, Selection::Software { .. })
}

#[test]
fn a_pi_4_encodes_720p_in_hardware_from_i420() {
    let s = pick(
        EncoderPreference::Auto,
        true,
        Ok(bcm2835()),
        (1280, 720, 30),
    );
    assert_eq!(
        s,
        Selection::Hardware {
            device: "/dev/video11".into(),
            input: PixelFormat::I420
        }
    );
}

#[test]
fn sizes_the_hardware_cannot_encode_go_to_openh264() {
    for size in [
        (2592, 1944, 15),
        (1920, 1080, 60),
        (16, 16, 30),
        (1920, 1940, 30),
    ] {
        let s = pick(EncoderPreference::V4l2m2m, true, Ok(bcm2835()), size);
        assert!(is_software(&s), "{size:?}: {s:?}");
    }
    assert!(!is_software(&pick(
        EncoderPreference::Auto,
        true,
        Ok(bcm2835()),
        (1920, 1080, 30)
    )));
}

#[test]
fn a_pi_5_or_a_laptop_never_probes() {
    let s = select(
        EncoderPreference::Auto,
        false,
        Some(Path::new("/dev/video11")),
        |_| panic!("must not open the device"),
        (1280, 720, 30),
    );
    assert!(is_software(&s));
}

#[test]
fn odd_devices_are_refused_with_a_reason() {
    let decoder = M2mInfo {
        coded_formats: vec![*b"HEVC"],
        ..bcm2835()
    };
    let rgb_only = M2mInfo {
        raw_formats: vec![*b"RGBP"],
        ..bcm2835()
    };
    let not_m2m = M2mInfo {
        is_m2m: false,
        ..bcm2835()
    };
    let missing = Err(HardwareError::Missing {
        device: "/dev/video11".into(),
        fix: "no encoder",
    });
    for info in [Ok(decoder), Ok(rgb_only), Ok(not_m2m), missing] {
        match pick(EncoderPreference::V4l2m2m, true, info, (640, 480, 30)) {
            Selection::Software { reason } => assert!(!reason.is_empty()),
            other => panic!("{other:?}"),
        }
    }
    assert!(is_software(&pick(
        EncoderPreference::Openh264,
        true,
        Ok(bcm2835()),
        (640, 480, 30)
    )));
}

// --- Fallback at run time. ---

const SPS_BASELINE: &[u8] = &[0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xaa];
const SPS_HIGH: &[u8] = &[0, 0, 0, 1, 0x67, 0x64, 0x00, 0x28, 0xaa];
const PPS: &[u8] = &[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80];
const IDR: &[u8] = &[0, 0, 0, 1, 0x65, 0x88, 0x84];
const P: &[u8] = &[0, 0, 0, 1, 0x41, 0x9a, 0x02];

/// How the fake hardware encoder behaves.
#[derive(Clone, Copy)]
enum Fake {
    /// Good constrained-baseline output.
    Good,
    /// Fails after this many frames.
    FailsAfter(u32),
    /// Emits High profile.
    HighProfile,
    /// Swallows every frame.
    Silent,
}

struct FakeHardware {
    mode: Fake,
    frames: u32,
}

impl VideoEncoder for FakeHardware {
    fn encode(
        &mut self,
        _frame: &I420Frame,
        force: bool,
    ) -> Result<Option<EncodedVideo>, MediaError> {
        let n = self.frames;
        self.frames += 1;
        let key = n == 0 || force;
        let data = match self.mode {
            Fake::FailsAfter(limit) if n >= limit => {
                return Err(MediaError::Encode("VIDIOC_DQBUF: EIO".into()))
            }
            Fake::Silent => return Ok(None),
            Fake::HighProfile if key => [SPS_HIGH, PPS, IDR].concat(),
            _ if key => [SPS_BASELINE, PPS, IDR].concat(),
            _ => P.to_vec(),
        };
        Ok(Some(EncodedVideo {
            data: Bytes::from(data),
            keyframe: key,
            sequence: u64::from(n),
            captured_at: Instant::now(),
            duration: Duration::from_millis(33),
            temporal_layer: 0,
        }))
    }
}

fn fallback(mode: Fake) -> (FallbackEncoder, Arc<AtomicU32>) {
    let made = Arc::new(AtomicU32::new(0));
    let counter = made.clone();
    let software: SoftwareFactory = Box::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let config = h264_config(
            &Config::default().video,
            VideoFormat {
                width: 160,
                height: 120,
                fps: 30,
            },
        );
        Ok(Box::new(OpenH264Encoder::new(config)?) as Box<dyn VideoEncoder>)
    });
    (
        FallbackEncoder::new(Box::new(FakeHardware { mode, frames: 0 }), software, 31),
        made,
    )
}

fn frame() -> I420Frame {
    I420Frame::black(160, 120).unwrap()
}

#[test]
fn good_hardware_stays_in_use() {
    let (mut enc, made) = fallback(Fake::Good);
    for _ in 0..10 {
        enc.encode(&frame(), false).unwrap().unwrap();
    }
    assert!(enc.is_hardware());
    assert_eq!(made.load(Ordering::SeqCst), 0, "openh264 never started");
}

#[test]
fn a_failing_encoder_hands_over_with_a_keyframe_on_the_same_frame() {
    let (mut enc, made) = fallback(Fake::FailsAfter(5));
    for _ in 0..5 {
        assert!(enc.encode(&frame(), false).unwrap().is_some());
    }
    let handed_over = enc
        .encode(&frame(), false)
        .unwrap()
        .expect("a frame, not a gap");
    assert!(handed_over.keyframe, "viewers recover at once");
    assert!(SpsInfo::find(&handed_over.data)
        .unwrap()
        .is_constrained_baseline());
    assert!(!enc.is_hardware());
    assert!(enc.switched_because().unwrap().contains("EIO"));
    let next = enc.encode(&frame(), false).unwrap().unwrap();
    assert!(!next.keyframe);
    assert_eq!(made.load(Ordering::SeqCst), 1);
}

#[test]
fn a_stream_viewers_would_refuse_is_replaced() {
    let (mut enc, _) = fallback(Fake::HighProfile);
    let first = enc.encode(&frame(), false).unwrap().unwrap();
    let sps = SpsInfo::find(&first.data).unwrap();
    assert!(sps.is_constrained_baseline(), "{}", sps.profile_level_id());
    assert!(enc.switched_because().unwrap().contains("profile 100"));
}

#[test]
fn a_silent_encoder_is_given_up() {
    let (mut enc, _) = fallback(Fake::Silent);
    let outputs: Vec<_> = (0..=MAX_EMPTY_FRAMES + 1)
        .map(|_| enc.encode(&frame(), false).unwrap())
        .collect();
    assert!(outputs[..MAX_EMPTY_FRAMES as usize]
        .iter()
        .all(Option::is_none));
    assert!(outputs.last().unwrap().is_some());
    assert!(!enc.is_hardware());
}

#[test]
fn open_encoder_on_a_laptop_gives_working_openh264() {
    let board = Board::built_in("laptop").unwrap();
    let format = VideoFormat {
        width: 320,
        height: 240,
        fps: 30,
    };
    let mut enc = open_encoder(&Config::default().video, &board, format).unwrap();
    let out = enc
        .encode(&I420Frame::black(320, 240).unwrap(), true)
        .unwrap()
        .unwrap();
    assert!(out.keyframe);
    assert_eq!(
        SpsInfo::find(&out.data).unwrap().profile_level_id(),
        "42c01f"
    );
}
