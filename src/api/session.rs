//! One session with a contact: the WebRTC peer, the tasks that pump local
//! media into it, and the loop that handles its events — and its signalling,
//! when it has some — until either side ends it. A session made over HTTP
//! (WHEP) has no signalling: it ends on its peer's events or when closed here.

use super::{Access, MediaStream, Message, RemoteStream};
use crate::envelope::Recipient;
use crate::keys::PeerKey;
use crate::media::{AudioControl, VideoControl};
use crate::node::Node;
use crate::peer::{
    DataMessage, HearthPeer, IceCandidate, MediaSender, PeerEvent, PeerState, SelectedPath,
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

/// How long an interrupted connection may take to recover before the session ends.
const DISCONNECT_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// How a signalled session reaches the contact: to say goodbye, and to stop
/// routing its messages once it ends.
pub(super) struct SignalLink {
    pub node: Node,
    pub recipient: Recipient,
    pub id: SessionId,
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
        // Set while the connection is interrupted: when it runs out, the session ends.
        let mut give_up: Option<tokio::time::Instant> = None;
        loop {
            let deadline =
                give_up.unwrap_or_else(|| tokio::time::Instant::now() + DISCONNECT_GRACE);
            tokio::select! {
                _ = until_closed(&mut closed) => break,
                _ = tokio::time::sleep_until(deadline), if give_up.is_some() => {
                    self.close_quietly(EndCode::Failed, "the connection was lost").await;
                    break;
                }
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
                    Some(PeerEvent::Failed) => { self.close_quietly(EndCode::Failed, "the connection failed").await; break }
                    Some(PeerEvent::Closed) => { self.close_quietly(EndCode::HungUp, "the connection closed").await; break }
                    Some(PeerEvent::Disconnected) => {
                        tracing::info!(contact = %self.contact.short(), "connection interrupted; waiting for it to recover");
                        give_up = Some(tokio::time::Instant::now() + DISCONNECT_GRACE);
                    }
                    Some(PeerEvent::Connected) => {
                        give_up = None;
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
                    Some(other) => tracing::debug!(kind = other.kind(), "unexpected signal in an open session"),
                },
            }
        }
    }

    /// Reads the candidate pair ICE selected, keeps it, and logs how media
    /// travels (`path`: host, srflx or relay; `local`/`remote`: the pair's ends).
    async fn note_path(&self) {
        let Some(path) = self.peer.selected_path().await else {
            tracing::debug!(contact = %self.contact.short(), "connected, but no selected candidate pair in the stats");
            return;
        };
        tracing::info!(
            contact = %self.contact.short(),
            path = %path.kind(),
            local = path.local.as_str(),
            remote = path.remote.as_str(),
            "connected: media travels {}",
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
    /// Writes `self` to the peer's track of its kind.
    fn write<'a>(
        &'a self,
        sender: &'a MediaSender,
    ) -> impl std::future::Future<Output = Result<(), crate::peer::PeerError>> + Send + 'a;
}

impl Outgoing for crate::media::EncodedVideo {
    const KIND: &'static str = "video";
    fn write<'a>(
        &'a self,
        sender: &'a MediaSender,
    ) -> impl std::future::Future<Output = Result<(), crate::peer::PeerError>> + Send + 'a {
        sender.write_h264(&self.data, self.duration)
    }
}

impl Outgoing for crate::media::EncodedAudio {
    const KIND: &'static str = "audio";
    fn write<'a>(
        &'a self,
        sender: &'a MediaSender,
    ) -> impl std::future::Future<Output = Result<(), crate::peer::PeerError>> + Send + 'a {
        sender.write_opus(&self.data, self.duration)
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
    loop {
        tokio::select! {
            _ = until_closed(&mut closed) => return,
            item = feed.recv() => {
                let Some(item) = item else { return };
                if let Err(e) = item.write(&sender).await {
                    tracing::debug!(error = %e, kind = T::KIND, "media stopped");
                    return;
                }
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
