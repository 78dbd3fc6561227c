//! The device's live sessions — signalled calls and WHEP players alike:
//! answering calls per policy, ending those the owner revokes, telling the
//! others at once when privacy or their permissions change what they may
//! receive ([`super::access`]), knowing who is watching at any moment, and
//! handing a caller's voice to talk-back.

use super::access::Announcer;
use crate::api::{
    EndCode, IncomingCall, LocalMedia, MediaStream, PeerConnection, RtcError, RtcSettings,
    WhepSession,
};
use crate::contacts::ContactBook;
use crate::keys::PeerKey;
use crate::live_contacts::LiveContacts;
use crate::node::Node;
use crate::policy::{self, Current, Grant};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// A session the device is serving, however it was made.
#[derive(Clone)]
pub(super) enum LiveSession {
    /// Answered through signalling.
    Call(PeerConnection),
    /// Answered over HTTP (WHEP) for a token contact.
    Whep(WhepSession),
}

impl LiveSession {
    /// How the session's media travels now, once connected.
    fn path(&self) -> Option<crate::peer::PathKind> {
        let path = match self {
            LiveSession::Call(connection) => connection.path()?,
            LiveSession::Whep(session) => session.path(),
        };
        let kind = path.borrow().map(|p| p.kind());
        kind
    }

    async fn close_with(&self, code: EndCode, reason: &str) {
        match self {
            LiveSession::Call(connection) => connection.close_with(code, reason).await,
            LiveSession::Whep(session) => session.close_with(reason).await,
        }
    }
}

/// Words that go with [`EndCode::AccessWithdrawn`].
const WITHDRAWN: &str = "access withdrawn by the owner";

/// One live session and what it was granted.
pub(super) struct Live {
    pub contact: PeerKey,
    pub name: String,
    /// What the session carries (its tracks).
    pub grant: Grant,
    pub session: LiveSession,
    /// What the caller asked for: (video, audio).
    pub wants: (bool, bool),
    /// Tells the session when what it may receive changes (signalled calls;
    /// a WHEP player has no data channel to be told on).
    pub announcer: Option<Announcer>,
}

pub(super) struct Calls {
    /// This device's name, for the words sessions are told.
    device_name: String,
    pub(super) contacts: LiveContacts,
    pub(super) media: LocalMedia,
    pub(super) rtc: RtcSettings,
    shares: Arc<super::shares::Shares>,
    pub(super) talk_back: Arc<super::talkback::TalkBackHub>,
    pub(super) picture: Arc<super::picture::PictureHub>,
    live: Mutex<HashMap<u64, Live>>,
    /// Bumped whenever a session starts or ends, so the panel brings the
    /// LED and screen up to date at once instead of on its next tick.
    changed: watch::Sender<u64>,
    next_id: std::sync::atomic::AtomicU64,
}

impl Calls {
    pub(super) fn new(
        device_name: String,
        contacts: LiveContacts,
        media: LocalMedia,
        rtc: RtcSettings,
        shares: Arc<super::shares::Shares>,
        talk_back: Arc<super::talkback::TalkBackHub>,
        picture: Arc<super::picture::PictureHub>,
    ) -> Self {
        Calls {
            device_name,
            contacts,
            media,
            rtc,
            shares,
            talk_back,
            picture,
            live: Mutex::new(HashMap::new()),
            changed: watch::channel(0).0,
            next_id: 0.into(),
        }
    }

    pub(super) async fn answer_calls(
        self: Arc<Self>,
        node: Node,
        mut stopped: watch::Receiver<bool>,
    ) {
        loop {
            let call = tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                call = IncomingCall::next(&node, &self.rtc) => call,
            };
            let Some(call) = call else { return };
            tokio::spawn(self.clone().answer(call));
        }
    }

    async fn answer(self: Arc<Self>, mut call: IncomingCall) {
        let from = call.from();
        let wants = (call.wants_video(), call.wants_audio());
        let book = self.contacts.snapshot();
        let grant = match policy::decide(&book, &from, wants.0, wants.1) {
            Ok(grant) => grant,
            Err(refusal) => {
                return call
                    .refuse(EndCode::NotApproved, &refusal.to_string())
                    .await
            }
        };
        let name = book.get(&from).map(|c| c.name.clone()).unwrap_or_default();
        // While privacy is on the session carries no media; when it goes off
        // the caller is told, and calls again for it.
        let current = Current::of(&grant, self.media.is_private());
        let grant = Grant {
            video: current.video,
            audio: current.audio,
            denied: grant.denied,
        };
        if grant.is_live() {
            match MediaStream::open(&self.media, grant.video, grant.audio).await {
                Ok(stream) => call.add_stream(&stream),
                Err(e) => return call.refuse(EndCode::Unavailable, &e.to_string()).await,
            }
        }
        // Taken from every caller that sends it: talk-back gates each packet,
        // and the picture hub each frame.
        call.receive_audio();
        if call.sends_video() {
            call.receive_video();
        }
        let connection = match call.accept(current.denied.clone()).await {
            Ok(connection) => connection,
            Err(RtcError::NoPath { turn }) => {
                tracing::warn!(
                    contact = %name,
                    code = EndCode::NoPath.as_str(),
                    "NO PATH: no network path to {name}: {}",
                    crate::api::no_path_words(turn)
                );
                return;
            }
            Err(e) => {
                tracing::warn!(contact = %from.short(), error = %e, "session did not start");
                return;
            }
        };
        let announcer = Announcer::start(connection.clone(), self.device_name.clone(), current);
        let tracked = self.track(Live {
            contact: from,
            name: name.clone(),
            grant,
            session: LiveSession::Call(connection.clone()),
            wants,
            announcer: Some(announcer),
        });
        let Some(id) = tracked else {
            connection
                .close_with(EndCode::AccessWithdrawn, WITHDRAWN)
                .await;
            return;
        };
        // Privacy or permissions may have changed while it was answered:
        // tracked first, then checked, so either this or the change's own
        // sweep tells the session.
        self.reconcile();
        let mut remote = connection.fetch_stream().await.ok();
        if let Some(video) = remote.as_mut().and_then(|remote| remote.take_video()) {
            self.picture
                .clone()
                .watch(from, name.clone(), video, connection.clone());
        }
        if let Some(audio) = remote.as_mut().and_then(|remote| remote.take_audio()) {
            let talk_back = self.talk_back.clone();
            let connection = connection.clone();
            tokio::spawn(async move { talk_back.listen(from, name, audio, connection).await });
        }
        self.serve_messages(&connection).await;
        self.untrack(id);
    }

    /// Counts `live` among the device's sessions (so revocation and
    /// `watchers` see it) until [`Calls::untrack`]. If the owner revoked the
    /// contact while it was being answered, it is not counted and `None` says
    /// the caller must end it: the entry goes in before the book is checked,
    /// so either this check or the revocation sweep sees the change.
    pub(super) fn track(&self, live: Live) -> Option<u64> {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (contact, grant) = (live.contact, live.grant.clone());
        let (name, is_live) = (live.name.clone(), live.grant.is_live());
        self.live.lock().expect("live lock").insert(id, live);
        if !self
            .contacts
            .with(|book| policy::still_allowed(book, &contact, &grant))
        {
            self.live.lock().expect("live lock").remove(&id);
            return None;
        }
        if is_live {
            tracing::info!(contact = %name, video = grant.video, audio = grant.audio, "LIVE: now sharing with this contact");
        }
        self.changed.send_modify(|n| *n += 1);
        Some(id)
    }

    /// Forgets a session that has ended.
    pub(super) fn untrack(&self, id: u64) {
        let removed = self.live.lock().expect("live lock").remove(&id);
        if removed.is_some() {
            self.changed.send_modify(|n| *n += 1);
        }
        if let Some(live) = removed.filter(|l| l.grant.is_live()) {
            tracing::info!(contact = %live.name, watching_now = self.watchers().len(), "stopped sharing with this contact");
        }
    }

    /// Serves the data channel (shares both ways, `ping` → `pong`) until the session ends.
    async fn serve_messages(&self, connection: &PeerConnection) {
        self.shares.serve(connection, false).await;
    }

    pub(super) async fn enforce_revocations(
        self: Arc<Self>,
        mut book: watch::Receiver<ContactBook>,
        mut stopped: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                changed = book.changed() => if changed.is_err() { return },
            }
            let current = book.borrow_and_update().clone();
            let revoked: Vec<(PeerKey, LiveSession)> = self
                .live
                .lock()
                .expect("live lock")
                .values()
                .filter(|l| !policy::still_allowed(&current, &l.contact, &l.grant))
                .map(|l| (l.contact, l.session.clone()))
                .collect();
            for (contact, session) in revoked {
                tracing::info!(contact = %contact.short(), "access withdrawn; ending the session");
                session
                    .close_with(EndCode::AccessWithdrawn, WITHDRAWN)
                    .await;
            }
            // Grants that widened (or changed while private) are told at once.
            self.reconcile_with(&current);
        }
    }

    /// Tells every open session about privacy going on or off, at once.
    pub(super) async fn follow_privacy(
        self: Arc<Self>,
        mut private: watch::Receiver<bool>,
        mut stopped: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                changed = private.changed() => if changed.is_err() { return },
            }
            private.borrow_and_update();
            self.reconcile();
        }
    }

    /// Works out what each signalled session may receive now (its contact's
    /// permissions under the privacy switch) and has it told where that changed.
    pub(super) fn reconcile(&self) {
        self.reconcile_with(&self.contacts.snapshot());
    }

    fn reconcile_with(&self, book: &ContactBook) {
        let private = self.media.is_private();
        for live in self.live.lock().expect("live lock").values() {
            let Some(announcer) = &live.announcer else {
                continue;
            };
            // A contact no longer approved is being ended by the revocation sweep.
            if let Ok(grant) = policy::decide(book, &live.contact, live.wants.0, live.wants.1) {
                announcer.update(Current::of(&grant, private));
            }
        }
    }

    pub(super) fn watchers(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .live
            .lock()
            .expect("live lock")
            .values()
            .filter(|l| l.grant.is_live())
            .map(|l| l.name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Each session's contact and how its media travels (`host`, `srflx`,
    /// `relay`; `connecting` until ICE has selected a pair), sorted by name.
    pub(super) fn paths(&self) -> Vec<(String, String)> {
        let mut paths: Vec<(String, String)> = self
            .live
            .lock()
            .expect("live lock")
            .values()
            .map(|l| {
                let path = l.session.path().map_or("connecting", |p| p.as_str());
                (l.name.clone(), path.to_string())
            })
            .collect();
        paths.sort();
        paths
    }

    /// Changes whenever a session starts or ends.
    pub(super) fn sessions_changed(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Sessions receiving video, and audio, now.
    pub(super) fn live_counts(&self) -> (usize, usize) {
        let live = self.live.lock().expect("live lock");
        let video = live.values().filter(|l| l.grant.video).count();
        let audio = live.values().filter(|l| l.grant.audio).count();
        (video, audio)
    }

    /// Names of every contact with a session now, live or not.
    pub(super) fn connected(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .live
            .lock()
            .expect("live lock")
            .values()
            .map(|l| l.name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub(super) async fn end_all(&self, code: EndCode, reason: &str) {
        let all: Vec<LiveSession> = self
            .live
            .lock()
            .expect("live lock")
            .values()
            .map(|l| l.session.clone())
            .collect();
        for session in all {
            session.close_with(code, reason).await;
        }
    }
}
