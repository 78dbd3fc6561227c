//! Setting up a call, as a sans-IO state machine with the shape of the
//! relay's hub: [`CallSetup::handle`] takes what happened (a signal, the
//! connection's outcome, the certificate check, the time) and returns what to
//! do. The async code in `setup_io.rs` only carries the actions out, for
//! the caller ([`super::PeerConnection`], `hearth watch`), the answering side
//! ([`super::IncomingCall`], the device) and WHEP players alike.
//!
//! Every rule of a call's first seconds lives here: what an answer grants,
//! which refusals the other side is told about, when to give up waiting for
//! an answer, which candidates wait for the answer, what a hang-up during
//! connecting means, and that nothing is ready before the DTLS certificate
//! matches the fingerprint the contact signed.

use super::RtcError;
use crate::peer::{sdp_fingerprint, IceCandidate, PeerError};
use crate::policy::Grant;
use crate::signal::{EndCode, Signal};
use std::time::{Duration, Instant};

/// How long the answering side holds relay (TURN) candidates back — its own
/// and the caller's — so that a direct path found meanwhile wins. The device
/// answers calls, so ICE makes it the controlled side, and the controlled
/// side of this ICE stack keeps the first pair the caller nominates; a
/// browser nominates the first pair that works (a relay pair between two
/// TURN allocations counts as working at once) and moves to a direct one
/// later, which the device would not follow: its media would go through TURN
/// for the whole session although a direct path works. Without a direct
/// path the relay candidates go after this and connect as before.
pub const RELAY_HOLD: Duration = Duration::from_secs(1);

/// Which side of a call this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupSide {
    /// This side offered, and asked for the contact's media if `want`.
    Caller {
        /// This side asked to receive the contact's video and audio.
        want: bool,
    },
    /// A contact's signalled offer, answered with `granted`.
    Callee {
        /// The caller's SDP offer (its fingerprint binds the session).
        offer_sdp: String,
        /// What this side sends.
        granted: Grant,
    },
    /// A WHEP player's offer, answered in the HTTP response: no signalling,
    /// no fingerprint binding (a token identifies the player).
    Whep {
        /// What this side sends.
        granted: Grant,
    },
}

/// The timing a set-up follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetupTimes {
    /// How long a caller waits for the answer.
    pub answer_timeout: Duration,
    /// Whether this side had a TURN server to try (the words of a missing
    /// path say what helps).
    pub has_turn: bool,
}

/// What happened.
#[derive(Debug)]
pub enum SetupInput {
    /// A signal of this session arrived.
    Signal(Signal),
    /// The session's signalling stopped.
    SignalsClosed,
    /// The answer went out (answering side).
    AnswerSent,
    /// The connection came up, or could not.
    Connected(Result<(), PeerError>),
    /// The remote DTLS certificate was compared with the signed fingerprint.
    Verified(bool),
    /// Carrying out an action failed.
    Failed(RtcError),
}

/// What to do.
#[derive(Debug)]
pub enum SetupAction {
    /// Apply the contact's answer (caller).
    ApplyAnswer(String),
    /// Apply the caller's offer (this SDP: the offer without the candidates
    /// held back) and send this side's answer, passed through
    /// [`CallSetup::answer_to_send`] (answering side); then report
    /// [`SetupInput::AnswerSent`].
    SendAnswer {
        /// The offer to apply.
        offer_sdp: String,
    },
    /// Add a candidate the contact trickled.
    AddCandidate(IceCandidate),
    /// Send the contact one of this side's candidates (answering side: one
    /// held back from the answer).
    SendCandidate(IceCandidate),
    /// Wait for the connection (within the connect timeout); then report
    /// [`SetupInput::Connected`].
    Connect,
    /// Compare the remote DTLS certificate with this fingerprint; then report
    /// [`SetupInput::Verified`].
    Verify(String),
    /// The call is set up: hand it to a session.
    Ready {
        /// What flows from the answering side.
        granted: Grant,
        /// The contact's signed DTLS fingerprint (empty for WHEP).
        fingerprint: String,
    },
    /// The call could not be set up.
    Fail {
        /// Why.
        error: RtcError,
        /// Tell the contact (a `bye`): not when it refused or hung up itself.
        tell: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Caller: the offer is out, the answer is awaited until the deadline.
    AwaitingAnswer,
    /// Answering side: the answer is being made and sent.
    Answering,
    /// The connection is being made.
    Connecting,
    /// The certificate is being checked.
    Verifying,
    /// Ready or failed: nothing more happens.
    Over,
}

/// One call's set-up.
#[derive(Debug)]
pub struct CallSetup {
    side: SetupSide,
    times: SetupTimes,
    phase: Phase,
    deadline: Option<Instant>,
    /// Candidates that came before the answer (caller).
    early: Vec<IceCandidate>,
    /// Relay candidates held back until `relay_release` (answering side):
    /// this side's, and the contact's.
    held_local: Vec<IceCandidate>,
    held_remote: Vec<IceCandidate>,
    /// When the held relay candidates go; `None`: none are held.
    relay_release: Option<Instant>,
    granted: Option<Grant>,
    fingerprint: String,
}

impl CallSetup {
    /// A set-up starting at `now`, and its first actions.
    pub fn start(
        side: SetupSide,
        times: SetupTimes,
        now: Instant,
    ) -> (CallSetup, Vec<SetupAction>) {
        let mut setup = CallSetup {
            side,
            times,
            phase: Phase::Over,
            deadline: None,
            early: vec![],
            held_local: vec![],
            held_remote: vec![],
            relay_release: None,
            granted: None,
            fingerprint: String::new(),
        };
        let actions = match &setup.side {
            SetupSide::Caller { .. } => {
                setup.phase = Phase::AwaitingAnswer;
                setup.deadline = Some(now + times.answer_timeout);
                vec![]
            }
            SetupSide::Callee { offer_sdp, granted } => match sdp_fingerprint(offer_sdp) {
                Some(fingerprint) => {
                    setup.fingerprint = fingerprint;
                    setup.granted = Some(granted.clone());
                    setup.phase = Phase::Answering;
                    setup.relay_release = Some(now + RELAY_HOLD);
                    let (offer_sdp, held) = without_relay_candidates(offer_sdp);
                    setup.held_remote = held;
                    vec![SetupAction::SendAnswer { offer_sdp }]
                }
                None => setup.fail(RtcError::FingerprintMismatch, true),
            },
            SetupSide::Whep { granted } => {
                setup.granted = Some(granted.clone());
                setup.phase = Phase::Connecting;
                vec![SetupAction::Connect]
            }
        };
        (setup, actions)
    }

    /// When [`CallSetup::timed_out`] should be called, if ever.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.deadline, self.relay_release) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The answer SDP to send, made from the one this side's peer wrote:
    /// its relay candidates are held back (see [`RELAY_HOLD`]) when it has
    /// others to try first.
    pub fn answer_to_send(&mut self, sdp: &str, now: Instant) -> String {
        let (direct, held) = without_relay_candidates(sdp);
        if held.is_empty() || !direct.contains("a=candidate:") {
            return sdp.to_string();
        }
        self.held_local = held;
        self.relay_release.get_or_insert(now + RELAY_HOLD);
        direct
    }

    /// Whether the set-up is over (ready or failed).
    pub fn is_over(&self) -> bool {
        self.phase == Phase::Over
    }

    /// Time has passed: the held relay candidates go once their moment is
    /// over; a caller gives up waiting for an answer once the deadline is reached.
    pub fn timed_out(&mut self, now: Instant) -> Vec<SetupAction> {
        if self.relay_release.is_some_and(|at| now >= at) {
            self.relay_release = None;
            if self.phase != Phase::Over {
                let send = self.held_local.drain(..).map(SetupAction::SendCandidate);
                let add = self.held_remote.drain(..).map(SetupAction::AddCandidate);
                return send.chain(add).collect();
            }
        }
        match self.deadline {
            Some(deadline) if now >= deadline && self.phase == Phase::AwaitingAnswer => {
                self.fail(RtcError::NoAnswer(self.times.answer_timeout), true)
            }
            _ => vec![],
        }
    }

    /// Takes in what happened; returns what to do.
    pub fn handle(&mut self, input: SetupInput) -> Vec<SetupAction> {
        match (self.phase, input) {
            (Phase::Over, _) => vec![],
            (_, SetupInput::Failed(error)) => self.fail(error, true),
            (phase, SetupInput::Signal(signal)) => self.on_signal(phase, signal),
            (Phase::AwaitingAnswer, SetupInput::SignalsClosed) => {
                self.fail(RtcError::Closed("signalling stopped".into()), true)
            }
            // Once answered, a call needs no more signals to connect.
            (_, SetupInput::SignalsClosed) => vec![],
            (Phase::Answering, SetupInput::AnswerSent) => {
                self.phase = Phase::Connecting;
                vec![SetupAction::Connect]
            }
            (Phase::Connecting, SetupInput::Connected(Ok(()))) => match self.side {
                SetupSide::Whep { .. } => self.ready(),
                _ => {
                    self.phase = Phase::Verifying;
                    vec![SetupAction::Verify(self.fingerprint.clone())]
                }
            },
            (Phase::Connecting, SetupInput::Connected(Err(error))) => {
                let error = RtcError::from_connect(error, self.times.has_turn);
                self.fail(error, true)
            }
            (Phase::Verifying, SetupInput::Verified(true)) => self.ready(),
            (Phase::Verifying, SetupInput::Verified(false)) => {
                self.fail(RtcError::FingerprintMismatch, true)
            }
            (phase, input) => {
                tracing::debug!(?phase, ?input, "call set-up: nothing to do");
                vec![]
            }
        }
    }

    fn on_signal(&mut self, phase: Phase, signal: Signal) -> Vec<SetupAction> {
        match (phase, signal) {
            (
                Phase::AwaitingAnswer,
                Signal::Answer {
                    sdp,
                    video,
                    audio,
                    denied,
                    ..
                },
            ) => {
                let want = matches!(self.side, SetupSide::Caller { want: true });
                let Some(fingerprint) = sdp_fingerprint(&sdp) else {
                    return self.fail(RtcError::FingerprintMismatch, true);
                };
                self.fingerprint = fingerprint;
                self.granted = Some(Grant {
                    video: video && want,
                    audio: audio && want,
                    denied,
                });
                self.phase = Phase::Connecting;
                self.deadline = None;
                let mut actions = vec![SetupAction::ApplyAnswer(sdp)];
                actions.extend(self.early.drain(..).map(SetupAction::AddCandidate));
                actions.push(SetupAction::Connect);
                actions
            }
            (
                Phase::AwaitingAnswer | Phase::Answering | Phase::Connecting,
                Signal::Candidate {
                    candidate,
                    sdp_mid,
                    sdp_mline_index,
                    ..
                },
            ) => {
                if candidate.is_empty() {
                    // The end of the contact's candidates: nothing to add.
                    return vec![];
                }
                let candidate = IceCandidate {
                    candidate,
                    sdp_mid,
                    sdp_mline_index,
                    username_fragment: None,
                };
                if self.relay_release.is_some() && is_relay(&candidate.candidate) {
                    self.held_remote.push(candidate);
                    vec![]
                } else if phase == Phase::Connecting {
                    vec![SetupAction::AddCandidate(candidate)]
                } else {
                    self.early.push(candidate);
                    vec![]
                }
            }
            (Phase::AwaitingAnswer, Signal::Refused { reason, code, .. }) => {
                let code = code.unwrap_or(EndCode::Unknown);
                self.fail(RtcError::Refused { code, reason }, false)
            }
            (_, Signal::Bye { reason, code, .. }) => {
                let error = match code {
                    // The contact found no path first: there is none from here either.
                    Some(EndCode::NoPath) if phase != Phase::AwaitingAnswer => RtcError::NoPath {
                        turn: self.times.has_turn,
                    },
                    _ => RtcError::Refused {
                        code: code.unwrap_or(if phase == Phase::AwaitingAnswer {
                            EndCode::Unknown
                        } else {
                            EndCode::HungUp
                        }),
                        reason: reason.unwrap_or_else(|| "the contact hung up".into()),
                    },
                };
                self.fail(error, false)
            }
            (phase, signal) => {
                tracing::debug!(?phase, kind = signal.kind(), "call set-up: signal ignored");
                vec![]
            }
        }
    }

    fn ready(&mut self) -> Vec<SetupAction> {
        self.phase = Phase::Over;
        self.deadline = None;
        // Connected without them: the held relay candidates are not needed.
        self.relay_release = None;
        vec![SetupAction::Ready {
            granted: self.granted.take().unwrap_or_default(),
            fingerprint: std::mem::take(&mut self.fingerprint),
        }]
    }

    fn fail(&mut self, error: RtcError, tell: bool) -> Vec<SetupAction> {
        self.phase = Phase::Over;
        self.deadline = None;
        self.relay_release = None;
        // A WHEP player has no signalling to be told on.
        let tell = tell && !matches!(self.side, SetupSide::Whep { .. });
        vec![SetupAction::Fail { error, tell }]
    }
}

/// Whether a `candidate:` line is a relay (TURN) candidate.
fn is_relay(candidate: &str) -> bool {
    let mut words = candidate.split_whitespace();
    words.any(|w| w == "typ") && words.next() == Some("relay")
}

/// The SDP without its relay candidates, and those candidates, each with its
/// media section's `mid` and index.
fn without_relay_candidates(sdp: &str) -> (String, Vec<IceCandidate>) {
    let mut kept = String::with_capacity(sdp.len());
    let mut held = vec![];
    // Per media section: where its held candidates start, to name its `mid` once known.
    let (mut section, mut section_start, mut mid): (Option<u16>, usize, Option<String>) =
        (None, 0, None);
    let name_section = |held: &mut Vec<IceCandidate>, from: usize, mid: &Option<String>| {
        for c in &mut held[from..] {
            c.sdp_mid = mid.clone();
        }
    };
    for line in sdp.split_inclusive('\n') {
        let text = line.trim_end_matches(['\r', '\n']);
        if text.starts_with("m=") {
            name_section(&mut held, section_start, &mid);
            section = Some(section.map_or(0, |n| n + 1));
            section_start = held.len();
            mid = None;
        } else if let Some(value) = text.strip_prefix("a=mid:") {
            mid = Some(value.to_string());
        } else if let Some(candidate) = text.strip_prefix("a=") {
            if candidate.starts_with("candidate:") && is_relay(candidate) {
                held.push(IceCandidate {
                    candidate: candidate.to_string(),
                    sdp_mid: None,
                    sdp_mline_index: Some(section.unwrap_or(0)),
                    username_fragment: None,
                });
                continue;
            }
        }
        kept.push_str(line);
    }
    name_section(&mut held, section_start, &mid);
    (kept, held)
}

#[cfg(test)]
#[path = "setup_tests.rs"]
mod tests;
