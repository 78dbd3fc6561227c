//! Opens envelopes from the relay and routes the signals inside them. Every
//! refusal is logged with the sender's short key and the reason, never the
//! content.

use super::stranger_budget::StrangerBudget;
use crate::contacts::ContactStatus;
use crate::envelope::{self, Opened, Recipient, ReplayGuard};
use crate::identity::{ContactCode, Identity};
use crate::keys::PeerKey;
use crate::live_contacts::LiveContacts;
use crate::policy::{self, PairingStep, MAX_PENDING_REQUESTS};
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

/// A session offer from an approved contact, waiting to be answered.
#[derive(Debug)]
pub struct IncomingOffer {
    /// Who calls.
    pub from: PeerKey,
    /// Where to send the answer.
    pub reply_to: Recipient,
    /// The session id the caller chose.
    pub session: SessionId,
    /// The caller's SDP offer.
    pub sdp: String,
    /// The caller wants live video.
    pub want_video: bool,
    /// The caller wants live audio.
    pub want_audio: bool,
    /// Later signals of this session (candidates, bye).
    pub signals: mpsc::Receiver<Signal>,
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
    /// The relay's URL as logs show it (no user info, no query).
    relay_url: String,
    /// Envelopes from keys not in the book opened, and answers sent to them.
    opening: Mutex<StrangerBudget>,
    answering: Mutex<StrangerBudget>,
}

impl Router {
    pub(super) fn new(
        identity: Arc<Identity>,
        contacts: LiveContacts,
        relay: RelayHandle,
        relay_url: &str,
        offers: mpsc::Sender<IncomingOffer>,
    ) -> Self {
        Router {
            identity,
            contacts,
            relay,
            offers,
            sessions: Mutex::new(HashMap::new()),
            events: broadcast::channel(64).0,
            status: watch::channel(RelayStatus::Connecting).0,
            relay_url: crate::relay::url::for_logs(relay_url),
            opening: Mutex::new(StrangerBudget::opening()),
            answering: Mutex::new(StrangerBudget::answering()),
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
        let mut replay = ReplayGuard::starting_at(envelope::unix_ms_now());
        while let Some(event) = relay_events.recv().await {
            match event {
                RelayEvent::Connected => {
                    let was = self.status.send_replace(RelayStatus::Connected);
                    match was {
                        RelayStatus::Unreachable => {
                            tracing::info!(relay = %self.relay_url, "signalling relay reachable again; contacts can reach this device")
                        }
                        _ => tracing::info!(relay = %self.relay_url, "signalling relay connected"),
                    }
                    let _ = self.events.send(NodeEvent::RelayConnected);
                }
                RelayEvent::Disconnected {
                    reason: crate::relay::RelayError::Stopped,
                } => {
                    self.status.send_replace(RelayStatus::Connecting);
                    tracing::info!(relay = %self.relay_url, "left the signalling relay");
                    let _ = self.events.send(NodeEvent::RelayDisconnected);
                }
                RelayEvent::Disconnected { reason } => {
                    self.status.send_replace(RelayStatus::Connecting);
                    tracing::warn!(relay = %self.relay_url, %reason, "signalling relay lost; reconnecting");
                    let _ = self.events.send(NodeEvent::RelayDisconnected);
                }
                RelayEvent::Unreachable { reason } => {
                    self.status.send_replace(RelayStatus::Unreachable);
                    tracing::warn!(relay = %self.relay_url, %reason, "cannot reach the signalling relay; contacts cannot reach this device until it is back (still trying)");
                    let _ = self.events.send(NodeEvent::RelayUnreachable);
                }
                RelayEvent::Delivered { from, data } => {
                    let claimed = from;
                    if !self.is_known(&claimed) && !self.may_open_from_stranger(&claimed) {
                        continue;
                    }
                    let opened = envelope::open::<Signal>(
                        &self.identity,
                        &data,
                        Some(&claimed),
                        envelope::unix_ms_now(),
                        &mut replay,
                    );
                    match opened {
                        Ok(opened) => self.route(opened).await,
                        Err(error) => {
                            tracing::warn!(from = %claimed.short(), %error, "refused an envelope");
                            let _ = self.events.send(NodeEvent::EnvelopeRefused {
                                claimed_from: claimed,
                                error,
                            });
                        }
                    }
                }
            }
        }
    }

    async fn route(&self, opened: Opened<Signal>) {
        let from = opened.from;
        let reply_to = opened.reply_to();
        tracing::debug!(from = %from.short(), kind = opened.body.kind(), "signal");
        match opened.body {
            Signal::PairRequest { code } => self.pair_request(from, &code).await,
            Signal::PairApproved => {
                if self.is_approved(&from) {
                    let _ = self.events.send(NodeEvent::PairApproved { key: from });
                }
            }
            Signal::PairRefused { reason } => {
                if self.is_known(&from) {
                    let _ = self
                        .events
                        .send(NodeEvent::PairRefused { key: from, reason });
                }
            }
            Signal::Offer {
                session,
                sdp,
                want_video,
                want_audio,
            } => {
                if !self.is_approved(&from) {
                    tracing::debug!(from = %from.short(), "refused a session offer from a key that is not an approved contact");
                    let _ = self.events.send(NodeEvent::OfferRefused { key: from });
                    let refusal = Signal::Refused {
                        session,
                        reason: "not an approved contact of this device".into(),
                        code: Some(crate::signal::EndCode::NotApproved),
                    };
                    self.reply_to_stranger(&reply_to, &refusal).await;
                    return;
                }
                let signals = self.open_session(from, session.clone());
                let offer = IncomingOffer {
                    from,
                    reply_to,
                    session: session.clone(),
                    sdp,
                    want_video,
                    want_audio,
                    signals,
                };
                if self.offers.try_send(offer).is_err() {
                    self.close_session(&from, &session);
                    tracing::warn!(from = %from.short(), "too many offers waiting; refusing one");
                    let refusal = Signal::Refused {
                        session,
                        reason: "the device is busy; try again".into(),
                        code: Some(crate::signal::EndCode::Busy),
                    };
                    self.reply(&reply_to, &refusal).await;
                }
            }
            signal @ (Signal::Answer { .. }
            | Signal::Candidate { .. }
            | Signal::RestartOffer { .. }
            | Signal::RestartAnswer { .. }
            | Signal::RestartRequest { .. }
            | Signal::Refused { .. }
            | Signal::Bye { .. }) => {
                let session = session_of(&signal).expect("session signal");
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
        }
    }

    async fn pair_request(&self, from: PeerKey, code_text: &str) {
        let code = match ContactCode::parse(code_text) {
            Ok(code) if code.peer_key == from => code,
            Ok(_) => {
                tracing::warn!(from = %from.short(), "refused a pairing request carrying someone else's code");
                return;
            }
            Err(e) => {
                tracing::warn!(from = %from.short(), error = %e, "refused a pairing request");
                return;
            }
        };
        let step = self.contacts.with(|book| policy::on_request(book, &code));
        let making_room = match step {
            PairingStep::AlreadyApproved => {
                let to = Recipient {
                    key: code.peer_key,
                    seal_key: code.seal_key,
                };
                self.reply(&to, &Signal::PairApproved).await;
                return;
            }
            PairingStep::Repeated => {
                // Asked again while waiting: nothing to store, nobody to tell.
                tracing::debug!(from = %from.short(), "pairing request repeated while waiting");
                return;
            }
            PairingStep::Wait { making_room } => making_room,
        };
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

    /// Whether an envelope from a key not in the book may be opened now
    /// (the relay authenticated the key that sent it).
    fn may_open_from_stranger(&self, from: &PeerKey) -> bool {
        let mut budget = self.opening.lock().expect("budget lock");
        let allowed = budget.allow(from, std::time::Instant::now());
        if allowed {
            let dropped = budget.take_withheld();
            if dropped > 0 {
                tracing::warn!(
                    dropped,
                    "envelopes from keys that are not contacts were dropped unread (too many)"
                );
            }
        }
        allowed
    }

    /// Answers a key that is not a contact, if the [`StrangerBudget`]
    /// allows: strangers must not spend the relay allowance contacts need.
    async fn reply_to_stranger(&self, to: &Recipient, signal: &Signal) {
        let (allowed, withheld) = {
            let mut budget = self.answering.lock().expect("budget lock");
            let allowed = budget.allow(&to.key, std::time::Instant::now());
            let withheld = if allowed { budget.take_withheld() } else { 0 };
            (allowed, withheld)
        };
        if withheld > 0 {
            tracing::warn!(
                withheld,
                "answers to keys that are not contacts were withheld (too many)"
            );
        }
        if allowed {
            self.reply(to, signal).await;
        }
    }

    async fn reply(&self, to: &Recipient, signal: &Signal) {
        let wire = envelope::seal(&self.identity, to, signal, envelope::unix_ms_now());
        if let Err(e) = self.relay.send(to.key, wire).await {
            tracing::debug!(to = %to.key.short(), error = %e, "reply not sent");
        }
    }

    fn is_approved(&self, key: &PeerKey) -> bool {
        self.contacts.with(|book| book.approved(key).is_some())
    }

    fn is_known(&self, key: &PeerKey) -> bool {
        self.contacts.with(|book| book.get(key).is_some())
    }
}

fn session_of(signal: &Signal) -> Option<SessionId> {
    match signal {
        Signal::Answer { session, .. }
        | Signal::Candidate { session, .. }
        | Signal::RestartOffer { session, .. }
        | Signal::RestartAnswer { session, .. }
        | Signal::RestartRequest { session, .. }
        | Signal::Refused { session, .. }
        | Signal::Bye { session, .. } => Some(session.clone()),
        _ => None,
    }
}
