//! This device's long-term identity: an Ed25519 key that signs everything it
//! says and an X25519 key that others seal messages to. Created on first
//! start and kept in the data directory with mode 0600.

mod contact_code;

pub use contact_code::{ContactCode, ContactCodeError};

use crate::atomic_file::write_atomic;
use crate::keys::{b64, from_b64_32, PeerKey, SealKey};
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use x25519_dalek::StaticSecret;

/// File name of the identity inside the data directory.
pub const IDENTITY_FILE: &str = "identity.toml";

/// Errors while loading or creating the identity.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The identity file could not be read or written.
    #[error("cannot access identity file {path}: {source} (check that the data directory is writable by the hearth user)")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The identity file exists but cannot be parsed.
    #[error("identity file {path} is damaged: {reason}. It is left untouched; restore it from a backup, or move it away to create a new identity (contacts will have to pair again)")]
    Corrupt {
        /// The file involved.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityFile {
    signing_key: String,
    seal_key: String,
}

/// The device's secret keys.
pub struct Identity {
    signing: SigningKey,
    seal: StaticSecret,
}

impl Identity {
    /// Makes a fresh identity from the system's random number generator.
    pub fn generate() -> Self {
        let mut rng = rand::rngs::OsRng;
        Identity {
            signing: SigningKey::generate(&mut rng),
            seal: StaticSecret::random_from_rng(rng),
        }
    }

    /// Loads the identity from `data_dir`, creating and saving one on first start.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, IdentityError> {
        let path = data_dir.join(IDENTITY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).map_err(|reason| IdentityError::Corrupt {
                path: path.clone(),
                reason,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let identity = Self::generate();
                identity.save(&path)?;
                tracing::info!(key = %identity.peer_key().short(), "created a new device identity");
                Ok(identity)
            }
            Err(source) => Err(IdentityError::Io { path, source }),
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        let file: IdentityFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let signing = from_b64_32(&file.signing_key).map_err(|e| e.to_string())?;
        let seal = from_b64_32(&file.seal_key).map_err(|e| e.to_string())?;
        Ok(Identity {
            signing: SigningKey::from_bytes(&signing),
            seal: StaticSecret::from(seal),
        })
    }

    fn save(&self, path: &Path) -> Result<(), IdentityError> {
        let file = IdentityFile {
            signing_key: b64(&self.signing.to_bytes()),
            seal_key: b64(&self.seal.to_bytes()),
        };
        let text = format!(
            "# Hearth device identity. Secret: never share or copy this file.\n{}",
            toml::to_string(&file).expect("identity serializes")
        );
        write_atomic(path, text.as_bytes(), 0o600).map_err(|source| IdentityError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The public key that names this device.
    pub fn peer_key(&self) -> PeerKey {
        PeerKey(self.signing.verifying_key().to_bytes())
    }

    /// The public key others seal messages to.
    pub fn seal_key(&self) -> SealKey {
        SealKey(x25519_dalek::PublicKey::from(&self.seal).to_bytes())
    }

    /// Signs `message` with the device's Ed25519 key.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// The Ed25519 signing key (for the relay's challenge).
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The X25519 secret used to open sealed messages.
    pub fn seal_secret(&self) -> &StaticSecret {
        &self.seal
    }

    /// This device's contact code with the given display name and relays.
    pub fn contact_code(&self, name: &str, relays: &[String]) -> ContactCode {
        ContactCode::new(self, name, relays)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_once_then_reloaded_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let first = Identity::load_or_create(dir.path()).unwrap();
        let second = Identity::load_or_create(dir.path()).unwrap();
        assert_eq!(first.peer_key(), second.peer_key());
        assert_eq!(first.seal_key(), second.seal_key());
        let mode = std::fs::metadata(dir.path().join(IDENTITY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn damaged_file_is_reported_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(IDENTITY_FILE);
        std::fs::write(&path, "signing_key = 3").unwrap();
        let err = Identity::load_or_create(dir.path()).err().unwrap();
        assert!(matches!(err, IdentityError::Corrupt { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "signing_key = 3");
    }
}
