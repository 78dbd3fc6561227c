//! Signed and sealed signalling envelopes. Every signalling message — pairing
//! request, offer, answer, ICE candidate, bye — is signed with the sender's
//! Ed25519 key and sealed to the recipient's X25519 key, so a relay can
//! neither read, alter, replay nor re-address it unnoticed.
//!
//! Construction (built from WebCrypto's primitives so browsers do the same):
//! - inner = UTF-8 JSON `{"v":1,"from","from_seal","to","ts","nonce","body"}`
//! - plaintext = `ed25519_sig(64) || inner`, signature over `"hearth-envelope-v1\0" || inner`
//! - a fresh X25519 key pair per envelope; `dh = X25519(eph, recipient_seal)`;
//!   `HKDF-SHA256(salt = eph_pub || recipient_seal, ikm = dh, info = "hearth-seal-v1")`
//!   gives 44 bytes: AES-256-GCM key (32) and nonce (12)
//! - wire = `0x01 || eph_pub(32) || AES-GCM(plaintext, aad = 0x01 || eph_pub)`
//!
//! This is HPKE's base mode (RFC 9180) in spirit — ephemeral-static X25519,
//! HKDF-SHA256, AES-GCM — without HPKE's labelled key schedule.

mod replay;

pub use replay::{ReplayGuard, MAX_PER_SENDER, MAX_REMEMBERED, REPLAY_WINDOW};

use crate::identity::Identity;
use crate::keys::{b64, PeerKey, SealKey};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use ed25519_dalek::{Signature, Verifier};
use hkdf::Hkdf;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use x25519_dalek::{EphemeralSecret, PublicKey as X25519Public};

const VERSION: u8 = 1;
const SIGN_DOMAIN: &[u8] = b"hearth-envelope-v1\0";
const SEAL_INFO: &[u8] = b"hearth-seal-v1";
/// Largest sealed envelope accepted, in bytes (an SDP offer is a few KiB).
pub const MAX_ENVELOPE_BYTES: usize = 32 * 1024;

/// Why an envelope was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Larger than [`MAX_ENVELOPE_BYTES`].
    #[error("envelope of {0} bytes is over the {MAX_ENVELOPE_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not an envelope of a known version.
    #[error("not a Hearth envelope: {0}")]
    Malformed(&'static str),
    /// The seal did not open: altered on the way, or sealed to someone else.
    #[error("envelope cannot be opened: it was altered or is not sealed to this device")]
    Unsealable,
    /// The inner message is not valid.
    #[error("envelope content is invalid: {0}")]
    BadContent(String),
    /// The signature does not match the claimed sender.
    #[error("envelope signature does not match its sender")]
    BadSignature,
    /// Signed for another recipient: it was re-addressed.
    #[error("envelope was signed for another recipient; it was re-addressed on the way")]
    WrongRecipient,
    /// The relay named another sender than the one who signed.
    #[error("relay says the envelope came from another key than the one that signed it")]
    SenderMismatch,
    /// The timestamp is outside the accepted window.
    #[error("envelope timestamp is {0} ms away from this device's clock (limit {limit} ms); check the clock", limit = REPLAY_WINDOW.as_millis())]
    Stale(i64),
    /// Seen before.
    #[error("envelope was already received once; this is a replay")]
    Replayed,
    /// Timestamped before this node started, so its nonce cannot have been kept.
    #[error(
        "envelope was sent before this device started: a replay, or the sender's clock is behind"
    )]
    BeforeStart,
    /// Its sender, or all senders together, sent more than the replay guard
    /// keeps inside its window.
    #[error("too many envelopes inside the replay window; refused until older ones age out")]
    Flooded,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Inner<B> {
    v: u8,
    from: PeerKey,
    from_seal: SealKey,
    to: PeerKey,
    ts: i64,
    nonce: String,
    body: B,
}

/// Where an envelope goes: the recipient's two public keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    /// The recipient's Ed25519 key (its address).
    pub key: PeerKey,
    /// The recipient's X25519 key (what the envelope is sealed to).
    pub seal_key: SealKey,
}

/// An opened, verified envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened<B> {
    /// Who signed it.
    pub from: PeerKey,
    /// The sender's X25519 key, to seal a reply to it.
    pub from_seal: SealKey,
    /// When it was signed, in Unix milliseconds.
    pub timestamp_ms: i64,
    /// The message.
    pub body: B,
}

impl<B> Opened<B> {
    /// The sender as a recipient, for replying.
    pub fn reply_to(&self) -> Recipient {
        Recipient {
            key: self.from,
            seal_key: self.from_seal,
        }
    }
}

/// Signs `body` as `identity` and seals it to `to`, stamped with `now_ms`.
pub fn seal<B: Serialize>(identity: &Identity, to: &Recipient, body: &B, now_ms: i64) -> Vec<u8> {
    let mut nonce = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let inner = Inner {
        v: VERSION,
        from: identity.peer_key(),
        from_seal: identity.seal_key(),
        to: to.key,
        ts: now_ms,
        nonce: b64(&nonce),
        body,
    };
    let inner_json = serde_json::to_vec(&inner).expect("envelope body serializes");
    seal_json(identity, to, &inner_json)
}

/// Signs and seals an inner message given as its exact JSON bytes; [`seal`]
/// is this after writing the inner message. Tests and the fuzz targets use it
/// to reach [`open`]'s checks after the seal and the signature with inner
/// messages that [`seal`] would never write.
pub fn seal_json(identity: &Identity, to: &Recipient, inner_json: &[u8]) -> Vec<u8> {
    let signature = identity.sign(&[SIGN_DOMAIN, inner_json].concat());
    let plaintext = [&signature[..], inner_json].concat();

    let ephemeral = EphemeralSecret::random_from_rng(rand::rngs::OsRng);
    let eph_pub = X25519Public::from(&ephemeral);
    let shared = ephemeral.diffie_hellman(&X25519Public::from(to.seal_key.0));
    let (cipher, aead_nonce) = derive(shared.as_bytes(), eph_pub.as_bytes(), &to.seal_key.0);
    let aad = [&[VERSION][..], eph_pub.as_bytes()].concat();
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&aead_nonce),
            Payload {
                msg: &plaintext,
                aad: &aad,
            },
        )
        .expect("AES-GCM encryption does not fail");
    [aad, ciphertext].concat()
}

/// Opens an envelope addressed to `identity`: checks the seal, the signature,
/// the recipient, the timestamp and that it is not a replay. `relay_from` is
/// the sender the relay claimed, if any; it must match the signer.
pub fn open<B: for<'de> Deserialize<'de>>(
    identity: &Identity,
    wire: &[u8],
    relay_from: Option<&PeerKey>,
    now_ms: i64,
    replay: &mut ReplayGuard,
) -> Result<Opened<B>, EnvelopeError> {
    if wire.len() > MAX_ENVELOPE_BYTES {
        return Err(EnvelopeError::TooLarge(wire.len()));
    }
    if wire.len() < 1 + 32 + 16 + 64 {
        return Err(EnvelopeError::Malformed("too short"));
    }
    if wire[0] != VERSION {
        return Err(EnvelopeError::Malformed("unknown version"));
    }
    let eph_pub: [u8; 32] = wire[1..33].try_into().expect("length checked");
    let shared = identity
        .seal_secret()
        .diffie_hellman(&X25519Public::from(eph_pub));
    if !shared.was_contributory() {
        return Err(EnvelopeError::Unsealable);
    }
    let my_seal = identity.seal_key();
    let (cipher, aead_nonce) = derive(shared.as_bytes(), &eph_pub, &my_seal.0);
    let plaintext = cipher
        .decrypt(
            Nonce::from_slice(&aead_nonce),
            Payload {
                msg: &wire[33..],
                aad: &wire[..33],
            },
        )
        .map_err(|_| EnvelopeError::Unsealable)?;
    if plaintext.len() < 64 {
        return Err(EnvelopeError::Malformed("no signature"));
    }
    let (signature, inner_json) = plaintext.split_at(64);
    let inner: Inner<B> =
        serde_json::from_slice(inner_json).map_err(|e| EnvelopeError::BadContent(e.to_string()))?;
    if inner.v != VERSION {
        return Err(EnvelopeError::Malformed("unknown inner version"));
    }
    let verifying = inner
        .from
        .verifying_key()
        .map_err(|_| EnvelopeError::BadSignature)?;
    let signature = Signature::from_slice(signature).map_err(|_| EnvelopeError::BadSignature)?;
    verifying
        .verify(&[SIGN_DOMAIN, inner_json].concat(), &signature)
        .map_err(|_| EnvelopeError::BadSignature)?;
    if inner.to != identity.peer_key() {
        return Err(EnvelopeError::WrongRecipient);
    }
    if relay_from.is_some_and(|claimed| *claimed != inner.from) {
        return Err(EnvelopeError::SenderMismatch);
    }
    replay.check(&inner.from, &inner.nonce, inner.ts, now_ms)?;
    Ok(Opened {
        from: inner.from,
        from_seal: inner.from_seal,
        timestamp_ms: inner.ts,
        body: inner.body,
    })
}

fn derive(shared: &[u8; 32], eph_pub: &[u8; 32], recipient: &[u8; 32]) -> (Aes256Gcm, [u8; 12]) {
    let salt = [&eph_pub[..], &recipient[..]].concat();
    let mut okm = [0u8; 44];
    Hkdf::<Sha256>::new(Some(&salt), shared)
        .expand(SEAL_INFO, &mut okm)
        .expect("44 bytes is a valid HKDF length");
    let cipher = Aes256Gcm::new_from_slice(&okm[..32]).expect("32-byte key");
    let nonce: [u8; 12] = okm[32..].try_into().expect("12 bytes");
    (cipher, nonce)
}

/// The current time in Unix milliseconds.
pub fn unix_ms_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
