//! The ICE servers a relay hands out: its settings, the time-limited TURN
//! credentials it mints, and how often one key or address may ask.
//!
//! The credentials follow the scheme coturn implements with
//! `use-auth-secret` / `static-auth-secret` (the "TURN REST API"): the
//! username is `<unix expiry>:<id>` and the password is
//! base64(HMAC-SHA1(secret, username)), so coturn checks them with the shared
//! secret alone and the relay still stores nothing. Everything here is pure:
//! times come in as arguments, and the hub decides who gets what.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;

use super::error::RelayError;
use super::protocol::{PeerKey, ServerFrame};
use crate::peer::IceServer;

/// The `[ice]` table of the relay's config (`[relay.ice]` for the relay
/// embedded in a device): which STUN and TURN servers to hand to clients
/// that proved their key, and the secret shared with the TURN server.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IceConfig {
    /// STUN URLs handed out as they are, e.g. `stun:turn.example.org:3478`.
    pub stun_urls: Vec<String>,
    /// TURN URLs handed out with freshly minted credentials, e.g.
    /// `turn:turn.example.org:3478?transport=udp` or `turns:turn.example.org:5349`.
    pub turn_urls: Vec<String>,
    /// The secret shared with the TURN server: coturn's `static-auth-secret`.
    /// Never logged; keep the file it is in readable by the relay only.
    pub turn_secret: String,
    /// How long minted credentials stay valid, in seconds. Clients ask
    /// again after three quarters of it.
    pub credential_ttl_secs: u64,
    /// Credential requests one key, or one address, may make at once.
    pub grant_burst: u32,
    /// After the burst, one more request per this many seconds.
    pub grant_interval_secs: u64,
}

impl Default for IceConfig {
    fn default() -> Self {
        Self {
            stun_urls: Vec::new(),
            turn_urls: Vec::new(),
            turn_secret: String::new(),
            credential_ttl_secs: 3600,
            grant_burst: 10,
            grant_interval_secs: 60,
        }
    }
}

impl fmt::Debug for IceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IceConfig")
            .field("stun_urls", &self.stun_urls)
            .field("turn_urls", &self.turn_urls)
            .field("turn_secret", &redacted(&self.turn_secret))
            .field("credential_ttl_secs", &self.credential_ttl_secs)
            .field("grant_burst", &self.grant_burst)
            .field("grant_interval_secs", &self.grant_interval_secs)
            .finish()
    }
}

/// Shortest credential lifetime accepted: clients must be able to use them.
const MIN_TTL_SECS: u64 = 60;
/// Longest credential lifetime accepted: a leaked credential must die.
const MAX_TTL_SECS: u64 = 7 * 24 * 3600;

impl IceConfig {
    /// Checks the settings; the error names the field to fix.
    pub fn validate(&self) -> Result<(), RelayError> {
        let fail = |msg: String| Err(RelayError::Config(msg));
        for url in &self.stun_urls {
            if !(url.starts_with("stun:") || url.starts_with("stuns:")) {
                return fail(format!(
                    "ice.stun_urls: `{url}` is not a STUN URL (stun:host:port)"
                ));
            }
        }
        for url in &self.turn_urls {
            if !(url.starts_with("turn:") || url.starts_with("turns:")) {
                return fail(format!(
                    "ice.turn_urls: `{url}` is not a TURN URL (turn:host:port?transport=udp)"
                ));
            }
        }
        if !self.turn_urls.is_empty() && self.turn_secret.is_empty() {
            return fail("ice.turn_urls is set but ice.turn_secret is empty: set it to coturn's static-auth-secret".into());
        }
        if self.turn_urls.is_empty() && !self.turn_secret.is_empty() {
            return fail(
                "ice.turn_secret is set but ice.turn_urls is empty: list the TURN server's URLs"
                    .into(),
            );
        }
        if !(MIN_TTL_SECS..=MAX_TTL_SECS).contains(&self.credential_ttl_secs) {
            return fail(format!(
                "ice.credential_ttl_secs is {}, set it between {MIN_TTL_SECS} and {MAX_TTL_SECS} (3600 is usual)",
                self.credential_ttl_secs
            ));
        }
        if self.grant_burst == 0 || self.grant_interval_secs == 0 {
            return fail(
                "ice.grant_burst and ice.grant_interval_secs must both be at least 1".into(),
            );
        }
        Ok(())
    }

    /// Whether any server is configured at all.
    pub fn is_empty(&self) -> bool {
        self.stun_urls.is_empty() && self.turn_urls.is_empty()
    }
}

/// A TURN username and password minted for one client.
#[derive(Clone, PartialEq, Eq)]
pub struct TurnCredential {
    /// `<unix expiry>:<id>`.
    pub username: String,
    /// base64(HMAC-SHA1(secret, username)).
    pub credential: String,
}

impl fmt::Debug for TurnCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TurnCredential")
            .field("username", &self.username)
            .field("credential", &redacted(&self.credential))
            .finish()
    }
}

/// Mints the credential coturn accepts until `expires_unix` (seconds since
/// 1970) for a client called `id` (no `:` needed; coturn logs it).
pub fn mint(secret: &str, id: &str, expires_unix: u64) -> TurnCredential {
    let username = format!("{expires_unix}:{id}");
    let credential = STANDARD.encode(hmac_sha1(secret.as_bytes(), username.as_bytes()));
    TurnCredential {
        username,
        credential,
    }
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Why a client gets no credentials now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantRefused {
    /// When asking again will succeed.
    pub retry_after: Duration,
}

/// Decides who gets ICE servers and builds the answer. Owned by the hub.
#[derive(Debug)]
pub struct IceIssuer {
    config: IceConfig,
    by_key: Limiter<PeerKey>,
    by_ip: Limiter<IpAddr>,
}

impl IceIssuer {
    /// An issuer handing out what `config` lists.
    pub fn new(config: IceConfig) -> Self {
        let interval = Duration::from_secs(config.grant_interval_secs);
        Self {
            by_key: Limiter::new(config.grant_burst, interval),
            by_ip: Limiter::new(config.grant_burst, interval),
            config,
        }
    }

    /// Counts one request from `key` at `ip`; refused when either has asked
    /// more than the burst allows. A refused request does not count.
    pub fn allow(&mut self, key: PeerKey, ip: IpAddr, now: Instant) -> Result<(), GrantRefused> {
        let ip = ip.to_canonical();
        let wait = self.by_key.wait(&key, now).max(self.by_ip.wait(&ip, now));
        if !wait.is_zero() {
            return Err(GrantRefused { retry_after: wait });
        }
        self.by_key.take(key, now);
        self.by_ip.take(ip, now);
        Ok(())
    }

    /// The `ice_servers` frame for `key` at `unix_now` (seconds since 1970):
    /// the STUN URLs, and the TURN URLs with credentials expiring one
    /// lifetime from now. Empty when the relay has no servers configured.
    pub fn frame(&self, key: &PeerKey, unix_now: u64) -> ServerFrame {
        let ttl = self.config.credential_ttl_secs;
        let mut servers = Vec::new();
        if !self.config.stun_urls.is_empty() {
            servers.push(IceServer {
                urls: self.config.stun_urls.clone(),
                ..IceServer::default()
            });
        }
        if !self.config.turn_urls.is_empty() {
            let minted = mint(&self.config.turn_secret, &key.short(), unix_now + ttl);
            servers.push(IceServer {
                urls: self.config.turn_urls.clone(),
                username: minted.username,
                credential: minted.credential,
            });
        }
        ServerFrame::IceServers {
            servers,
            expires_in: ttl,
        }
    }
}

/// Most remembered requesters before those that are back to a full burst
/// are forgotten (they behave exactly like new ones).
const LIMITER_PRUNE_AT: usize = 4096;

/// "Burst, then one per interval" per requester (a generic cell rate
/// algorithm): each entry is when the requester's quota is full again.
#[derive(Debug)]
struct Limiter<K> {
    burst: u32,
    interval: Duration,
    full_at: HashMap<K, Instant>,
}

impl<K: Eq + Hash> Limiter<K> {
    fn new(burst: u32, interval: Duration) -> Self {
        Self {
            burst,
            interval,
            full_at: HashMap::new(),
        }
    }

    /// How long `who` must wait before one more request fits (zero: now).
    fn wait(&self, who: &K, now: Instant) -> Duration {
        let Some(full_at) = self.full_at.get(who) else {
            return Duration::ZERO;
        };
        let debt = full_at.saturating_duration_since(now);
        let allowed = self.interval * (self.burst - 1);
        debt.saturating_sub(allowed)
    }

    /// Counts one request from `who`; call only after `wait` said zero.
    fn take(&mut self, who: K, now: Instant) {
        if self.full_at.len() >= LIMITER_PRUNE_AT {
            self.full_at.retain(|_, full_at| *full_at > now);
        }
        let full_at = self.full_at.entry(who).or_insert(now);
        *full_at = (*full_at).max(now) + self.interval;
    }
}

fn redacted(secret: &str) -> &'static str {
    if secret.is_empty() {
        ""
    } else {
        "<redacted>"
    }
}

#[cfg(test)]
#[path = "ice_tests.rs"]
mod tests;
