//! Headless Chromium watches the device over WHEP across a router that
//! loses 5% of the packets each way and delays each by 50 ms (the real
//! `hearth` binary in one namespace, Chromium in another; the impairer is
//! tests/support/impaired_link.rs). Loss is repaired without flooding: no
//! RTP packet is sent more than 3 times again, and Chromium reports no
//! freeze longer than 500 ms. Needs root; without it the test says why and
//! returns.

mod support;

use serde_json::json;
use std::time::Duration;
use support::chromium::Chromium;
use support::impaired_link::{ImpairedLink, Impairment, DEVICE_IP};
use support::topology::is_root;

const PORT: u16 = 7620;

/// A WHEP player in the page, as the device serves it: `window.play(token)`.
const PLAYER: &str = r#"
window.play = async (token) => {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  pc.addTransceiver('video', { direction: 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === 'complete') return done();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && done();
    setTimeout(done, 3000);
  });
  const res = await fetch('/whep', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/sdp' },
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) return 'refused ' + res.status;
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  return 'posted';
};
// The longest time without a newly decoded frame, sampled every 50 ms.
window.watchStops = () => {
  window.longestStop = 0;
  let last = { at: performance.now(), frames: -1 };
  window.sampler = setInterval(async () => {
    const v = await window.video();
    const now = performance.now();
    if (!v) return;
    if (v.framesDecoded !== last.frames) {
      last = { at: now, frames: v.framesDecoded };
    } else {
      window.longestStop = Math.max(window.longestStop, now - last.at);
    }
  }, 50);
  return true;
};
window.video = async () => {
  let v = null;
  (await window.pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') v = s;
  });
  return v && {
    framesDecoded: v.framesDecoded || 0,
    freezeCount: v.freezeCount || 0,
    totalFreezesDuration: v.totalFreezesDuration || 0,
    packetsLost: v.packetsLost || 0,
    nackCount: v.nackCount || 0,
  };
};
true
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_across_five_percent_loss_and_50_ms_sees_no_long_freeze() {
    if !is_root() {
        eprintln!("skipped: network namespaces need root (CI runs as root)");
        return;
    }
    let link = ImpairedLink::build(Impairment {
        loss: 0.05,
        delay: Duration::from_millis(50),
    });
    let dir = tempfile::tempdir().unwrap();
    let (_device, token) = link.start_device(dir.path(), PORT);

    let browser = Chromium::launch_in(Some(&link.player), &[]).await;
    let page = browser.new_page(640, 480).await;
    let url = format!("http://{DEVICE_IP}:{PORT}/");
    // The device may still be starting.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        page.goto(&url).await;
        if page.eval("document.readyState === 'complete' && !!document.body && document.body.innerText.length > 0").await == json!(true) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the device's page never came"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(page.eval(PLAYER).await, json!(true));
    assert_eq!(
        page.eval(&format!("window.play({})", json!(token))).await,
        json!("posted")
    );
    page.poll(
        "frames over WHEP",
        "window.video()",
        Duration::from_secs(30),
        |v| v["framesDecoded"].as_u64().unwrap_or(0) > 10,
    )
    .await;
    assert_eq!(page.eval("window.watchStops()").await, json!(true));
    let start = page.eval("window.video()").await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    let end = page.eval("window.video()").await;
    let longest = page.eval("window.longestStop").await.as_f64().unwrap();
    let counts = link.counts();
    let frames = end["framesDecoded"].as_u64().unwrap() - start["framesDecoded"].as_u64().unwrap();
    let freezes = end["freezeCount"].as_u64().unwrap() - start["freezeCount"].as_u64().unwrap();
    let frozen = end["totalFreezesDuration"].as_f64().unwrap()
        - start["totalFreezesDuration"].as_f64().unwrap();
    eprintln!(
        "Chromium in 20 s: {frames} frames, {freezes} freezes, {frozen:.2} s frozen, \
         longest stop {longest:.0} ms, lost after repair {}, NACKs {}; the device resent {} \
         RTP packets, most for one {}",
        end["packetsLost"],
        end["nackCount"],
        counts.down.resends(),
        counts.down.most_resends()
    );
    assert!(frames > 20 * 15, "only {frames} frames in 20 s");
    assert!(
        counts.down.most_resends() <= 3,
        "a packet was sent {} times again",
        counts.down.most_resends()
    );
    assert!(longest <= 500.0, "the picture stopped for {longest:.0} ms");
}
