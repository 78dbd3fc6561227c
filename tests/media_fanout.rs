//! Fan-out tests: one encode feeds every subscriber, keyframes come when asked (once for
//! many requests), the privacy pause is exact, and a flaky camera does not kill the
//! pipeline. Fake cameras make the ordering deterministic where it matters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use hearth::media::{
    read_frame_number, EncodedVideo, H264Config, H264Decoder, I420Frame, MediaError,
    OpenH264Encoder, PipelineOptions, TestPattern, TestPatternCamera, VideoCapture, VideoEncoder,
    VideoFormat, VideoPipeline, VideoSubscriber,
};

const W: u32 = 320;
const H: u32 = 240;

/// A camera that delivers frame `n` only when the test sends `n`: each encode happens
/// exactly when the test says, so keyframe timing can be checked without clocks.
struct GatedCamera {
    pattern: TestPattern,
    gate: mpsc::Receiver<u32>,
}

impl VideoCapture for GatedCamera {
    fn format(&self) -> VideoFormat {
        VideoFormat {
            width: W,
            height: H,
            fps: 30,
        }
    }
    fn next_frame(&mut self) -> Result<I420Frame, MediaError> {
        let n = self
            .gate
            .recv()
            .map_err(|_| MediaError::Capture("gate closed".into()))?;
        Ok(self.pattern.frame(n))
    }
}

/// A real-time test-pattern camera that fails on chosen calls (camera unplugged).
struct FlakyCamera {
    inner: TestPatternCamera,
    calls: u64,
    fail_on: Vec<u64>,
    captures: Arc<AtomicU64>,
}

impl VideoCapture for FlakyCamera {
    fn format(&self) -> VideoFormat {
        self.inner.format()
    }
    fn next_frame(&mut self) -> Result<I420Frame, MediaError> {
        self.calls += 1;
        self.captures.fetch_add(1, Ordering::Relaxed);
        if self.fail_on.contains(&(self.calls - 1)) {
            return Err(MediaError::Capture("simulated: camera vanished".into()));
        }
        self.inner.next_frame()
    }
}

/// Counts how often the real encoder is called, independently of the pipeline's stats.
struct CountingEncoder {
    inner: OpenH264Encoder,
    calls: Arc<AtomicU64>,
}

impl VideoEncoder for CountingEncoder {
    fn encode(&mut self, f: &I420Frame, key: bool) -> Result<Option<EncodedVideo>, MediaError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.encode(f, key)
    }
}

fn encoder(calls: &Arc<AtomicU64>) -> Box<CountingEncoder> {
    let config = H264Config::new(W, H, 30).with_idr_interval(0);
    Box::new(CountingEncoder {
        inner: OpenH264Encoder::new(config).unwrap(),
        calls: Arc::clone(calls),
    })
}

fn options(capacity: usize) -> PipelineOptions {
    PipelineOptions {
        channel_capacity: capacity,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(8),
    }
}

fn flaky(fail_on: Vec<u64>, captures: &Arc<AtomicU64>) -> Box<FlakyCamera> {
    Box::new(FlakyCamera {
        inner: TestPatternCamera::new(W, H, 30).unwrap(),
        calls: 0,
        fail_on,
        captures: Arc::clone(captures),
    })
}

fn gated() -> (Box<GatedCamera>, mpsc::Sender<u32>) {
    let (tx, rx) = mpsc::channel();
    let cam = GatedCamera {
        pattern: TestPattern::new(W, H).unwrap(),
        gate: rx,
    };
    (Box::new(cam), tx)
}

async fn next(sub: &mut VideoSubscriber) -> Option<Arc<EncodedVideo>> {
    tokio::time::timeout(Duration::from_secs(20), sub.recv())
        .await
        .expect("liveness guard: no frame in 20 s")
}

#[tokio::test]
async fn three_subscribers_share_one_encode() {
    let calls = Arc::new(AtomicU64::new(0));
    let captures = Arc::new(AtomicU64::new(0));
    let pipeline =
        VideoPipeline::start_with(flaky(vec![], &captures), encoder(&calls), options(64)).unwrap();
    pipeline.set_paused(true); // so all three are there for the first frame
    let mut subs = [
        pipeline.subscribe(),
        pipeline.subscribe(),
        pipeline.subscribe(),
    ];
    pipeline.set_paused(false);
    let mut seen: [Vec<Arc<EncodedVideo>>; 3] = Default::default();
    for _ in 0..15 {
        for (sub, seen) in subs.iter_mut().zip(seen.iter_mut()) {
            seen.push(next(sub).await.unwrap());
        }
    }
    pipeline.set_paused(true);
    for (sub, seen) in subs.iter_mut().zip(seen.iter_mut()) {
        while let Some(f) = sub.try_recv() {
            seen.push(f);
        }
    }
    let stats = pipeline.stats();
    assert!(seen[0].len() >= 15);
    for s in &seen {
        assert_eq!(
            s.len() as u64,
            stats.frames_published,
            "every subscriber got every frame"
        );
        for (a, b) in s.iter().zip(&seen[0]) {
            assert!(
                Arc::ptr_eq(a, b),
                "the very same encoded frame, not a re-encode"
            );
        }
    }
    // One encode per frame: 3 subscribers x N frames delivered, N encodes.
    assert!(
        stats.frames_encoded - stats.frames_published <= 1,
        "{stats:?}"
    );
    assert_eq!(calls.load(Ordering::Relaxed), stats.frames_encoded);
    assert_eq!(
        stats.keyframes_encoded, 1,
        "one IDR although three subscribed"
    );
    // The stream decodes and shows consecutive frame numbers with no gaps.
    let mut dec = H264Decoder::new().unwrap();
    let numbers: Vec<u32> = seen[2]
        .iter()
        .map(|f| read_frame_number(&dec.decode(&f.data).unwrap().unwrap()).unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
    let seqs: Vec<u64> = seen[1].iter().map(|f| f.sequence).collect();
    assert_eq!(seqs, (0..stats.frames_published).collect::<Vec<_>>());
}

#[tokio::test]
async fn keyframe_requests_coalesce_into_one_idr_on_the_next_frame() {
    let calls = Arc::new(AtomicU64::new(0));
    let (cam, gate) = gated();
    let pipeline = VideoPipeline::start_with(cam, encoder(&calls), options(64)).unwrap();
    let gate = gate; // dropped before the pipeline, so a blocked capture ends
    let mut sub = pipeline.subscribe();
    let push = |n| gate.send(n).unwrap();

    push(0);
    assert!(
        next(&mut sub).await.unwrap().keyframe,
        "first frame for a subscriber"
    );
    push(1);
    push(2);
    assert!(!next(&mut sub).await.unwrap().keyframe);
    assert!(!next(&mut sub).await.unwrap().keyframe);

    for _ in 0..10 {
        sub.request_keyframe();
        pipeline.request_keyframe();
    }
    push(3);
    let f = next(&mut sub).await.unwrap();
    assert!(f.keyframe, "the frame after a request is an IDR");
    push(4);
    push(5);
    assert!(
        !next(&mut sub).await.unwrap().keyframe,
        "ten requests, one IDR"
    );
    assert!(!next(&mut sub).await.unwrap().keyframe);

    // A late joiner starts at a fresh IDR that the first subscriber also gets.
    let mut late = pipeline.subscribe();
    push(6);
    let a = next(&mut sub).await.unwrap();
    let b = next(&mut late).await.unwrap();
    assert!(a.keyframe && Arc::ptr_eq(&a, &b));
    let mut dec = H264Decoder::new().unwrap();
    assert_eq!(
        read_frame_number(&dec.decode(&b.data).unwrap().unwrap()),
        Some(6)
    );
    assert_eq!(pipeline.stats().keyframes_encoded, 3);
}

#[tokio::test]
async fn slow_subscriber_skips_to_a_fresh_keyframe() {
    let calls = Arc::new(AtomicU64::new(0));
    let (cam, gate) = gated();
    let pipeline = VideoPipeline::start_with(cam, encoder(&calls), options(2)).unwrap();
    let gate = gate;
    let mut fast = pipeline.subscribe();
    let mut slow = pipeline.subscribe();
    for n in 0..6 {
        gate.send(n).unwrap();
        next(&mut fast).await.unwrap();
    }
    // `slow` lost frames: it drops the stale P-frames and asks for an IDR.
    assert!(slow.try_recv().is_none());
    gate.send(6).unwrap();
    let f = next(&mut slow).await.unwrap();
    assert!(f.keyframe);
    assert!(Arc::ptr_eq(&f, &next(&mut fast).await.unwrap()));
    drop(gate);
}

#[tokio::test]
async fn pause_is_immediate_and_resume_starts_with_a_keyframe() {
    let calls = Arc::new(AtomicU64::new(0));
    let captures = Arc::new(AtomicU64::new(0));
    let pipeline =
        VideoPipeline::start_with(flaky(vec![], &captures), encoder(&calls), options(64)).unwrap();
    let mut sub = pipeline.subscribe();
    for _ in 0..5 {
        next(&mut sub).await.unwrap();
    }
    pipeline.set_paused(true);
    assert!(pipeline.is_paused());
    let published = pipeline.stats().frames_published;
    let mut last = None;
    while let Some(f) = sub.try_recv() {
        last = Some(f.sequence);
    }
    assert!(
        last.is_none_or(|s| s < published),
        "nothing after the pause returned"
    );
    // At 30 fps a leaking pause would produce ~9 frames in each of these waits.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (c1, e1) = (captures.load(Ordering::Relaxed), pipeline.frames_encoded());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        captures.load(Ordering::Relaxed),
        c1,
        "camera untouched while paused"
    );
    assert_eq!(pipeline.frames_encoded(), e1, "no encoding while paused");
    assert_eq!(pipeline.stats().frames_published, published);
    assert!(sub.try_recv().is_none());

    pipeline.set_paused(false);
    let first = next(&mut sub).await.unwrap();
    assert!(first.keyframe, "resume starts with an IDR");
    assert_eq!(first.sequence, published);
    for _ in 0..3 {
        assert!(!next(&mut sub).await.unwrap().keyframe);
    }
}

#[tokio::test]
async fn idles_without_subscribers() {
    let calls = Arc::new(AtomicU64::new(0));
    let captures = Arc::new(AtomicU64::new(0));
    let pipeline =
        VideoPipeline::start_with(flaky(vec![], &captures), encoder(&calls), options(64)).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        captures.load(Ordering::Relaxed),
        0,
        "nobody watches: camera untouched"
    );
    assert_eq!(pipeline.frames_encoded(), 0);

    let mut sub = pipeline.subscribe();
    assert!(next(&mut sub).await.unwrap().keyframe);
    drop(sub);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let e1 = pipeline.frames_encoded();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        pipeline.frames_encoded(),
        e1,
        "idle again after the last subscriber left"
    );
}

#[tokio::test]
async fn camera_errors_are_retried_and_the_pipeline_survives() {
    let calls = Arc::new(AtomicU64::new(0));
    let captures = Arc::new(AtomicU64::new(0));
    // Fails at start (3 times) and again mid-stream (calls 10 and 11).
    let cam = flaky(vec![0, 1, 2, 10, 11], &captures);
    let pipeline = VideoPipeline::start_with(cam, encoder(&calls), options(64)).unwrap();
    let mut sub = pipeline.subscribe();
    let mut dec = H264Decoder::new().unwrap();
    let mut numbers = Vec::new();
    for _ in 0..12 {
        let f = next(&mut sub).await.unwrap();
        numbers.push(read_frame_number(&dec.decode(&f.data).unwrap().unwrap()).unwrap());
    }
    assert_eq!(
        numbers,
        (0..12).collect::<Vec<u32>>(),
        "no frame lost or repeated"
    );
    assert_eq!(pipeline.stats().capture_errors, 5);
}

#[tokio::test]
async fn stopping_the_pipeline_closes_every_feed() {
    let calls = Arc::new(AtomicU64::new(0));
    let captures = Arc::new(AtomicU64::new(0));
    let pipeline =
        VideoPipeline::start_with(flaky(vec![], &captures), encoder(&calls), options(64)).unwrap();
    let control = pipeline.control();
    let mut sub = pipeline.subscribe();
    next(&mut sub).await.unwrap();
    pipeline.stop(); // joins the thread
    while sub.try_recv().is_some() {}
    assert!(next(&mut sub).await.is_none());
    assert!(
        next(&mut control.subscribe()).await.is_none(),
        "late subscribers too"
    );
    let c = captures.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(captures.load(Ordering::Relaxed), c, "thread is gone");
}
