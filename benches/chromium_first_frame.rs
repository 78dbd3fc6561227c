//! WHEP POST → first decoded frame with Chromium as the player
//! (`cargo bench --bench chromium_first_frame`; needs Debian's `chromium`).
//!
//! A simulated device (640×480@30, loopback media) runs in this process; Chromium opens
//! the device's own page (so `/whep` is same-origin), gathers its candidates, and then
//! times `fetch('/whep')` → answer → the first frame its `<video>` presents
//! (`requestVideoFrameCallback`). Prints the medians for BENCHMARKS.md; asserts nothing
//! about time.

#[path = "../tests/support/mod.rs"]
mod support;

use hearth::api::RtcSettings;
use hearth::config::Config;
use hearth::contacts::Permission;
use hearth::device::{Device, DeviceOptions};
use support::chromium::Chromium;
use support::harness::add_token;

const RUNS: usize = 20;

/// JavaScript that runs `runs` WHEP sessions and returns `[[answer_ms, frame_ms], …]`.
fn script(token: &str, runs: usize) -> String {
    format!(
        r#"(async () => {{
  const auth = {{ Authorization: 'Bearer {token}' }};
  const out = [];
  for (let i = 0; i < {runs}; i++) {{
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', {{ direction: 'recvonly' }});
    const video = document.createElement('video');
    video.muted = true; video.autoplay = true; video.playsInline = true;
    document.body.appendChild(video);
    pc.ontrack = (e) => {{ video.srcObject = new MediaStream([e.track]); }};
    await pc.setLocalDescription(await pc.createOffer());
    if (pc.iceGatheringState !== 'complete') {{
      await new Promise((r) => pc.addEventListener('icegatheringstatechange',
        () => pc.iceGatheringState === 'complete' && r()));
    }}
    const t0 = performance.now();
    const res = await fetch('/whep', {{ method: 'POST',
      headers: {{ ...auth, 'Content-Type': 'application/sdp' }}, body: pc.localDescription.sdp }});
    const answer = await res.text();
    const t1 = performance.now();
    if (res.status !== 201) throw new Error('WHEP answered ' + res.status + ': ' + answer);
    const shown = new Promise((r) => video.requestVideoFrameCallback(() => r()));
    await pc.setRemoteDescription({{ type: 'answer', sdp: answer }});
    await shown;
    out.push([t1 - t0, performance.now() - t0]);
    await fetch(res.headers.get('Location'), {{ method: 'DELETE', headers: auth }});
    pc.close(); video.remove();
    await new Promise((r) => setTimeout(r, 300));
  }}
  return out;
}})()"#
    )
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    (at(0.5), at(0.1), at(0.9))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful: skip.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("hearth-chromium-bench-{}", std::process::id()));
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
        media: None,
    })
    .await
    .expect("device starts");
    let secret = add_token(&device, "Chromium", &[Permission::LiveVideo]).await;
    let addr = device.http_addr.unwrap();
    let browser = Chromium::launch().await;
    let page = browser.new_page(640, 480).await;
    page.goto(&format!("http://{addr}/")).await;
    let runs = page.eval(&script(&secret, RUNS)).await;
    let pairs: Vec<(f64, f64)> = runs
        .as_array()
        .expect("an array of runs")
        .iter()
        .map(|r| (r[0].as_f64().unwrap(), r[1].as_f64().unwrap()))
        .collect();
    let (a, f) = (
        median(pairs.iter().map(|p| p.0).collect()),
        median(pairs.iter().map(|p| p.1).collect()),
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "Chromium WHEP POST → first presented frame, 640×480@30, loopback: p50 {:.1} ms \
         (p10–p90 {:.1}–{:.1}, n={}); POST → 201 p50 {:.1} ms (p10–p90 {:.1}–{:.1}); load {}",
        f.0,
        f.1,
        f.2,
        pairs.len(),
        a.0,
        a.1,
        a.2,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    device.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
