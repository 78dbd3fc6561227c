//! A household on loopback for the share and privacy benchmarks: a relay, the real
//! `Device` with its panel (simulated buttons pressed through `buttons.sock` as
//! `hearth press` does, the simulated LED, the simulated screen writing PNGs), and
//! family members as real signalling nodes that call it with the `api` module.
//!
//! The family members run on a tokio runtime of their own ([`Family`]): in life they
//! are other machines, so their work (e.g. writing received shares to disk, which
//! blocks) must not hold up the device's tasks. They still share this machine's CPU.
//!
//! Everything sits on loopback unless a [`Network`] says otherwise (the soak puts the
//! device and its family on two network namespaces, to cut the link between them).

use crate::setup;
use hearth::api::{LocalMedia, Message, PeerConnection, RtcSettings};
use hearth::config::Config;
use hearth::contacts::Permission;
use hearth::device::{Device, DeviceOptions};
use hearth::hardware::buttons::{press, socket_path, Action, Button};
use hearth::keys::PeerKey;
use hearth::node::Node;
use hearth::share::inbox::Inbox;
use hearth::share::{Limits, Output, ReceiveRules, ShareSession};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A fresh directory under the system's temporary directory.
pub fn scratch_dir(what: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "hearth-bench-{what}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Opens the device's camera and microphone from its config (instead of the default).
pub type OpenMedia = Box<dyn FnOnce(&Config) -> anyhow::Result<LocalMedia>>;

/// Where a household's parts sit on the network.
#[derive(Clone)]
pub struct Network {
    /// Where the relay listens (port 0: any free one).
    pub relay: SocketAddr,
    /// The device's WebRTC settings.
    pub device: RtcSettings,
    /// The family members' WebRTC settings.
    pub members: RtcSettings,
}

impl Network {
    /// Everything on loopback.
    pub fn loopback() -> Network {
        Network {
            relay: SocketAddr::from(([127, 0, 0, 1], 0)),
            device: RtcSettings::loopback(),
            members: RtcSettings::loopback(),
        }
    }
}

/// A relay serving on the runtime it was started on, which can be stopped and started
/// again on the same address (as a restarted `hearth relay` would be).
pub struct Relay {
    addr: SocketAddr,
    runtime: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    /// Starts a relay on `addr` (port 0: any free one), served on `runtime` (whose
    /// threads decide the network namespace it listens in).
    pub async fn start(addr: SocketAddr, runtime: tokio::runtime::Handle) -> anyhow::Result<Relay> {
        let mut relay = Relay {
            addr,
            runtime,
            stop: None,
            task: None,
        };
        relay.start_again().await?;
        Ok(relay)
    }

    /// The relay's WebSocket URL.
    pub fn url(&self) -> String {
        setup::relay_url(self.addr)
    }

    /// Stops the relay: it closes every WebSocket and stops listening.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Starts the relay (again) on its address, retrying for a few seconds while the
    /// port is still taken.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.task.is_none(), "the relay is running");
        let (bound_tx, bound) = oneshot::channel::<std::io::Result<SocketAddr>>();
        let (relay_stop, stopped) = oneshot::channel::<()>();
        let addr = self.addr;
        let task = self.runtime.spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(5);
            let listener = loop {
                match tokio::net::TcpListener::bind(addr).await {
                    Ok(listener) => break listener,
                    Err(e) if Instant::now() >= deadline => {
                        let _ = bound_tx.send(Err(e));
                        return;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            };
            let _ = bound_tx.send(listener.local_addr());
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) = hearth::relay::serve(
                listener,
                hearth::relay::RelayServerConfig::default(),
                shutdown,
            )
            .await
            {
                eprintln!("relay stopped: {e}");
            }
        });
        self.addr = bound.await??;
        self.stop = Some(relay_stop);
        self.task = Some(task);
        Ok(())
    }
}

/// The device, its relay and its data directory.
pub struct Home {
    /// The running device (panel started).
    pub device: Device,
    /// Its data directory.
    pub dir: PathBuf,
    /// Its settings.
    pub config: Config,
    /// The relay's WebSocket URL.
    pub relay_url: String,
    /// The relay.
    pub relay: Relay,
    /// The family members' WebRTC settings.
    members_rtc: RtcSettings,
}

impl Home {
    /// Starts a relay and a device called "Kitchen" on loopback with simulated camera
    /// and microphone at the defaults, changed by `adjust`, and its panel. `media`
    /// replaces the camera and microphone the config would open.
    pub async fn start(
        adjust: impl FnOnce(&mut Config),
        media: Option<OpenMedia>,
    ) -> anyhow::Result<Home> {
        let here = tokio::runtime::Handle::current();
        Home::start_on(Network::loopback(), here, adjust, media).await
    }

    /// Like [`Home::start`], with the parts where `network` says; the relay is served
    /// on `relay_runtime`, the device on the current runtime.
    pub async fn start_on(
        network: Network,
        relay_runtime: tokio::runtime::Handle,
        adjust: impl FnOnce(&mut Config),
        media: Option<OpenMedia>,
    ) -> anyhow::Result<Home> {
        let relay = Relay::start(network.relay, relay_runtime).await?;
        let relay_url = relay.url();
        let dir = scratch_dir("home")?;
        let mut config = setup::base_device_config(std::slice::from_ref(&relay_url));
        adjust(&mut config);
        let media = match media {
            Some(open) => Some(open(&config)?),
            None => None,
        };
        let device = Device::start(DeviceOptions {
            config: config.clone(),
            data_dir: dir.clone(),
            rtc: Some(network.device.clone()),
            media,
        })
        .await?;
        device.start_panel()?;
        wait_until(
            "the device reaches its relay",
            Duration::from_secs(20),
            || device.node.relay_connected(),
        )
        .await?;
        Ok(Home {
            device,
            dir,
            config,
            relay_url,
            relay,
            members_rtc: network.members,
        })
    }

    /// Presses `button` through `buttons.sock`, as `hearth press BUTTON` does.
    /// Returns the instant just before the press was written to the socket.
    pub async fn press(&self, button: Button) -> anyhow::Result<Instant> {
        let socket = socket_path(&self.dir);
        tokio::task::spawn_blocking(move || {
            let at = Instant::now();
            press(&socket, button, Action::Press)?;
            Ok::<_, anyhow::Error>(at)
        })
        .await?
    }

    /// Adds a family member on `family`'s runtime: a node with its own identity on the
    /// same relay, an approved contact of the device with `grants`, which approved the
    /// device too.
    pub async fn member(
        &self,
        family: &Family,
        name: &str,
        grants: &[Permission],
    ) -> anyhow::Result<Member> {
        let dir = scratch_dir("member")?;
        let node = {
            let _runtime = family.handle().enter();
            setup::start_node(&dir, &self.relay_url, name)?
        };
        setup::befriend(&self.device.node, &node, grants).await?;
        wait_until(
            "a family member reaches the relay",
            Duration::from_secs(20),
            || node.relay_connected(),
        )
        .await?;
        Ok(Member { node, dir })
    }

    /// A connection from `member` to the device, not yet made.
    pub fn call(&self, member: &Member) -> PeerConnection {
        PeerConnection::with_settings(
            &member.node,
            self.device.node.peer_key(),
            self.members_rtc.clone(),
        )
    }

    /// Stops the device and the relay and removes the data directory.
    pub async fn stop(mut self) {
        self.device.stop().await;
        self.relay.stop().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The family members' own tokio runtime.
pub struct Family {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Family {
    /// A runtime with two worker threads.
    pub fn new() -> anyhow::Result<Family> {
        Ok(Family {
            runtime: Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("family")
                    .enable_all()
                    .build()?,
            ),
        })
    }

    /// Runs `task` on the family's runtime and waits for it.
    pub async fn run<T: Send + 'static>(
        &self,
        task: impl std::future::Future<Output = T> + Send + 'static,
    ) -> anyhow::Result<T> {
        Ok(self.handle().spawn(task).await?)
    }

    /// Starts `task` on the family's runtime.
    pub fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.handle().spawn(task);
    }

    /// The family's runtime.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.as_ref().expect("running").handle()
    }
}

impl Drop for Family {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A family member's node and data directory.
pub struct Member {
    /// Its node on the signalling network.
    pub node: Node,
    /// Its data directory (identity, contacts, inbox).
    pub dir: PathBuf,
}

impl Member {
    /// Removes the member's data directory.
    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A share a contact stored: its id, JPEG size, when it was offered and stored.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The share's id.
    pub id: String,
    /// Its JPEG's size (0 for a thought).
    pub jpeg_bytes: u64,
    /// When the device offered it.
    pub offered: Instant,
    /// When it was stored.
    pub at: Instant,
}

/// The shares a contact stored, in order.
pub type StoredLog = Arc<Mutex<Vec<Stored>>>;

/// The receiving side of a contact: takes what the device pushes (what `rules`
/// accept), stores it in the contact's inbox and acknowledges it — the same
/// `ShareSession` and `Inbox` a Hearth device runs, the inbox writes carried
/// out on a blocking thread as the device does — until the connection ends.
pub async fn receive_shares(
    connection: PeerConnection,
    member: PeerKey,
    inbox: Inbox,
    rules: ReceiveRules,
    log: StoredLog,
) {
    let device = connection.contact();
    let mut session = ShareSession::new(member, device, rules, Limits::default());
    let mut offered = Instant::now();
    while let Some(message) = connection.recv().await {
        let arrived = Instant::now();
        match message {
            Message::Text(text) => {
                session.handle_text(&text, Instant::now(), &inbox);
            }
            Message::Binary(frame) => session.handle_binary(&frame),
        }
        while let Some(output) = session.poll_output() {
            let sent = match output {
                Output::SendText(text) => {
                    if text.contains("\"share_have\"") {
                        offered = arrived;
                    }
                    connection.send(&text).await
                }
                Output::SendBinary(frame) => connection.send_bytes(&frame).await,
                Output::Write(write) => {
                    let mut inbox = inbox.clone();
                    match tokio::task::spawn_blocking(move || write.carry_out(&mut inbox)).await {
                        Ok(done) => session.handle_written(done),
                        Err(e) => {
                            eprintln!("an inbox write did not finish: {e}");
                            return;
                        }
                    }
                    Ok(())
                }
                Output::Received(share) => {
                    log.lock().expect("log").push(Stored {
                        id: share.id.clone(),
                        jpeg_bytes: share.body.jpeg.as_ref().map_or(0, |j| j.len),
                        offered,
                        at: Instant::now(),
                    });
                    Ok(())
                }
                Output::Refused(e) => {
                    eprintln!("a contact refused a share: {e}");
                    Ok(())
                }
                _ => Ok(()),
            };
            if sent.is_err() {
                return;
            }
        }
    }
}

/// Polls `check` every 5 ms until it holds, for at most `limit`.
pub async fn wait_until(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !check() {
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// The width and height in a JPEG's SOF0/SOF2 header.
pub fn jpeg_size(jpeg: &[u8]) -> Option<(u16, u16)> {
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])?;
    let h = u16::from_be_bytes([*jpeg.get(sof + 5)?, *jpeg.get(sof + 6)?]);
    let w = u16::from_be_bytes([*jpeg.get(sof + 7)?, *jpeg.get(sof + 8)?]);
    Some((w, h))
}

/// The test-pattern camera with per-pixel noise on the luma (±16, as the `encode`
/// benchmark's noisy clip): closer to a real sensor, so JPEGs have a realistic size.
pub struct NoisyCamera {
    inner: hearth::media::TestPatternCamera,
    state: u32,
}

impl NoisyCamera {
    /// A noisy `width`×`height` camera at `fps`.
    pub fn new(width: u32, height: u32, fps: u32) -> anyhow::Result<NoisyCamera> {
        Ok(NoisyCamera {
            inner: hearth::media::TestPatternCamera::new(width, height, fps)?,
            state: 0x2545_F491,
        })
    }
}

impl hearth::media::VideoCapture for NoisyCamera {
    fn format(&self) -> hearth::media::VideoFormat {
        self.inner.format()
    }

    fn next_frame(&mut self) -> Result<hearth::media::I420Frame, hearth::media::MediaError> {
        let mut frame = self.inner.next_frame()?;
        let mut state = self.state;
        for p in frame.planes_mut().0.iter_mut() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *p = p.saturating_add((state & 31) as u8).saturating_sub(16);
        }
        self.state = state;
        Ok(frame)
    }
}
