//! A message received on a connection's data channel.

use serde::de::DeserializeOwned;

/// A data-channel message from a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Text, e.g. from [`super::PeerConnection::send`] or `send_json`.
    Text(String),
    /// Bytes.
    Binary(Vec<u8>),
}

impl Message {
    /// The message as text, if it is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t),
            Message::Binary(_) => None,
        }
    }

    /// Parses the message as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match self {
            Message::Text(t) => serde_json::from_str(t),
            Message::Binary(b) => serde_json::from_slice(b),
        }
    }
}
