//! The device: keeps its signalling up, answers approved contacts' calls (and
//! token contacts' WHEP offers) with exactly the media their permissions
//! allow, ends sessions the owner revokes, and says who is watching. Built on
//! the [`crate::api`] API.

mod access;
mod blocking;
mod calls;
pub mod control;
pub mod deliveries;
mod environment;
pub mod http;
pub mod incoming_picture;
pub mod media;
pub mod pairing;
mod panel;
mod panel_notes;
mod panel_picture;
mod panel_relay;
mod panel_view;
mod picture;
mod share_link;
pub mod shares;
pub mod snapshot;
pub mod socket;
mod talkback;
mod tasks;
mod whep;

pub use environment::Environment;
pub use talkback::TalkBackStats;

use crate::api::{LocalMedia, RtcSettings};
use crate::clock::Clock;
use crate::config::Config;
use crate::data_dir_lock::DataDirLock;
use crate::identity::{Identity, IdentityError};
use crate::live_contacts::LiveContacts;
use crate::node::{Node, NodeEvent, NodeOptions};
use crate::relay::RelayServerConfig;
use crate::whep::WhepState;
use calls::Calls;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// How long stopping waits for the device's tasks before aborting them.
const STOP_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Errors starting the device.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The identity could not be loaded or created.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The contacts could not be loaded.
    #[error(transparent)]
    Contacts(#[from] crate::contacts::ContactsError),
    /// The camera or microphone could not start.
    #[error("camera or microphone: {0}")]
    Media(#[from] media::MediaSetupError),
    /// The board profile could not be read.
    #[error(transparent)]
    Board(#[from] crate::hardware::HardwareError),
    /// The outbox could not be opened.
    #[error(transparent)]
    Share(#[from] crate::share::ShareError),
    /// The web server (and embedded relay) could not start.
    #[error(transparent)]
    Http(#[from] http::HttpError),
    /// Another device runs on the same data directory.
    #[error(transparent)]
    Locked(#[from] crate::data_dir_lock::LockError),
}

/// What the device is started with.
pub struct DeviceOptions {
    /// Settings.
    pub config: Config,
    /// Where identity and contacts live.
    pub data_dir: PathBuf,
    /// WebRTC settings (default: from the config).
    pub rtc: Option<RtcSettings>,
    /// Media sources (default: simulated, from the config).
    pub media: Option<LocalMedia>,
}

/// A running device. Cloning it gives another handle on the same device.
#[derive(Clone)]
pub struct Device {
    /// This device on the signalling network.
    pub node: Node,
    /// Its camera and microphone.
    pub media: LocalMedia,
    /// Where the web server listens (viewer, WHEP, embedded relay), if it runs.
    pub http_addr: Option<SocketAddr>,
    calls: Arc<Calls>,
    control: Arc<control::ControlState>,
    stop: watch::Sender<bool>,
    /// The data directory's lock, held from start until stop.
    lock: Arc<Mutex<Option<DataDirLock>>>,
    /// Its long-lived tasks, joined on stop.
    tasks: Arc<tasks::Tasks>,
    /// The settings, data directory and board it was built from.
    env: Arc<Environment>,
}

impl Device {
    /// Starts the device and returns once it is running.
    pub async fn start(options: DeviceOptions) -> Result<Device, DeviceError> {
        Device::start_with_clock(options, Clock::system()).await
    }

    /// Starts the device with its timing rules on `clock` (a test's manual
    /// clock); returns once it is running.
    pub async fn start_with_clock(
        options: DeviceOptions,
        clock: Clock,
    ) -> Result<Device, DeviceError> {
        let config = options.config;
        // Before anything else: a second device on this directory must not
        // touch the first one's files, sockets or relay session.
        let lock = DataDirLock::acquire(&options.data_dir)?;
        let identity = Arc::new(Identity::load_or_create(&options.data_dir)?);
        let contacts = LiveContacts::load_owned(&lock)?;
        let (stop, stopped) = watch::channel(false);
        let tasks = Arc::new(tasks::Tasks::default());
        let env = Environment::load(config, options.data_dir, clock)?;
        let config = &env.config;
        let media = match options.media {
            Some(media) => media,
            None => media::open_media(config, &env.board)?,
        };
        let rtc = options
            .rtc
            .unwrap_or_else(|| RtcSettings::from_config(&config.webrtc))
            .with_send_ceiling(config.video.bitrate_kbps, config.audio.bitrate_kbps);
        let privacy = media.privacy().clone();
        privacy.keep_in(&env.data_dir);
        let shares = Arc::new(shares::Shares::open(
            &env.data_dir,
            identity.clone(),
            contacts.clone(),
            media.clone(),
            config.share.clone(),
        )?);
        let talk_back = Arc::new(talkback::TalkBackHub::open(
            &env,
            contacts.clone(),
            privacy.clone(),
        ));
        let picture = Arc::new(picture::PictureHub::open(&env, contacts.clone()));
        privacy.add_gate(picture.clone());
        let calls = Arc::new(Calls::new(
            config.name.clone(),
            contacts.clone(),
            media.clone(),
            rtc.clone(),
            shares.clone(),
            talk_back,
            picture,
        ));
        let whep = WhepState::new(
            contacts.clone(),
            Arc::new(whep::DeviceAnswerer {
                calls: calls.clone(),
            }),
        );
        let http_addr = http::start(
            config.http.listen,
            config.relay.embedded.then(|| RelayServerConfig {
                ice: config.relay.ice.clone(),
                ..RelayServerConfig::default()
            }),
            http::routes(whep),
            stopped.clone(),
        )
        .await?;
        let http_addr = http_addr.and_then(|server| {
            tasks.keep("web server", server.task);
            server.addr
        });
        let node = Node::start_with(
            identity,
            contacts.clone(),
            NodeOptions {
                name: config.name.clone(),
                relays: config.with_bound_port(http_addr).relay_urls(),
            },
            rtc.relay_ice.clone(),
        );
        let watcher = contacts.spawn_watcher();
        tasks.spawn(
            "answer calls",
            calls.clone().answer_calls(node.clone(), stopped.clone()),
        );
        tasks.spawn(
            "enforce revocations",
            calls
                .clone()
                .enforce_revocations(contacts.subscribe(), stopped.clone()),
        );
        tasks.spawn(
            "follow privacy",
            calls
                .clone()
                .follow_privacy(privacy.subscribe(), stopped.clone()),
        );
        tasks.spawn(
            "announce pairing decisions",
            pairing::announce_decisions(node.clone(), contacts.subscribe(), stopped.clone()),
        );
        tasks.spawn(
            "log node events",
            log_node_events(node.events(), stopped.clone(), watcher),
        );
        tasks.spawn(
            "deliver shares",
            shares
                .clone()
                .deliver(node.clone(), rtc.clone(), stopped.clone()),
        );
        let control = Arc::new(control::ControlState {
            own_key: node.peer_key(),
            privacy,
            shares,
            calls: calls.clone(),
        });
        if let Some(socket) = control::bind(&env.data_dir) {
            tasks.spawn(
                "control socket",
                control::serve(
                    control.clone(),
                    socket,
                    env.data_dir.clone(),
                    stopped.clone(),
                ),
            );
        }
        Ok(Device {
            node,
            media,
            http_addr,
            calls,
            control,
            stop,
            lock: Arc::new(Mutex::new(Some(lock))),
            tasks,
            env: Arc::new(Environment {
                config: env.config.with_bound_port(http_addr),
                ..env
            }),
        })
    }

    /// The contacts watching or listening now, by name.
    pub fn watchers(&self) -> Vec<String> {
        self.calls.watchers()
    }

    /// What talk-back has played and refused, and who is heard on the speaker now.
    pub fn talk_back(&self) -> TalkBackStats {
        self.calls.talk_back.stats()
    }

    /// Shares a snapshot, photo or thought with its audience (now, or when
    /// each recipient next connects).
    pub async fn share(
        &self,
        request: shares::ShareRequest,
    ) -> Result<shares::ShareReceipt, crate::share::ShareError> {
        self.control.shares.share(request).await
    }

    /// The privacy switch: a press toggles, a command sets. Returns whether it is on.
    pub fn privacy(
        &self,
        input: crate::privacy::PrivacyInput,
    ) -> Result<bool, crate::privacy::PrivacyError> {
        self.control.privacy.apply(input)
    }

    /// Follows the privacy switch (the hook for the LED and the PRIVATE screen).
    pub fn privacy_changes(&self) -> watch::Receiver<bool> {
        self.control.privacy.subscribe()
    }

    /// Shares as they arrive (the hook for the screen).
    pub fn received_shares(&self) -> tokio::sync::broadcast::Receiver<shares::ReceivedNotice> {
        self.control.shares.received.subscribe()
    }

    /// Takes the contact's picture shown on the device off at once (what
    /// NO, or a long press, does while one is shown); the contact is told.
    /// Returns whether one was shown.
    pub fn end_picture(&self) -> bool {
        self.calls.picture.end_pressed()
    }

    /// Privacy, connected contacts, live viewers and the outbox.
    pub fn status(&self) -> crate::device::socket::Status {
        self.control.status()
    }

    /// Stops the device: ends every session and the embedded relay, leaves
    /// the signalling relay (so a device started again on the same data
    /// directory is not pushed off it by this one) and waits for its tasks
    /// (at most a few seconds) before it lets go of the data directory.
    /// Returns the names of the tasks that did not end by themselves and
    /// were aborted (none, normally).
    pub async fn stop(&self) -> Vec<&'static str> {
        self.stop.send_replace(true);
        self.calls
            .end_all(
                crate::api::EndCode::ShuttingDown,
                "the device is shutting down",
            )
            .await;
        self.node.disconnect();
        let aborted = self.tasks.join_all(STOP_WITHIN).await;
        self.lock.lock().expect("lock slot").take();
        aborted
    }

    /// Changes the contact book as the owner (what `hearth contacts …` and
    /// the YES/NO buttons do): applied, saved and published before it returns.
    pub async fn change_contacts(
        &self,
        change: crate::contacts::ContactChange,
    ) -> Result<crate::contacts::ChangeOutcome, crate::contacts::ContactsError> {
        self.control.change_contacts(change).await
    }
}

async fn log_node_events(
    mut events: tokio::sync::broadcast::Receiver<NodeEvent>,
    mut stopped: watch::Receiver<bool>,
    watcher: tokio::task::JoinHandle<()>,
) {
    loop {
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => break,
            event = events.recv() => match event {
                Ok(NodeEvent::PairRequested { key, name }) => tracing::info!(
                    "{name} ({}) asks to pair. Approve with `hearth contacts approve {}`, refuse with `hearth contacts remove {}`",
                    key.short(), key.short(), key.short()
                ),
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
    }
    watcher.abort();
}
