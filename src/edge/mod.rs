//! The edge every Hearth HTTP server shows the network — the standalone
//! relay, and the device's own server (viewer page, WHEP, embedded relay):
//! each accepted TCP connection counts against a cap per address and a total
//! kept below the process's file limit, and a client gets a fixed time to
//! send each request's headers. Connections over a cap are closed at once,
//! with one info line (no address) every few seconds and a debug line each.
//!
//! Layout: `gate` (the caps, pure), `files` (the total from the file limit),
//! `listener` (accept loop and counted streams), `serve` (HTTP/1.1 with the
//! header timeout and graceful shutdown).

mod counter;
mod files;
mod gate;
mod listener;
mod serve;

use std::time::Duration;

pub use counter::ConnectionCounter;
pub use files::{connection_budget, process_connection_budget, soft_file_limit};
pub use gate::{address_key, Cap, Gate};
pub use serve::serve;

/// Caps and timeouts of one exposed server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeLimits {
    /// Time a client has to send a request's headers (also how long an idle
    /// keep-alive connection stays open between requests).
    pub header_read_timeout: Duration,
    /// TCP connections one address may hold (an IPv6 /64 is one address).
    pub max_per_address: usize,
    /// TCP connections in all; [`process_connection_budget`] by default.
    pub max_total: usize,
}

impl Default for EdgeLimits {
    fn default() -> Self {
        EdgeLimits {
            header_read_timeout: Duration::from_secs(10),
            max_per_address: 64,
            max_total: process_connection_budget(),
        }
    }
}
