//! Vocabulary between the sans-IO hub and the IO layer: connection ids and
//! the actions the hub asks the server to carry out. The last three are the
//! cluster's (`[nats]`): a hub on its own never asks for them.

use std::fmt;
use std::time::Instant;

use super::protocol::{PeerKey, ServerFrame};

/// Identifies one WebSocket connection for the life of the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub(super) u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// Something the IO layer must do after the hub handled an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write `frame` to `conn`.
    Send {
        /// Target connection.
        conn: ConnId,
        /// Frame to write.
        frame: ServerFrame,
    },
    /// Hand a `deliver` frame to `to`, then answer `ack` about request `id`
    /// with [`super::hub::Hub::forward_reply`] according to how the hand-over went.
    Forward {
        /// Recipient connection.
        to: ConnId,
        /// The `deliver` frame.
        frame: ServerFrame,
        /// Sender connection waiting for `sent`/`offline`.
        ack: ConnId,
        /// Request id of the sender's `send`.
        id: u64,
    },
    /// Write the `ice_servers` frame for `key` to `conn`, built with
    /// [`super::hub::Hub::ice_frame`] at the current wall-clock time.
    GrantIce {
        /// Connection that asked.
        conn: ConnId,
        /// The key it proved.
        key: PeerKey,
    },
    /// Close `conn` after writing everything queued before this action.
    Close {
        /// Connection to close.
        conn: ConnId,
    },
    /// Cluster: `key` just authenticated on `conn`. Listen for `key` on
    /// NATS (if not already), announce the claim so another node holding it
    /// lets go, and write `ready` to `conn` once NATS has the subscription.
    Hold {
        /// The key now held here.
        key: PeerKey,
        /// Connection to tell `ready`.
        conn: ConnId,
    },
    /// Cluster: no connection here holds `key` any more; stop listening.
    Release {
        /// The key let go.
        key: PeerKey,
    },
    /// Cluster: `to` is not held here. Ask NATS for the node that holds it,
    /// then answer request `id` on `ack` with [`super::hub::Hub::forward_reply`]
    /// (NATS's "no responders" is [`ForwardOutcome::Gone`]).
    ForwardRemote {
        /// Recipient key.
        to: PeerKey,
        /// Sender key, as authenticated here.
        from: PeerKey,
        /// The sealed envelope bytes.
        data: Vec<u8>,
        /// Sender connection waiting for `sent`/`offline`.
        ack: ConnId,
        /// Request id of the sender's `send`.
        id: u64,
    },
}

/// How handing a `deliver` frame to the recipient's connection went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardOutcome {
    /// Queued for writing to the recipient.
    Queued,
    /// The recipient's write queue is full.
    Busy,
    /// The recipient went away in the meantime (or, in a cluster, no node holds it).
    Gone,
    /// Cluster: the other nodes could not be asked or did not answer in time.
    Unavailable,
}

/// A connection accepted by [`Hub::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// Id to pass with every later event of this connection.
    pub conn: ConnId,
    /// The `challenge` frame to send first.
    pub challenge: ServerFrame,
    /// When to call [`super::hub::Hub::on_auth_deadline`] if the client has not authenticated.
    pub auth_deadline: Instant,
}
