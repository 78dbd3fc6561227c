//! A WHEP player that runs in a Chromium page (tests and the lossy-link bench).

/// A WHEP player in the page, as the device serves it: `window.play(token)`
/// posts to the page's own `/whep`; `window.video()` reads the inbound video's
/// stats (frames decoded, freezes, packets lost, NACKs, width) and
/// `window.watchStops()` starts sampling the longest stop between frames.
pub const WHEP_PAGE_PLAYER: &str = r#"
window.play = async (token) => {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  const video = pc.addTransceiver('video', { direction: 'recvonly' });
  // Chromium offers abs-capture-time only when asked to.
  video.setHeaderExtensionsToNegotiate(video.getHeaderExtensionsToNegotiate().map((e) =>
    e.uri.endsWith('/abs-capture-time') ? { ...e, direction: 'sendrecv' } : e));
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
    frameWidth: v.frameWidth || 0,
  };
};
true
"#;
