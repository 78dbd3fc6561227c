//! [`PeerConnection`]: a link to one contact. The caller side makes the
//! offer lazily — on the first `fetch_stream`, `send` or `recv` — so that
//! `add_stream` and `fetch_stream` can say first what the session carries.

use super::session::{Ended, Session, SessionParts, SignalLink};
use super::setup::{CallSetup, SetupInput, SetupSide};
use super::setup_io::{run_setup, SetupFailed};
use super::{Access, MediaStream, Message, RemoteStream, RtcError, RtcSettings};
use crate::keys::PeerKey;
use crate::node::Node;
use crate::peer::{HearthPeer, Role};
use crate::policy::Grant;
use crate::signal::{new_session_id, EndCode, Signal};
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// A connection with one contact.
#[derive(Clone)]
pub struct PeerConnection {
    inner: Arc<Inner>,
}

struct Inner {
    node: Node,
    contact: PeerKey,
    settings: RtcSettings,
    state: Mutex<State>,
    connecting: tokio::sync::Mutex<()>,
}

enum State {
    Idle { local: Vec<MediaStream>, want: bool },
    Open(Arc<Session>),
}

impl PeerConnection {
    /// A connection to `contact` (an approved contact of `node`), not yet made.
    pub fn new(node: &Node, contact: PeerKey) -> Self {
        Self::with_settings(node, contact, RtcSettings::default())
    }

    /// Like [`PeerConnection::new`], with explicit WebRTC settings.
    pub fn with_settings(node: &Node, contact: PeerKey, settings: RtcSettings) -> Self {
        Self::from_state(
            node,
            contact,
            settings,
            State::Idle {
                local: vec![],
                want: false,
            },
        )
    }

    fn from_state(node: &Node, contact: PeerKey, settings: RtcSettings, state: State) -> Self {
        PeerConnection {
            inner: Arc::new(Inner {
                node: node.clone(),
                contact,
                settings,
                state: Mutex::new(state),
                connecting: tokio::sync::Mutex::new(()),
            }),
        }
    }

    pub(super) fn from_session(node: &Node, settings: RtcSettings, session: Arc<Session>) -> Self {
        Self::from_state(node, session.contact, settings, State::Open(session))
    }

    /// The contact at the other end.
    pub fn contact(&self) -> PeerKey {
        self.inner.contact
    }

    /// Shares a local stream with the contact. Must come before the connection is first used.
    pub fn add_stream(&self, stream: &MediaStream) -> Result<(), RtcError> {
        match &mut *self.inner.state.lock().expect("state lock") {
            State::Idle { local, .. } => {
                local.push(stream.clone());
                Ok(())
            }
            State::Open(_) => Err(RtcError::TooLate("add_stream")),
        }
    }

    /// Asks for the contact's stream and waits for it. It carries what the
    /// contact's owner allows; if that is nothing, the error says what was denied.
    /// On a connection answered from an [`IncomingCall`](super::IncomingCall) it
    /// is what the caller sends and this side chose to receive (its audio, after
    /// [`IncomingCall::receive_audio`](super::IncomingCall::receive_audio)).
    pub async fn fetch_stream(&self) -> Result<RemoteStream, RtcError> {
        {
            let mut state = self.inner.state.lock().expect("state lock");
            match &mut *state {
                State::Idle { want, .. } => *want = true,
                State::Open(session) if session.wanted_media() => {}
                State::Open(_) => return Err(RtcError::TooLate("fetch_stream")),
            }
        }
        let session = self.open().await?;
        let granted = &session.granted;
        if !session.answered() && !granted.video && !granted.audio {
            return Err(RtcError::NotAllowed(granted.denied.join(", ")));
        }
        session.take_remote().ok_or(RtcError::AlreadyFetched)
    }

    /// Sends text on the data channel, waiting while its send buffer is full.
    pub async fn send(&self, text: &str) -> Result<(), RtcError> {
        let session = self.open().await?;
        session.peer.send_text(text).await?;
        Ok(())
    }

    /// Sends a value as JSON text on the data channel.
    pub async fn send_json<T: Serialize>(&self, value: &T) -> Result<(), RtcError> {
        self.send(&serde_json::to_string(value)?).await
    }

    /// Sends bytes on the data channel.
    pub async fn send_bytes(&self, bytes: &[u8]) -> Result<(), RtcError> {
        let session = self.open().await?;
        session.peer.send_bytes(bytes).await?;
        Ok(())
    }

    /// The next message from the contact; `None` once the session has ended.
    pub async fn recv(&self) -> Option<Message> {
        let session = self.open().await.ok()?;
        session.recv().await
    }

    /// What the contact granted, once connected.
    pub fn granted(&self) -> Option<Grant> {
        match &*self.inner.state.lock().expect("state lock") {
            State::Open(session) => Some(session.granted.clone()),
            State::Idle { .. } => None,
        }
    }

    /// Connects now, if not yet connected.
    pub async fn connect(&self) -> Result<(), RtcError> {
        self.open().await.map(|_| ())
    }

    /// The candidate types of the path ICE selected, local first (`relay`
    /// means through a TURN server); `None` before connecting.
    pub async fn selected_candidate_types(&self) -> Option<(String, String)> {
        self.session()?.peer.selected_candidate_types().await
    }

    /// Ends the session and tells the contact.
    pub async fn close(&self) {
        if let Some(session) = self.session() {
            session.close(EndCode::HungUp, "hung up", true).await;
        }
    }

    /// Ends the session, telling the contact why: `code` for its programs,
    /// `reason` for its people.
    pub async fn close_with(&self, code: EndCode, reason: &str) {
        if let Some(session) = self.session() {
            session.close(code, reason, true).await;
        }
    }

    /// Waits until the session has ended; returns why, in words.
    pub async fn closed(&self) -> String {
        self.ended().await.reason
    }

    /// Waits until the session has ended; returns why, with its code.
    pub async fn ended(&self) -> Ended {
        match self.session() {
            Some(session) => session.wait_ended().await,
            None => Ended {
                code: EndCode::Failed,
                reason: "never connected".into(),
            },
        }
    }

    /// What the contact last said this side may receive now, following each
    /// change (privacy on or off, permissions changed); `None` until it says
    /// something, and on a connection that is not open yet. When a value
    /// [`widens`](Access::widens) what [`PeerConnection::granted`] carries,
    /// call again to receive it.
    pub fn access(&self) -> Option<tokio::sync::watch::Receiver<Option<Access>>> {
        self.session().map(|session| session.access())
    }

    /// The network path the session's media takes (the ICE candidate pair
    /// it selected: host, srflx or relay), following reconnections; `None`
    /// on a connection that is not open yet.
    pub fn path(&self) -> Option<tokio::sync::watch::Receiver<Option<crate::peer::SelectedPath>>> {
        self.session().map(|session| session.path())
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.session().is_some_and(|s| s.closed_reason().is_some())
    }

    fn session(&self) -> Option<Arc<Session>> {
        match &*self.inner.state.lock().expect("state lock") {
            State::Open(session) => Some(session.clone()),
            State::Idle { .. } => None,
        }
    }

    async fn open(&self) -> Result<Arc<Session>, RtcError> {
        let _connecting = self.inner.connecting.lock().await;
        let (local, want) = match &*self.inner.state.lock().expect("state lock") {
            State::Open(session) => {
                return match session.closed_reason() {
                    Some(reason) => Err(RtcError::Closed(reason)),
                    None => Ok(session.clone()),
                }
            }
            State::Idle { local, want } => (local.clone(), *want),
        };
        let session = self.call(local, want).await?;
        *self.inner.state.lock().expect("state lock") = State::Open(session.clone());
        Ok(session)
    }

    async fn call(&self, local: Vec<MediaStream>, want: bool) -> Result<Arc<Session>, RtcError> {
        let inner = &self.inner;
        let recipient = inner.node.recipient(&inner.contact)?;
        let mut options = inner.settings.peer_options(Role::Offerer);
        options.send_video = local.iter().any(MediaStream::has_video);
        options.send_audio = local.iter().any(MediaStream::has_audio);
        options.recv_video = want;
        options.recv_audio = want;
        let (peer, events) = HearthPeer::new(options).await?;
        let peer = Arc::new(peer);
        let id = new_session_id();
        let mut signals = inner.node.open_session(inner.contact, id.clone());
        let offer = Signal::Offer {
            session: id.clone(),
            sdp: peer.create_offer().await?,
            want_video: want,
            want_audio: want,
        };
        let (mut setup, mut first) = CallSetup::start(
            SetupSide::Caller { want },
            inner.settings.setup_times(),
            std::time::Instant::now(),
        );
        if let Err(e) = inner.node.send_to(&recipient, &offer).await {
            first = setup.handle(SetupInput::Failed(e.into()));
        }
        let result = run_setup(
            &peer,
            setup,
            first,
            Some(&mut signals),
            None,
            inner.settings.connect_timeout,
        )
        .await;
        let (granted, remote_fingerprint) = match result {
            Ok(done) => done,
            Err(SetupFailed { error, tell }) => {
                tracing::warn!(contact = %inner.contact.short(), %error, "could not open a session");
                if tell {
                    let bye = Signal::Bye {
                        session: id.clone(),
                        reason: Some(error.to_string()),
                        code: Some(error.end_code()),
                    };
                    let _ = inner.node.send_to(&recipient, &bye).await;
                }
                inner.node.close_session(&inner.contact, &id);
                let _ = peer.close().await;
                return Err(error);
            }
        };
        let remote = RemoteStream::new(
            if granted.video {
                peer.take_remote_video()
            } else {
                None
            },
            if granted.audio {
                peer.take_remote_audio()
            } else {
                None
            },
        );
        Ok(Session::start(SessionParts {
            peer,
            events,
            contact: inner.contact,
            signalling: Some((
                SignalLink {
                    node: inner.node.clone(),
                    recipient,
                    id,
                    remote_fingerprint,
                },
                signals,
            )),
            local,
            remote,
            granted,
            wanted_media: want,
            answered: false,
        }))
    }
}
