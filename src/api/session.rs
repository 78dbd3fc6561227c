//! One session with a contact: the WebRTC peer, the tasks that pump local
//! media into it, and the loop that handles its events — and its signalling,
//! when it has some — until either side ends it. A session made over HTTP
//! (WHEP) has no signalling: it ends on its peer's events or when closed here.

use super::recovery::{Action, Recovery, RecoveryConfig, Seen, Side};
use super::{Access, MediaStream, Message, RemoteStream};
use crate::envelope::Recipient;
use crate::host_addresses::{AddressWatch, POLL_INTERVAL};
use crate::keys::PeerKey;
use crate::media::{AudioControl, VideoControl};
use crate::node::Node;
use crate::peer::{
    fingerprints_match, sdp_fingerprint, DataMessage, HearthPeer, IceCandidate, MediaSender,
    PeerEvent, PeerState, SelectedPath,
};
use crate::policy::Grant;
use crate::signal::{EndCode, SessionId, Signal};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// Why a session ended: a code for programs, words for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// Why, for programs.
    pub code: EndCode,
    /// Why, in words.
    pub reason: String,
}

/// How long an interrupted connection without signalling (WHEP), which cannot
/// restart ICE, may take to recover before the session ends.
const DISCONNECT_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// How often a connected session reads its selected candidate pair again.
const PATH_REFRESH: std::time::Duration = std::time::Duration::from_secs(2);

/// How a signalled session reaches the contact: to say goodbye, and to stop
/// routing its messages once it ends.
pub(super) struct SignalLink {
    pub node: Node,
    pub recipient: Recipient,
    pub id: SessionId,
    /// The DTLS fingerprint the contact's first offer or answer carried: a
    /// restart must carry the same one.
    pub remote_fingerprint: String,
}

pub(super) struct Session {
    pub(super) peer: Arc<HearthPeer>,
    link: Option<SignalLink>,
    pub(super) contact: PeerKey,
    pub(super) granted: Grant,
    wanted_media: bool,
    answered: bool,
    inbox: tokio::sync::Mutex<mpsc::Receiver<Message>>,
    remote: Mutex<Option<RemoteStream>>,
    closed: watch::Sender<Option<Ended>>,
    /// What the answering side last said this side may receive (callers only).
    access: watch::Sender<Option<Access>>,
    /// The network path ICE selected, once connected.
    path: watch::Sender<Option<SelectedPath>>,
}

pub(super) struct SessionParts {
    pub peer: Arc<HearthPeer>,
    pub events: mpsc::Receiver<PeerEvent>,
    pub contact: PeerKey,
    /// The signalling link and the session's incoming signals; `None` for WHEP.
    pub signalling: Option<(SignalLink, mpsc::Receiver<Signal>)>,
    pub local: Vec<MediaStream>,
    pub remote: RemoteStream,
    pub granted: Grant,
    pub wanted_media: bool,
    /// This side answered the offer: the remote stream is what the caller
    /// sends, not something granted to this side.
    pub answered: bool,
}

impl Session {
    /// Starts the session's tasks. Media flows once the peer is connected
    /// (each feed then starts with a keyframe).
    pub(super) fn start(parts: SessionParts) -> Arc<Session> {
        let (inbox_tx, inbox_rx) = mpsc::channel(256);
        let (link, signals) = match parts.signalling {
            Some((link, signals)) => (Some(link), Some(signals)),
            None => (None, None),
        };
        let session = Arc::new(Session {
            peer: parts.peer,
            link,
            contact: parts.contact,
            granted: parts.granted,
            wanted_media: parts.wanted_media,
            answered: parts.answered,
            inbox: tokio::sync::Mutex::new(inbox_rx),
            remote: Mutex::new(Some(parts.remote)),
            closed: watch::Sender::new(None),
            access: watch::Sender::new(None),
            path: watch::Sender::new(None),
        });
        let videos: Vec<VideoControl> =
            parts.local.iter().filter_map(|s| s.video.clone()).collect();
        let audios: Vec<AudioControl> =
            parts.local.iter().filter_map(|s| s.audio.clone()).collect();
        let sender = session.peer.media_sender();
        for video in videos.iter().cloned() {
            tokio::spawn(pump(
                video,
                sender.clone(),
                session.peer.state_watch(),
                session.closed.subscribe(),
            ));
        }
        for audio in audios {
            tokio::spawn(pump(
                audio,
                sender.clone(),
                session.peer.state_watch(),
                session.closed.subscribe(),
            ));
        }
        tokio::spawn(
            session
                .clone()
                .event_loop(parts.events, signals, inbox_tx, videos),
        );
        tracing::info!(contact = %session.contact.short(), video = session.granted.video, audio = session.granted.audio, signalled = session.link.is_some(), "session started");
        session
    }

    async fn event_loop(
        self: Arc<Self>,
        mut events: mpsc::Receiver<PeerEvent>,
        mut signals: Option<mpsc::Receiver<Signal>>,
        inbox: mpsc::Sender<Message>,
        videos: Vec<VideoControl>,
    ) {
        let mut closed = self.closed.subscribe();
        let mut signals_open = signals.is_some();
        // A signalled session restarts ICE to recover (see `recovery.rs`); one
        // without signalling can only wait: when `give_up` runs out, it ends.
        let mut recovery = self.link.as_ref().map(|_| {
            let side = if self.answered {
                Side::Callee
            } else {
                Side::Caller
            };
            Recovery::new(side, RecoveryConfig::default())
        });
        let mut give_up: Option<tokio::time::Instant> = None;
        let mut relay = self.link.as_ref().map(|link| link.node.relay_changes());
        let mut addresses = AddressWatch::new();
        let mut addresses_tick = tokio::time::interval(POLL_INTERVAL);
        addresses_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The controlling side may nominate a better pair after the first one
        // (a direct path found after a relayed one): follow it.
        // Only while connected: during a restart the selected pair is stale.
        let mut path_tick = tokio::time::interval(PATH_REFRESH);
        path_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut connected = false;
        loop {
            let deadline =
                give_up.unwrap_or_else(|| tokio::time::Instant::now() + DISCONNECT_GRACE);
            tokio::select! {
                _ = until_closed(&mut closed) => break,
                _ = tokio::time::sleep_until(deadline), if give_up.is_some() => {
                    self.close_quietly(EndCode::Failed, "the connection was lost").await;
                    break;
                }
                _ = sleep_until_some(recovery.as_ref().and_then(Recovery::next_wake)) => {
                    let Some(recovery) = recovery.as_mut() else { continue };
                    match recovery.poll(std::time::Instant::now()) {
                        Some(Action::GiveUp) => {
                            self.close(EndCode::Failed, "the connection was lost and did not come back", true).await;
                            break;
                        }
                        Some(action) => {
                            if let Some(outcome) = self.recover(action).await {
                                recovery.seen(outcome, std::time::Instant::now());
                            }
                        }
                        None => {}
                    }
                }
                up = relay_up(&mut relay), if recovery.is_some() => {
                    if let (true, Some(recovery)) = (up, recovery.as_mut()) {
                        recovery.seen(Seen::SignallingUp, std::time::Instant::now());
                    }
                }
                _ = addresses_tick.tick(), if recovery.is_some() => {
                    if addresses.changed() {
                        if let Some(recovery) = recovery.as_mut() {
                            recovery.seen(Seen::AddressesChanged, std::time::Instant::now());
                        }
                    }
                }
                _ = path_tick.tick(), if connected => self.follow_path().await,
                event = events.recv() => match event {
                    None => { self.close_quietly(EndCode::HungUp, "the connection ended").await; break }
                    Some(PeerEvent::Message(message)) => {
                        let message = match message {
                            DataMessage::Text(t) => match self.access_message(&t) {
                                Some(access) => {
                                    tracing::info!(contact = %self.contact.short(), code = ?access.code, video = access.video, audio = access.audio, "told what this session may receive now");
                                    self.access.send_replace(Some(access));
                                    continue;
                                }
                                None => Message::Text(t),
                            },
                            DataMessage::Binary(b) => Message::Binary(b),
                        };
                        let _ = inbox.send(message).await;
                    }
                    Some(PeerEvent::KeyframeRequested) => videos.iter().for_each(|v| v.request_keyframe()),
                    Some(PeerEvent::Closed) => { self.close_quietly(EndCode::HungUp, "the connection closed").await; break }
                    Some(event @ (PeerEvent::Failed | PeerEvent::Disconnected)) => {
                        let failed = event == PeerEvent::Failed;
                        connected = false;
                        match recovery.as_mut() {
                            Some(recovery) => {
                                tracing::info!(contact = %self.contact.short(), failed, "connection interrupted; restarting ICE");
                                let seen = if failed { Seen::Failed } else { Seen::Disconnected };
                                recovery.seen(seen, std::time::Instant::now());
                            }
                            None if failed => { self.close_quietly(EndCode::Failed, "the connection failed").await; break }
                            None => {
                                tracing::info!(contact = %self.contact.short(), "connection interrupted; waiting for it to recover");
                                give_up.get_or_insert(tokio::time::Instant::now() + DISCONNECT_GRACE);
                            }
                        }
                    }
                    Some(PeerEvent::Connected) => {
                        if give_up.take().is_some() || recovery.as_ref().is_some_and(Recovery::is_lost) {
                            tracing::info!(contact = %self.contact.short(), "connection back");
                            // What was sent while the path was down is lost: start again from a keyframe.
                            videos.iter().for_each(|v| v.request_keyframe());
                        }
                        if let Some(recovery) = recovery.as_mut() {
                            recovery.seen(Seen::Connected, std::time::Instant::now());
                        }
                        connected = true;
                        self.note_path().await;
                    }
                    Some(other) => tracing::trace!(?other, "peer event"),
                },
                signal = next_signal(&mut signals), if signals_open => match signal {
                    None => signals_open = false,
                    Some(Signal::Bye { reason, code, .. }) => {
                        let code = code.unwrap_or(EndCode::Unknown);
                        self.close_quietly(code, reason.as_deref().unwrap_or("the contact hung up")).await;
                        break;
                    }
                    Some(Signal::Candidate { candidate, sdp_mid, sdp_mline_index, .. }) => {
                        if candidate.is_empty() { continue }
                        let c = IceCandidate { candidate, sdp_mid, sdp_mline_index, username_fragment: None };
                        if let Err(e) = self.peer.add_remote_candidate(&c).await {
                            tracing::debug!(error = %e, "ignored a remote candidate");
                        }
                    }
                    Some(Signal::RestartRequest { cause, .. }) => match recovery.as_mut() {
                        Some(recovery) if !self.answered => {
                            tracing::info!(contact = %self.contact.short(), cause = cause.as_str(), "the contact asks for an ICE restart");
                            recovery.seen(Seen::RestartRequested(cause), std::time::Instant::now());
                        }
                        _ => tracing::debug!("ignored a restart request: only the caller restarts"),
                    },
                    Some(Signal::RestartOffer { sdp, .. }) => {
                        if let Err(reason) = self.answer_restart(&sdp).await {
                            self.close(EndCode::Failed, reason, true).await;
                            break;
                        }
                    }
                    Some(Signal::RestartAnswer { sdp, .. }) => {
                        if let Err(reason) = self.apply_restart_answer(&sdp).await {
                            self.close(EndCode::Failed, reason, true).await;
                            break;
                        }
                    }
                    Some(other) => tracing::debug!(kind = other.kind(), "unexpected signal in an open session"),
                },
            }
        }
    }

    /// Carries out a recovery action: the caller restarts ICE, the callee asks
    /// it to. Returns whether the message reached the contact
    /// ([`Seen::Sent`]), or why not (logged); `None` if nothing was sent.
    async fn recover(&self, action: Action) -> Option<Seen> {
        let link = self.link.as_ref()?;
        let signal = match action {
            Action::Restart(cause) => match self.peer.restart_offer().await {
                Ok(sdp) => {
                    tracing::info!(contact = %self.contact.short(), cause = cause.as_str(), "restarting ICE");
                    Signal::RestartOffer {
                        session: link.id.clone(),
                        sdp,
                    }
                }
                Err(e) => {
                    tracing::warn!(contact = %self.contact.short(), error = %e, "could not restart ICE");
                    return None;
                }
            },
            Action::AskRestart(cause) => {
                tracing::info!(contact = %self.contact.short(), cause = cause.as_str(), "asking the contact to restart ICE");
                Signal::RestartRequest {
                    session: link.id.clone(),
                    cause,
                }
            }
            Action::GiveUp => return None,
        };
        match link.node.send_to(&link.recipient, &signal).await {
            Ok(()) => Some(Seen::Sent),
            Err(crate::node::NodeError::Offline(_)) => {
                tracing::info!(contact = %self.contact.short(), kind = signal.kind(), "the contact is not at the relay; again when it is back");
                Some(Seen::ContactOffline)
            }
            Err(e) => {
                tracing::info!(contact = %self.contact.short(), error = %e, kind = signal.kind(), "could not send; again when the relay is back");
                Some(Seen::NotSent)
            }
        }
    }

    /// Callee: answers a restart offer, if it carries the session's DTLS
    /// fingerprint. `Err` says why the session must end.
    async fn answer_restart(&self, sdp: &str) -> Result<(), &'static str> {
        let Some(link) = self.link.as_ref().filter(|_| self.answered) else {
            tracing::debug!("ignored a restart offer: only the caller restarts");
            return Ok(());
        };
        self.check_restart_fingerprint(link, sdp)?;
        match self.peer.accept_offer(sdp).await {
            Ok(answer) => {
                tracing::info!(contact = %self.contact.short(), "answering an ICE restart");
                let signal = Signal::RestartAnswer {
                    session: link.id.clone(),
                    sdp: answer,
                };
                if let Err(e) = link.node.send_to(&link.recipient, &signal).await {
                    tracing::info!(contact = %self.contact.short(), error = %e, "could not send the restart answer");
                }
            }
            Err(e) => {
                tracing::warn!(contact = %self.contact.short(), error = %e, "could not apply a restart offer")
            }
        }
        Ok(())
    }

    /// Caller: applies the answer to a restart offer, if it carries the
    /// session's DTLS fingerprint. `Err` says why the session must end.
    async fn apply_restart_answer(&self, sdp: &str) -> Result<(), &'static str> {
        let Some(link) = self.link.as_ref().filter(|_| !self.answered) else {
            tracing::debug!("ignored a restart answer on the answering side");
            return Ok(());
        };
        self.check_restart_fingerprint(link, sdp)?;
        if let Err(e) = self.peer.accept_answer(sdp).await {
            tracing::info!(contact = %self.contact.short(), error = %e, "could not apply a restart answer (a late one?)");
        }
        Ok(())
    }

    /// A restart may change the path, never the DTLS certificate.
    fn check_restart_fingerprint(&self, link: &SignalLink, sdp: &str) -> Result<(), &'static str> {
        match sdp_fingerprint(sdp) {
            Some(fingerprint) if fingerprints_match(&link.remote_fingerprint, &fingerprint) => {
                Ok(())
            }
            _ => {
                tracing::warn!(contact = %self.contact.short(), "an ICE restart carried another DTLS fingerprint; ending the session");
                Err("an ICE restart carried a different DTLS fingerprint; someone may be in the middle")
            }
        }
    }

    /// Reads the candidate pair ICE selected, keeps it, and logs how media
    /// travels (`path`: host, srflx or relay; `local`/`remote`: the pair's ends).
    async fn note_path(&self) {
        match self.peer.selected_path().await {
            Some(path) => self.keep_path(path, "connected: media travels"),
            None => {
                tracing::debug!(contact = %self.contact.short(), "connected, but no selected candidate pair in the stats")
            }
        }
    }

    /// Reads the selected pair again; keeps and logs it if it changed.
    async fn follow_path(&self) {
        if let Some(path) = self.peer.selected_path().await {
            if self.path.borrow().as_ref() != Some(&path) {
                self.keep_path(path, "the media path changed: it travels");
            }
        }
    }

    fn keep_path(&self, path: SelectedPath, saying: &str) {
        tracing::info!(
            contact = %self.contact.short(),
            path = %path.kind(),
            local = path.local.as_str(),
            remote = path.remote.as_str(),
            "{saying} {}",
            path.kind().words()
        );
        self.path.send_replace(Some(path));
    }

    /// The network path of the session, once connected (and after each
    /// reconnection, the new one). What is known already counts as a change,
    /// so a receiver taken after the connection came up still hears it.
    pub(super) fn path(&self) -> watch::Receiver<Option<SelectedPath>> {
        let mut rx = self.path.subscribe();
        rx.mark_changed();
        rx
    }

    /// An access message from the answering side, on a session this side
    /// called (an answering side takes no orders about what it sends).
    fn access_message(&self, text: &str) -> Option<Access> {
        if self.answered {
            return None;
        }
        Access::parse(text)
    }

    /// What the answering side last said this side may receive; changes with
    /// each access message.
    pub(super) fn access(&self) -> watch::Receiver<Option<Access>> {
        self.access.subscribe()
    }

    /// Ends the session: tells the contact (when `tell` is set and the session
    /// is signalled) why, with `code`, and closes the peer.
    pub(super) async fn close(&self, code: EndCode, reason: &str, tell: bool) {
        let first = self.closed.send_if_modified(|c| {
            if c.is_none() {
                *c = Some(Ended {
                    code,
                    reason: reason.to_string(),
                });
                true
            } else {
                false
            }
        });
        if !first {
            return;
        }
        tracing::info!(contact = %self.contact.short(), %code, %reason, "session ended");
        if let Some(link) = &self.link {
            if tell {
                let bye = Signal::Bye {
                    session: link.id.clone(),
                    reason: Some(reason.to_string()),
                    code: Some(code),
                };
                let _ = link.node.send_to(&link.recipient, &bye).await;
            }
            link.node.close_session(&self.contact, &link.id);
        }
        let _ = self.peer.close().await;
    }

    async fn close_quietly(&self, code: EndCode, reason: &str) {
        self.close(code, reason, false).await
    }

    /// Why the session ended, once it has.
    pub(super) fn closed_reason(&self) -> Option<String> {
        self.closed.borrow().as_ref().map(|e| e.reason.clone())
    }

    /// Waits until the session has ended; returns why.
    pub(super) async fn wait_ended(&self) -> Ended {
        let mut rx = self.closed.subscribe();
        let ended = rx
            .wait_for(|c| c.is_some())
            .await
            .ok()
            .and_then(|e| e.clone());
        ended.unwrap_or(Ended {
            code: EndCode::Unknown,
            reason: "closed".into(),
        })
    }

    /// Whether this side asked for the other side's media.
    pub(super) fn wanted_media(&self) -> bool {
        self.wanted_media
    }

    /// Whether this side answered the offer.
    pub(super) fn answered(&self) -> bool {
        self.answered
    }

    pub(super) fn take_remote(&self) -> Option<RemoteStream> {
        self.remote.lock().expect("remote lock").take()
    }

    pub(super) async fn recv(&self) -> Option<Message> {
        let mut inbox = self.inbox.lock().await;
        let mut closed = self.closed.subscribe();
        tokio::select! {
            m = inbox.recv() => m,
            _ = until_closed(&mut closed) => inbox.try_recv().ok(),
        }
    }
}

/// Something a pump writes into the peer: an encoded video frame or audio packet.
trait Outgoing: crate::media::fanout::MediaPacket {
    /// For logs.
    const KIND: &'static str;
    /// Whether some packets of this kind may be spared (see [`Outgoing::spareable`]).
    const LAYERED: bool;
    /// Its size on the wire, about.
    fn bytes(&self) -> usize;
    /// Whether no other packet depends on it (a frame above the base
    /// temporal layer), so a viewer on a slow path may be spared it.
    fn spareable(&self) -> bool;
    /// Writes `self` to the peer's track of its kind.
    fn write<'a>(
        &'a self,
        sender: &'a MediaSender,
    ) -> impl std::future::Future<Output = Result<(), crate::peer::PeerError>> + Send + 'a;
}

impl Outgoing for crate::media::EncodedVideo {
    const KIND: &'static str = "video";
    const LAYERED: bool = true;
    fn bytes(&self) -> usize {
        self.data.len()
    }
    fn spareable(&self) -> bool {
        self.temporal_layer > 0
    }
    fn write<'a>(
        &'a self,
        sender: &'a MediaSender,
    ) -> impl std::future::Future<Output = Result<(), crate::peer::PeerError>> + Send + 'a {
        sender.write_h264(&self.data, self.captured_at, self.duration)
    }
}

impl Outgoing for crate::media::EncodedAudio {
    const KIND: &'static str = "audio";
    const LAYERED: bool = false;
    fn bytes(&self) -> usize {
        self.data.len()
    }
    fn spareable(&self) -> bool {
        false
    }
    fn write<'a>(
        &'a self,
        sender: &'a MediaSender,
    ) -> impl std::future::Future<Output = Result<(), crate::peer::PeerError>> + Send + 'a {
        sender.write_opus(&self.data, self.captured_at, self.duration)
    }
}

/// Feeds one encode-once pipeline into the peer from the moment it connects
/// until the session ends.
async fn pump<T: Outgoing>(
    control: crate::media::fanout::PipelineControl<T>,
    sender: MediaSender,
    state: watch::Receiver<PeerState>,
    mut closed: watch::Receiver<Option<Ended>>,
) {
    if !until_connected(state, &mut closed).await {
        return;
    }
    let mut feed = control.subscribe();
    // A viewer whose path cannot carry the whole stream gets its base layer.
    let mut thinning = crate::media::rate::Thinning::default();
    loop {
        tokio::select! {
            _ = until_closed(&mut closed) => return,
            item = feed.recv() => {
                let Some(item) = item else { return };
                // Audio is never spared: no need to watch its rate.
                if T::LAYERED {
                    let estimate = sender.send_rate_estimate();
                    let thin = thinning.update(item.bytes(), estimate, std::time::Instant::now());
                    if thin && item.spareable() {
                        feed.report_estimate(estimate);
                        continue;
                    }
                }
                if let Err(e) = item.write(&sender).await {
                    tracing::debug!(error = %e, kind = T::KIND, "media stopped");
                    return;
                }
                feed.report_estimate(sender.send_rate_estimate());
            }
        }
    }
}

/// Waits until the peer is connected, so that a feed's first packet (a
/// keyframe, for video) is not dropped for lack of SRTP keys. `false` if the
/// session ended or the peer failed first.
async fn until_connected(
    mut state: watch::Receiver<PeerState>,
    closed: &mut watch::Receiver<Option<Ended>>,
) -> bool {
    let ended = |s: &PeerState| matches!(s, PeerState::Failed | PeerState::Closed);
    tokio::select! {
        _ = until_closed(closed) => false,
        s = state.wait_for(|s| *s == PeerState::Connected || ended(s)) => {
            matches!(s.as_deref(), Ok(PeerState::Connected))
        }
    }
}

/// The relay's next change: `true` when it is connected now. Never, without
/// a relay.
async fn relay_up(relay: &mut Option<watch::Receiver<crate::node::RelayStatus>>) -> bool {
    let Some(rx) = relay else {
        return std::future::pending().await;
    };
    if rx.changed().await.is_err() {
        *relay = None;
        return false;
    }
    let up = *rx.borrow_and_update() == crate::node::RelayStatus::Connected;
    up
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until_some(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The next signal, or never when the session has no signalling.
async fn next_signal(signals: &mut Option<mpsc::Receiver<Signal>>) -> Option<Signal> {
    match signals {
        Some(signals) => signals.recv().await,
        None => std::future::pending().await,
    }
}

/// Completes once the session is marked closed (or its sender is gone).
async fn until_closed(closed: &mut watch::Receiver<Option<Ended>>) {
    let _ = closed.wait_for(|c| c.is_some()).await.is_ok();
}
