//! Sealed signalling envelopes, opened as the device opens them
//! (`envelope::open::<Signal>` with a replay guard).
//!
//! First byte even: the rest is a wire envelope from anyone (the seal and
//! everything before it). Odd: the rest is an inner message, which this
//! target signs and seals with fixed test keys (`@FROM@`, `@SEAL@` and `@TO@`
//! stand for the sender's, the sender's seal and the recipient's keys), so the
//! fuzzer reaches the inner JSON, the signature, recipient, timestamp and
//! replay checks.
use super::{fixed_identity, recipient, replace_all, NOW_MS};
use hearth::envelope::{open, seal_json, ReplayGuard};
use hearth::identity::Identity;
use hearth::signal::Signal;
use std::sync::OnceLock;

struct Keys {
    sender: Identity,
    device: Identity,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        sender: fixed_identity(1),
        device: fixed_identity(2),
    })
}

/// Runs one input; panics on a bug.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let keys = keys();
    let mut guard = ReplayGuard::new();
    if mode % 2 == 0 {
        let _ = open::<Signal>(&keys.device, rest, None, NOW_MS, &mut guard);
        return;
    }
    let from = keys.sender.peer_key().to_string();
    let seal = keys.sender.seal_key().to_string();
    let to = keys.device.peer_key().to_string();
    let inner = replace_all(rest, b"@FROM@", from.as_bytes());
    let inner = replace_all(&inner, b"@SEAL@", seal.as_bytes());
    let inner = replace_all(&inner, b"@TO@", to.as_bytes());
    let wire = seal_json(&keys.sender, &recipient(&keys.device), &inner);
    let claimed = keys.sender.peer_key();
    let relay_from = (mode & 2 == 0).then_some(&claimed);
    let first = open::<Signal>(&keys.device, &wire, relay_from, NOW_MS, &mut guard);
    if let Ok(opened) = first {
        assert_eq!(opened.from, claimed);
        // The same envelope again is a replay, whatever it says.
        let again = open::<Signal>(&keys.device, &wire, relay_from, NOW_MS, &mut guard);
        assert!(again.is_err(), "an envelope was accepted twice");
    }
}
