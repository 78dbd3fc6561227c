//! Public face of the relay client: spawn it once, then send envelopes
//! through a cloneable handle and read deliveries and connection changes
//! from an event channel. The connection itself lives in `session.rs`.

use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::{mpsc, oneshot, watch};

use super::backoff::{Backoff, BackoffConfig};
use super::error::RelayError;
use super::ice_lease::RelayIce;
use super::protocol::PeerKey;
use super::session::{Command, Driver};

/// Settings of the relay client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Reconnect delays.
    pub backoff: BackoffConfig,
    /// Interval between app-level pings to the relay.
    pub ping_interval: Duration,
    /// A relay silent for this long counts as dead and is reconnected.
    pub dead_after: Duration,
    /// Limit for connecting and authenticating.
    pub connect_timeout: Duration,
    /// An attempt still under way after this long is reported as
    /// [`RelayEvent::Unreachable`] (and goes on until `connect_timeout`), so a
    /// relay that swallows connections is told as soon as one that refuses them.
    pub unreachable_after: Duration,
    /// Limit for the relay to answer one `send`.
    pub request_timeout: Duration,
    /// Largest frame the client sends or accepts, in bytes; match the relay's cap.
    pub max_frame_bytes: usize,
    /// Capacity of the event channel; a full channel slows reading from the relay.
    pub event_buffer: usize,
    /// Pause before reconnecting after another connection took over our key,
    /// so two devices sharing a key do not evict each other in a tight loop.
    pub replaced_pause: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            backoff: BackoffConfig::default(),
            ping_interval: Duration::from_secs(5),
            dead_after: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(10),
            unreachable_after: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            max_frame_bytes: 64 * 1024,
            event_buffer: 256,
            replaced_pause: Duration::from_secs(30),
        }
    }
}

/// What happened on the relay connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayEvent {
    /// Authenticated with the relay; sends can succeed from now on.
    Connected,
    /// The relay cannot be reached: an attempt failed, or has been under way
    /// for [`ClientConfig::unreachable_after`]. Sent once per outage — after
    /// starting, or after [`RelayEvent::Disconnected`] — while the client
    /// keeps trying; [`RelayEvent::Connected`] says it is back.
    Unreachable {
        /// Why the attempt failed, or the time it has taken so far.
        reason: RelayError,
    },
    /// The connection ended; the client reconnects by itself unless stopped.
    Disconnected {
        /// Why the connection ended.
        reason: RelayError,
    },
    /// Another client sent us an envelope.
    Delivered {
        /// Sender key, as authenticated by the relay.
        from: PeerKey,
        /// Opaque envelope bytes.
        data: Vec<u8>,
    },
}

/// What the relay did with a sent envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// Handed to the recipient's connection.
    Delivered,
    /// The recipient is not connected; nothing was stored.
    Offline,
}

/// Entry point of the relay client.
pub struct RelayClient;

impl RelayClient {
    /// Starts a client for `url` (e.g. `ws://host:port/relay`) authenticating
    /// as `key`, with default settings. Must be called inside a tokio runtime.
    pub fn spawn(url: String, key: SigningKey) -> (RelayHandle, mpsc::Receiver<RelayEvent>) {
        Self::spawn_with(url, key, ClientConfig::default())
    }

    /// Like [`Self::spawn`] with explicit settings.
    pub fn spawn_with(
        url: String,
        key: SigningKey,
        config: ClientConfig,
    ) -> (RelayHandle, mpsc::Receiver<RelayEvent>) {
        Self::spawn_sharing(url, key, config, RelayIce::new())
    }

    /// Like [`Self::spawn_with`], keeping the relay's ICE servers fresh in
    /// `ice`: the client asks for them after every (re)connect and again
    /// before their credentials expire, and connections read them from there.
    pub fn spawn_sharing(
        url: String,
        key: SigningKey,
        config: ClientConfig,
        ice: RelayIce,
    ) -> (RelayHandle, mpsc::Receiver<RelayEvent>) {
        Self::spawn_any(vec![url], key, config, ice)
    }

    /// Like [`Self::spawn_sharing`] with several URLs of one relay (the nodes
    /// of a cluster): it connects to the first, and whenever an attempt
    /// fails it tries the next one in turn, so a dead node costs one failed
    /// attempt. An empty list fails every attempt.
    pub fn spawn_any(
        urls: Vec<String>,
        key: SigningKey,
        config: ClientConfig,
        ice: RelayIce,
    ) -> (RelayHandle, mpsc::Receiver<RelayEvent>) {
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (event_tx, event_rx) = mpsc::channel(config.event_buffer.max(1));
        let (stop_tx, stop_rx) = watch::channel(false);
        let handle = RelayHandle {
            commands: cmd_tx,
            stop: Arc::new(stop_tx),
            request_timeout: config.request_timeout,
            ice: ice.clone(),
        };
        let backoff = Backoff::new(config.backoff, StdRng::from_entropy());
        let driver = Driver::new(urls, key, config, cmd_rx, stop_rx, event_tx, backoff, ice);
        tokio::spawn(driver.run());
        (handle, event_rx)
    }
}

/// Cloneable handle to a running client; dropping the last one stops it.
#[derive(Clone)]
pub struct RelayHandle {
    commands: mpsc::Sender<Command>,
    stop: Arc<watch::Sender<bool>>,
    request_timeout: Duration,
    ice: RelayIce,
}

impl RelayHandle {
    /// Sends `data` to the client authenticated as `to` and waits for the
    /// relay's answer. Fails at once with `NotConnected` between connections.
    pub async fn send(&self, to: PeerKey, data: Vec<u8>) -> Result<SendOutcome, RelayError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Send { to, data, reply })
            .await
            .map_err(|_| RelayError::Stopped)?;
        match tokio::time::timeout(self.request_timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(RelayError::Stopped),
            Err(_) => Err(RelayError::Timeout(self.request_timeout)),
        }
    }

    /// The relay's ICE servers as this client keeps them fresh.
    pub fn ice(&self) -> RelayIce {
        self.ice.clone()
    }

    /// Stops the client: closes the connection and ends the event stream.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }
}
