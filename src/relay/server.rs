//! Thin tokio/axum edge of the relay: accepts WebSockets on `/relay`, feeds
//! their frames to the sans-IO [`Hub`] and writes out what it decides. Holds
//! everything in memory; nothing here touches the filesystem.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::cluster::{self, ClusterLink};
use super::config::RelayServerConfig;
use super::connection::run_connection;
use super::error::RelayError;
use super::hub::{ConnId, Hub};
use super::outbox::Outbox;

/// How long `serve` waits for open WebSockets to close after shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Shared state of one relay instance; cheap to clone into handlers.
#[derive(Clone)]
pub struct RelayState {
    pub(super) inner: Arc<Inner>,
}

/// Everything one relay instance shares between its connections.
pub(super) struct Inner {
    pub(super) config: RelayServerConfig,
    shared: Mutex<Shared>,
    pub(super) shutdown: watch::Sender<bool>,
    pub(super) active: watch::Sender<usize>,
}

/// The hub plus the write queue of every open connection, under one lock
/// that is never held across an `.await`; in a cluster, the link to the
/// NATS edge that carries out the hub's cluster actions.
pub(super) struct Shared {
    pub(super) hub: Hub,
    pub(super) outboxes: HashMap<ConnId, Outbox>,
    pub(super) cluster: Option<ClusterLink>,
}

impl RelayState {
    /// State for a relay on its own using `config`, after checking the
    /// config. A config with `[nats]` needs [`RelayState::start`].
    pub fn new(config: RelayServerConfig) -> Result<Self, RelayError> {
        config.validate()?;
        if config.nats.is_enabled() {
            return Err(RelayError::Config(
                "[nats] is set: start a cluster node with RelayState::start".into(),
            ));
        }
        Ok(Self::build(config, None))
    }

    /// State for a relay using `config`: with `[nats]` set, one node of a
    /// cluster, connected to NATS (it fails if no NATS server answers);
    /// otherwise the same as [`RelayState::new`].
    pub async fn start(config: RelayServerConfig) -> Result<Self, RelayError> {
        config.validate()?;
        if !config.nats.is_enabled() {
            return Ok(Self::build(config, None));
        }
        let client = cluster::connect(&config.nats).await?;
        let timeout = config.nats.request_timeout();
        let (link, commands) = cluster::link();
        let state = Self::build(config, Some(link));
        cluster::start(state.clone(), client, commands, timeout);
        Ok(state)
    }

    fn build(config: RelayServerConfig, cluster: Option<ClusterLink>) -> Self {
        Self {
            inner: Arc::new(Inner {
                shared: Mutex::new(Shared {
                    hub: Hub::new(config.clone()),
                    outboxes: HashMap::new(),
                    cluster,
                }),
                config,
                shutdown: watch::Sender::new(false),
                active: watch::Sender::new(0),
            }),
        }
    }

    /// Closes every relay WebSocket and refuses new ones.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Number of open relay WebSockets.
    pub fn active_connections(&self) -> usize {
        *self.inner.active.borrow()
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic elsewhere must not take the whole relay down with it.
        self.inner.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Router with the relay WebSocket on `/relay`; merge other routes into it
/// and serve it with [`serve_router`] so per-IP limits see client addresses.
pub fn router(state: RelayState) -> Router {
    Router::new()
        .route("/relay", get(relay_ws))
        .with_state(state)
}

/// Runs a relay with `config` on `listener` until `shutdown` completes (a
/// cluster node when `[nats]` is set).
pub async fn serve(
    listener: TcpListener,
    config: RelayServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    let state = RelayState::start(config).await?;
    serve_router(listener, router(state.clone()), state, shutdown).await
}

/// Serves `app` (which includes [`router`] of `state`) until `shutdown`
/// completes, then closes every relay WebSocket and waits briefly for them.
/// Connections go through [`crate::edge`] with the caps and header timeout
/// of the relay's config: every TCP connection counts, WebSocket or not.
pub async fn serve_router(
    listener: TcpListener,
    app: Router,
    state: RelayState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    tracing::info!(addr = ?listener.local_addr().ok(), "relay listening");
    let closing = state.clone();
    let signal = async move {
        shutdown.await;
        closing.shutdown();
    };
    let limits = state.inner.config.edge_limits();
    crate::edge::serve(listener, app, limits, signal).await;
    let mut active = state.inner.active.subscribe();
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, active.wait_for(|n| *n == 0)).await;
    tracing::info!("relay stopped");
    Ok(())
}

/// Read-buffer step of each relay connection (see `relay_ws`).
const READ_BUFFER_BYTES: usize = 4 * 1024;

async fn relay_ws(
    State(state): State<RelayState>,
    info: Option<Extension<ConnectInfo<SocketAddr>>>,
    ws: WebSocketUpgrade,
) -> Response {
    let ip = match info {
        Some(Extension(ConnectInfo(addr))) => addr.ip(),
        None => {
            tracing::warn!("no client address: serve the router with relay::serve_router; all clients share one per-IP cap");
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        }
    };
    let limit = state.inner.config.transport_limit_bytes();
    // tungstenite's defaults reserve a 128 KiB read buffer per connection up front,
    // which made an idle connection cost ~135 KiB (hearth-bench relay-connections).
    // Envelopes are small: read in 4 KiB steps (the buffer still grows to `limit`
    // for a large frame) and write each frame as it comes.
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .on_upgrade(move |socket| run_connection(state, socket, ip))
}
