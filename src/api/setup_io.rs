//! Carries out a [`CallSetup`]'s actions on a real peer and real signalling:
//! the only async part of setting up a call. It decides nothing; every rule
//! is in [`super::setup`].

use super::setup::{CallSetup, SetupAction, SetupInput};
use super::RtcError;
use crate::envelope::Recipient;
use crate::node::Node;
use crate::peer::{HearthPeer, PeerResult};
use crate::policy::Grant;
use crate::signal::{SessionId, Signal};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::mpsc;

/// How the answering side answers: the caller's offer, and where its answer goes.
pub(super) struct Answering<'a> {
    pub node: &'a Node,
    pub reply_to: &'a Recipient,
    pub session: &'a SessionId,
    pub granted: &'a Grant,
}

/// Why a set-up failed, and whether the contact should be told.
pub(super) struct SetupFailed {
    pub error: RtcError,
    pub tell: bool,
}

/// Runs `setup` from its `first` actions to the end: returns what the
/// answering side grants and the contact's signed fingerprint, or why not.
pub(super) async fn run_setup(
    peer: &HearthPeer,
    mut setup: CallSetup,
    first: Vec<SetupAction>,
    mut signals: Option<&mut mpsc::Receiver<Signal>>,
    answering: Option<Answering<'_>>,
    connect_timeout: Duration,
) -> Result<(Grant, String), SetupFailed> {
    let mut pending: VecDeque<SetupAction> = first.into();
    let mut connecting: Option<Pin<Box<dyn Future<Output = PeerResult<()>> + Send + '_>>> = None;
    let mut signals_open = signals.is_some();
    loop {
        while let Some(action) = pending.pop_front() {
            let input = match action {
                SetupAction::ApplyAnswer(sdp) => peer
                    .accept_answer(&sdp)
                    .await
                    .err()
                    .map(|e| SetupInput::Failed(e.into())),
                SetupAction::SendAnswer { offer_sdp } => Some(match &answering {
                    Some(answering) => {
                        match send_answer(peer, &mut setup, answering, &offer_sdp).await {
                            Ok(()) => SetupInput::AnswerSent,
                            Err(e) => SetupInput::Failed(e),
                        }
                    }
                    None => SetupInput::Failed(RtcError::Closed("nothing to answer".into())),
                }),
                SetupAction::AddCandidate(candidate) => {
                    if let Err(e) = peer.add_remote_candidate(&candidate).await {
                        tracing::debug!(error = %e, "ignored a remote candidate");
                    }
                    None
                }
                SetupAction::SendCandidate(candidate) => {
                    if let Some(answering) = &answering {
                        let signal = Signal::Candidate {
                            session: answering.session.clone(),
                            candidate: candidate.candidate,
                            sdp_mid: candidate.sdp_mid,
                            sdp_mline_index: candidate.sdp_mline_index,
                        };
                        if let Err(e) = answering.node.send_to(answering.reply_to, &signal).await {
                            tracing::debug!(error = %e, "could not send a relay candidate");
                        }
                    }
                    None
                }
                SetupAction::Connect => {
                    connecting = Some(Box::pin(peer.wait_connected(connect_timeout)));
                    None
                }
                SetupAction::Verify(fingerprint) => Some(SetupInput::Verified(
                    peer.verify_remote_fingerprint(&fingerprint).await.is_ok(),
                )),
                SetupAction::Ready {
                    granted,
                    fingerprint,
                } => return Ok((granted, fingerprint)),
                SetupAction::Fail { error, tell } => return Err(SetupFailed { error, tell }),
            };
            if let Some(input) = input {
                pending.extend(setup.handle(input));
            }
        }
        let deadline = setup.deadline();
        let input = tokio::select! {
            _ = sleep_until(deadline), if deadline.is_some() => {
                pending.extend(setup.timed_out(std::time::Instant::now()));
                continue;
            }
            result = async { connecting.as_mut().expect("connecting").await }, if connecting.is_some() => {
                connecting = None;
                SetupInput::Connected(result)
            }
            signal = async { signals.as_mut().expect("signals").recv().await }, if signals_open => match signal {
                Some(signal) => SetupInput::Signal(signal),
                None => {
                    signals_open = false;
                    SetupInput::SignalsClosed
                }
            },
            else => SetupInput::Failed(RtcError::Closed("the call set-up has nothing left to wait for".into())),
        };
        pending.extend(setup.handle(input));
    }
}

/// Applies the caller's offer and sends this side's answer, as the set-up
/// says (it may hold some candidates back).
async fn send_answer(
    peer: &HearthPeer,
    setup: &mut CallSetup,
    answering: &Answering<'_>,
    offer_sdp: &str,
) -> Result<(), RtcError> {
    let sdp = peer.accept_offer(offer_sdp).await?;
    let answer = Signal::Answer {
        session: answering.session.clone(),
        sdp: setup.answer_to_send(&sdp, std::time::Instant::now()),
        video: answering.granted.video,
        audio: answering.granted.audio,
        denied: answering.granted.denied.clone(),
    };
    answering.node.send_to(answering.reply_to, &answer).await?;
    Ok(())
}

async fn sleep_until(deadline: Option<std::time::Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline.into()).await;
    }
}
