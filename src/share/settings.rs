//! The `[share]` section of the configuration: snapshot quality and size,
//! the outbox's and the inbox's bounds, how often to retry offline contacts,
//! and named groups.

use super::outbox::OutboxLimits;
use super::snapshot::SnapshotSettings;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Settings for snapshots, photos and thoughts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShareConfig {
    /// JPEG quality of snapshots, 1–100.
    pub jpeg_quality: u8,
    /// Snapshots wider than this are scaled down (pixels).
    pub max_width: u32,
    /// Largest JPEG a share may carry, sent or received (bytes).
    pub max_jpeg_bytes: u64,
    /// Most shares the outbox holds at once.
    pub outbox_max_shares: usize,
    /// Most bytes of JPEG the outbox holds at once.
    pub outbox_max_bytes: u64,
    /// Most bytes the inbox holds (received shares and unfinished transfers).
    pub inbox_max_bytes: u64,
    /// Seconds between attempts to reach contacts that still wait for shares.
    pub retry_secs: u64,
    /// Named groups of contacts (names or keys), usable as a share's audience.
    pub groups: BTreeMap<String, Vec<String>>,
}

impl Default for ShareConfig {
    fn default() -> Self {
        ShareConfig {
            jpeg_quality: 80,
            max_width: 1280,
            max_jpeg_bytes: 2 * 1024 * 1024,
            outbox_max_shares: 100,
            outbox_max_bytes: 64 * 1024 * 1024,
            inbox_max_bytes: 256 * 1024 * 1024,
            retry_secs: 30,
            groups: BTreeMap::new(),
        }
    }
}

impl ShareConfig {
    /// How snapshots are encoded.
    pub fn snapshot(&self) -> SnapshotSettings {
        SnapshotSettings {
            quality: self.jpeg_quality,
            max_width: self.max_width,
            max_bytes: self.max_jpeg_bytes as usize,
        }
    }

    /// The outbox's bounds.
    pub fn outbox(&self) -> OutboxLimits {
        OutboxLimits {
            max_shares: self.outbox_max_shares,
            max_bytes: self.outbox_max_bytes,
        }
    }

    /// The caps on received shares.
    pub fn limits(&self) -> super::Limits {
        super::Limits {
            max_jpeg_bytes: self.max_jpeg_bytes,
            ..super::Limits::default()
        }
    }
}
