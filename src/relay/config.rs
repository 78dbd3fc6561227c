//! Relay server settings, loadable from the device's config file, with
//! defaults that suit a family-sized deployment and a check that refuses
//! values that would make the relay unusable.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::RelayError;

/// Settings of the relay server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// Largest text frame accepted, in bytes; larger frames get `too_large`.
    pub max_frame_bytes: usize,
    /// Steady rate of frames each key may send per second.
    pub messages_per_second: u32,
    /// Frames a key may send at once before the rate applies.
    pub burst: u32,
    /// Simultaneous connections allowed from one IP address.
    pub max_connections_per_ip: usize,
    /// Time a new connection has to authenticate, in milliseconds.
    pub auth_timeout_ms: u64,
    /// Interval between WebSocket pings to each client, in milliseconds.
    pub ping_interval_ms: u64,
    /// A client silent for this long (no frame, no pong) is dropped, in milliseconds.
    pub idle_timeout_ms: u64,
    /// Frames waiting to be written to one client before it counts as busy.
    pub outbox_frames: usize,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: 64 * 1024,
            messages_per_second: 50,
            burst: 100,
            max_connections_per_ip: 32,
            auth_timeout_ms: 10_000,
            ping_interval_ms: 15_000,
            idle_timeout_ms: 45_000,
            outbox_frames: 64,
        }
    }
}

/// Smallest frame cap that still fits an `auth` frame with room to spare.
const MIN_FRAME_BYTES: usize = 512;

impl RelayConfig {
    /// Checks that every value is usable; the error names the field to fix.
    pub fn validate(&self) -> Result<(), RelayError> {
        let fail = |msg: String| Err(RelayError::Config(msg));
        if self.max_frame_bytes < MIN_FRAME_BYTES {
            return fail(format!(
                "max_frame_bytes is {}, set it to at least {MIN_FRAME_BYTES}",
                self.max_frame_bytes
            ));
        }
        if self.messages_per_second == 0 || self.burst == 0 {
            return fail("messages_per_second and burst must both be at least 1".into());
        }
        if self.max_connections_per_ip == 0 {
            return fail("max_connections_per_ip must be at least 1".into());
        }
        if self.outbox_frames == 0 {
            return fail("outbox_frames must be at least 1".into());
        }
        if self.auth_timeout_ms == 0 || self.ping_interval_ms == 0 {
            return fail("auth_timeout_ms and ping_interval_ms must be above 0".into());
        }
        if self.idle_timeout_ms <= self.ping_interval_ms {
            return fail(format!(
                "idle_timeout_ms ({}) must be longer than ping_interval_ms ({}), ideally 3 times",
                self.idle_timeout_ms, self.ping_interval_ms
            ));
        }
        Ok(())
    }

    /// Hard transport limit: frames above it drop the connection instead of
    /// getting a `too_large` answer, so memory per connection stays bounded.
    pub fn transport_limit_bytes(&self) -> usize {
        self.max_frame_bytes.saturating_mul(4)
    }

    /// [`Self::auth_timeout_ms`] as a `Duration`.
    pub fn auth_timeout(&self) -> Duration {
        Duration::from_millis(self.auth_timeout_ms)
    }

    /// [`Self::ping_interval_ms`] as a `Duration`.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms)
    }

    /// [`Self::idle_timeout_ms`] as a `Duration`.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(RelayConfig::default().validate(), Ok(()));
    }

    #[test]
    fn partial_json_fills_defaults_and_unknown_fields_are_refused() {
        let cfg: RelayConfig = serde_json::from_str(r#"{"burst":7}"#).unwrap();
        assert_eq!(cfg.burst, 7);
        assert_eq!(cfg.max_frame_bytes, 64 * 1024);
        assert!(serde_json::from_str::<RelayConfig>(r#"{"brust":7}"#).is_err());
    }

    #[test]
    fn bad_values_name_the_field() {
        let cfg = RelayConfig {
            idle_timeout_ms: 10,
            ping_interval_ms: 20,
            ..RelayConfig::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("idle_timeout_ms"), "{err}");
        let cfg = RelayConfig {
            burst: 0,
            ..RelayConfig::default()
        };
        assert!(cfg.validate().unwrap_err().to_string().contains("burst"));
    }
}
