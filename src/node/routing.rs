//! Opens envelopes from the relay and routes the signals inside them. Every
//! refusal is logged with the sender's short key and the reason, never the
//! content.

use crate::contacts::ContactStatus;
use crate::envelope::{self, Opened, Recipient, ReplayGuard};
use crate::identity::{ContactCode, Identity};
use crate::keys::PeerKey;
use crate::live_contacts::LiveContacts;
use crate::relay::client::{RelayEvent, RelayHandle};
use crate::signal::{SessionId, Signal};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc};

/// Something the owner or the application may want to know about.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeEvent {
    /// The relay connection is up.
    RelayConnected,
    /// The relay connection dropped; it is being re-established.
    RelayDisconnected,
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

/// Most pairing requests kept waiting for the owner at once.
pub const MAX_PENDING_REQUESTS: usize = 16;

pub(super) struct Router {
    identity: Arc<Identity>,
    contacts: LiveContacts,
    relay: RelayHandle,
    offers: mpsc::Sender<IncomingOffer>,
    sessions: Mutex<HashMap<SessionKey, mpsc::Sender<Signal>>>,
    events: broadcast::Sender<NodeEvent>,
    connected: AtomicBool,
}

impl Router {
    pub(super) fn new(
        identity: Arc<Identity>,
        contacts: LiveContacts,
        relay: RelayHandle,
        offers: mpsc::Sender<IncomingOffer>,
    ) -> Self {
        Router {
            identity,
            contacts,
            relay,
            offers,
            sessions: Mutex::new(HashMap::new()),
            events: broadcast::channel(64).0,
            connected: AtomicBool::new(false),
        }
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    pub(super) fn relay_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
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
        let mut replay = ReplayGuard::new();
        while let Some(event) = relay_events.recv().await {
            match event {
                RelayEvent::Connected => {
                    self.connected.store(true, Ordering::Relaxed);
                    tracing::info!("signalling relay connected");
                    let _ = self.events.send(NodeEvent::RelayConnected);
                }
                RelayEvent::Disconnected { reason } => {
                    self.connected.store(false, Ordering::Relaxed);
                    tracing::warn!(%reason, "signalling relay lost; reconnecting");
                    let _ = self.events.send(NodeEvent::RelayDisconnected);
                }
                RelayEvent::Delivered { from, data } => {
                    let claimed = PeerKey(from);
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
                    tracing::warn!(from = %from.short(), "refused a session offer from a key that is not an approved contact");
                    let _ = self.events.send(NodeEvent::OfferRefused { key: from });
                    let refusal = Signal::Refused {
                        session,
                        reason: "not an approved contact of this device".into(),
                        code: Some(crate::signal::EndCode::NotApproved),
                    };
                    self.reply(&reply_to, &refusal).await;
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
        if self.is_approved(&from) {
            let to = Recipient {
                key: code.peer_key,
                seal_key: code.seal_key,
            };
            self.reply(&to, &Signal::PairApproved).await;
            return;
        }
        let pending = self.contacts.with(|book| {
            book.iter()
                .filter(|c| c.status == ContactStatus::Pending)
                .count()
        });
        if pending >= MAX_PENDING_REQUESTS && !self.is_known(&from) {
            tracing::warn!(from = %from.short(), "too many pairing requests waiting; refusing one (approve or remove some)");
            let to = Recipient {
                key: code.peer_key,
                seal_key: code.seal_key,
            };
            let refusal = Signal::PairRefused {
                reason: "the device has too many requests waiting; try again later".into(),
            };
            self.reply(&to, &refusal).await;
            return;
        }
        let stored = self
            .contacts
            .update(|book| {
                book.upsert(&code, ContactStatus::Pending);
            })
            .await;
        if let Err(e) = stored {
            tracing::error!(error = %e, "could not store a pairing request");
            return;
        }
        tracing::info!(from = %from.short(), name = %code.name, "pairing request waiting for the owner");
        let _ = self.events.send(NodeEvent::PairRequested {
            key: from,
            name: code.name,
        });
    }

    async fn reply(&self, to: &Recipient, signal: &Signal) {
        let wire = envelope::seal(&self.identity, to, signal, envelope::unix_ms_now());
        if let Err(e) = self.relay.send(to.key.0, wire).await {
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
        | Signal::Refused { session, .. }
        | Signal::Bye { session, .. } => Some(session.clone()),
        _ => None,
    }
}
