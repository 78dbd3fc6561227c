//! Carries out what [`super::route::RouteCore`] decides for each relay
//! event: seals and sends answers, hands offers over, stores pairing
//! requests, forwards session signals and publishes events. Every refusal is
//! logged (by the core) with the sender's short key and the reason, never
//! the content.

use super::route::{Now, Offer, RouteAction, RouteCore, RouteInput};
use crate::contacts::ContactStatus;
use crate::envelope::{self, Recipient};
use crate::identity::{ContactCode, Identity};
use crate::keys::PeerKey;
use crate::live_contacts::LiveContacts;
use crate::policy::MAX_PENDING_REQUESTS;
use crate::relay::client::{RelayEvent, RelayHandle};
use crate::signal::{SessionId, Signal};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc, watch};

/// Something the owner or the application may want to know about.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeEvent {
    /// The relay connection is up.
    RelayConnected,
    /// The relay connection dropped; it is being re-established.
    RelayDisconnected,
    /// The relay cannot be reached (at start, or again after a drop); the
    /// node keeps trying and sends [`NodeEvent::RelayConnected`] once it is back.
    RelayUnreachable,
    /// Someone asked to pair; they are now a pending contact.
    PairRequested {
        /// The requester's key.
        key: PeerKey,
        /// The name in the requester's code.
        name: String,
    },
    /// A peer we asked approved us.
    PairApproved {
        /// Who approved.
        key: PeerKey,
    },
    /// A peer we asked refused us or removed us.
    PairRefused {
        /// Who refused.
        key: PeerKey,
        /// Their reason.
        reason: String,
    },
    /// An envelope was refused: altered, replayed, re-addressed, stale or garbage.
    EnvelopeRefused {
        /// The sender the relay claimed.
        claimed_from: PeerKey,
        /// Why it was refused.
        error: crate::envelope::EnvelopeError,
    },
    /// A session offer was refused because the sender is not an approved contact.
    OfferRefused {
        /// The sender.
        key: PeerKey,
    },
}

/// Where this node stands with its relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayStatus {
    /// Starting, or reconnecting after a drop; not known to be unreachable yet.
    Connecting,
    /// Connected and authenticated: contacts can reach this node.
    Connected,
    /// The relay cannot be reached; the node keeps trying.
    Unreachable,
}

/// A session offer from an approved contact, waiting to be answered, with
/// the later signals of its session (candidates, bye). Reads as its [`Offer`].
#[derive(Debug)]
pub struct IncomingOffer {
    /// Who offers what.
    pub offer: Offer,
    /// Later signals of this session.
    pub signals: mpsc::Receiver<Signal>,
}

impl std::ops::Deref for IncomingOffer {
    type Target = Offer;
    fn deref(&self) -> &Offer {
        &self.offer
    }
}

type SessionKey = (PeerKey, SessionId);

pub(super) struct Router {
    identity: Arc<Identity>,
    contacts: LiveContacts,
    relay: RelayHandle,
    offers: mpsc::Sender<IncomingOffer>,
    sessions: Mutex<HashMap<SessionKey, mpsc::Sender<Signal>>>,
    events: broadcast::Sender<NodeEvent>,
    status: watch::Sender<RelayStatus>,
    core: Mutex<RouteCore>,
}

impl Router {
    pub(super) fn new(
        identity: Arc<Identity>,
        contacts: LiveContacts,
        relay: RelayHandle,
        relay_url: &str,
        offers: mpsc::Sender<IncomingOffer>,
    ) -> Self {
        let core = RouteCore::new(
            identity.clone(),
            envelope::unix_ms_now(),
            crate::relay::url::for_logs(relay_url),
        );
        Router {
            identity,
            contacts,
            relay,
            offers,
            sessions: Mutex::new(HashMap::new()),
            events: broadcast::channel(64).0,
            status: watch::channel(RelayStatus::Connecting).0,
            core: Mutex::new(core),
        }
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    pub(super) fn relay_status(&self) -> watch::Receiver<RelayStatus> {
        self.status.subscribe()
    }

    pub(super) fn open_session(&self, peer: PeerKey, session: SessionId) -> mpsc::Receiver<Signal> {
        let (tx, rx) = mpsc::channel(64);
        self.sessions
            .lock()
            .expect("sessions lock")
            .insert((peer, session), tx);
        rx
    }

    pub(super) fn close_session(&self, peer: &PeerKey, session: &SessionId) {
        self.sessions
            .lock()
            .expect("sessions lock")
            .remove(&(*peer, session.clone()));
    }

    pub(super) async fn run(self: Arc<Self>, mut relay_events: mpsc::Receiver<RelayEvent>) {
        while let Some(event) = relay_events.recv().await {
            self.handle(RouteInput::Relay(event)).await;
        }
    }

    /// Asks the core what to do, then does it (and whatever that leads to).
    async fn handle(&self, input: RouteInput) {
        let mut pending = std::collections::VecDeque::from(self.decide(input));
        while let Some(action) = pending.pop_front() {
            if let Some(input) = self.carry_out(action).await {
                pending.extend(self.decide(input));
            }
        }
    }

    fn decide(&self, input: RouteInput) -> Vec<RouteAction> {
        let now = Now {
            instant: std::time::Instant::now(),
            unix_ms: envelope::unix_ms_now(),
        };
        let mut core = self.core.lock().expect("route core lock");
        self.contacts.with(|book| core.handle(now, book, input))
    }

    async fn carry_out(&self, action: RouteAction) -> Option<RouteInput> {
        match action {
            RouteAction::Status(status) => {
                self.status.send_replace(status);
            }
            RouteAction::Emit(event) => {
                let _ = self.events.send(event);
            }
            RouteAction::Send { to, signal } => self.send(&to, &signal).await,
            RouteAction::Offer(offer) => return self.hand_over(offer),
            RouteAction::CloseSession { from, session } => self.close_session(&from, &session),
            RouteAction::Forward {
                from,
                session,
                signal,
            } => {
                let sender = self
                    .sessions
                    .lock()
                    .expect("sessions lock")
                    .get(&(from, session.clone()))
                    .cloned();
                match sender {
                    Some(tx) => {
                        if tx.send(signal).await.is_err() {
                            self.close_session(&from, &session);
                        }
                    }
                    None => {
                        tracing::debug!(from = %from.short(), "signal for an unknown session")
                    }
                }
            }
            RouteAction::StorePairRequest { code, making_room } => {
                self.store_pair_request(code, making_room).await
            }
        }
        None
    }

    /// Hands an offer to whoever answers calls, with its session's signals.
    fn hand_over(&self, offer: Offer) -> Option<RouteInput> {
        let signals = self.open_session(offer.from, offer.session.clone());
        match self.offers.try_send(IncomingOffer { offer, signals }) {
            Ok(()) => None,
            Err(e) => {
                let offer = e.into_inner().offer;
                Some(RouteInput::OfferNotTaken {
                    from: offer.from,
                    reply_to: offer.reply_to,
                    session: offer.session,
                })
            }
        }
    }

    async fn store_pair_request(&self, code: ContactCode, making_room: Option<PeerKey>) {
        let from = code.peer_key;
        let stored = self
            .contacts
            .update(|book| {
                let made_room = making_room
                    .and_then(|oldest| book.remove(&oldest.to_string()).ok().map(|c| c.key));
                (
                    book.upsert(&code, ContactStatus::Pending).name.clone(),
                    made_room,
                )
            })
            .await;
        let name = match stored {
            Ok((name, made_room)) => {
                if let Some(oldest) = made_room {
                    tracing::warn!(dropped = %oldest.short(), "{MAX_PENDING_REQUESTS} pairing requests were waiting; the oldest made room for a new one (approve or remove some)");
                }
                name
            }
            Err(e) => {
                tracing::error!(error = %e, "could not store a pairing request");
                return;
            }
        };
        tracing::info!(from = %from.short(), %name, "pairing request waiting for the owner");
        let _ = self
            .events
            .send(NodeEvent::PairRequested { key: from, name });
    }

    async fn send(&self, to: &Recipient, signal: &Signal) {
        let wire = envelope::seal(&self.identity, to, signal, envelope::unix_ms_now());
        if let Err(e) = self.relay.send(to.key, wire).await {
            tracing::debug!(to = %to.key.short(), error = %e, "reply not sent");
        }
    }
}
