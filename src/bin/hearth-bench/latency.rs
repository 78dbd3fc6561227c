//! Glass-to-glass latency and time to first frame with a Hearth player.
//!
//! Glass to glass: the simulated camera stamps each frame's number into the picture and
//! the capture instant is kept aside; the player (same process, loopback) decodes each
//! access unit, reads the number back and subtracts. It covers encode, RTP packetising,
//! SRTP, UDP, jitter/reassembly and decode.
//!
//! First frame: from sending the WHEP offer POST to the first decoded frame, repeated
//! with a fresh player each time against one running device.

use crate::stats::{report, Summary};
use crate::world::{watch, BenchDevice};
use hearth::media::{read_frame_number, H264Decoder};
use std::time::{Duration, Instant};
use tokio::time::timeout;

/// Measures glass-to-glass latency over `frames` decoded frames after a warm-up.
pub async fn glass_to_glass(width: u32, height: u32, frames: usize) -> anyhow::Result<()> {
    let bench = BenchDevice::start(width, height, 30, true).await?;
    let addr = bench.device.http_addr.expect("device serves HTTP");
    let mut player = watch(addr, &bench.token).await?;
    let mut decoder = H264Decoder::new()?;
    let (mut latencies, mut unread, mut seen) = (Vec::new(), 0usize, 0usize);
    let warmup = 30;
    while latencies.len() < frames {
        let unit = timeout(Duration::from_secs(10), player.video.recv())
            .await?
            .ok_or_else(|| anyhow::anyhow!("video ended"))?;
        let Some(picture) = decoder.decode(&unit.data)? else {
            continue;
        };
        let shown = Instant::now();
        seen += 1;
        if seen <= warmup {
            continue;
        }
        let captured = read_frame_number(&picture)
            .and_then(|n| bench.captured.lock().expect("log").get(&n).copied());
        match captured {
            Some(at) => latencies.push(shown.duration_since(at).as_secs_f64() * 1000.0),
            None => unread += 1,
        }
    }
    player.stop(addr, &bench.token).await;
    bench.stop().await;
    let s = Summary::of(&latencies).expect("frames");
    report(
        &format!("Glass-to-glass latency, {width}×{height}@30, loopback, Hearth player"),
        &format!(
            "{}; p99 {:.1} ms; {unread} frames with an unreadable number",
            s.show("ms", 1),
            s.p99
        ),
        if width <= 640 {
            "≤ 60 ms p50"
        } else {
            "none set (640×480 goal: ≤ 60 ms p50)"
        },
    );
    Ok(())
}

/// Measures WHEP POST → first decoded frame `runs` times with aiortc as the player
/// (`python` must import aiortc 1.16), against a device using every interface.
pub async fn first_frame_aiortc(
    width: u32,
    height: u32,
    runs: usize,
    python: &str,
) -> anyhow::Result<()> {
    let bench = BenchDevice::start(width, height, 30, false).await?;
    let addr = bench.device.http_addr.expect("device serves HTTP");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/support/aiortc_first_frame.py"
    );
    let out = tokio::process::Command::new(python)
        .arg(script)
        .arg(format!("--url=http://{addr}/whep"))
        .arg(format!("--token={}", bench.token))
        .arg(format!("--runs={runs}"))
        .output()
        .await?;
    bench.stop().await;
    anyhow::ensure!(
        out.status.success(),
        "aiortc client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let series = |name: &str| -> Vec<f64> {
        seen[name]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
            .unwrap_or_default()
    };
    let f = Summary::of(&series("first_frame_ms")).expect("runs");
    let a = Summary::of(&series("answer_ms")).expect("runs");
    report(
        &format!(
            "WHEP POST → first decoded frame, {width}×{height}@30, aiortc 1.16 player, same host"
        ),
        &format!(
            "{}; of which POST → 201 answer {}",
            f.show("ms", 1),
            a.show("ms", 1)
        ),
        "≤ 100 ms p50 (reference: aiortc server ↔ aiortc client ~113 ms p50)",
    );
    Ok(())
}

/// Measures WHEP POST → first decoded frame `runs` times. With `busy`, another player
/// watches throughout, so the pipeline is already running when each session starts
/// (its keyframe then waits for the camera's next frame).
pub async fn first_frame(width: u32, height: u32, runs: usize, busy: bool) -> anyhow::Result<()> {
    let bench = BenchDevice::start(width, height, 30, true).await?;
    let addr = bench.device.http_addr.expect("device serves HTTP");
    let background = match busy {
        true => {
            let mut other = watch(addr, &bench.token).await?;
            let mut video = std::mem::replace(&mut other.video, tokio::sync::mpsc::channel(1).1);
            tokio::spawn(async move { while video.recv().await.is_some() {} });
            Some(other)
        }
        false => None,
    };
    let (mut answer, mut first_unit, mut first_frame) = (vec![], vec![], vec![]);
    for _ in 0..runs {
        let mut player = watch(addr, &bench.token).await?;
        let mut decoder = H264Decoder::new()?;
        let mut got_unit = None;
        loop {
            let unit = timeout(Duration::from_secs(10), player.video.recv())
                .await?
                .ok_or_else(|| anyhow::anyhow!("video ended"))?;
            got_unit.get_or_insert_with(Instant::now);
            if decoder.decode(&unit.data)?.is_some() {
                break;
            }
        }
        let done = Instant::now();
        let ms = |t: Instant| t.duration_since(player.posted_at).as_secs_f64() * 1000.0;
        answer.push(ms(player.answered_at));
        first_unit.push(ms(got_unit.expect("a unit arrived")));
        first_frame.push(ms(done));
        player.stop(addr, &bench.token).await;
        // Let the device notice the session is gone and its pipeline go idle; the
        // random part keeps runs from locking to the camera's 33 ms frame phase.
        let jitter = rand::random::<u64>() % 34;
        tokio::time::sleep(Duration::from_millis(300 + jitter)).await;
    }
    if let Some(other) = background {
        other.stop(addr, &bench.token).await;
    }
    bench.stop().await;
    let [a, u, f] = [&answer, &first_unit, &first_frame].map(|v| Summary::of(v).expect("runs"));
    report(
        &format!(
            "WHEP POST → first decoded frame, {width}×{height}@30, loopback, Hearth player, {}",
            if busy {
                "another player already watching"
            } else {
                "nobody else watching (the pipeline starts idle)"
            }
        ),
        &format!(
            "{}; of which POST → 201 answer {}, → first access unit p50 {:.1} ms",
            f.show("ms", 1),
            a.show("ms", 1),
            u.p50
        ),
        "≤ 100 ms p50",
    );
    Ok(())
}
