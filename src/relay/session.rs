//! The relay client's background task: connect, answer the challenge, pump
//! frames until the connection dies, then back off and start over. Between
//! connections every send is refused at once; nothing is queued. With
//! several URLs (the nodes of a relay cluster) a failed attempt moves on to
//! the next URL, and the client stays on the one that worked.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{interval_at, sleep, sleep_until, timeout, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use super::backoff::Backoff;
use super::client::{ClientConfig, RelayEvent, SendOutcome};
use super::error::RelayError;
use super::handshake::{connect_and_auth, transport, Ws};
use super::ice_lease::{IceAsk, IceLease, RelayIce};
use super::protocol::{ClientFrame, ErrorCode, PeerKey, ServerFrame};
use crate::host_addresses::{AddressWatch, POLL_INTERVAL};

type Reply = oneshot::Sender<Result<SendOutcome, RelayError>>;

/// A request from a [`super::client::RelayHandle`].
pub(crate) enum Command {
    /// Forward an envelope and report the relay's answer on `reply`.
    Send {
        to: PeerKey,
        data: Vec<u8>,
        reply: Reply,
    },
}

/// Owns the connection loop of one client.
pub(crate) struct Driver {
    urls: Vec<String>,
    current: usize,
    key: SigningKey,
    config: ClientConfig,
    commands: mpsc::Receiver<Command>,
    stop: watch::Receiver<bool>,
    events: mpsc::Sender<RelayEvent>,
    backoff: Backoff<StdRng>,
    next_id: u64,
    ice: RelayIce,
}

impl Driver {
    /// Bundles everything the background task needs; the relay's ICE
    /// servers are kept fresh in `ice`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        urls: Vec<String>,
        key: SigningKey,
        config: ClientConfig,
        commands: mpsc::Receiver<Command>,
        stop: watch::Receiver<bool>,
        events: mpsc::Sender<RelayEvent>,
        backoff: Backoff<StdRng>,
        ice: RelayIce,
    ) -> Self {
        Self {
            urls,
            current: 0,
            key,
            config,
            commands,
            stop,
            events,
            backoff,
            next_id: 0,
            ice,
        }
    }

    /// Runs until `shutdown()` or until every handle is dropped.
    pub(crate) async fn run(mut self) {
        let me = PeerKey(self.key.verifying_key().to_bytes()).short();
        // Whether the current outage (since starting, or since the last
        // connection ended) has been reported as `Unreachable`.
        let mut told = false;
        loop {
            let url = self.urls.get(self.current).map_or("", String::as_str);
            let attempt = watch_attempt(
                connect_and_auth(url, &self.key, &self.config),
                self.config.unreachable_after,
                &self.events,
                told,
            );
            let Some((attempt, told_now)) =
                offline(&mut self.commands, &mut self.stop, attempt).await
            else {
                break;
            };
            told |= told_now;
            let delay = match attempt {
                Err(e) => {
                    tracing::debug!(key = %me, error = %e, "relay connect failed");
                    self.current = (self.current + 1) % self.urls.len().max(1);
                    if !told {
                        told = true;
                        let _ = self
                            .events
                            .send(RelayEvent::Unreachable { reason: e })
                            .await;
                    }
                    self.backoff.next_delay()
                }
                Ok(ws) => {
                    self.backoff.reset();
                    told = false;
                    tracing::info!(key = %me, "connected to relay");
                    let _ = self.events.send(RelayEvent::Connected).await;
                    let (reason, stopped) = self.session(ws).await;
                    tracing::info!(key = %me, reason = %reason, "disconnected from relay");
                    let replaced = matches!(
                        reason,
                        RelayError::Rejected {
                            code: ErrorCode::Replaced,
                            ..
                        }
                    );
                    let _ = self.events.send(RelayEvent::Disconnected { reason }).await;
                    if stopped {
                        break;
                    }
                    let delay = self.backoff.next_delay();
                    if replaced {
                        delay.max(self.config.replaced_pause)
                    } else {
                        delay
                    }
                }
            };
            if offline(&mut self.commands, &mut self.stop, sleep(delay))
                .await
                .is_none()
            {
                break;
            }
        }
        tracing::debug!(key = %me, "relay client stopped");
    }

    /// Pumps one authenticated connection. Returns why it ended and whether
    /// the client was stopped.
    async fn session(&mut self, mut ws: Ws) -> (RelayError, bool) {
        let mut pending: HashMap<u64, Reply> = HashMap::new();
        let period = self.config.ping_interval;
        let mut ping = interval_at(Instant::now() + period, period);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_seen = Instant::now();
        let mut ask = IceAsk::default();
        ask.on_connected(std::time::Instant::now());
        // A socket bound to an address this host no longer has is dead, but
        // would only be noticed after `dead_after`: connect again at once.
        let mut addresses = AddressWatch::new();
        let mut addresses_tick = interval_at(Instant::now() + POLL_INTERVAL, POLL_INTERVAL);
        addresses_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let ended = loop {
            let ice_due = ask.due().map(Instant::from_std);
            tokio::select! {
                inbound = ws.next() => {
                    let text = match inbound {
                        None => break (transport("the relay closed the connection"), false),
                        Some(Err(e)) => break (RelayError::Transport(e.to_string()), false),
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(frame))) => {
                            let why = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                            break (transport(&format!("the relay closed the connection ({why})")), false);
                        }
                        Some(Ok(_)) => {
                            last_seen = Instant::now();
                            continue;
                        }
                    };
                    last_seen = Instant::now();
                    let ice = (&self.ice, &mut ask);
                    if let Some(reason) = on_frame(text.as_str(), &mut pending, &self.events, ice).await {
                        break (reason, false);
                    }
                }
                command = self.commands.recv() => match command {
                    None => break (RelayError::Stopped, true),
                    Some(Command::Send { to, data, reply }) => {
                        self.next_id += 1;
                        let text = ClientFrame::Send { id: self.next_id, to, data }.to_text();
                        if text.len() > self.config.max_frame_bytes {
                            let max = self.config.max_frame_bytes;
                            let _ = reply.send(Err(RelayError::TooLarge { size: text.len(), max }));
                            continue;
                        }
                        pending.insert(self.next_id, reply);
                        if let Err(e) = self.write(&mut ws, text).await {
                            break (e, false);
                        }
                    }
                },
                _ = sleep_until(ice_due.unwrap_or_else(Instant::now)), if ice_due.is_some() => {
                    ask.on_asked();
                    if let Err(e) = self.write(&mut ws, ClientFrame::Ice.to_text()).await {
                        break (e, false);
                    }
                }
                _ = ping.tick() => {
                    pending.retain(|_, reply| !reply.is_closed());
                    if let Err(e) = self.write(&mut ws, ClientFrame::Ping.to_text()).await {
                        break (e, false);
                    }
                }
                _ = addresses_tick.tick() => {
                    if addresses.changed() {
                        break (transport("this host's addresses changed"), false);
                    }
                }
                _ = sleep_until(last_seen + self.config.dead_after) => {
                    let silent = self.config.dead_after;
                    break (RelayError::Transport(format!("the relay was silent for {silent:?}")), false);
                }
                _ = self.stop.changed() => break (RelayError::Stopped, true),
            }
        };
        for (_, reply) in pending.drain() {
            let _ = reply.send(Err(RelayError::ConnectionLost));
        }
        if ended.1 {
            let _ = timeout(self.config.connect_timeout, ws.close(None)).await;
        }
        ended
    }

    /// Writes one frame, treating a write that stalls past `dead_after` as a dead relay.
    async fn write(&self, ws: &mut Ws, text: String) -> Result<(), RelayError> {
        match timeout(self.config.dead_after, ws.send(Message::text(text))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(RelayError::Transport(e.to_string())),
            Err(_) => Err(transport("writing to the relay stalled")),
        }
    }
}

/// Runs one connection attempt. Unless the outage was `told` already, an
/// attempt still under way after `after` is reported as `Unreachable` then
/// (and left to finish). Returns its result and whether it reported.
async fn watch_attempt<F>(
    attempt: F,
    after: Duration,
    events: &mpsc::Sender<RelayEvent>,
    told: bool,
) -> (F::Output, bool)
where
    F: Future,
{
    tokio::pin!(attempt);
    if told {
        return (attempt.await, false);
    }
    if let Ok(result) = timeout(after, &mut attempt).await {
        return (result, false);
    }
    let reason = RelayError::Timeout(after);
    let _ = events.send(RelayEvent::Unreachable { reason }).await;
    (attempt.await, true)
}

/// Runs `work` while refusing sends with `NotConnected`; `None` means stop.
async fn offline<F: Future>(
    commands: &mut mpsc::Receiver<Command>,
    stop: &mut watch::Receiver<bool>,
    work: F,
) -> Option<F::Output> {
    tokio::pin!(work);
    loop {
        if *stop.borrow_and_update() {
            return None;
        }
        tokio::select! {
            out = &mut work => return Some(out),
            command = commands.recv() => match command {
                Some(Command::Send { reply, .. }) => {
                    let _ = reply.send(Err(RelayError::NotConnected));
                }
                None => return None,
            },
            changed = stop.changed() => {
                if changed.is_err() {
                    return None;
                }
            }
        }
    }
}

/// Handles one frame of an authenticated session; `Some` ends the session.
/// ICE server answers go into the shared cell and decide the next request.
async fn on_frame(
    text: &str,
    pending: &mut HashMap<u64, Reply>,
    events: &mpsc::Sender<RelayEvent>,
    (ice, ask): (&RelayIce, &mut IceAsk),
) -> Option<RelayError> {
    let frame: ServerFrame = match serde_json::from_str(text) {
        Ok(frame) => frame,
        Err(_) => {
            tracing::warn!("ignoring unreadable frame from the relay");
            return None;
        }
    };
    let answer = match frame {
        ServerFrame::Deliver { from, data } => {
            // A dropped event receiver only means nobody listens; keep serving sends.
            let _ = events.send(RelayEvent::Delivered { from, data }).await;
            return None;
        }
        ServerFrame::Error {
            code: ErrorCode::IceRateLimited,
            message,
            id: None,
        } => {
            tracing::info!(%message, "the relay refused ICE servers for now");
            ask.on_refused(std::time::Instant::now());
            return None;
        }
        ServerFrame::Sent { id } => (id, Ok(SendOutcome::Delivered)),
        ServerFrame::Offline { id } => (id, Ok(SendOutcome::Offline)),
        ServerFrame::Error {
            code,
            message,
            id: Some(id),
        } => (id, Err(RelayError::Rejected { code, message })),
        ServerFrame::Error {
            code,
            message,
            id: None,
        } => {
            let fatal = matches!(
                code,
                ErrorCode::Replaced
                    | ErrorCode::AuthFailed
                    | ErrorCode::AuthTimeout
                    | ErrorCode::NotAuthenticated
            );
            if fatal {
                return Some(RelayError::Rejected { code, message });
            }
            tracing::warn!(%code, "relay reported an error without a request id");
            return None;
        }
        ServerFrame::Pong => return None,
        ServerFrame::IceServers {
            servers,
            expires_in,
        } => {
            let now = std::time::Instant::now();
            let lease = IceLease::new(servers, Duration::from_secs(expires_in), now);
            tracing::debug!(servers = ?lease, "ICE servers from the relay");
            ask.on_answer(&lease);
            ice.publish(lease);
            return None;
        }
        other @ (ServerFrame::Challenge { .. } | ServerFrame::Ready) => {
            tracing::warn!(frame = other.tag(), "ignoring handshake frame after auth");
            return None;
        }
    };
    if let Some(reply) = pending.remove(&answer.0) {
        let _ = reply.send(answer.1);
    }
    None
}
