//! Text form of Ed25519 public keys (base64url without padding, 43 chars),
//! shared by the relay protocol, logs and the identity module.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::error::RelayError;

/// An Ed25519 public key as raw bytes.
pub type PeerKey = [u8; 32];

/// Writes a key as base64url without padding (43 characters).
pub fn key_to_text(key: &PeerKey) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

/// Reads a key written by [`key_to_text`].
pub fn key_from_text(text: &str) -> Result<PeerKey, RelayError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|e| RelayError::InvalidKey(e.to_string()))?;
    <PeerKey>::try_from(bytes.as_slice())
        .map_err(|_| RelayError::InvalidKey(format!("decoded to {} bytes, not 32", bytes.len())))
}

/// First 8 characters of a key's text form, the only form that goes to logs.
pub fn short_key(key: &PeerKey) -> String {
    key_to_text(key).chars().take(8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_43_chars_without_padding() {
        let key: PeerKey = std::array::from_fn(|i| (i * 7) as u8 ^ 0xfb);
        let text = key_to_text(&key);
        assert_eq!(text.len(), 43);
        assert!(!text.contains(['=', '+', '/']), "{text}");
        assert_eq!(key_from_text(&text), Ok(key));
        assert_eq!(short_key(&key), text[..8]);
    }

    #[test]
    fn rejects_wrong_length_and_alphabet() {
        let short = URL_SAFE_NO_PAD.encode([1u8; 31]);
        assert!(
            matches!(key_from_text(&short), Err(RelayError::InvalidKey(m)) if m.contains("31"))
        );
        let padded = format!("{}=", key_to_text(&[0; 32]));
        assert!(key_from_text(&padded).is_err());
        let standard = key_to_text(&[0xff; 32]).replace('_', "/");
        assert!(key_from_text(&standard).is_err());
    }
}
