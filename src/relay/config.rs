//! Relay server settings, loadable from the device's config file, with
//! defaults that suit a family-sized deployment and a check that refuses
//! values that would make the relay unusable.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::RelayError;
use super::ice::IceConfig;
use super::nats_config::NatsConfig;
use crate::edge::EdgeLimits;

/// Settings of the relay server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayServerConfig {
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
    /// Bytes waiting to be written to one client before it counts as busy:
    /// with [`Self::outbox_frames`], what a client that does not read can pin.
    pub outbox_bytes: usize,
    /// A write to a client that takes longer than this drops it, in
    /// milliseconds: a client that does not read is gone within seconds.
    pub write_timeout_ms: u64,
    /// Time a client has to send the headers of each HTTP request (the
    /// WebSocket upgrade included), in milliseconds.
    pub header_read_timeout_ms: u64,
    /// TCP connections one address may hold, WebSocket or not (an IPv6 /64
    /// counts as one address); at least `max_connections_per_ip`.
    pub max_tcp_connections_per_ip: usize,
    /// TCP connections in all; 0 means three quarters of the process's file
    /// limit, keeping the rest for everything else the process opens.
    pub max_tcp_connections: usize,
    /// STUN/TURN servers handed to clients that proved their key (`[ice]`).
    pub ice: IceConfig,
    /// NATS servers joining this relay with others into one cluster
    /// (`[nats]`); empty, the relay runs alone.
    pub nats: NatsConfig,
}

impl Default for RelayServerConfig {
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
            outbox_bytes: 256 * 1024,
            write_timeout_ms: 5_000,
            header_read_timeout_ms: 10_000,
            max_tcp_connections_per_ip: 64,
            max_tcp_connections: 0,
            ice: IceConfig::default(),
            nats: NatsConfig::default(),
        }
    }
}

/// Smallest frame cap that still fits an `auth` frame with room to spare.
const MIN_FRAME_BYTES: usize = 512;

impl RelayServerConfig {
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
        if self.outbox_bytes < self.max_frame_bytes.saturating_mul(2) {
            return fail(format!(
                "outbox_bytes is {}, set it to at least twice max_frame_bytes ({})",
                self.outbox_bytes,
                self.max_frame_bytes.saturating_mul(2)
            ));
        }
        if self.auth_timeout_ms == 0
            || self.ping_interval_ms == 0
            || self.write_timeout_ms == 0
            || self.header_read_timeout_ms == 0
        {
            return fail("auth_timeout_ms, ping_interval_ms, write_timeout_ms and header_read_timeout_ms must be above 0".into());
        }
        if self.max_tcp_connections_per_ip < self.max_connections_per_ip {
            return fail(format!(
                "max_tcp_connections_per_ip ({}) must be at least max_connections_per_ip ({}): every WebSocket is a TCP connection",
                self.max_tcp_connections_per_ip, self.max_connections_per_ip
            ));
        }
        if self.idle_timeout_ms <= self.ping_interval_ms {
            return fail(format!(
                "idle_timeout_ms ({}) must be longer than ping_interval_ms ({}), ideally 3 times",
                self.idle_timeout_ms, self.ping_interval_ms
            ));
        }
        self.ice.validate()?;
        self.nats.validate()
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

    /// [`Self::write_timeout_ms`] as a `Duration`.
    pub fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms)
    }

    /// The caps and header timeout of the HTTP server the relay runs on;
    /// a total of 0 is filled in from the process's file limit.
    pub fn edge_limits(&self) -> EdgeLimits {
        let max_total = match self.max_tcp_connections {
            0 => crate::edge::process_connection_budget(),
            n => n,
        };
        EdgeLimits {
            header_read_timeout: Duration::from_millis(self.header_read_timeout_ms),
            max_per_address: self.max_tcp_connections_per_ip,
            max_total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(RelayServerConfig::default().validate(), Ok(()));
    }

    #[test]
    fn partial_json_fills_defaults_and_unknown_fields_are_refused() {
        let cfg: RelayServerConfig = serde_json::from_str(r#"{"burst":7}"#).unwrap();
        assert_eq!(cfg.burst, 7);
        assert_eq!(cfg.max_frame_bytes, 64 * 1024);
        assert!(serde_json::from_str::<RelayServerConfig>(r#"{"brust":7}"#).is_err());
    }

    #[test]
    fn bad_values_name_the_field() {
        let cfg = RelayServerConfig {
            idle_timeout_ms: 10,
            ping_interval_ms: 20,
            ..RelayServerConfig::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("idle_timeout_ms"), "{err}");
        let cfg = RelayServerConfig {
            burst: 0,
            ..RelayServerConfig::default()
        };
        assert!(cfg.validate().unwrap_err().to_string().contains("burst"));
        let cfg = RelayServerConfig {
            max_tcp_connections_per_ip: 8,
            ..RelayServerConfig::default()
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("max_tcp_connections_per_ip"), "{err}");
        let cfg = RelayServerConfig {
            outbox_bytes: 1000,
            ..RelayServerConfig::default()
        };
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("outbox_bytes"));
    }

    #[test]
    fn ice_table_reads_from_toml_and_is_checked() {
        let cfg: RelayServerConfig = toml::from_str(
            "burst = 7\n[ice]\nturn_urls = [\"turn:127.0.0.1:3478\"]\nturn_secret = \"s\"\n",
        )
        .unwrap();
        assert_eq!(cfg.ice.turn_urls, ["turn:127.0.0.1:3478"]);
        assert_eq!(cfg.ice.credential_ttl_secs, 3600);
        assert_eq!(cfg.validate(), Ok(()));
        let cfg: RelayServerConfig =
            toml::from_str("[ice]\nturn_urls = [\"turn:127.0.0.1:3478\"]\n").unwrap();
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("turn_secret"));
        assert!(toml::from_str::<RelayServerConfig>("[ice]\nturn_secrets = \"s\"\n").is_err());
    }

    #[test]
    fn edge_limits_follow_the_config() {
        let cfg = RelayServerConfig {
            max_tcp_connections: 100,
            ..RelayServerConfig::default()
        };
        let limits = cfg.edge_limits();
        assert_eq!(limits.max_total, 100);
        assert_eq!(limits.max_per_address, 64);
        assert_eq!(limits.header_read_timeout, Duration::from_secs(10));
        assert!(RelayServerConfig::default().edge_limits().max_total > 0);
    }
}
