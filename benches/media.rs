//! Micro-benchmarks of the media path (`cargo bench --bench media`): openh264 encoding and
//! decoding of the simulated camera at 640×480 and 1280×720, YUYV/NV12 → I420 conversion
//! (`hardware::camera::convert`, what the V4L2 camera runs on every frame), the steps
//! of a 2 MP snapshot (IDR encode, decode, JPEG), stamping/reading the frame number, and
//! a contact's incoming picture decoded and composed for HDMI (1920×1080) or the small
//! screen (240×240), and drawn on the small screen as the panel does (issue #16).
//! BENCHMARKS.md quotes the medians.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hearth::hardware::camera::convert::{nv12_to_i420, yuyv_to_i420};
use hearth::media::{
    read_frame_number, stamp_frame_number, H264Config, H264Decoder, OpenH264Encoder, TestPattern,
    VideoEncoder,
};
use hearth::share::snapshot::{jpeg_from_i420, jpeg_from_rgb, SnapshotSettings};
use std::hint::black_box;

const SIZES: [(u32, u32); 2] = [(640, 480), (1280, 720)];
/// Frames cycled through, so the encoder sees motion.
const CLIP: u32 = 60;

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("openh264_encode");
    for (w, h) in SIZES {
        let pattern = TestPattern::new(w, h).unwrap();
        let frames: Vec<_> = (0..CLIP).map(|n| pattern.frame(n)).collect();
        let mut encoder = OpenH264Encoder::new(H264Config::new(w, h, 30)).unwrap();
        group.throughput(Throughput::Elements(1));
        let mut n = 0usize;
        group.bench_function(BenchmarkId::from_parameter(format!("{w}x{h}")), |b| {
            b.iter(|| {
                n = (n + 1) % frames.len();
                black_box(encoder.encode(&frames[n], false).unwrap())
            })
        });
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("openh264_decode");
    for (w, h) in SIZES {
        let pattern = TestPattern::new(w, h).unwrap();
        // An IDR then P-frames; the decoder is restarted with each pass over the clip.
        let mut encoder =
            OpenH264Encoder::new(H264Config::new(w, h, 30).with_idr_interval(0)).unwrap();
        let units: Vec<_> = (0..CLIP)
            .map(|n| encoder.encode(&pattern.frame(n), n == 0).unwrap().unwrap())
            .collect();
        group.throughput(Throughput::Elements(units.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(format!("{w}x{h}")), |b| {
            b.iter(|| {
                let mut decoder = H264Decoder::new().unwrap();
                for unit in &units {
                    black_box(decoder.decode(&unit.data).unwrap());
                }
            })
        });
    }
    group.finish();
}

fn convert(c: &mut Criterion) {
    let mut group = c.benchmark_group("to_i420");
    for (w, h) in SIZES {
        let pixels = u64::from(w) * u64::from(h);
        group.throughput(Throughput::Elements(pixels));
        let yuyv: Vec<u8> = (0..pixels * 2).map(|i| (i * 7 % 251) as u8).collect();
        group.bench_function(BenchmarkId::new("yuyv", format!("{w}x{h}")), |b| {
            b.iter(|| black_box(yuyv_to_i420(&yuyv, w, h, w as usize * 2).unwrap()))
        });
        let nv12: Vec<u8> = (0..pixels * 3 / 2).map(|i| (i * 7 % 251) as u8).collect();
        group.bench_function(BenchmarkId::new("nv12", format!("{w}x{h}")), |b| {
            b.iter(|| black_box(nv12_to_i420(&nv12, w, h, w as usize).unwrap()))
        });
    }
    group.finish();
}

/// What a snapshot costs at 1920×1080 (2 MP), step by step: the frame the camera
/// pipeline encodes as an IDR, decoding it again, and the JPEG (`share::snapshot`).
fn snapshot(c: &mut Criterion) {
    let (w, h) = (1920, 1080);
    let frame = TestPattern::new(w, h).unwrap().frame(0);
    let mut group = c.benchmark_group("snapshot_1080p");
    group.sample_size(20);
    let mut encoder =
        OpenH264Encoder::new(H264Config::new(w, h, 30).with_bitrate(4_000_000)).unwrap();
    group.bench_function("openh264_idr", |b| {
        b.iter(|| black_box(encoder.encode(&frame, true).unwrap()))
    });
    let idr = encoder.encode(&frame, true).unwrap().unwrap();
    group.bench_function("decode_idr_fresh_decoder", |b| {
        b.iter(|| black_box(H264Decoder::new().unwrap().decode(&idr.data).unwrap()))
    });
    let decoded = H264Decoder::new()
        .unwrap()
        .decode(&idr.data)
        .unwrap()
        .unwrap();
    let settings = SnapshotSettings {
        quality: 80,
        max_width: w,
        max_bytes: 2 * 1024 * 1024,
    };
    group.bench_function("jpeg_from_i420", |b| {
        b.iter(|| black_box(jpeg_from_i420(&decoded, &settings).unwrap()))
    });
    // What `jpeg_from_i420` did before: every pixel to RGB in floating point, then the
    // encoder converts back to YCbCr. Kept here to compare against.
    group.bench_function("jpeg_via_float_rgb", |b| {
        b.iter(|| {
            let rgb = i420_to_rgb_float(&decoded);
            black_box(jpeg_from_rgb(&rgb, w, h, &settings).unwrap())
        })
    });
    group.finish();
}

/// The former snapshot conversion: BT.601, per pixel, in `f32`.
fn i420_to_rgb_float(frame: &hearth::media::I420Frame) -> Vec<u8> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (y, u, v) = (frame.y(), frame.u(), frame.v());
    let mut rgb = Vec::with_capacity(w * h * 3);
    for row in 0..h {
        for col in 0..w {
            let yy = y[row * w + col] as f32;
            let c = (row / 2) * (w / 2) + col / 2;
            let (cb, cr) = (u[c] as f32 - 128.0, v[c] as f32 - 128.0);
            let px = [
                yy + 1.402 * cr,
                yy - 0.344 * cb - 0.714 * cr,
                yy + 1.772 * cb,
            ];
            rgb.extend(px.map(|p| p.clamp(0.0, 255.0) as u8));
        }
    }
    rgb
}

fn frame_number(c: &mut Criterion) {
    let mut frame = TestPattern::new(1280, 720).unwrap().frame(0);
    c.bench_function("frame_number_stamp_read_720p", |b| {
        let mut n = 0u32;
        b.iter(|| {
            n = n.wrapping_add(1);
            stamp_frame_number(&mut frame, n).unwrap();
            black_box(read_frame_number(&frame))
        })
    });
}

/// A contact's picture at 320×240 or 640×480: decoded, then composed (letterboxed, with
/// the name) into what HDMI or the small screen shows. Per frame, over a 60-frame clip.
fn incoming_picture(c: &mut Criterion) {
    use embedded_graphics::prelude::Size;
    use hearth::hardware::picture::{compose, RgbImage};
    let mut group = c.benchmark_group("incoming_picture");
    for (w, h) in [(320, 240), (640, 480)] {
        let pattern = TestPattern::new(w, h).unwrap();
        let mut encoder =
            OpenH264Encoder::new(H264Config::new(w, h, 30).with_idr_interval(0)).unwrap();
        let units: Vec<_> = (0..CLIP)
            .map(|n| encoder.encode(&pattern.frame(n), n == 0).unwrap().unwrap())
            .collect();
        for (output, size) in [
            ("hdmi_1920x1080", Size::new(1920, 1080)),
            ("spi_240x240", Size::new(240, 240)),
        ] {
            let mut image = RgbImage::new(size);
            group.throughput(Throughput::Elements(units.len() as u64));
            group.bench_function(BenchmarkId::new(output, format!("{w}x{h}")), |b| {
                b.iter(|| {
                    let mut decoder = H264Decoder::new().unwrap();
                    for unit in &units {
                        if let Some(frame) = decoder.decode(&unit.data).unwrap() {
                            compose(&frame, "Gran", &mut image);
                        }
                    }
                    black_box(image.data()[0])
                })
            });
        }
    }
    group.finish();
}

/// A contact's picture on the small screen, per frame, as the panel draws it:
/// decode, scale to the screen (`ScreenPictureOutput`), draw the picture
/// screen under its band (`render`) into the panel's frame (what the ST7789
/// then sends over SPI). The bus time is not in it: BENCHMARKS.md sets the
/// two side by side.
fn small_screen_picture(c: &mut Criterion) {
    use embedded_graphics::pixelcolor::{BinaryColor, Rgb565};
    use embedded_graphics::prelude::Size;
    use embedded_graphics_simulator::SimulatorDisplay;
    use hearth::hardware::display::{render, Screen};
    use hearth::hardware::picture::{PictureOutput, ScreenPictureOutput};
    let mut group = c.benchmark_group("small_screen_picture");
    // What the device asks a sender for when its picture goes on the small screen.
    let (w, h) = (320, 240);
    let pattern = TestPattern::new(w, h).unwrap();
    let mut encoder = OpenH264Encoder::new(H264Config::new(w, h, 30).with_idr_interval(0)).unwrap();
    let units: Vec<_> = (0..CLIP)
        .map(|n| encoder.encode(&pattern.frame(n), n == 0).unwrap().unwrap())
        .collect();
    for size in [Size::new(240, 240), Size::new(128, 64)] {
        let (mut output, feed) = ScreenPictureOutput::new(size);
        let mut colour = SimulatorDisplay::<Rgb565>::new(size);
        let mut mono = SimulatorDisplay::<BinaryColor>::new(size);
        group.throughput(Throughput::Elements(units.len() as u64));
        let id = BenchmarkId::new(
            "decode_scale_draw",
            format!("{}x{}", size.width, size.height),
        );
        group.bench_function(id, |b| {
            b.iter(|| {
                let mut decoder = H264Decoder::new().unwrap();
                for unit in &units {
                    if let Some(frame) = decoder.decode(&unit.data).unwrap() {
                        output.show(&frame, "Gran").unwrap();
                        let shown = feed.borrow().clone().unwrap();
                        let screen = Screen::Picture {
                            from: shown.from,
                            picture: shown.picture,
                            watchers: vec!["Tom".into()],
                        };
                        if size.width >= 200 {
                            render(&screen, &mut colour).unwrap();
                        } else {
                            render(&screen, &mut mono).unwrap();
                        }
                    }
                }
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    encode,
    decode,
    convert,
    snapshot,
    frame_number,
    incoming_picture,
    small_screen_picture
);
criterion_main!(benches);
