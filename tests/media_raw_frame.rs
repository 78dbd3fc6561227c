//! The camera pipeline's raw frames (`next_raw`), which snapshots are made from: the
//! next capture, handed out before encoding; an idle pipeline wakes for one capture
//! and encodes nothing; the privacy pause refuses and wakes whoever waits. A gated
//! camera makes the order of captures deterministic.

use std::sync::mpsc;
use std::time::Duration;

use hearth::api::LocalMedia;
use hearth::device::snapshot::capture;
use hearth::media::{
    read_frame_number, H264Config, H264Decoder, I420Frame, MediaError, OpenH264Encoder,
    PipelineOptions, TestPattern, TestPatternCamera, VideoCapture, VideoFormat, VideoPipeline,
};
use hearth::share::snapshot::SnapshotSettings;

const W: u32 = 320;
const H: u32 = 240;

/// Delivers frame `n` only when the test sends `n`, and says when it is asked for one.
struct GatedCamera {
    pattern: TestPattern,
    gate: mpsc::Receiver<u32>,
    asked: mpsc::Sender<()>,
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
        let _ = self.asked.send(());
        let n = self
            .gate
            .recv()
            .map_err(|_| MediaError::Capture("gate closed".into()))?;
        Ok(self.pattern.frame(n))
    }
}

/// Fields drop in order: the gate closes first, so the camera thread the pipeline
/// joins on drop is not left waiting for a frame.
struct Gated {
    gate: mpsc::Sender<u32>,
    asked: mpsc::Receiver<()>,
    pipeline: VideoPipeline,
}

fn gated_pipeline() -> Gated {
    let (gate, gate_rx) = mpsc::channel();
    let (asked_tx, asked) = mpsc::channel();
    let camera = GatedCamera {
        pattern: TestPattern::new(W, H).unwrap(),
        gate: gate_rx,
        asked: asked_tx,
    };
    let encoder = OpenH264Encoder::new(H264Config::new(W, H, 30).with_idr_interval(0)).unwrap();
    let options = PipelineOptions {
        channel_capacity: 8,
        ..PipelineOptions::default()
    };
    let pipeline = VideoPipeline::start_with(Box::new(camera), Box::new(encoder), options).unwrap();
    Gated {
        gate,
        asked,
        pipeline,
    }
}

/// Waits (liveness guard, not a timing check) until the camera is asked for a frame.
fn camera_asked(asked: &mpsc::Receiver<()>) {
    asked
        .recv_timeout(Duration::from_secs(20))
        .expect("the camera was never asked for a frame");
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("liveness guard: nothing within 20 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_pipeline_wakes_for_one_raw_frame_and_encodes_nothing() {
    let g = gated_pipeline();
    let control = g.pipeline.control();
    let waiter = tokio::spawn(async move { control.next_raw().await });
    camera_asked(&g.asked);
    g.gate.send(5).unwrap();
    let frame = within(waiter).await.unwrap().expect("a raw frame");
    assert_eq!((frame.width(), frame.height()), (W, H));
    assert_eq!(
        read_frame_number(&frame),
        Some(5),
        "the frame just captured"
    );
    assert_eq!(
        g.pipeline.stats().frames_encoded,
        0,
        "nobody watches: nothing is encoded for a raw frame"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_viewer_the_raw_frame_is_the_one_encoded() {
    let g = gated_pipeline();
    let mut viewer = g.pipeline.subscribe();
    camera_asked(&g.asked);
    let control = g.pipeline.control();
    let waiter = tokio::spawn(async move { control.next_raw().await });
    // The waiter may register before or after this capture starts; send frames until
    // it has one, and check it got one of them, the same one the viewer decodes.
    let mut decoder = H264Decoder::new().unwrap();
    let mut decoded = vec![];
    let mut n = 10;
    while !waiter.is_finished() {
        g.gate.send(n).unwrap();
        let unit = within(viewer.recv()).await.expect("an encoded frame");
        let picture = decoder.decode(&unit.data).unwrap().expect("decodes");
        decoded.push(read_frame_number(&picture));
        n += 1;
        if !waiter.is_finished() {
            camera_asked(&g.asked);
        }
    }
    let raw = waiter.await.unwrap().expect("a raw frame");
    let number = read_frame_number(&raw);
    assert!(
        decoded.contains(&number),
        "raw frame {number:?} among the encoded ones {decoded:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_refuses_raw_frames_and_wakes_whoever_waits() {
    let g = gated_pipeline();
    g.pipeline.set_paused(true);
    assert!(
        g.pipeline.next_raw().await.is_none(),
        "refused at once while paused"
    );
    g.pipeline.set_paused(false);

    let control = g.pipeline.control();
    let waiter = tokio::spawn(async move { control.next_raw().await });
    camera_asked(&g.asked); // the waiter is registered: it woke the pipeline
    g.pipeline.set_paused(true);
    assert!(
        within(waiter).await.unwrap().is_none(),
        "privacy came on while waiting: no frame"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_is_a_jpeg_of_the_camera_and_privacy_refuses_it() {
    let camera = TestPatternCamera::new(640, 480, 30).unwrap();
    let encoder = OpenH264Encoder::new(H264Config::new(640, 480, 30)).unwrap();
    let media = LocalMedia::new(
        Some(VideoPipeline::start(Box::new(camera), Box::new(encoder)).unwrap()),
        None,
    );
    let settings = SnapshotSettings {
        quality: 80,
        max_width: 1280,
        max_bytes: 1024 * 1024,
    };
    let jpeg = within(capture(&media, settings)).await.unwrap();
    let (w, h, _) = hearth::media::jpeg::decode_rgb(&jpeg).unwrap();
    assert_eq!((w, h), (640, 480), "the camera's full frame");

    media.privacy().set(true).unwrap();
    let err = within(capture(&media, settings)).await.unwrap_err();
    assert!(err.to_string().contains("privacy is on"), "{err}");
}
