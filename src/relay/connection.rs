//! One relay WebSocket from upgrade to close: challenge, read frames into the
//! hub, write what it queues, ping for liveness, and clean up however the
//! task ends. Also carries out hub actions on the shared write queues.
//!
//! Every write has a deadline (`write_timeout_ms`): a client that stops
//! reading is dropped within seconds and its queue freed, and the ping and
//! idle checks never wait behind a stuck write. WebSocket pings and pongs
//! take tokens from the same rate limit as frames.

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use rand::RngCore;
use tokio::time::{interval_at, sleep_until, timeout, Instant, MissedTickBehavior};

use super::cluster::Command;
use super::hub::{Action, ConnId, ForwardOutcome, Hub};
use super::outbox::{outbox, PushError};
use super::protocol::ServerFrame;
use super::server::{RelayState, Shared};

/// Close code 1001 "going away", sent when the relay shuts down.
const CLOSE_GOING_AWAY: u16 = 1001;

/// Decrements the active count and unregisters the connection however the
/// connection task ends.
struct ConnGuard {
    state: RelayState,
    conn: Option<ConnId>,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        if let Some(conn) = self.conn {
            let mut shared = self.state.lock();
            let actions = shared.hub.close(conn);
            shared.outboxes.remove(&conn);
            shared.dispatch(actions);
        }
        self.state.inner.active.send_modify(|n| *n -= 1);
    }
}

pub(super) async fn run_connection(state: RelayState, mut socket: WebSocket, ip: IpAddr) {
    state.inner.active.send_modify(|n| *n += 1);
    let mut guard = ConnGuard {
        state: state.clone(),
        conn: None,
    };
    let mut shutdown = state.inner.shutdown.subscribe();
    let config = &state.inner.config;
    if *shutdown.borrow_and_update() {
        let _ = write(&mut socket, going_away(), config.write_timeout()).await;
        return;
    }
    let mut nonce = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let write_timeout = config.write_timeout();
    let (tx, mut outbox) = outbox(config.outbox_frames, config.outbox_bytes);
    let opened = {
        let mut shared = state.lock();
        let opened = shared.hub.open(ip, nonce, std::time::Instant::now());
        if let Ok(o) = &opened {
            shared.outboxes.insert(o.conn, tx);
        }
        opened
    };
    let opened = match opened {
        Ok(o) => o,
        Err(refusal) => {
            let _ = write(&mut socket, Message::text(refusal.to_text()), write_timeout).await;
            let _ = write(&mut socket, Message::Close(None), write_timeout).await;
            return;
        }
    };
    let conn = opened.conn;
    guard.conn = Some(conn);
    let challenge = Message::text(opened.challenge.to_text());
    if write(&mut socket, challenge, write_timeout).await.is_err() {
        return;
    }
    let period = config.ping_interval();
    let mut ping = interval_at(Instant::now() + period, period);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let auth_deadline = sleep_until(Instant::from_std(opened.auth_deadline));
    tokio::pin!(auth_deadline);
    let mut auth_pending = true;
    let mut last_seen = Instant::now();
    loop {
        tokio::select! {
            inbound = socket.recv() => {
                let msg = match inbound {
                    Some(Ok(msg)) => msg,
                    Some(Err(e)) => {
                        tracing::debug!(%conn, error = %e, "relay socket error");
                        break;
                    }
                    None => break,
                };
                last_seen = Instant::now();
                let now = std::time::Instant::now();
                let mut shared = state.lock();
                let actions = match &msg {
                    Message::Text(text) => shared.hub.on_text(conn, text.as_str(), now),
                    Message::Binary(_) => shared.hub.on_binary(conn, now),
                    Message::Close(_) => break,
                    // Already being closed (a ping flood, say): nothing more to count.
                    Message::Ping(_) | Message::Pong(_) if !shared.outboxes.contains_key(&conn) => continue,
                    Message::Ping(_) | Message::Pong(_) => shared.hub.on_control(conn, now),
                };
                shared.dispatch(actions);
            }
            out = outbox.recv() => match out {
                Some(text) => {
                    if write(&mut socket, Message::text(text), write_timeout).await.is_err() {
                        break;
                    }
                }
                None => {
                    // The hub closed this connection; everything queued before is written.
                    let _ = write(&mut socket, Message::Close(None), write_timeout).await;
                    break;
                }
            },
            _ = ping.tick() => {
                if last_seen.elapsed() >= config.idle_timeout() {
                    tracing::debug!(%conn, "dropping silent client");
                    break;
                }
                if write(&mut socket, Message::Ping(Default::default()), write_timeout).await.is_err() {
                    break;
                }
            }
            _ = &mut auth_deadline, if auth_pending => {
                auth_pending = false;
                let mut shared = state.lock();
                let actions = shared.hub.on_auth_deadline(conn);
                shared.dispatch(actions);
            }
            _ = shutdown.changed() => {
                let _ = write(&mut socket, going_away(), write_timeout).await;
                break;
            }
        }
    }
}

/// Why a write failed; either way the connection ends.
enum WriteFailed {
    /// The socket is closed or broken.
    Broken,
    /// The client did not take the frame in time: it is not reading.
    TimedOut,
}

/// Writes one message, giving up after `limit`.
async fn write(
    socket: &mut WebSocket,
    message: Message,
    limit: Duration,
) -> Result<(), WriteFailed> {
    match timeout(limit, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(WriteFailed::Broken),
        Err(_) => {
            tracing::info!(
                timeout_ms = limit.as_millis() as u64,
                "dropping a relay client that does not read (write timed out)"
            );
            Err(WriteFailed::TimedOut)
        }
    }
}

fn going_away() -> Message {
    Message::Close(Some(CloseFrame {
        code: CLOSE_GOING_AWAY,
        reason: "relay shutting down".into(),
    }))
}

impl Shared {
    /// Carries out the hub's decisions without blocking: every write goes
    /// through the target connection's bounded queue, every cluster action
    /// to the NATS edge.
    pub(super) fn dispatch(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Send { conn, frame } => self.push(conn, frame.to_text()),
                Action::Forward { to, frame, ack, id } => {
                    let outcome = self.hand_over(to, frame.to_text());
                    self.push(ack, Hub::forward_reply(id, outcome).to_text());
                }
                Action::Hold { key, conn } => match &self.cluster {
                    Some(cluster) => cluster.send(Command::Hold { key, conn }),
                    None => self.push(conn, ServerFrame::Ready.to_text()),
                },
                Action::Release { key } => {
                    if let Some(cluster) = &self.cluster {
                        cluster.send(Command::Release { key });
                    }
                }
                Action::ForwardRemote {
                    to,
                    from,
                    data,
                    ack,
                    id,
                } => match &self.cluster {
                    Some(cluster) => cluster.send(Command::Forward {
                        to,
                        from,
                        data,
                        ack,
                        id,
                    }),
                    None => self.push(ack, ServerFrame::Offline { id }.to_text()),
                },
                Action::GrantIce { conn, key } => {
                    let unix_now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    let frame = self.hub.ice_frame(&key, unix_now);
                    self.push(conn, frame.to_text());
                }
                Action::Close { conn } => {
                    // Dropping the sender lets the connection drain its queue, then close.
                    self.outboxes.remove(&conn);
                }
            }
        }
    }

    /// Queues a `deliver` frame for `to`; how that went is the sender's answer.
    pub(super) fn hand_over(&mut self, to: ConnId, text: String) -> ForwardOutcome {
        match self.outboxes.get(&to) {
            None => ForwardOutcome::Gone,
            Some(tx) => match tx.push(text) {
                Ok(()) => ForwardOutcome::Queued,
                Err(PushError::Full) => ForwardOutcome::Busy,
                Err(PushError::Closed) => ForwardOutcome::Gone,
            },
        }
    }

    /// Queues a reply; a client whose queue is full is not reading and is closed.
    pub(super) fn push(&mut self, conn: ConnId, text: String) {
        let Some(tx) = self.outboxes.get(&conn) else {
            return;
        };
        if let Err(PushError::Full) = tx.push(text) {
            tracing::info!(%conn, "closing connection that does not read its replies");
            self.outboxes.remove(&conn);
        }
    }
}
