//! The end-to-end harness: a real relay on a loopback port, a simulated
//! device, and viewer nodes, all in one process over real sockets. The
//! set-ups the `hearth-bench` binary needs too live in [`super::setup`]; this
//! re-exports or wraps them (panicking where they fail).

use super::setup;
use hearth::api::{LocalMedia, RtcSettings};
use hearth::clock::Clock;
use hearth::config::Config;
use hearth::contacts::Permission;
use hearth::device::{Device, DeviceError, DeviceOptions};
use hearth::identity::ContactCode;
use hearth::node::Node;
use hearth::peer::{HearthPeer, PeerOptions};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::sync::oneshot;

pub use setup::relay_url;

/// A relay running on loopback until dropped or stopped.
pub struct TestRelay {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestRelay {
    /// A relay with the default limits on a free loopback port.
    pub async fn start() -> TestRelay {
        Self::start_at("127.0.0.1:0".parse().unwrap()).await
    }

    /// A relay with the default limits on `addr` (e.g. to restart one where it was).
    pub async fn start_at(addr: SocketAddr) -> TestRelay {
        Self::start_with(addr, hearth::relay::RelayServerConfig::default()).await
    }

    /// A relay with other limits, e.g. more connections per address (all
    /// test clients come from 127.0.0.1).
    pub async fn start_with(
        addr: SocketAddr,
        config: hearth::relay::RelayServerConfig,
    ) -> TestRelay {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind relay");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            hearth::relay::serve(listener, config, shutdown)
                .await
                .expect("relay runs");
        });
        TestRelay {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Its WebSocket URL, as devices and viewers are configured with it.
    pub fn url(&self) -> String {
        relay_url(self.addr)
    }

    /// Stops it and waits until it has stopped.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// A device config for tests: [`setup::base_device_config`] on `relay_url`,
/// small video.
pub fn device_config(relay_url: &str) -> Config {
    let mut config = setup::base_device_config(&[relay_url.to_string()]);
    config.video.width = 320;
    config.video.height = 240;
    config.video.bitrate_kbps = 400;
    config
}

/// Starts a device on `dir` with [`device_config`] for `relay_url`.
pub async fn start_device(dir: &Path, relay_url: &str) -> Device {
    start_device_with(dir, device_config(relay_url), None).await
}

/// A family member's device named `name` on `relay_url`: no camera or
/// microphone, it only receives.
pub async fn start_family_device(dir: &Path, relay_url: &str, name: &str) -> Device {
    let mut config = device_config(relay_url);
    config.name = name.into();
    start_device_with(dir, config, Some(LocalMedia::none())).await
}

/// Starts a device on `dir` with `config`, [`fast_settings`] and `media`
/// (`None`: the camera and microphone the config names).
pub async fn try_start_device_with(
    dir: &Path,
    config: Config,
    media: Option<LocalMedia>,
) -> Result<Device, DeviceError> {
    Device::start(DeviceOptions {
        config,
        data_dir: dir.to_path_buf(),
        rtc: Some(fast_settings()),
        media,
    })
    .await
}

/// [`start_device_with`], its timing rules on `clock` (a manual one).
pub async fn start_device_on_clock(dir: &Path, config: Config, clock: Clock) -> Device {
    let options = DeviceOptions {
        config,
        data_dir: dir.to_path_buf(),
        rtc: Some(fast_settings()),
        media: None,
    };
    Device::start_with_clock(options, clock)
        .await
        .expect("device starts")
}

/// [`try_start_device_with`], which must succeed.
pub async fn start_device_with(dir: &Path, config: Config, media: Option<LocalMedia>) -> Device {
    try_start_device_with(dir, config, media)
        .await
        .expect("device starts")
}

/// Adds a token contact (a WHEP player) allowed `allow` to the running
/// device; returns its token.
pub async fn add_token(device: &Device, name: &str, allow: &[Permission]) -> String {
    setup::add_token(device, name, allow).await.unwrap()
}

/// A WHEP player: our own peer on loopback, receive-only, without a data
/// channel (as players are).
pub async fn whep_player() -> HearthPeer {
    let options = PeerOptions {
        data_channel: false,
        ..PeerOptions::viewer().loopback_only()
    };
    HearthPeer::new(options).await.unwrap().0
}

/// Loopback-only WebRTC with short timeouts, so a refusal shows quickly.
pub fn fast_settings() -> RtcSettings {
    RtcSettings {
        answer_timeout: Duration::from_secs(5),
        ..RtcSettings::loopback()
    }
}

/// A viewer node called `name` with its identity and contacts on `dir`,
/// using the relay at `relay_url`.
pub fn start_viewer(dir: &Path, relay_url: &str, name: &str) -> Node {
    setup::start_node(dir, relay_url, name).unwrap()
}

/// Makes `a` and `b` approved contacts of each other; `a` grants `b` the permissions.
pub async fn befriend(a: &Node, b: &Node, grants: &[Permission]) {
    setup::befriend(a, b, grants).await.unwrap()
}

/// Makes `code` an approved contact of `node` with `grants` on: one side of
/// [`befriend`], for a contact whose device is off or does not exist.
pub async fn approve_contact(node: &Node, code: &ContactCode, grants: &[Permission]) {
    setup::approve_contact(node, code, grants).await.unwrap()
}

/// Polls `check` every 20 ms until it holds; panics naming `what` after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (at most 20 s) until `node` is connected to its relay.
pub async fn wait_relay(node: &Node) {
    wait_until("relay connection", Duration::from_secs(20), || {
        node.relay_connected()
    })
    .await;
}

/// Sends logs to the test's output, filtered by `HEARTH_LOG` (default `warn`).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// A device and one viewer on the same relay, both connected.
pub struct Household {
    pub device: Device,
    pub viewer: Node,
    pub device_dir: tempfile::TempDir,
    pub viewer_dir: tempfile::TempDir,
}

impl Household {
    /// Starts both; when `grants` is given they are contacts and the device
    /// grants the viewer those permissions.
    pub async fn start(relay_url: &str, viewer_name: &str, grants: Option<&[Permission]>) -> Self {
        let relays = [relay_url.to_string()];
        Self::start_across(&relays, &relays, viewer_name, grants).await
    }

    /// Like [`Household::start`], the device and the viewer each with its
    /// own relay URLs (nodes of a relay cluster, tried in turn).
    pub async fn start_across(
        device_relays: &[String],
        viewer_relays: &[String],
        viewer_name: &str,
        grants: Option<&[Permission]>,
    ) -> Self {
        Self::start_configured(device_relays, viewer_relays, viewer_name, grants, |_| {}).await
    }

    /// Like [`Household::start_across`], with the device's config changed by
    /// `configure` first.
    pub async fn start_configured(
        device_relays: &[String],
        viewer_relays: &[String],
        viewer_name: &str,
        grants: Option<&[Permission]>,
        configure: impl FnOnce(&mut hearth::config::Config),
    ) -> Self {
        let (device_dir, viewer_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut config = device_config(&device_relays[0]);
        config.relay.urls = device_relays.to_vec();
        configure(&mut config);
        let device = start_device_with(device_dir.path(), config, None).await;
        let viewer = setup::start_node_on(viewer_dir.path(), viewer_relays, viewer_name).unwrap();
        if let Some(grants) = grants {
            befriend(&device.node, &viewer, grants).await;
        }
        wait_relay(&device.node).await;
        wait_relay(&viewer).await;
        Household {
            device,
            viewer,
            device_dir,
            viewer_dir,
        }
    }

    /// A connection from the viewer to the device, not yet made.
    pub fn call(&self) -> hearth::api::PeerConnection {
        hearth::api::PeerConnection::with_settings(
            &self.viewer,
            self.device.node.peer_key(),
            fast_settings(),
        )
    }
}
