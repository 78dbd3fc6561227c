//! Helpers shared by Hearth's fuzz targets: fixed test identities (so a
//! target can seal or sign what the fuzzer wrote and reach the checks behind
//! the seal), a scratch data directory, and placeholder substitution.
//!
//! Each target is a module here with a `run(&[u8])` that panics only on a
//! bug; `fuzz_targets/` wraps each for libFuzzer and the main test suite's
//! `tests/fuzz_regressions.rs` includes this file to replay every input that
//! once crashed. `scripts/fuzz` builds and runs them.

#[path = "targets/config_toml.rs"]
pub mod config_toml;
#[path = "targets/contact_code.rs"]
pub mod contact_code;
#[path = "targets/data_dir.rs"]
pub mod data_dir;
#[path = "targets/envelope.rs"]
pub mod envelope;
#[path = "targets/relay_frames.rs"]
pub mod relay_frames;
#[path = "targets/share.rs"]
pub mod share;
#[path = "targets/signal.rs"]
pub mod signal;
#[path = "targets/whep_offer.rs"]
pub mod whep_offer;

use hearth::envelope::Recipient;
use hearth::identity::Identity;
use hearth::keys::b64;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh scratch directory of its own, on tmpfs when there is one.
pub fn scratch_dir(name: &str) -> PathBuf {
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let n = MADE.fetch_add(1, Ordering::Relaxed);
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("hearth-fuzz-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Empties `dir` (made again if it is gone).
pub fn reset_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("scratch directory");
}

/// A fixed test identity made from `seed` through Hearth's own identity file
/// reader, so every run (and every regression file) sees the same keys.
pub fn fixed_identity(seed: u8) -> Identity {
    let dir = scratch_dir(&format!("identity-{seed}"));
    let text = format!(
        "signing_key = \"{}\"\nseal_key = \"{}\"\n",
        b64(&[seed; 32]),
        b64(&[seed.wrapping_add(100); 32])
    );
    std::fs::write(dir.join(hearth::identity::IDENTITY_FILE), text).expect("identity file");
    let identity = Identity::load_or_create(&dir).expect("fixed identity loads");
    let _ = std::fs::remove_dir_all(&dir);
    identity
}

/// `identity` as the recipient of an envelope.
pub fn recipient(identity: &Identity) -> Recipient {
    Recipient {
        key: identity.peer_key(),
        seal_key: identity.seal_key(),
    }
}

/// Replaces every `from` in `data` with `to` (the seeds write `@FROM@`,
/// `@TO@` … where a key must be, since the fuzzer cannot guess one).
pub fn replace_all(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while !rest.is_empty() {
        if rest.starts_with(from) {
            out.extend_from_slice(to);
            rest = &rest[from.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

/// The fixed Unix time (ms) every target that checks timestamps runs at; the
/// seeds are stamped near it.
pub const NOW_MS: i64 = 1_800_000_000_000;
