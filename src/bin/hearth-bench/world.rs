//! What the in-process benchmarks run against: a simulated device (the real
//! `Device`, with a camera that notes when each numbered frame was captured)
//! answering WHEP on loopback, and a Hearth WHEP player.

use crate::household::scratch_dir;
use crate::{http, setup};
use hearth::api::{LocalMedia, RtcSettings};
use hearth::contacts::Permission;
use hearth::device::{Device, DeviceOptions};
use hearth::media::{
    H264Config, I420Frame, MediaError, OpenH264Encoder, TestPatternCamera, VideoCapture,
    VideoFormat, VideoPipeline,
};
use hearth::peer::{HearthPeer, PeerOptions, VideoFrame};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;

/// Capture instants of recent frames, by the number stamped into them.
pub type CaptureLog = Arc<Mutex<HashMap<u32, Instant>>>;

/// The test-pattern camera, noting when each frame left it ("the glass").
pub struct RecordingCamera {
    inner: TestPatternCamera,
    log: CaptureLog,
}

impl VideoCapture for RecordingCamera {
    fn format(&self) -> VideoFormat {
        self.inner.format()
    }

    fn next_frame(&mut self) -> Result<I420Frame, MediaError> {
        let n = self.inner.next_frame_number();
        let frame = self.inner.next_frame()?;
        let mut log = self.log.lock().expect("capture log");
        log.insert(n, Instant::now());
        log.remove(&n.wrapping_sub(600));
        Ok(frame)
    }
}

/// A running simulated device with one WHEP token contact.
pub struct BenchDevice {
    /// The device.
    pub device: Device,
    /// Bearer token of the WHEP contact.
    pub token: String,
    /// When each frame was captured.
    pub captured: CaptureLog,
    dir: PathBuf,
}

impl BenchDevice {
    /// Starts a device streaming `width`×`height`@`fps` (video only); its media uses
    /// loopback only, or every interface (for players such as aiortc that never offer
    /// loopback candidates).
    pub async fn start(
        width: u32,
        height: u32,
        fps: u32,
        loopback: bool,
    ) -> anyhow::Result<BenchDevice> {
        let dir = scratch_dir("device")?;
        let captured = CaptureLog::default();
        let camera = RecordingCamera {
            inner: TestPatternCamera::new(width, height, fps)?,
            log: captured.clone(),
        };
        let encoder = OpenH264Encoder::new(H264Config::new(width, height, fps))?;
        let video = VideoPipeline::start(Box::new(camera), Box::new(encoder))?;
        let mut config = setup::base_device_config(&[]);
        config.name = "Bench".into();
        let device = Device::start(DeviceOptions {
            config,
            data_dir: dir.clone(),
            rtc: Some(if loopback {
                RtcSettings::loopback()
            } else {
                RtcSettings::default()
            }),
            media: Some(LocalMedia::new(Some(video), None)),
        })
        .await?;
        let token = setup::add_token(&device, "Bench player", &[Permission::LiveVideo]).await?;
        Ok(BenchDevice {
            device,
            token,
            captured,
            dir,
        })
    }

    /// Stops the device and removes its data directory.
    pub async fn stop(self) {
        self.device.stop().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Hearth WHEP player with its session.
pub struct Player {
    /// The peer (receive-only, no data channel).
    pub peer: HearthPeer,
    /// Access units as they arrive.
    pub video: mpsc::Receiver<VideoFrame>,
    /// The session's URL path.
    pub location: String,
    /// When the offer POST was sent.
    pub posted_at: Instant,
    /// When the answer came back.
    pub answered_at: Instant,
}

/// Creates a player, POSTs its offer to `device` and applies the answer.
pub async fn watch(addr: std::net::SocketAddr, token: &str) -> anyhow::Result<Player> {
    let options = PeerOptions {
        data_channel: false,
        recv_audio: false,
        ..PeerOptions::viewer().loopback_only()
    };
    let (peer, _events) = HearthPeer::new(options).await?;
    let offer = peer.create_offer().await?;
    let posted_at = Instant::now();
    let created = http::request(addr, "POST", "/whep", token, &offer).await?;
    let answered_at = Instant::now();
    anyhow::ensure!(
        created.status == 201,
        "WHEP POST answered {}: {}",
        created.status,
        created.body
    );
    peer.accept_answer(&created.body).await?;
    let video = peer
        .take_remote_video()
        .ok_or_else(|| anyhow::anyhow!("the player receives no video"))?;
    Ok(Player {
        peer,
        video,
        location: created.location.unwrap_or_default(),
        posted_at,
        answered_at,
    })
}

impl Player {
    /// Ends the session (DELETE) and closes the peer.
    pub async fn stop(self, addr: std::net::SocketAddr, token: &str) {
        let _ = http::request(addr, "DELETE", &self.location, token, "").await;
        let _ = self.peer.close().await;
    }
}
