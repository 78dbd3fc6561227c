//! When a live session restarts ICE, how often, and when it gives up: the
//! decisions alone, with no sockets and no clock (time comes in as an
//! `Instant`), so a test drives them on fake time. The session loop
//! (`session.rs`) feeds in what it sees and carries out what comes back.
//!
//! The rules:
//! - Only the caller (the side that made the first offer) makes restart
//!   offers, so both sides never restart at once. The callee, when it notices
//!   first, asks the caller with a `restart_request`.
//! - A side notices: ICE went disconnected or failed, this host's addresses
//!   changed, or (caller only) the callee asked.
//! - The first attempt goes out at once, the next ones after
//!   [`RecoveryConfig::retry_first`], then every [`RecoveryConfig::retry_max`]
//!   while the path stays down: a restart whose checks find no path stops
//!   checking after about a second and a half, so media can only come back
//!   within one retry period of the network coming back. Attempts are never
//!   closer together than [`RecoveryConfig::min_gap`].
//! - An attempt that could not be sent (the relay connection was being made
//!   again, as it is right after an address change) is made again as soon
//!   as the relay is back, without waiting for the next retry.
//! - The session ends after [`RecoveryConfig::give_up`] without a path, or
//!   after [`RecoveryConfig::contact_gone`] of it when the relay says the
//!   contact is not there (it closed its page): no restart can reach it.

use crate::signal::RestartCause;
use std::time::{Duration, Instant};

/// Which side of the session this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Made the first offer; makes every restart offer.
    Caller,
    /// Answered; asks the caller to restart.
    Callee,
}

/// Timing of recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecoveryConfig {
    /// Delay after the first attempt while the path stays down.
    pub retry_first: Duration,
    /// Delay between later attempts while the path stays down.
    pub retry_max: Duration,
    /// Attempts are never closer together than this.
    pub min_gap: Duration,
    /// The session ends after this long without a path.
    pub give_up: Duration,
    /// The session ends sooner when, all the while the path is down, the
    /// contact has not been at the relay for this long: it left (a browser
    /// tab closed), and without signalling no restart can reach it.
    pub contact_gone: Duration,
}

impl Default for RecoveryConfig {
    /// Retries after 1 s, then every 2 s; at most one attempt a second; ends
    /// after 60 s without a path (a 30 s outage keeps its session), or after
    /// 20 s of it when the contact has left the relay meanwhile (a closed
    /// page says goodbye first; a phone changing networks is back sooner).
    fn default() -> Self {
        RecoveryConfig {
            retry_first: Duration::from_secs(1),
            retry_max: Duration::from_secs(2),
            min_gap: Duration::from_secs(1),
            give_up: Duration::from_secs(60),
            contact_gone: Duration::from_secs(20),
        }
    }
}

/// What the session saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// ICE and DTLS are up (again).
    Connected,
    /// ICE consent stopped.
    Disconnected,
    /// ICE failed.
    Failed,
    /// This host's addresses changed.
    AddressesChanged,
    /// The callee asked for a restart, having seen this (caller only;
    /// ignored by a callee).
    RestartRequested(RestartCause),
    /// The last attempt could not be sent to the contact.
    NotSent,
    /// The last attempt could not be sent: the contact is not at the relay
    /// (also [`Seen::NotSent`]).
    ContactOffline,
    /// The last attempt reached the relay and the contact.
    Sent,
    /// The signalling relay is connected (again).
    SignallingUp,
}

/// What the session should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Caller: restart ICE (send a `restart_offer`).
    Restart(RestartCause),
    /// Callee: ask the caller to restart (send a `restart_request`).
    AskRestart(RestartCause),
    /// End the session: no path for [`RecoveryConfig::give_up`].
    GiveUp,
}

/// The recovery state of one session. See the module documentation.
#[derive(Debug)]
pub(crate) struct Recovery {
    side: Side,
    config: RecoveryConfig,
    /// Since when there has been no path; `None` while connected.
    lost_since: Option<Instant>,
    /// When the next attempt is due, and why.
    due: Option<(Instant, RestartCause)>,
    /// When the last attempt went out.
    last_attempt: Option<Instant>,
    /// Attempts since the path was last up.
    attempts: u32,
    /// The last attempt could not be sent, and why it was made.
    unsent: Option<RestartCause>,
    /// Why the last attempt was made.
    last_cause: Option<RestartCause>,
    /// Since when the contact has not been at the relay, while the path is down.
    offline_since: Option<Instant>,
}

impl Recovery {
    /// A session that is connected now.
    pub(crate) fn new(side: Side, config: RecoveryConfig) -> Self {
        Recovery {
            side,
            config,
            lost_since: None,
            due: None,
            last_attempt: None,
            attempts: 0,
            unsent: None,
            last_cause: None,
            offline_since: None,
        }
    }

    /// Takes in what the session saw at `now`.
    pub(crate) fn seen(&mut self, seen: Seen, now: Instant) {
        let cause = match seen {
            Seen::Connected => {
                self.lost_since = None;
                self.due = None;
                self.attempts = 0;
                self.unsent = None;
                self.offline_since = None;
                return;
            }
            Seen::NotSent => {
                self.unsent = self.last_cause;
                return;
            }
            Seen::ContactOffline => {
                self.unsent = self.last_cause;
                if self.lost_since.is_some() {
                    self.offline_since.get_or_insert(now);
                }
                return;
            }
            Seen::Sent => {
                self.offline_since = None;
                return;
            }
            Seen::SignallingUp => {
                // Nothing went out: no gap to keep.
                if let Some(cause) = self.unsent.take() {
                    self.due = Some((now, cause));
                }
                return;
            }
            Seen::RestartRequested(_) if self.side == Side::Callee => return,
            Seen::RestartRequested(cause) => cause,
            Seen::Disconnected => RestartCause::Disconnected,
            Seen::Failed => RestartCause::Failed,
            Seen::AddressesChanged => RestartCause::AddressChanged,
        };
        if matches!(seen, Seen::Disconnected | Seen::Failed) && self.lost_since.is_none() {
            self.lost_since = Some(now);
        }
        // A restart already due soon keeps its time; otherwise one goes out as
        // soon as the minimum gap allows.
        let earliest = self
            .last_attempt
            .map_or(now, |last| (last + self.config.min_gap).max(now));
        match self.due {
            Some((at, _)) if at <= earliest => {}
            _ => self.due = Some((earliest, cause)),
        }
    }

    /// Whether the path is down now.
    pub(crate) fn is_lost(&self) -> bool {
        self.lost_since.is_some()
    }

    /// When [`Recovery::poll`] next has something to do.
    pub(crate) fn next_wake(&self) -> Option<Instant> {
        let give_up = self.give_up_at();
        match (self.due.map(|(at, _)| at), give_up) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When the session ends if nothing changes: [`RecoveryConfig::give_up`]
    /// after the path went down, sooner if the contact left the relay.
    fn give_up_at(&self) -> Option<Instant> {
        let lost = self.lost_since.map(|since| since + self.config.give_up)?;
        let gone = self
            .offline_since
            .map(|since| since + self.config.contact_gone);
        Some(gone.map_or(lost, |gone| gone.min(lost)))
    }

    /// What to do at `now`, if anything.
    pub(crate) fn poll(&mut self, now: Instant) -> Option<Action> {
        if self.give_up_at().is_some_and(|at| now >= at) {
            // Said once: the session ends.
            self.due = None;
            self.lost_since = None;
            self.offline_since = None;
            return Some(Action::GiveUp);
        }
        let (at, cause) = self.due?;
        if now < at {
            return None;
        }
        self.attempts += 1;
        self.last_attempt = Some(now);
        self.last_cause = Some(cause);
        self.unsent = None;
        // While there is no path, try again; while connected (an address
        // change), one attempt: if it breaks the path, ICE says so.
        self.due = self.lost_since.map(|_| {
            let delay = if self.attempts == 1 {
                self.config.retry_first
            } else {
                self.config.retry_max
            };
            (now + delay.max(self.config.min_gap), cause)
        });
        Some(match self.side {
            Side::Caller => Action::Restart(cause),
            Side::Callee => Action::AskRestart(cause),
        })
    }
}

#[cfg(test)]
#[path = "recovery_tests.rs"]
mod tests;
