//! Hearth's signalling relay: a WebSocket server that forwards opaque,
//! end-to-end sealed envelopes between authenticated Ed25519 keys and stores
//! nothing, plus the reconnecting client devices and tools use to reach it.
//!
//! Layout: `protocol` (wire frames, keys as [`PeerKey`]), `hub` and
//! `action` (sans-IO decisions), `limits` (token bucket, per-IP cap),
//! `ice` (STUN/TURN servers and minted TURN credentials handed to clients),
//! `turn_check` (`hearth relay --check`: allocate with minted credentials),
//! `config`, `server`, `connection` and `outbox` (axum edge, on
//! [`crate::edge`]), `client`, `session` and `handshake` (reconnecting
//! client), `ice_lease` (the ICE servers the client keeps fresh),
//! `backoff`, `error`, `url` (a relay URL as logs and screens show it).
//! A cluster of relay nodes shares one key space through NATS:
//! `nats_config` (`[nats]`), `cluster_wire` (subjects and bodies, pure) and
//! `cluster` (the NATS edge the server carries cluster actions out on) and
//! `cluster_key` (the task serving one key a node holds).

mod action;
pub mod backoff;
pub mod client;
mod cluster;
mod cluster_key;
pub mod cluster_wire;
pub mod config;
mod connection;
pub mod error;
mod handshake;
pub mod hub;
pub mod ice;
pub mod ice_lease;
pub mod limits;
pub mod nats_config;
mod outbox;
pub mod protocol;
pub mod server;
mod session;
pub mod turn_check;
pub mod url;

pub use crate::keys::PeerKey;
pub use backoff::{Backoff, BackoffConfig};
pub use client::{ClientConfig, RelayClient, RelayEvent, RelayHandle, SendOutcome};
pub use config::RelayServerConfig;
pub use error::RelayError;
pub use ice::IceConfig;
pub use ice_lease::{IceLease, RelayIce};
pub use nats_config::NatsConfig;
pub use protocol::ErrorCode;
pub use server::{router, serve, serve_router, RelayState};
