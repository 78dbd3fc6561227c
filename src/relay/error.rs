//! The one error type of the relay module, shared by server and client so
//! callers match on a single enum whose messages say how to fix the problem.

use std::time::Duration;

use super::protocol::ErrorCode;

/// Everything that can go wrong when running or talking to the relay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// The client is between connections; nothing is queued.
    #[error("not connected to the relay; wait for RelayEvent::Connected and send again (nothing is queued)")]
    NotConnected,
    /// The relay answered the request with an error frame.
    #[error("relay refused the request ({code}): {message}")]
    Rejected {
        /// Machine-readable reason sent by the relay.
        code: ErrorCode,
        /// Human text sent by the relay.
        message: String,
    },
    /// The connection dropped while a request was in flight.
    #[error("connection to the relay dropped before it answered; the envelope may not have arrived, send it again after RelayEvent::Connected")]
    ConnectionLost,
    /// The relay did not answer in time.
    #[error("relay did not answer within {0:?}; check that the relay is reachable or raise the timeout in ClientConfig")]
    Timeout(Duration),
    /// The envelope would make a frame bigger than the relay accepts.
    #[error("a frame of {size} bytes is over the {max}-byte limit; shrink or split the envelope")]
    TooLarge {
        /// Size of the encoded frame in bytes.
        size: usize,
        /// Largest frame accepted.
        max: usize,
    },
    /// `shutdown()` was called or every handle was dropped.
    #[error(
        "the relay client has been shut down; spawn a new RelayClient to talk to the relay again"
    )]
    Stopped,
    /// The WebSocket connection could not be made or broke.
    #[error("relay connection failed: {0}; check the relay URL (ws://host:port/relay) and that the relay is running")]
    Transport(String),
    /// The peer sent something the protocol does not allow at that point.
    #[error("unexpected frame from the relay: {0}; make sure relay and client run the same Hearth version")]
    Protocol(String),
    /// A key in text form could not be decoded.
    #[error("invalid key: {0}; keys are 32-byte Ed25519 public keys written as base64url without padding (43 characters)")]
    InvalidKey(String),
    /// A `RelayServerConfig` value is out of range.
    #[error("invalid relay config: {0}")]
    Config(String),
    /// The relay could not join its cluster's NATS.
    #[error("relay cluster: {0}")]
    Cluster(String),
    /// The HTTP server stopped with an error.
    #[error("relay server failed: {0}; check that the listener is still open")]
    Server(String),
}
