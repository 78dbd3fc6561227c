//! What a node does with each event from its relay, decided without I/O, in
//! the shape of the relay's hub: [`RouteCore::handle`] takes the time, the
//! contact book and what happened, and returns [`RouteAction`]s for
//! [`super::routing`] to carry out (seal and send, hand an offer over, store
//! a pairing request, forward a session's signal, publish an event).
//!
//! The rules: envelopes from strangers are opened only within a budget, and
//! answered only within another; every envelope is checked (seal, signature,
//! recipient, freshness, replay) before its signal is read; only approved
//! contacts may offer a session, and only known keys may say they approved
//! or refused a pairing; a pairing request carries its sender's own code; a
//! device that cannot take another offer says it is busy.

use super::stranger_budget::StrangerBudget;
use super::{NodeEvent, RelayStatus};
use crate::contacts::ContactBook;
use crate::envelope::{self, Recipient, ReplayGuard};
use crate::identity::{ContactCode, Identity};
use crate::keys::PeerKey;
use crate::policy::{self, PairingStep};
use crate::relay::client::RelayEvent;
use crate::signal::{EndCode, SessionId, Signal};
use std::sync::Arc;
use std::time::Instant;

/// The time, as the core needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    /// For the stranger budgets.
    pub instant: Instant,
    /// For envelope freshness, in Unix milliseconds.
    pub unix_ms: i64,
}

/// What happened.
#[derive(Debug)]
pub(crate) enum RouteInput {
    /// The relay connection changed, or an envelope came.
    Relay(RelayEvent),
    /// An offer handed over could not be taken (too many waiting).
    OfferNotTaken {
        /// Who offered.
        from: PeerKey,
        /// Where the refusal goes.
        reply_to: Recipient,
        /// The session it offered.
        session: SessionId,
    },
}

/// An approved contact's session offer, for the application to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
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
}

/// What to do.
#[derive(Debug)]
pub(crate) enum RouteAction {
    /// The relay status is now this.
    Status(RelayStatus),
    /// Tell the application.
    Emit(NodeEvent),
    /// Seal `signal` for `to` and send it.
    Send {
        /// To whom.
        to: Recipient,
        /// What.
        signal: Signal,
    },
    /// Open the session's signal channel and hand the offer over; report
    /// [`RouteInput::OfferNotTaken`] if it cannot be taken.
    Offer(Offer),
    /// Stop routing a session's signals.
    CloseSession {
        /// The contact.
        from: PeerKey,
        /// The session.
        session: SessionId,
    },
    /// Give a session's signal to that session (if it is still open).
    Forward {
        /// The contact.
        from: PeerKey,
        /// The session.
        session: SessionId,
        /// The signal.
        signal: Signal,
    },
    /// Store a pending pairing request (making room by removing the oldest
    /// stranger if asked), then publish [`NodeEvent::PairRequested`].
    StorePairRequest {
        /// The requester's code (its own, checked).
        code: ContactCode,
        /// The oldest pending request, to remove first.
        making_room: Option<PeerKey>,
    },
}

/// The node's routing rules and the state they keep: the replay guard and
/// the stranger budgets.
pub(crate) struct RouteCore {
    identity: Arc<Identity>,
    replay: ReplayGuard,
    opening: StrangerBudget,
    answering: StrangerBudget,
    status: RelayStatus,
    relay_url: String,
}

impl RouteCore {
    /// A core for `identity`, started at `now_ms` (envelopes older than the
    /// freshness window before it are refused), behind the relay at `relay_url`
    /// (as logs show it).
    pub(crate) fn new(identity: Arc<Identity>, now_ms: i64, relay_url: String) -> Self {
        RouteCore {
            identity,
            replay: ReplayGuard::starting_at(now_ms),
            opening: StrangerBudget::opening(),
            answering: StrangerBudget::answering(),
            status: RelayStatus::Connecting,
            relay_url,
        }
    }

    /// Takes in what happened; returns what to do.
    pub(crate) fn handle(
        &mut self,
        now: Now,
        book: &ContactBook,
        input: RouteInput,
    ) -> Vec<RouteAction> {
        match input {
            RouteInput::Relay(event) => self.on_relay(now, book, event),
            RouteInput::OfferNotTaken {
                from,
                reply_to,
                session,
            } => {
                tracing::warn!(from = %from.short(), "too many offers waiting; refusing one");
                vec![
                    RouteAction::CloseSession {
                        from,
                        session: session.clone(),
                    },
                    RouteAction::Send {
                        to: reply_to,
                        signal: Signal::Refused {
                            session,
                            reason: "the device is busy; try again".into(),
                            code: Some(EndCode::Busy),
                        },
                    },
                ]
            }
        }
    }

    fn on_relay(&mut self, now: Now, book: &ContactBook, event: RelayEvent) -> Vec<RouteAction> {
        let relay = &self.relay_url;
        let (status, event) = match event {
            RelayEvent::Connected => {
                match self.status {
                    RelayStatus::Unreachable => {
                        tracing::info!(relay = %relay, "signalling relay reachable again; contacts can reach this device")
                    }
                    _ => tracing::info!(relay = %relay, "signalling relay connected"),
                }
                (RelayStatus::Connected, NodeEvent::RelayConnected)
            }
            RelayEvent::Disconnected {
                reason: crate::relay::RelayError::Stopped,
            } => {
                tracing::info!(relay = %relay, "left the signalling relay");
                (RelayStatus::Connecting, NodeEvent::RelayDisconnected)
            }
            RelayEvent::Disconnected { reason } => {
                tracing::warn!(relay = %relay, %reason, "signalling relay lost; reconnecting");
                (RelayStatus::Connecting, NodeEvent::RelayDisconnected)
            }
            RelayEvent::Unreachable { reason } => {
                tracing::warn!(relay = %relay, %reason, "cannot reach the signalling relay; contacts cannot reach this device until it is back (still trying)");
                (RelayStatus::Unreachable, NodeEvent::RelayUnreachable)
            }
            RelayEvent::Delivered { from, data } => {
                return self.on_envelope(now, book, from, &data)
            }
        };
        self.status = status;
        vec![RouteAction::Status(status), RouteAction::Emit(event)]
    }

    fn on_envelope(
        &mut self,
        now: Now,
        book: &ContactBook,
        claimed: PeerKey,
        data: &[u8],
    ) -> Vec<RouteAction> {
        if book.get(&claimed).is_none() && !self.may_open_from_stranger(&claimed, now.instant) {
            return vec![];
        }
        let opened = envelope::open::<Signal>(
            &self.identity,
            data,
            Some(&claimed),
            now.unix_ms,
            &mut self.replay,
        );
        let opened = match opened {
            Ok(opened) => opened,
            Err(error) => {
                tracing::warn!(from = %claimed.short(), %error, "refused an envelope");
                return vec![RouteAction::Emit(NodeEvent::EnvelopeRefused {
                    claimed_from: claimed,
                    error,
                })];
            }
        };
        let from = opened.from;
        let reply_to = opened.reply_to();
        tracing::debug!(from = %from.short(), kind = opened.body.kind(), "signal");
        let approved = book.approved(&from).is_some();
        let known = book.get(&from).is_some();
        match opened.body {
            Signal::PairRequest { code } => self.pair_request(book, from, &code),
            Signal::PairApproved if approved => {
                vec![RouteAction::Emit(NodeEvent::PairApproved { key: from })]
            }
            Signal::PairRefused { reason } if known => {
                vec![RouteAction::Emit(NodeEvent::PairRefused {
                    key: from,
                    reason,
                })]
            }
            Signal::PairApproved | Signal::PairRefused { .. } => vec![],
            Signal::Offer { session, .. } if !approved => {
                tracing::debug!(from = %from.short(), "refused a session offer from a key that is not an approved contact");
                let mut actions = vec![RouteAction::Emit(NodeEvent::OfferRefused { key: from })];
                if self.may_answer_stranger(&from, now.instant) {
                    actions.push(RouteAction::Send {
                        to: reply_to,
                        signal: Signal::Refused {
                            session,
                            reason: "not an approved contact of this device".into(),
                            code: Some(EndCode::NotApproved),
                        },
                    });
                }
                actions
            }
            Signal::Offer {
                session,
                sdp,
                want_video,
                want_audio,
            } => vec![RouteAction::Offer(Offer {
                from,
                reply_to,
                session,
                sdp,
                want_video,
                want_audio,
            })],
            signal => match session_of(&signal) {
                Some(session) => vec![RouteAction::Forward {
                    from,
                    session,
                    signal,
                }],
                None => vec![],
            },
        }
    }

    fn pair_request(&mut self, book: &ContactBook, from: PeerKey, code: &str) -> Vec<RouteAction> {
        let code = match ContactCode::parse(code) {
            Ok(code) if code.peer_key == from => code,
            Ok(_) => {
                tracing::warn!(from = %from.short(), "refused a pairing request carrying someone else's code");
                return vec![];
            }
            Err(e) => {
                tracing::warn!(from = %from.short(), error = %e, "refused a pairing request");
                return vec![];
            }
        };
        match policy::on_request(book, &code) {
            PairingStep::AlreadyApproved => vec![RouteAction::Send {
                to: Recipient {
                    key: code.peer_key,
                    seal_key: code.seal_key,
                },
                signal: Signal::PairApproved,
            }],
            PairingStep::Repeated => {
                // Asked again while waiting: nothing to store, nobody to tell.
                tracing::debug!(from = %from.short(), "pairing request repeated while waiting");
                vec![]
            }
            PairingStep::Wait { making_room } => {
                vec![RouteAction::StorePairRequest { code, making_room }]
            }
        }
    }

    /// Whether an envelope from a key not in the book may be opened now
    /// (the relay authenticated the key that sent it).
    fn may_open_from_stranger(&mut self, from: &PeerKey, now: Instant) -> bool {
        let allowed = self.opening.allow(from, now);
        if allowed {
            let dropped = self.opening.take_withheld();
            if dropped > 0 {
                tracing::warn!(
                    dropped,
                    "envelopes from keys that are not contacts were dropped unread (too many)"
                );
            }
        }
        allowed
    }

    /// Whether a key that is not a contact may be answered now: strangers
    /// must not spend the relay allowance contacts need.
    fn may_answer_stranger(&mut self, to: &PeerKey, now: Instant) -> bool {
        let allowed = self.answering.allow(to, now);
        if allowed {
            let withheld = self.answering.take_withheld();
            if withheld > 0 {
                tracing::warn!(
                    withheld,
                    "answers to keys that are not contacts were withheld (too many)"
                );
            }
        }
        allowed
    }
}

/// The session a signal belongs to, for those that belong to one.
fn session_of(signal: &Signal) -> Option<SessionId> {
    match signal {
        Signal::Answer { session, .. }
        | Signal::Candidate { session, .. }
        | Signal::RestartOffer { session, .. }
        | Signal::RestartAnswer { session, .. }
        | Signal::RestartRequest { session, .. }
        | Signal::Refused { session, .. }
        | Signal::Bye { session, .. } => Some(session.clone()),
        Signal::PairRequest { .. }
        | Signal::PairApproved
        | Signal::PairRefused { .. }
        | Signal::Offer { .. } => None,
    }
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
