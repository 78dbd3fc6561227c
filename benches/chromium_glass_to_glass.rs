//! Glass to glass as Chromium displays it
//! (`cargo bench --bench chromium_glass_to_glass`; needs Debian's `chromium`).
//!
//! A simulated device (640×480@30, loopback) runs in this process with a camera that
//! notes when it took each frame; the frame's number is drawn into the picture. Chromium
//! watches over WHEP, and for every frame its `<video>` presents
//! (`requestVideoFrameCallback`) draws it on a canvas, reads the number back (the same
//! strip `hearth::media::read_frame_number` reads) and notes the time the frame is
//! expected on screen. Glass to glass is that time less the camera's. One machine, one
//! clock. Beside it, how much of that Chromium spent after the frame's last packet came
//! (`metadata.receiveTime` → expected display: jitter buffer, decode, render). Prints
//! the figures for BENCHMARKS.md; asserts nothing about time.

#[path = "../tests/support/mod.rs"]
mod support;

use hearth::api::{LocalMedia, RtcSettings};
use hearth::config::Config;
use hearth::contacts::Permission;
use hearth::device::{Device, DeviceOptions};
use hearth::media::{H264Config, OpenH264Encoder, VideoPipeline};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::chromium::Chromium;
use support::harness::add_token;
use support::noting_camera::NotingCamera;

/// Frames measured (after a second of warm-up).
const FRAMES: usize = 300;

/// Watches over WHEP and collects `[number, shown_unix_ms, in_chromium_ms|null]` for
/// `frames` presented frames. The strip: 64 blocks of 16×16 px in 4 rows of 16 at the
/// top left (block side `max(16, floor(width / 40 / 16) * 16)`), MSB first, the number
/// then CRC-32 of its big-endian bytes xored with "HERT".
fn script(token: &str, frames: usize) -> String {
    format!(
        r#"(async () => {{
  const crc = (n) => {{
    let c = ~0 >>> 0;
    for (const b of [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]) {{
      c ^= b;
      for (let k = 0; k < 8; k++) c = (c & 1) ? ((c >>> 1) ^ 0xEDB88320) >>> 0 : c >>> 1;
    }}
    return ((~c) ^ 0x48455254) >>> 0;
  }};
  const read = (ctx, width) => {{
    const block = Math.max(16, Math.floor(width / 40 / 16) * 16);
    const px = ctx.getImageData(0, 0, block * 16, block * 4).data;
    const rowBytes = block * 16 * 4;
    let hi = 0, lo = 0;
    for (let bit = 0; bit < 64; bit++) {{
      const x0 = (bit % 16) * block, y0 = Math.floor(bit / 16) * block;
      let sum = 0;
      for (let sy = 0; sy < 4; sy++) for (let sx = 0; sx < 4; sx++) {{
        const x = x0 + Math.floor(block * (5 + 2 * sx) / 16);
        const y = y0 + Math.floor(block * (5 + 2 * sy) / 16);
        sum += px[y * rowBytes + x * 4 + 1];
      }}
      const mean = sum / 16;
      if (mean > 64 && mean < 192) return null;
      const one = mean >= 192 ? 1 : 0;
      if (bit < 32) hi = ((hi << 1) | one) >>> 0; else lo = ((lo << 1) | one) >>> 0;
    }}
    return crc(hi) === lo ? hi : null;
  }};
  const pc = new RTCPeerConnection();
  const transceiver = pc.addTransceiver('video', {{ direction: 'recvonly' }});
  transceiver.setHeaderExtensionsToNegotiate(transceiver.getHeaderExtensionsToNegotiate().map(
    (e) => e.uri.endsWith('/abs-capture-time') ? {{ ...e, direction: 'sendrecv' }} : e));
  const video = document.createElement('video');
  video.muted = true; video.autoplay = true; video.playsInline = true;
  document.body.appendChild(video);
  pc.ontrack = (e) => {{ video.srcObject = new MediaStream([e.track]); }};
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') {{
    await new Promise((r) => pc.addEventListener('icegatheringstatechange',
      () => pc.iceGatheringState === 'complete' && r()));
  }}
  const res = await fetch('/whep', {{ method: 'POST',
    headers: {{ Authorization: 'Bearer {token}', 'Content-Type': 'application/sdp' }},
    body: pc.localDescription.sdp }});
  if (res.status !== 201) throw new Error('WHEP answered ' + res.status);
  await pc.setRemoteDescription({{ type: 'answer', sdp: await res.text() }});
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', {{ willReadFrequently: true }});
  const out = [];
  let unread = 0;
  const started = performance.now();
  await new Promise((done) => {{
    const onFrame = (now, meta) => {{
      if (performance.now() - started > 1000) {{
        canvas.width = meta.width; canvas.height = meta.height;
        ctx.drawImage(video, 0, 0);
        const n = read(ctx, meta.width);
        const shown = performance.timeOrigin + meta.expectedDisplayTime;
        const held = meta.receiveTime === undefined ? null : meta.expectedDisplayTime - meta.receiveTime;
        if (n === null) unread++; else out.push([n, shown, held]);
      }}
      if (out.length >= {frames}) done(); else video.requestVideoFrameCallback(onFrame);
    }};
    video.requestVideoFrameCallback(onFrame);
  }});
  pc.close();
  return {{ frames: out, unread }};
}})()"#
    )
}

/// p50, p10, p90 and p99 of `v`.
fn spread(mut v: Vec<f64>) -> [f64; 4] {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    [at(0.5), at(0.1), at(0.9), at(0.99)]
}

/// The wall-clock time of `at`, in Unix milliseconds.
fn unix_ms(at: Instant) -> f64 {
    let wall = SystemTime::now() - Instant::now().saturating_duration_since(at);
    wall.duration_since(UNIX_EPOCH).unwrap().as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful: skip.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("hearth-g2g-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let (camera, taken) = NotingCamera::new(640, 480, 30);
    let encoder = OpenH264Encoder::new(H264Config::new(640, 480, 30)).expect("openh264");
    let video = VideoPipeline::start(Box::new(camera), Box::new(encoder)).expect("pipeline");
    let mut config = Config {
        name: "Bench".into(),
        ..Config::default()
    };
    config.relay.urls = vec![];
    config.relay.embedded = false;
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    let device = Device::start(DeviceOptions {
        config,
        data_dir: dir.clone(),
        rtc: Some(RtcSettings::loopback()),
        media: Some(LocalMedia::new(Some(video), None)),
    })
    .await
    .expect("device starts");
    let secret = add_token(&device, "Chromium", &[Permission::LiveVideo]).await;
    let addr = device.http_addr.unwrap();
    let browser = Chromium::launch().await;
    let page = browser.new_page(640, 480).await;
    page.goto(&format!("http://{addr}/")).await;
    let result = tokio::time::timeout(
        Duration::from_secs(120),
        page.eval(&script(&secret, FRAMES)),
    )
    .await
    .expect("Chromium presents the frames within 2 minutes");
    let taken = taken.lock().unwrap().clone();
    let (mut glass, mut in_chromium, mut unknown) = (vec![], vec![], 0);
    for frame in result["frames"].as_array().expect("frames") {
        let number = frame[0].as_u64().unwrap() as u32;
        let shown = frame[1].as_f64().unwrap();
        match taken.get(&number) {
            Some(at) => glass.push(shown - unix_ms(*at)),
            None => unknown += 1,
        }
        if let Some(held) = frame[2].as_f64() {
            in_chromium.push(held);
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let g = spread(glass.clone());
    println!(
        "Chromium glass to glass, 640×480@30, loopback: p50 {:.1} ms (p10–p90 {:.1}–{:.1}), \
         p99 {:.1} ms, n={}; {} frames unread, {unknown} too old to look up; load {}",
        g[0],
        g[1],
        g[2],
        g[3],
        glass.len(),
        result["unread"],
        load.join(" ")
    );
    if !in_chromium.is_empty() {
        let c = spread(in_chromium.clone());
        println!(
            "of which in Chromium (last packet received → expected on screen): p50 {:.1} ms \
             (p10–p90 {:.1}–{:.1}), n={}",
            c[0],
            c[1],
            c[2],
            in_chromium.len()
        );
    }
    device.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
