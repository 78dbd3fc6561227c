//! The client's side of the relay's ICE servers: the list it was handed and
//! until when its TURN credentials hold ([`IceLease`]), when to ask the relay
//! again ([`IceAsk`], pure, on explicit `Instant`s), and the shared cell every
//! new WebRTC connection reads the freshest list from ([`RelayIce`]).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::peer::IceServer;

/// After a refusal (`ice_rate_limited`), wait this long before asking again.
pub const RETRY_AFTER_REFUSAL: Duration = Duration::from_secs(60);

/// Never ask again sooner than this after an answer, whatever its lifetime.
const MIN_REFRESH: Duration = Duration::from_secs(1);

/// ICE servers handed out by the relay, with their expiry.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct IceLease {
    servers: Vec<IceServer>,
    received: Option<Instant>,
    expires_at: Option<Instant>,
}

impl IceLease {
    /// The relay's answer `servers`, valid for `expires_in` from `now`.
    pub fn new(servers: Vec<IceServer>, expires_in: Duration, now: Instant) -> Self {
        Self {
            servers,
            received: Some(now),
            expires_at: Some(now + expires_in),
        }
    }

    /// The servers to use for a connection made at `now`: none once the
    /// credentials have expired (or before the relay answered).
    pub fn servers_at(&self, now: Instant) -> Vec<IceServer> {
        match self.expires_at {
            Some(at) if now < at => self.servers.clone(),
            _ => Vec::new(),
        }
    }

    /// When the credentials stop working, if the relay answered.
    pub fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }

    /// When to ask for fresh credentials: three quarters into their lifetime.
    pub fn refresh_at(&self) -> Option<Instant> {
        let (received, expires) = (self.received?, self.expires_at?);
        let life = expires.saturating_duration_since(received);
        Some(received + (life * 3 / 4).max(MIN_REFRESH))
    }
}

impl fmt::Debug for IceLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IceLease")
            .field("servers", &self.servers)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// When the client next sends `ice`: at once after each (re)connect, then
/// before the credentials expire, or a while after a refusal. Pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IceAsk {
    next: Option<Instant>,
}

impl IceAsk {
    /// When to ask next; `None` while waiting for an answer.
    pub fn due(&self) -> Option<Instant> {
        self.next
    }

    /// A new authenticated connection: ask now.
    pub fn on_connected(&mut self, now: Instant) {
        self.next = Some(now);
    }

    /// The request went out: wait for the answer.
    pub fn on_asked(&mut self) {
        self.next = None;
    }

    /// The relay answered with `lease`: ask again before it expires.
    pub fn on_answer(&mut self, lease: &IceLease) {
        self.next = lease.refresh_at();
    }

    /// The relay refused (too many requests): ask again later.
    pub fn on_refused(&mut self, now: Instant) {
        self.next = Some(now + RETRY_AFTER_REFUSAL);
    }
}

/// The relay's current ICE servers, shared between the relay client that
/// keeps them fresh and every connection that reads them. Cheap to clone.
#[derive(Clone)]
pub struct RelayIce {
    cell: Arc<watch::Sender<IceLease>>,
}

impl Default for RelayIce {
    fn default() -> Self {
        Self::new()
    }
}

impl RelayIce {
    /// An empty cell; a relay client given it (see
    /// [`super::RelayClient::spawn_sharing`]) fills it.
    pub fn new() -> Self {
        Self {
            cell: Arc::new(watch::Sender::new(IceLease::default())),
        }
    }

    /// The servers to use for a connection made now (none once expired).
    pub fn current(&self) -> Vec<IceServer> {
        self.cell.borrow().servers_at(Instant::now())
    }

    /// Follows every new answer from the relay.
    pub fn subscribe(&self) -> watch::Receiver<IceLease> {
        self.cell.subscribe()
    }

    /// Stores the relay's latest answer.
    pub(crate) fn publish(&self, lease: IceLease) {
        self.cell.send_replace(lease);
    }
}

impl fmt::Debug for RelayIce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RelayIce")
            .field(&*self.cell.borrow())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn() -> Vec<IceServer> {
        vec![IceServer {
            urls: vec!["turn:127.0.0.1:3478".into()],
            username: "100:abc".into(),
            credential: "c".into(),
        }]
    }

    #[test]
    fn a_lease_is_used_until_it_expires_and_refreshed_three_quarters_in() {
        let t0 = Instant::now();
        assert!(IceLease::default().servers_at(t0).is_empty());
        assert_eq!(IceLease::default().refresh_at(), None);
        let lease = IceLease::new(turn(), Duration::from_secs(3600), t0);
        assert_eq!(lease.refresh_at(), Some(t0 + Duration::from_secs(2700)));
        assert_eq!(lease.servers_at(t0 + Duration::from_secs(3599)), turn());
        assert!(lease.servers_at(t0 + Duration::from_secs(3600)).is_empty());
        // A lifetime of zero does not make the client ask in a tight loop.
        let zero = IceLease::new(vec![], Duration::ZERO, t0);
        assert_eq!(zero.refresh_at(), Some(t0 + MIN_REFRESH));
    }

    #[test]
    fn asks_at_connect_before_expiry_and_after_a_refusal() {
        let t0 = Instant::now();
        let mut ask = IceAsk::default();
        assert_eq!(ask.due(), None);
        ask.on_connected(t0);
        assert_eq!(ask.due(), Some(t0));
        ask.on_asked();
        assert_eq!(ask.due(), None);
        let t1 = t0 + Duration::from_millis(20);
        let lease = IceLease::new(turn(), Duration::from_secs(600), t1);
        ask.on_answer(&lease);
        assert_eq!(ask.due(), Some(t1 + Duration::from_secs(450)));
        let t2 = t1 + Duration::from_secs(450);
        ask.on_asked();
        ask.on_refused(t2);
        assert_eq!(ask.due(), Some(t2 + RETRY_AFTER_REFUSAL));
        // The refreshed credentials came before the old ones expired.
        assert!(t2 + RETRY_AFTER_REFUSAL < lease.expires_at().unwrap());
        // A reconnect asks at once, whatever was planned.
        ask.on_connected(t2 + Duration::from_secs(1));
        assert_eq!(ask.due(), Some(t2 + Duration::from_secs(1)));
    }

    #[test]
    fn the_shared_cell_hands_out_the_latest_answer() {
        let cell = RelayIce::new();
        let reader = cell.clone();
        assert!(reader.current().is_empty());
        let changes = reader.subscribe();
        cell.publish(IceLease::new(
            turn(),
            Duration::from_secs(60),
            Instant::now(),
        ));
        assert!(changes.has_changed().unwrap());
        assert_eq!(reader.current(), turn());
        assert!(!format!("{reader:?}").contains("credential: \"c\""));
    }
}
