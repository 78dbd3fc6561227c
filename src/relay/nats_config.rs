//! The `[nats]` table of the relay's config: the NATS servers that join
//! several relay nodes into one cluster (`hearth relay --nats URL,…`). Empty,
//! the relay runs alone and needs no NATS at all.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::RelayError;

/// How a relay node reaches the other nodes of its cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// NATS servers of the cluster, e.g. `nats://10.0.0.5:4222`; credentials
    /// go in the URL (`nats://user:password@host:4222`), `tls://` asks for
    /// TLS. Empty: this relay runs alone.
    pub urls: Vec<String>,
    /// PEM file of the CA that signed the NATS servers' certificates, for a
    /// private CA; unset, the system's roots are trusted.
    pub ca_file: Option<PathBuf>,
    /// How long a node waits for another node to answer a forwarded `send`
    /// before telling the sender `relay_unavailable`, in milliseconds.
    pub request_timeout_ms: u64,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            ca_file: None,
            request_timeout_ms: 2_000,
        }
    }
}

impl NatsConfig {
    /// Whether this relay is one node of a cluster.
    pub fn is_enabled(&self) -> bool {
        !self.urls.is_empty()
    }

    /// [`Self::request_timeout_ms`] as a `Duration`.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// Checks every URL and the timeout; the error names what to fix.
    pub fn validate(&self) -> Result<(), RelayError> {
        for url in &self.urls {
            if let Err(e) = async_nats::ServerAddr::from_str(url) {
                return Err(RelayError::Config(format!(
                    "nats url {:?} is not a NATS server address ({e}); write it as nats://host:4222",
                    redact(url)
                )));
            }
        }
        if self.request_timeout_ms == 0 {
            return Err(RelayError::Config(
                "nats.request_timeout_ms must be above 0".into(),
            ));
        }
        Ok(())
    }
}

/// `url` with any `user:password@` or token replaced, safe to log or show.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        (None, Some(at)) => format!("***@{}", &url[at + 1..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_alone_and_is_valid() {
        let config = NatsConfig::default();
        assert!(!config.is_enabled());
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn urls_are_checked_and_credentials_never_shown() {
        let config = NatsConfig {
            urls: vec![
                "nats://u:secret@127.0.0.1:4222".into(),
                "tls://n2:4222".into(),
            ],
            ..NatsConfig::default()
        };
        assert!(config.is_enabled());
        assert_eq!(config.validate(), Ok(()));
        let bad = NatsConfig {
            urls: vec!["http://u:secret@x:1".into()],
            ..NatsConfig::default()
        };
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("nats://host:4222"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        assert_eq!(redact("nats://tok@h:1"), "nats://***@h:1");
        assert_eq!(redact("nats://h:1"), "nats://h:1");
    }

    #[test]
    fn reads_from_toml() {
        let config: NatsConfig =
            toml::from_str("urls = [\"nats://127.0.0.1:4222\"]\nrequest_timeout_ms = 500\n")
                .unwrap();
        assert_eq!(config.request_timeout(), Duration::from_millis(500));
        assert!(toml::from_str::<NatsConfig>("url = \"x\"").is_err());
    }

    #[test]
    fn the_example_in_docs_relay_md_is_a_valid_relay_config() {
        let doc = include_str!("../../docs/relay.md");
        let example = doc
            .split("```toml")
            .skip(1)
            .filter_map(|block| block.split("```").next())
            .find(|block| block.contains("[nats]"))
            .expect("docs/relay.md shows a [nats] table");
        let config: crate::relay::RelayServerConfig = toml::from_str(example).unwrap();
        assert_eq!(config.nats.urls.len(), 3);
        assert_eq!(config.validate(), Ok(()));
    }
}
