//! The contact code: what one peer gives another to pair — its public keys,
//! a display name and where to reach it — signed so nobody can swap the keys
//! while it travels. Short enough for a QR code; text form `hearth1.<b64url>`.
//!
//! Binary layout (version 1), signed with the Ed25519 key it carries:
//! `1 | sign_key[32] | seal_key[32] | name_len u8 | name | relay_count u8 |
//! (len u8 | relay)* | signature[64]`, signature over
//! `"hearth-contact-code-v1" || everything before it`.

use super::Identity;
use crate::keys::{b64, from_b64, PeerKey, SealKey};
use ed25519_dalek::{Signature, Verifier};

const VERSION: u8 = 1;
const PREFIX: &str = "hearth1.";
const DOMAIN: &[u8] = b"hearth-contact-code-v1";
/// Longest display name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Most relay addresses one code may carry.
pub const MAX_RELAYS: usize = 4;

/// Why a contact code was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ContactCodeError {
    /// Not of the form `hearth1.<base64url>`.
    #[error("not a Hearth contact code (it should start with `hearth1.`)")]
    NotACode,
    /// Cut short or with extra bytes.
    #[error("the contact code is damaged ({0}); ask for it again")]
    Malformed(&'static str),
    /// The signature does not match the keys.
    #[error("the contact code's signature does not match its keys; it was altered")]
    BadSignature,
}

/// A peer's signed public identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactCode {
    /// The peer's Ed25519 key: its name on the network.
    pub peer_key: PeerKey,
    /// The peer's X25519 key: messages to it are sealed to this.
    pub seal_key: SealKey,
    /// The name the peer chose for itself.
    pub name: String,
    /// Relay WebSocket URLs where the peer can be reached.
    pub relays: Vec<String>,
    signature: [u8; 64],
}

impl ContactCode {
    /// Makes and signs the code for `identity`. Long names and extra relays are cut.
    pub fn new(identity: &Identity, name: &str, relays: &[String]) -> Self {
        let name = truncate_utf8(name, MAX_NAME_BYTES).to_string();
        let relays: Vec<String> = relays
            .iter()
            .take(MAX_RELAYS)
            .filter(|r| r.len() <= 255)
            .cloned()
            .collect();
        let mut code = ContactCode {
            peer_key: identity.peer_key(),
            seal_key: identity.seal_key(),
            name,
            relays,
            signature: [0; 64],
        };
        let mut signed = DOMAIN.to_vec();
        signed.extend(code.body());
        code.signature = identity.sign(&signed);
        code
    }

    fn body(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        out.extend(self.peer_key.0);
        out.extend(self.seal_key.0);
        out.push(self.name.len() as u8);
        out.extend(self.name.as_bytes());
        out.push(self.relays.len() as u8);
        for relay in &self.relays {
            out.push(relay.len() as u8);
            out.extend(relay.as_bytes());
        }
        out
    }

    /// The code as text, for a QR code, a link or the terminal.
    pub fn to_text(&self) -> String {
        let mut bytes = self.body();
        bytes.extend(self.signature);
        format!("{PREFIX}{}", b64(&bytes))
    }

    /// Reads and verifies a code from text.
    pub fn parse(text: &str) -> Result<Self, ContactCodeError> {
        let text = text.trim();
        let payload = text
            .strip_prefix(PREFIX)
            .ok_or(ContactCodeError::NotACode)?;
        let bytes = from_b64(payload).map_err(|_| ContactCodeError::Malformed("not base64url"))?;
        let mut reader = Reader(&bytes);
        if reader.u8()? != VERSION {
            return Err(ContactCodeError::Malformed("unknown version"));
        }
        let peer_key = PeerKey(reader.array()?);
        let seal_key = SealKey(reader.array()?);
        let name_len = reader.u8()? as usize;
        if name_len > MAX_NAME_BYTES {
            return Err(ContactCodeError::Malformed("name longer than 64 bytes"));
        }
        let name = reader.string(name_len)?;
        let relay_count = reader.u8()? as usize;
        if relay_count > MAX_RELAYS {
            return Err(ContactCodeError::Malformed("too many relays"));
        }
        let mut relays = Vec::with_capacity(relay_count);
        for _ in 0..relay_count {
            let len = reader.u8()? as usize;
            relays.push(reader.string(len)?);
        }
        let body_len = bytes.len() - reader.0.len();
        let signature: [u8; 64] = reader.array()?;
        if !reader.0.is_empty() {
            return Err(ContactCodeError::Malformed("trailing bytes"));
        }
        let verifying = peer_key
            .verifying_key()
            .map_err(|_| ContactCodeError::Malformed("invalid key"))?;
        let mut signed = DOMAIN.to_vec();
        signed.extend(&bytes[..body_len]);
        verifying
            .verify(&signed, &Signature::from_bytes(&signature))
            .map_err(|_| ContactCodeError::BadSignature)?;
        Ok(ContactCode {
            peer_key,
            seal_key,
            name,
            relays,
            signature,
        })
    }
}

fn truncate_utf8(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], ContactCodeError> {
        if self.0.len() < n {
            return Err(ContactCodeError::Malformed("cut short"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, ContactCodeError> {
        Ok(self.take(1)?[0])
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ContactCodeError> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }
    fn string(&mut self, n: usize) -> Result<String, ContactCodeError> {
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| ContactCodeError::Malformed("text is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Identity, ContactCode) {
        let id = Identity::generate();
        let code = id.contact_code("Kitchen", &["ws://relay.example:7600/relay".into()]);
        (id, code)
    }

    #[test]
    fn round_trips_and_fits_a_qr_code() {
        let (id, code) = sample();
        let text = code.to_text();
        assert!(text.len() < 400, "{} chars", text.len());
        let parsed = ContactCode::parse(&text).unwrap();
        assert_eq!(parsed, code);
        assert_eq!(parsed.peer_key, id.peer_key());
        assert_eq!(parsed.name, "Kitchen");
    }

    #[test]
    fn any_flipped_byte_is_refused() {
        let (_, code) = sample();
        let text = code.to_text();
        let bytes = from_b64(text.strip_prefix(PREFIX).unwrap()).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            let bad_text = format!("{PREFIX}{}", b64(&bad));
            assert!(ContactCode::parse(&bad_text).is_err(), "byte {i} accepted");
        }
    }

    #[test]
    fn a_signed_name_longer_than_the_protocol_allows_is_refused() {
        let id = Identity::generate();
        let mut code = ContactCode::new(&id, "Gran", &[]);
        code.name = "G".repeat(255);
        let mut signed = DOMAIN.to_vec();
        signed.extend(code.body());
        code.signature = id.sign(&signed);
        assert_eq!(
            ContactCode::parse(&code.to_text()),
            Err(ContactCodeError::Malformed("name longer than 64 bytes"))
        );
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert_eq!(ContactCode::parse("hello"), Err(ContactCodeError::NotACode));
        assert!(matches!(
            ContactCode::parse("hearth1.AAAA"),
            Err(ContactCodeError::Malformed(_))
        ));
    }
}
