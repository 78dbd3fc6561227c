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

/// The file: the two secrets, and the public keys they give, written beside
/// them so that a damaged secret that still decodes (one flipped bit) is
/// noticed instead of silently making this device a stranger to its
/// contacts. Files from before the public keys load without them.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityFile {
    signing_key: String,
    seal_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seal_public_key: Option<String>,
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
        let identity = Identity {
            signing: SigningKey::from_bytes(&signing),
            seal: StaticSecret::from(seal),
        };
        let matches = |written: &Option<String>, derived: &[u8; 32]| {
            written.as_ref().is_none_or(|w| w.trim() == b64(derived))
        };
        if !matches(&file.public_key, &identity.peer_key().0)
            || !matches(&file.seal_public_key, &identity.seal_key().0)
        {
            return Err("its secret keys do not give the public keys written beside them".into());
        }
        Ok(identity)
    }

    fn save(&self, path: &Path) -> Result<(), IdentityError> {
        let file = IdentityFile {
            signing_key: b64(&self.signing.to_bytes()),
            seal_key: b64(&self.seal.to_bytes()),
            public_key: Some(b64(&self.peer_key().0)),
            seal_public_key: Some(b64(&self.seal_key().0)),
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
    fn a_flipped_bit_in_a_secret_is_noticed_and_the_file_kept() {
        let dir = tempfile::tempdir().unwrap();
        let key = Identity::load_or_create(dir.path()).unwrap().peer_key();
        let path = dir.path().join(IDENTITY_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        for field in ["signing_key = \"", "seal_key = \""] {
            let at = text.find(field).unwrap() + field.len() + 10;
            let mut bytes = text.clone().into_bytes();
            bytes[at] ^= 0x01; // still base64url, so it decodes to another key
            std::fs::write(&path, &bytes).unwrap();
            let err = Identity::load_or_create(dir.path()).err().unwrap();
            assert!(
                matches!(err, IdentityError::Corrupt { .. }),
                "{field}: {err}"
            );
            assert!(err.to_string().contains(&path.display().to_string()));
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "never overwritten");
        }
        std::fs::write(&path, &text).unwrap();
        assert_eq!(
            Identity::load_or_create(dir.path()).unwrap().peer_key(),
            key
        );
        let old_format: String = text
            .lines()
            .filter(|l| !l.contains("public_key"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, old_format).unwrap();
        assert_eq!(
            Identity::load_or_create(dir.path()).unwrap().peer_key(),
            key,
            "files without the public keys still load"
        );
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
