//! What relay nodes say to each other through NATS, as pure functions: the
//! subject that names a key (a hash, never the key), the forwarded envelope
//! (the sender's key masked, the sealed bytes as they came), the one-byte
//! answer, and the "taken" claim a node publishes when a key connects to it.
//!
//! A key's subject carries both: a message with a reply subject is an
//! envelope to deliver, one without is a claim. Whoever reads NATS sees
//! hashes, masked keys and sealed bytes; someone who already knows a
//! recipient's public key can compute its subject, so keep NATS private.

use sha2::{Digest, Sha256};

use super::action::ForwardOutcome;
use super::protocol::PeerKey;

/// Prefix of every key subject.
const KEY_SUBJECT: &str = "hearth.key.";
/// Prefix of every node's reply subjects.
const REPLY_SUBJECT: &str = "hearth.reply.";
/// Hex digits of the hash in a key subject: 128 bits.
const SUBJECT_HEX: usize = 32;
/// Version byte of envelopes and claims.
const VERSION: u8 = 1;

/// The NATS subject of `key`: a truncated SHA-256 of it, in hex.
pub fn key_subject(key: &PeerKey) -> String {
    let digest = Sha256::new()
        .chain_update(b"hearth-nats-subject-v1")
        .chain_update(key.as_bytes())
        .finalize();
    let mut subject = String::with_capacity(KEY_SUBJECT.len() + SUBJECT_HEX);
    subject.push_str(KEY_SUBJECT);
    subject.push_str(&hex::encode(&digest[..SUBJECT_HEX / 2]));
    subject
}

/// A subject nobody subscribes to: a request on it comes back "no
/// responders" once the node's server has handled what the node sent before.
pub fn confirm_subject() -> &'static str {
    "hearth.confirm"
}

/// The subject a node's answers come back on for request `seq`.
pub fn reply_subject(node: u64, seq: u64) -> String {
    format!("{REPLY_SUBJECT}{node:016x}.{seq}")
}

/// The wildcard a node subscribes to for all its answers.
pub fn reply_wildcard(node: u64) -> String {
    format!("{REPLY_SUBJECT}{node:016x}.*")
}

/// The request number at the end of a reply subject.
pub fn reply_seq(subject: &str) -> Option<u64> {
    subject.rsplit('.').next()?.parse().ok()
}

/// XOR mask hiding the sender's key; it depends on the recipient's key only.
fn mask(to: &PeerKey) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"hearth-nats-from-v1")
        .chain_update(to.as_bytes())
        .finalize()
        .into()
}

/// The request body forwarding `data` (sealed bytes) from `from` to `to`.
pub fn encode_envelope(to: &PeerKey, from: &PeerKey, data: &[u8]) -> Vec<u8> {
    let mask = mask(to);
    let mut out = Vec::with_capacity(1 + 32 + data.len());
    out.push(VERSION);
    out.extend(from.as_bytes().iter().zip(mask).map(|(b, m)| b ^ m));
    out.extend_from_slice(data);
    out
}

/// Reads a request body addressed to `to`: the sender and the sealed bytes.
pub fn decode_envelope(to: &PeerKey, body: &[u8]) -> Option<(PeerKey, Vec<u8>)> {
    let (&version, rest) = body.split_first()?;
    if version != VERSION || rest.len() < 32 {
        return None;
    }
    let mask = mask(to);
    let mut from = [0u8; 32];
    for (i, out) in from.iter_mut().enumerate() {
        *out = rest[i] ^ mask[i];
    }
    Some((PeerKey(from), rest[32..].to_vec()))
}

/// The holding node's one-byte answer to a forwarded envelope.
pub fn encode_answer(outcome: ForwardOutcome) -> [u8; 1] {
    [match outcome {
        ForwardOutcome::Queued => b'd',
        ForwardOutcome::Gone => b'o',
        ForwardOutcome::Busy => b'b',
        ForwardOutcome::Unavailable => b'u',
    }]
}

/// Reads an answer; anything unknown counts as the cluster failing.
pub fn decode_answer(body: &[u8]) -> ForwardOutcome {
    match body {
        b"d" => ForwardOutcome::Queued,
        b"o" => ForwardOutcome::Gone,
        b"b" => ForwardOutcome::Busy,
        _ => ForwardOutcome::Unavailable,
    }
}

/// A node's claim on a key: when it accepted the key and which node it is.
/// Of two claims on one key the greater wins; the other node lets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Claim {
    /// Wall-clock milliseconds since 1970 when the key authenticated.
    pub at_ms: u64,
    /// The claiming node's random id; breaks ties.
    pub node: u64,
}

impl Claim {
    /// The 17-byte body of a claim message.
    pub fn encode(self) -> [u8; 17] {
        let mut out = [0u8; 17];
        out[0] = VERSION;
        out[1..9].copy_from_slice(&self.at_ms.to_be_bytes());
        out[9..].copy_from_slice(&self.node.to_be_bytes());
        out
    }

    /// Reads a claim body.
    pub fn decode(body: &[u8]) -> Option<Claim> {
        let body: &[u8; 17] = body.try_into().ok()?;
        if body[0] != VERSION {
            return None;
        }
        Some(Claim {
            at_ms: u64::from_be_bytes(body[1..9].try_into().ok()?),
            node: u64::from_be_bytes(body[9..].try_into().ok()?),
        })
    }

    /// Whether `incoming`, heard on NATS, takes the key away from `self`.
    pub fn lost_to(self, incoming: Claim) -> bool {
        incoming.node != self.node && incoming > self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> PeerKey {
        PeerKey([b; 32])
    }

    #[test]
    fn subjects_are_hashes_of_fixed_length_and_differ_per_key() {
        let a = key_subject(&key(1));
        assert_eq!(a.len(), KEY_SUBJECT.len() + SUBJECT_HEX);
        assert_eq!(a, key_subject(&key(1)));
        assert_ne!(a, key_subject(&key(2)));
        assert!(!a.contains(&hex::encode([1u8; 32])));
        let reply = reply_subject(0xab, 42);
        assert_eq!(reply, "hearth.reply.00000000000000ab.42");
        assert_eq!(reply_seq(&reply), Some(42));
        assert_eq!(reply_wildcard(0xab), "hearth.reply.00000000000000ab.*");
    }

    #[test]
    fn envelopes_round_trip_and_hide_the_sender() {
        let body = encode_envelope(&key(2), &key(1), b"sealed");
        assert!(!body.windows(32).any(|w| w == [1u8; 32]));
        assert!(body.ends_with(b"sealed"));
        assert_eq!(
            decode_envelope(&key(2), &body),
            Some((key(1), b"sealed".to_vec()))
        );
        assert_eq!(decode_envelope(&key(2), &body[..20]), None);
        assert_eq!(decode_envelope(&key(2), b""), None);
        let mut other = body.clone();
        other[0] = 9;
        assert_eq!(decode_envelope(&key(2), &other), None);
    }

    #[test]
    fn answers_round_trip_and_garbage_is_unavailable() {
        for outcome in [
            ForwardOutcome::Queued,
            ForwardOutcome::Gone,
            ForwardOutcome::Busy,
            ForwardOutcome::Unavailable,
        ] {
            assert_eq!(decode_answer(&encode_answer(outcome)), outcome);
        }
        assert_eq!(decode_answer(b"xyz"), ForwardOutcome::Unavailable);
    }

    #[test]
    fn the_later_claim_wins_and_a_node_never_loses_to_itself() {
        let mine = Claim {
            at_ms: 100,
            node: 1,
        };
        assert!(mine.lost_to(Claim {
            at_ms: 101,
            node: 2
        }));
        assert!(!mine.lost_to(Claim { at_ms: 99, node: 2 }));
        assert!(
            mine.lost_to(Claim {
                at_ms: 100,
                node: 2
            }),
            "tie: higher node"
        );
        assert!(!Claim {
            at_ms: 100,
            node: 2
        }
        .lost_to(mine));
        assert!(!mine.lost_to(Claim {
            at_ms: 500,
            node: 1
        }));
        assert_eq!(Claim::decode(&mine.encode()), Some(mine));
        assert_eq!(Claim::decode(b"short"), None);
    }
}
