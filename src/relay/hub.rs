//! Sans-IO core of the relay: who is connected, who is authenticated as which
//! key, where a `send` goes, and which limits apply. It never touches a
//! socket or a clock; the server feeds it events with explicit `Instant`s and
//! carries out the [`Action`]s it returns. Nothing is stored for offline keys.
//!
//! In a cluster (`[nats]` set) the hub also says when a key starts and stops
//! being held here ([`Action::Hold`], [`Action::Release`]) and sends what it
//! cannot deliver locally to the other nodes ([`Action::ForwardRemote`]);
//! [`Hub::on_taken`] lets go of a key another node took over.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use ed25519_dalek::{Signature, VerifyingKey};

pub use super::action::{Action, ConnId, ForwardOutcome, Opened};
use super::config::RelayServerConfig;
use super::ice::IceIssuer;
use super::limits::{ConnectionCounter, TokenBucket};
use super::protocol::{auth_message, parse_client, ClientFrame, ErrorCode, PeerKey, ServerFrame};

struct Conn {
    ip: IpAddr,
    nonce: [u8; 32],
    key: Option<PeerKey>,
    bucket: TokenBucket,
}

/// The relay's decision-making state machine.
pub struct Hub {
    config: RelayServerConfig,
    next_id: u64,
    conns: HashMap<ConnId, Conn>,
    by_key: HashMap<PeerKey, ConnId>,
    per_ip: ConnectionCounter,
    ice: IceIssuer,
    cluster: bool,
}

impl Hub {
    /// An empty hub applying the limits in `config`.
    pub fn new(config: RelayServerConfig) -> Self {
        let per_ip = ConnectionCounter::new(config.max_connections_per_ip);
        Self {
            ice: IceIssuer::new(config.ice.clone()),
            cluster: config.nats.is_enabled(),
            config,
            next_id: 0,
            conns: HashMap::new(),
            by_key: HashMap::new(),
            per_ip,
        }
    }

    /// Registers a new connection from `ip` that will be challenged with `nonce`.
    /// Over the per-IP cap it returns the error frame to send before closing.
    pub fn open(
        &mut self,
        ip: IpAddr,
        nonce: [u8; 32],
        now: Instant,
    ) -> Result<Opened, ServerFrame> {
        if !self.per_ip.try_acquire(ip) {
            tracing::info!(%ip, "refusing connection: per-IP cap reached");
            return Err(ServerFrame::error(
                ErrorCode::TooManyConnections,
                format!(
                    "this address already has {} relay connections; close some and retry",
                    self.config.max_connections_per_ip
                ),
                None,
            ));
        }
        self.next_id += 1;
        let conn = ConnId(self.next_id);
        let bucket = TokenBucket::new(self.config.messages_per_second, self.config.burst, now);
        self.conns.insert(
            conn,
            Conn {
                ip,
                nonce,
                key: None,
                bucket,
            },
        );
        Ok(Opened {
            conn,
            challenge: ServerFrame::Challenge { nonce },
            auth_deadline: now + self.config.auth_timeout(),
        })
    }

    /// Handles one text frame from `conn`.
    pub fn on_text(&mut self, conn: ConnId, text: &str, now: Instant) -> Vec<Action> {
        let parsed = parse_client(text, self.config.max_frame_bytes);
        let id = match &parsed {
            Ok(ClientFrame::Send { id, .. }) => Some(*id),
            Ok(_) => None,
            Err(e) => e.id,
        };
        if let Err(refusal) = self.rate_check(conn, id, now) {
            return refusal;
        }
        match parsed {
            Ok(frame) => self.on_frame(conn, frame, now),
            Err(e) => vec![Action::Send {
                conn,
                frame: e.into_frame(),
            }],
        }
    }

    /// Handles one binary frame from `conn`; the protocol has none.
    pub fn on_binary(&mut self, conn: ConnId, now: Instant) -> Vec<Action> {
        if let Err(refusal) = self.rate_check(conn, None, now) {
            return refusal;
        }
        let message = "binary frames are not part of the protocol; send JSON text frames";
        vec![send_error(conn, ErrorCode::Malformed, message, None)]
    }

    /// Handles a WebSocket ping or pong from `conn`: it takes a token like any
    /// frame. Over the limit the connection is told `rate_limited` and closed,
    /// since a control frame has no request id to refuse (a ping flood).
    pub fn on_control(&mut self, conn: ConnId, now: Instant) -> Vec<Action> {
        match self.rate_check(conn, None, now) {
            Ok(()) => Vec::new(),
            Err(mut refusal) => {
                if !refusal.is_empty() {
                    tracing::info!(%conn, "closing a connection over the rate limit with pings or pongs");
                    refusal.push(Action::Close { conn });
                }
                refusal
            }
        }
    }

    /// Closes `conn` if it still has not authenticated.
    pub fn on_auth_deadline(&mut self, conn: ConnId) -> Vec<Action> {
        match self.conns.get(&conn) {
            Some(c) if c.key.is_none() => vec![
                send_error(
                    conn,
                    ErrorCode::AuthTimeout,
                    "no auth frame in time; answer the challenge promptly",
                    None,
                ),
                Action::Close { conn },
            ],
            _ => Vec::new(),
        }
    }

    /// Forgets `conn` after its socket is gone. Calling it twice is harmless.
    /// In a cluster it releases the key the connection held.
    pub fn close(&mut self, conn: ConnId) -> Vec<Action> {
        let Some(c) = self.conns.remove(&conn) else {
            return Vec::new();
        };
        self.per_ip.release(c.ip);
        if let Some(key) = c.key {
            if self.by_key.get(&key) == Some(&conn) {
                self.by_key.remove(&key);
                tracing::debug!(key = %key.short(), %conn, "key offline");
                if self.cluster {
                    return vec![Action::Release { key }];
                }
            }
        }
        Vec::new()
    }

    /// Cluster: another node accepted `key` after this one did. The
    /// connection holding it here is told `replaced` and closed, as when a
    /// second connection takes over on one relay, and the key is released.
    pub fn on_taken(&mut self, key: &PeerKey) -> Vec<Action> {
        let Some(conn) = self.by_key.remove(key) else {
            return Vec::new();
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.key = None;
        }
        tracing::info!(key = %key.short(), %conn, "key taken over by another relay node");
        vec![
            send_error(
                conn,
                ErrorCode::Replaced,
                "another connection authenticated with this key",
                None,
            ),
            Action::Close { conn },
            Action::Release { key: *key },
        ]
    }

    /// The connection holding `key` here, if any: where an envelope that
    /// another node forwarded is delivered.
    pub fn holder(&self, key: &PeerKey) -> Option<ConnId> {
        self.by_key.get(key).copied()
    }

    /// The answer to a sender once its envelope's hand-over went `outcome`.
    pub fn forward_reply(id: u64, outcome: ForwardOutcome) -> ServerFrame {
        match outcome {
            ForwardOutcome::Queued => ServerFrame::Sent { id },
            ForwardOutcome::Gone => ServerFrame::Offline { id },
            ForwardOutcome::Busy => ServerFrame::error(
                ErrorCode::RecipientBusy,
                "the recipient is not keeping up; retry later",
                Some(id),
            ),
            ForwardOutcome::Unavailable => ServerFrame::error(
                ErrorCode::RelayUnavailable,
                "this relay could not reach the rest of its cluster; retry later",
                Some(id),
            ),
        }
    }

    /// The `ice_servers` frame for `key` at `unix_now` (seconds since 1970),
    /// for an [`Action::GrantIce`]: TURN credentials expire one lifetime later.
    pub fn ice_frame(&self, key: &PeerKey, unix_now: u64) -> ServerFrame {
        self.ice.frame(key, unix_now)
    }

    /// Whether some connection is authenticated as `key`.
    pub fn is_online(&self, key: &PeerKey) -> bool {
        self.by_key.contains_key(key)
    }

    /// Number of open connections, authenticated or not.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Takes a token for one frame; `Err` holds what to do instead of
    /// handling it (nothing at all for a connection the hub does not know).
    fn rate_check(
        &mut self,
        conn: ConnId,
        id: Option<u64>,
        now: Instant,
    ) -> Result<(), Vec<Action>> {
        let Some(c) = self.conns.get_mut(&conn) else {
            return Err(Vec::new());
        };
        if c.bucket.try_take(now) {
            return Ok(());
        }
        let message = format!(
            "more than {} frames/s (burst {}); slow down",
            self.config.messages_per_second, self.config.burst
        );
        Err(vec![send_error(conn, ErrorCode::RateLimited, &message, id)])
    }

    fn on_frame(&mut self, conn: ConnId, frame: ClientFrame, now: Instant) -> Vec<Action> {
        let Some((proven, ip)) = self.conns.get(&conn).map(|c| (c.key, c.ip)) else {
            return Vec::new();
        };
        match (proven, frame) {
            (None, ClientFrame::Auth { key, sig }) => self.authenticate(conn, key, sig),
            (None, ClientFrame::Send { id, .. }) => vec![not_authenticated(conn, Some(id))],
            (None, ClientFrame::Ping | ClientFrame::Ice) => vec![not_authenticated(conn, None)],
            (Some(_), ClientFrame::Auth { .. }) => vec![send_error(
                conn,
                ErrorCode::Malformed,
                "already authenticated; open a new connection to use another key",
                None,
            )],
            (Some(_), ClientFrame::Ping) => vec![Action::Send {
                conn,
                frame: ServerFrame::Pong,
            }],
            (Some(key), ClientFrame::Ice) => match self.ice.allow(key, ip, now) {
                Ok(()) => vec![Action::GrantIce { conn, key }],
                Err(refused) => {
                    let secs = refused.retry_after.as_secs().max(1);
                    tracing::info!(key = %key.short(), %conn, "ICE server request over the rate limit");
                    vec![send_error(
                        conn,
                        ErrorCode::IceRateLimited,
                        &format!("ICE servers were asked for too often; ask again in {secs} s"),
                        None,
                    )]
                }
            },
            (Some(from), ClientFrame::Send { id, to, data }) => match self.by_key.get(&to) {
                Some(&target) => vec![Action::Forward {
                    to: target,
                    frame: ServerFrame::Deliver { from, data },
                    ack: conn,
                    id,
                }],
                None if self.cluster => vec![Action::ForwardRemote {
                    to,
                    from,
                    data,
                    ack: conn,
                    id,
                }],
                None => vec![Action::Send {
                    conn,
                    frame: ServerFrame::Offline { id },
                }],
            },
        }
    }

    fn authenticate(&mut self, conn: ConnId, key: PeerKey, sig: [u8; 64]) -> Vec<Action> {
        let Some(c) = self.conns.get(&conn) else {
            return Vec::new();
        };
        let verified = VerifyingKey::from_bytes(key.as_bytes())
            .and_then(|vk| vk.verify_strict(&auth_message(&c.nonce), &Signature::from_bytes(&sig)));
        if verified.is_err() {
            tracing::info!(key = %key.short(), %conn, "auth failed");
            return vec![
                send_error(
                    conn,
                    ErrorCode::AuthFailed,
                    "signature does not verify; sign b\"hearth-relay-auth-v1\" || nonce with the key you claim",
                    None,
                ),
                Action::Close { conn },
            ];
        }
        let mut actions = Vec::new();
        let mut inherited = None;
        if let Some(old) = self.by_key.insert(key, conn) {
            // The replaced connection keeps nothing routable, and the new one
            // inherits its bucket so reconnecting does not refill the quota.
            if let Some(old_conn) = self.conns.get_mut(&old) {
                old_conn.key = None;
                inherited = Some(old_conn.bucket.clone());
            }
            tracing::info!(key = %key.short(), %old, new = %conn, "key replaced by a newer connection");
            actions.push(send_error(
                old,
                ErrorCode::Replaced,
                "another connection authenticated with this key",
                None,
            ));
            actions.push(Action::Close { conn: old });
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.key = Some(key);
            if let Some(bucket) = inherited {
                c.bucket = bucket;
            }
        }
        tracing::debug!(key = %key.short(), %conn, "authenticated");
        actions.push(if self.cluster {
            Action::Hold { key, conn }
        } else {
            Action::Send {
                conn,
                frame: ServerFrame::Ready,
            }
        });
        actions
    }
}

fn send_error(conn: ConnId, code: ErrorCode, message: &str, id: Option<u64>) -> Action {
    Action::Send {
        conn,
        frame: ServerFrame::error(code, message, id),
    }
}

fn not_authenticated(conn: ConnId, id: Option<u64>) -> Action {
    send_error(
        conn,
        ErrorCode::NotAuthenticated,
        "authenticate first: answer the challenge with an auth frame",
        id,
    )
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "hub_cluster_tests.rs"]
mod cluster_tests;
