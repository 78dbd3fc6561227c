//! Public keys as they travel: a device or browser is addressed by its Ed25519
//! public key, written as unpadded base64url (43 characters) everywhere —
//! contact codes, the relay, the contacts file and the browser.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::fmt;
use std::str::FromStr;

/// Errors from reading a key or base64 text.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The text is not unpadded base64url.
    #[error("not base64url text: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The decoded bytes have the wrong length for this kind of key.
    #[error("a key must be 32 bytes, this one has {0}")]
    Length(usize),
    /// The bytes are not a valid Ed25519 point.
    #[error("not a valid Ed25519 public key")]
    InvalidPoint,
}

/// Encodes bytes as unpadded base64url.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url.
pub fn from_b64(text: &str) -> Result<Vec<u8>, KeyError> {
    Ok(URL_SAFE_NO_PAD.decode(text.trim())?)
}

/// Decodes unpadded base64url into exactly 32 bytes.
pub fn from_b64_32(text: &str) -> Result<[u8; 32], KeyError> {
    let bytes = from_b64(text)?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeyError::Length(bytes.len()))
}

/// The Ed25519 public key that names a peer: its address on the relay and
/// the key that verifies everything it signs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey(pub [u8; 32]);

impl PeerKey {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as an Ed25519 verifying key, if the bytes are a valid point.
    pub fn verifying_key(&self) -> Result<ed25519_dalek::VerifyingKey, KeyError> {
        ed25519_dalek::VerifyingKey::from_bytes(&self.0).map_err(|_| KeyError::InvalidPoint)
    }

    /// A short prefix for logs: enough to tell contacts apart, too little to
    /// identify anyone outside the device.
    pub fn short(&self) -> String {
        b64(&self.0)[..8].to_string()
    }
}

impl fmt::Display for PeerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&b64(&self.0))
    }
}

impl fmt::Debug for PeerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerKey({}…)", self.short())
    }
}

impl FromStr for PeerKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(PeerKey(from_b64_32(s)?))
    }
}

impl serde::Serialize for PeerKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for PeerKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An X25519 public key, used to seal messages to a peer.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SealKey(pub [u8; 32]);

impl fmt::Display for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&b64(&self.0))
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealKey({}…)", &b64(&self.0)[..8])
    }
}

impl FromStr for SealKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SealKey(from_b64_32(s)?))
    }
}

impl serde::Serialize for SealKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for SealKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_key_text_round_trip() {
        let key = PeerKey([7; 32]);
        let text = key.to_string();
        assert_eq!(text.len(), 43);
        assert_eq!(text.parse::<PeerKey>().unwrap(), key);
        assert!("abc".parse::<PeerKey>().is_err());
        assert!("!!!!".parse::<PeerKey>().is_err());
    }

    #[test]
    fn debug_form_is_shortened() {
        let key = PeerKey([9; 32]);
        let debug = format!("{key:?}");
        assert!(!debug.contains(&key.to_string()));
    }
}
