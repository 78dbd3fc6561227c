//! Wire format of the relay: JSON text frames tagged by `t`, keys and data
//! as base64url without padding. Both the server and the client use these
//! types, so the protocol is written down exactly once.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

pub use crate::keys::PeerKey;
pub use crate::peer::IceServer;

/// Domain separator prefixed to the challenge nonce before signing.
pub const AUTH_CONTEXT: &[u8] = b"hearth-relay-auth-v1";

/// The bytes a client signs to answer a challenge: context || nonce.
pub fn auth_message(nonce: &[u8; 32]) -> Vec<u8> {
    [AUTH_CONTEXT, nonce.as_slice()].concat()
}

/// Machine-readable reason carried by an `error` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, unknown tag, bad base64, wrong key length or binary frame.
    Malformed,
    /// Frame longer than the relay's cap.
    TooLarge,
    /// The key's token bucket is empty.
    RateLimited,
    /// Too many connections from one IP address.
    TooManyConnections,
    /// A frame other than `auth` arrived before authentication.
    NotAuthenticated,
    /// The auth signature did not verify.
    AuthFailed,
    /// No auth arrived within the relay's auth timeout.
    AuthTimeout,
    /// Another connection authenticated with the same key.
    Replaced,
    /// The recipient is online but not reading fast enough.
    RecipientBusy,
    /// ICE servers were asked for too often; ask again later.
    IceRateLimited,
    /// A relay cluster node could not reach the other nodes; retry later.
    RelayUnavailable,
    /// A code this version does not know (sent by a newer relay).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::TooManyConnections => "too_many_connections",
            Self::NotAuthenticated => "not_authenticated",
            Self::AuthFailed => "auth_failed",
            Self::AuthTimeout => "auth_timeout",
            Self::Replaced => "replaced",
            Self::RecipientBusy => "recipient_busy",
            Self::IceRateLimited => "ice_rate_limited",
            Self::RelayUnavailable => "relay_unavailable",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Frames a client sends to the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Answer to the challenge: the key and its signature over [`auth_message`].
    Auth {
        /// The client's public key.
        key: PeerKey,
        /// Ed25519 signature over `AUTH_CONTEXT || nonce`.
        #[serde(with = "b64_array")]
        sig: [u8; 64],
    },
    /// Forward `data` to the connection authenticated as `to`.
    Send {
        /// Client-chosen request id echoed in the answer.
        id: u64,
        /// Recipient key.
        to: PeerKey,
        /// Opaque envelope bytes.
        #[serde(with = "b64_vec")]
        data: Vec<u8>,
    },
    /// Application-level keepalive; answered with `pong`.
    Ping,
    /// Asks for the relay's ICE servers; answered with `ice_servers` (after
    /// auth only) or an `ice_rate_limited` error.
    Ice,
}

/// Frames the relay sends to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every connection: sign this nonce.
    Challenge {
        /// 32 random bytes.
        #[serde(with = "b64_array")]
        nonce: [u8; 32],
    },
    /// Authentication succeeded.
    Ready,
    /// The envelope with this id was handed to the recipient's connection.
    Sent {
        /// Id from the `send` frame.
        id: u64,
    },
    /// Nobody is connected with the recipient key; nothing was stored.
    Offline {
        /// Id from the `send` frame.
        id: u64,
    },
    /// An envelope from another client.
    Deliver {
        /// Sender key, as authenticated by the relay.
        from: PeerKey,
        /// Opaque envelope bytes.
        #[serde(with = "b64_vec")]
        data: Vec<u8>,
    },
    /// Answer to `ping`.
    Pong,
    /// Answer to `ice`: STUN/TURN servers in the browser's `RTCIceServer`
    /// shape, TURN ones with credentials minted for this client.
    IceServers {
        /// The servers; empty when the relay has none configured.
        servers: Vec<IceServer>,
        /// Seconds until the credentials expire; ask again before.
        expires_in: u64,
    },
    /// Something was wrong with a frame or the connection.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human text saying what to fix.
        message: String,
        /// Id of the `send` this answers, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
}

impl ServerFrame {
    /// Builds an error frame.
    pub fn error(code: ErrorCode, message: impl Into<String>, id: Option<u64>) -> Self {
        Self::Error {
            code,
            message: message.into(),
            id,
        }
    }

    /// The frame's `t` tag, safe to log (no keys, no data).
    pub fn tag(&self) -> &'static str {
        match self {
            Self::Challenge { .. } => "challenge",
            Self::Ready => "ready",
            Self::Sent { .. } => "sent",
            Self::Offline { .. } => "offline",
            Self::Deliver { .. } => "deliver",
            Self::Pong => "pong",
            Self::IceServers { .. } => "ice_servers",
            Self::Error { .. } => "error",
        }
    }

    /// Serializes to the JSON text sent on the wire.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("ServerFrame holds only strings and integers")
    }
}

impl ClientFrame {
    /// Serializes to the JSON text sent on the wire.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("ClientFrame holds only strings and integers")
    }
}

/// Why a client frame was refused, ready to be turned into an error frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// Error code to send back.
    pub code: ErrorCode,
    /// Human text to send back.
    pub message: String,
    /// Request id, if one could be read from the frame.
    pub id: Option<u64>,
}

impl FrameError {
    /// Turns the refusal into the error frame sent to the client.
    pub fn into_frame(self) -> ServerFrame {
        ServerFrame::error(self.code, self.message, self.id)
    }
}

/// Parses one client text frame, refusing frames over `max_bytes`.
pub fn parse_client(text: &str, max_bytes: usize) -> Result<ClientFrame, FrameError> {
    if text.len() > max_bytes {
        return Err(FrameError {
            code: ErrorCode::TooLarge,
            message: format!(
                "frame is {} bytes, the relay accepts at most {max_bytes}; shrink the envelope",
                text.len()
            ),
            id: None,
        });
    }
    serde_json::from_str(text).map_err(|e| {
        let message = if e.is_syntax() || e.is_eof() {
            "frame is not valid JSON; send one JSON object per text frame".to_string()
        } else {
            format!("frame does not match the relay protocol: {e}")
        };
        FrameError {
            code: ErrorCode::Malformed,
            message,
            id: best_effort_id(text),
        }
    })
}

/// Reads `id` from a frame that failed full parsing, so the error can name it.
fn best_effort_id(text: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: Option<u64>,
    }
    serde_json::from_str::<IdOnly>(text).ok().and_then(|f| f.id)
}

/// Serde adapter: fixed-size byte arrays as base64url without padding.
mod b64_array {
    use super::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = URL_SAFE_NO_PAD.decode(&text).map_err(|_| {
            D::Error::custom(format!("expected {N} bytes as base64url without padding"))
        })?;
        <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
            D::Error::custom(format!(
                "expected {N} bytes, got {} after base64url decoding",
                bytes.len()
            ))
        })
    }
}

/// Serde adapter: byte vectors as base64url without padding.
mod b64_vec {
    use super::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        URL_SAFE_NO_PAD
            .decode(&text)
            .map_err(|_| D::Error::custom("data must be base64url without padding"))
    }
}
