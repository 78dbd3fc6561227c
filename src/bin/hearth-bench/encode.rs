//! openh264 (as Hearth uses it) against x264 ultrafast/zerolatency (Debian's ffmpeg) on
//! the same raw I420 frames, both on one thread: frames per second of wall time and CPU
//! milliseconds per frame. Two clips: the test pattern, and the test pattern with
//! per-pixel noise (closer to a real sensor, harder to compress).

use crate::stats::{cpu_seconds, report, Summary};
use hearth::media::{H264Config, I420Frame, OpenH264Encoder, TestPattern, VideoEncoder};
use std::io::Write;
use std::process::Command;
use std::time::Instant;

fn clip(width: u32, height: u32, frames: u32, noisy: bool) -> anyhow::Result<Vec<I420Frame>> {
    let pattern = TestPattern::new(width, height)?;
    let mut state = 0x2545_F491_u32;
    Ok((0..frames)
        .map(|n| {
            let mut f = pattern.frame(n);
            if noisy {
                for p in f.planes_mut().0.iter_mut() {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    *p = p.saturating_add((state & 31) as u8).saturating_sub(16);
                }
            }
            f
        })
        .collect())
}

/// One pass of openh264 over `frames`: (fps, CPU ms per frame).
fn openh264_pass(frames: &[I420Frame], kbps: u32) -> anyhow::Result<(f64, f64)> {
    let (w, h) = (frames[0].width(), frames[0].height());
    let mut encoder = OpenH264Encoder::new(H264Config::new(w, h, 30).with_bitrate(kbps * 1000))?;
    let pid = std::process::id();
    let cpu0 = cpu_seconds(pid).unwrap_or(0.0);
    let started = Instant::now();
    for f in frames {
        std::hint::black_box(encoder.encode(f, false)?);
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid).unwrap_or(0.0) - cpu0;
    Ok((
        frames.len() as f64 / wall,
        cpu * 1000.0 / frames.len() as f64,
    ))
}

/// One pass of ffmpeg's libx264 over the raw file: (fps, CPU ms per frame).
fn x264_pass(
    path: &std::path::Path,
    w: u32,
    h: u32,
    n: usize,
    kbps: u32,
) -> anyhow::Result<(f64, f64)> {
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostats",
            "-benchmark",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-s", &format!("{w}x{h}"), "-r", "30", "-i"])
        .arg(path)
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
        ])
        .args([
            "-threads",
            "1",
            "-b:v",
            &format!("{kbps}k"),
            "-f",
            "null",
            "-",
        ])
        .output()?;
    let text = String::from_utf8_lossy(&out.stderr);
    anyhow::ensure!(
        out.status.success(),
        "ffmpeg failed (apt-get install ffmpeg): {text}"
    );
    // "bench: utime=0.812s stime=0.012s rtime=0.830s"
    let field = |name: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.contains("bench: utime"))?;
        let v = line.split(&format!("{name}=")).nth(1)?.split('s').next()?;
        v.parse().ok()
    };
    let (u, s, r) = (field("utime"), field("stime"), field("rtime"));
    let (Some(u), Some(s), Some(r)) = (u, s, r) else {
        anyhow::bail!("no -benchmark line from ffmpeg: {text}")
    };
    Ok((n as f64 / r, (u + s) * 1000.0 / n as f64))
}

/// Compares both encoders at `width`×`height`, `runs` passes each over `frames` frames.
pub fn compare(width: u32, height: u32, frames: u32, runs: usize) -> anyhow::Result<()> {
    let kbps = (width * height * 30 / 10 / 1000).clamp(100, 8000);
    for noisy in [false, true] {
        let frames = clip(width, height, frames, noisy)?;
        let path = std::env::temp_dir().join(format!("hearth-bench-{}.yuv", std::process::id()));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for f in &frames {
            file.write_all(f.data())?;
        }
        file.flush()?;
        drop(file);
        let (mut o_fps, mut o_cpu, mut x_fps, mut x_cpu) = (vec![], vec![], vec![], vec![]);
        for _ in 0..runs {
            let (f, c) = openh264_pass(&frames, kbps)?;
            o_fps.push(f);
            o_cpu.push(c);
            let (f, c) = x264_pass(&path, width, height, frames.len(), kbps)?;
            x_fps.push(f);
            x_cpu.push(c);
        }
        let _ = std::fs::remove_file(&path);
        let source = if noisy {
            "noisy test pattern"
        } else {
            "test pattern"
        };
        let s = |v: &Vec<f64>| Summary::of(v).expect("runs");
        report(
            &format!("Encoding {width}×{height}, {source}, {} frames, {kbps} kbps, one thread", frames.len()),
            &format!(
                "openh264 (nasm, Low complexity): {}, CPU {:.2} ms/frame; x264 ultrafast/zerolatency (ffmpeg, includes reading the file): {}, CPU {:.2} ms/frame",
                s(&o_fps).show("fps", 0),
                s(&o_cpu).p50,
                s(&x_fps).show("fps", 0),
                s(&x_cpu).p50
            ),
            "compare; real time needs 30 fps (33 ms/frame) on the Pi",
        );
    }
    Ok(())
}
