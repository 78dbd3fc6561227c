//! The share transfer's data-channel vocabulary: small JSON control messages
//! and binary chunk frames (`"HSC1"` ‖ share id (32 bytes) ‖ index (u32 BE) ‖ data).

use super::manifest::Manifest;
use super::ShareError;
use serde::{Deserialize, Serialize};

/// Magic at the start of every chunk frame.
pub const CHUNK_MAGIC: &[u8; 4] = b"HSC1";
/// Bytes before a chunk's data.
pub const CHUNK_HEADER: usize = 4 + 32 + 4;

/// A JSON control message of the share transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Control {
    /// Sender → receiver: here is a share for you.
    ShareOffer {
        /// The signed manifest.
        manifest: Manifest,
    },
    /// Receiver → sender: these chunks already arrived; send the rest.
    ShareHave {
        /// The share id.
        id: String,
        /// Indices of chunks the receiver holds.
        have: Vec<u32>,
    },
    /// Receiver → sender: the whole share arrived, was verified and is stored.
    ShareAck {
        /// The share id.
        id: String,
    },
    /// Receiver → sender: the share is refused. With `retry` the refusal is
    /// for now only (the receiver's inbox is full): the sender keeps the share
    /// and offers it again on a later session; without it, never again.
    ShareRefused {
        /// The share id (empty when the offer could not be read).
        id: String,
        /// Why, in words.
        reason: String,
        /// Offer it again later (absent means `false`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        retry: bool,
        /// Why, for machines: `malformed`, `bad_signature`, `too_large`,
        /// `corrupt`, `undecodable`, `not_allowed`, `inbox_full`, `storage`
        /// (absent from older peers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// Sender → receiver: the sender withdrew a share it offered (the owner
    /// took the receiver's permission away); no more chunks of it will come,
    /// and the receiver drops the chunks it kept.
    ShareCancel {
        /// The share id.
        id: String,
    },
}

impl Control {
    /// Parses a text message; `Ok(None)` when it is not a share message.
    pub fn parse(text: &str) -> Result<Option<Control>, ShareError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ShareError::Malformed(e.to_string()))?;
        let is_share = value["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("share_"));
        if !is_share {
            return Ok(None);
        }
        serde_json::from_value(value)
            .map(Some)
            .map_err(|e| ShareError::Malformed(e.to_string()))
    }
}

/// A chunk frame, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// The share id, hex.
    pub id: String,
    /// Chunk index.
    pub index: u32,
    /// The chunk's bytes.
    pub data: &'a [u8],
}

/// Encodes a chunk frame.
pub fn encode_chunk(id: &str, index: u32, data: &[u8]) -> Result<Vec<u8>, ShareError> {
    let raw = hex::decode(id).map_err(|_| ShareError::Malformed("share id is not hex".into()))?;
    if raw.len() != 32 {
        return Err(ShareError::Malformed("share id is not 32 bytes".into()));
    }
    let mut frame = Vec::with_capacity(CHUNK_HEADER + data.len());
    frame.extend_from_slice(CHUNK_MAGIC);
    frame.extend_from_slice(&raw);
    frame.extend_from_slice(&index.to_be_bytes());
    frame.extend_from_slice(data);
    Ok(frame)
}

/// Decodes a chunk frame.
pub fn decode_chunk(frame: &[u8]) -> Result<Chunk<'_>, ShareError> {
    if frame.len() < CHUNK_HEADER || &frame[..4] != CHUNK_MAGIC {
        return Err(ShareError::Malformed(
            "a binary message that is not a share chunk".into(),
        ));
    }
    let index = u32::from_be_bytes(frame[36..40].try_into().expect("4 bytes"));
    Ok(Chunk {
        id: hex::encode(&frame[4..36]),
        index,
        data: &frame[CHUNK_HEADER..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip_and_garbage_is_refused() {
        let id = "ab".repeat(32);
        let frame = encode_chunk(&id, 7, b"data").unwrap();
        let chunk = decode_chunk(&frame).unwrap();
        assert_eq!(
            (chunk.id.as_str(), chunk.index, chunk.data),
            (id.as_str(), 7, &b"data"[..])
        );
        assert!(decode_chunk(b"HSC1short").is_err());
        assert!(decode_chunk(&[0u8; 64]).is_err());
    }

    #[test]
    fn only_share_messages_are_parsed() {
        assert_eq!(Control::parse(r#"{"type":"ping","id":1}"#).unwrap(), None);
        let ack = Control::parse(r#"{"type":"share_ack","id":"x"}"#).unwrap();
        assert_eq!(ack, Some(Control::ShareAck { id: "x".into() }));
        assert!(Control::parse(r#"{"type":"share_ack","id":"x","extra":1}"#).is_err());
        assert!(Control::parse("not json").is_err());
        let refused = r#"{"type":"share_refused","id":"x","reason":"r"}"#;
        assert_eq!(
            Control::parse(refused).unwrap(),
            Some(Control::ShareRefused {
                id: "x".into(),
                reason: "r".into(),
                retry: false,
                code: None,
            })
        );
        let later = Control::ShareRefused {
            id: "x".into(),
            reason: "full".into(),
            retry: true,
            code: Some("inbox_full".into()),
        };
        let text = serde_json::to_string(&later).unwrap();
        assert!(text.contains(r#""retry":true"#), "{text}");
        assert_eq!(Control::parse(&text).unwrap(), Some(later));
        let plain = Control::ShareRefused {
            id: "x".into(),
            reason: "r".into(),
            retry: false,
            code: None,
        };
        let text = serde_json::to_string(&plain).unwrap();
        assert!(
            !text.contains("retry"),
            "old peers never see the field: {text}"
        );
    }
}
