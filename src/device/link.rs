//! A two-way link the device makes itself (issue #16): `hearth call NAME`
//! has the running device call a contact — typically another Hearth — with
//! its own camera and microphone, as far as that contact is allowed
//! `live_video` and `live_audio` here, and show and play what comes back, as
//! far as that contact is allowed `show_on_device` and `talk_back` here. The
//! other side answers like any call: it sends what its owner allows us and
//! shows what we send if its owner allows that.
//!
//! The link stays up until `hearth call NAME --end`: a dropped session is
//! called again (2 s, doubling to 30 s), privacy on ends the session at once
//! (the other screen goes blank) and it is called again once privacy goes
//! off; the contact losing its approval ends the link. The session counts
//! among the device's live ones, so the LED and the screen say LIVE.

use super::calls::{Calls, Live, LiveSession};
use super::shares::Shares;
use super::tasks::Tasks;
use super::Device;
use crate::api::{EndCode, MediaStream, PeerConnection, RtcError};
use crate::keys::PeerKey;
use crate::node::Node;
use crate::policy::{self, Grant};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// The first wait before calling a dropped link again; it doubles up to [`REDIAL_MAX`].
const REDIAL_FIRST: Duration = Duration::from_secs(2);
/// The longest wait before calling a dropped link again.
const REDIAL_MAX: Duration = Duration::from_secs(30);
/// A session that lasted this long resets the wait.
const STEADY: Duration = Duration::from_secs(30);

/// Why a link could not be started or ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No such contact.
    #[error(transparent)]
    Contacts(#[from] crate::contacts::ContactsError),
    /// The contact is not approved.
    #[error("{0} is not an approved contact: approve them first (`hearth contacts approve {0}`)")]
    NotApproved(String),
    /// No link to end.
    #[error("there is no call to {0} to end")]
    NoLink(String),
}

/// The links the device keeps, by contact (each one's "end it" switch), and
/// what they are made with.
pub(super) struct Links {
    running: Mutex<HashMap<PeerKey, watch::Sender<bool>>>,
    node: Node,
    calls: Arc<Calls>,
    shares: Arc<Shares>,
    tasks: Arc<Tasks>,
    stopped: watch::Receiver<bool>,
}

impl Device {
    /// Calls contact `who` (a name or key prefix) and keeps the call up, both
    /// ways, until [`Device::end_link`] (what `hearth call` does). Returns the
    /// contact's name; calling a contact already linked changes nothing.
    pub fn link_to(&self, who: &str) -> Result<String, LinkError> {
        self.control.links.clone().link_to(who)
    }

    /// Ends the link to `who` made by [`Device::link_to`]; returns the contact's name.
    pub fn end_link(&self, who: &str) -> Result<String, LinkError> {
        self.control.links.end_link(who)
    }
}

impl Links {
    /// Links made with these parts, until `stopped`.
    pub(super) fn new(
        node: Node,
        calls: Arc<Calls>,
        shares: Arc<Shares>,
        tasks: Arc<Tasks>,
        stopped: watch::Receiver<bool>,
    ) -> Self {
        Links {
            running: Mutex::new(HashMap::new()),
            node,
            calls,
            shares,
            tasks,
            stopped,
        }
    }

    /// See [`Device::link_to`].
    pub(super) fn link_to(self: Arc<Self>, who: &str) -> Result<String, LinkError> {
        let (key, name) = self.node.contacts().with(|book| {
            let contact = book.find(who)?;
            match book.approved(&contact.key) {
                Some(_) => Ok((contact.key, contact.name.clone())),
                None => Err(LinkError::NotApproved(contact.name.clone())),
            }
        })?;
        let mut running = self.running.lock().expect("links lock");
        if running.get(&key).is_some_and(|end| !*end.borrow()) {
            return Ok(name);
        }
        let (end, ended) = watch::channel(false);
        running.insert(key, end);
        tracing::info!(contact = %name, "calling this contact and keeping the call up");
        drop(running);
        let links = self.clone();
        let link_name = name.clone();
        self.tasks.spawn("a two-way link", async move {
            links.keep_link(key, link_name, ended).await;
        });
        Ok(name)
    }

    /// See [`Device::end_link`].
    pub(super) fn end_link(&self, who: &str) -> Result<String, LinkError> {
        let (key, name) = self.node.contacts().with(|book| {
            book.find(who)
                .map(|contact| (contact.key, contact.name.clone()))
        })?;
        let end = self.running.lock().expect("links lock").remove(&key);
        match end {
            Some(end) => {
                end.send_replace(true);
                tracing::info!(contact = %name, "the call to this contact was ended by the owner");
                Ok(name)
            }
            None => Err(LinkError::NoLink(name)),
        }
    }

    /// Calls `key` again and again until `ended`.
    async fn keep_link(&self, key: PeerKey, name: String, mut ended: watch::Receiver<bool>) {
        let mut stopped = self.stopped.clone();
        let privacy = self.calls.media.privacy().clone();
        let mut wait = REDIAL_FIRST;
        loop {
            // Private: nothing is sent, so nothing is called until it is off.
            tokio::select! {
                _ = ended.wait_for(|e| *e) => return,
                _ = stopped.wait_for(|s| *s) => return,
                _ = privacy.until_off() => {}
            }
            let started = tokio::time::Instant::now();
            match self.one_link_session(key, &name, &mut ended).await {
                Ok(()) => {}
                Err(LinkEnd::Gone) => {
                    self.running.lock().expect("links lock").remove(&key);
                    return;
                }
                Err(LinkEnd::Failed(e)) => {
                    tracing::warn!(contact = %name, error = %e, "the call did not connect; calling again soon")
                }
                Err(LinkEnd::Private) => continue,
            }
            if *ended.borrow() || *stopped.borrow() {
                return;
            }
            if started.elapsed() >= STEADY {
                wait = REDIAL_FIRST;
            }
            tokio::select! {
                _ = ended.wait_for(|e| *e) => return,
                _ = stopped.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(REDIAL_MAX);
        }
    }

    /// One session of the link, until it drops, privacy goes on or it is ended.
    async fn one_link_session(
        &self,
        key: PeerKey,
        name: &str,
        ended: &mut watch::Receiver<bool>,
    ) -> Result<(), LinkEnd> {
        let calls = &self.calls;
        let book = calls.contacts.snapshot();
        let grant: Grant = policy::decide(&book, &key, true, true).map_err(|_| LinkEnd::Gone)?;
        let connection = PeerConnection::with_settings(&self.node, key, calls.rtc.clone());
        if grant.is_live() {
            let open = MediaStream::open(&calls.media, grant.video, grant.audio);
            // Opening waits while privacy is on: it went on just now.
            let stream = tokio::time::timeout(Duration::from_secs(2), open)
                .await
                .map_err(|_| LinkEnd::Private)?
                .map_err(LinkEnd::Failed)?;
            connection.add_stream(&stream).map_err(LinkEnd::Failed)?;
        }
        let remote = match connection.fetch_stream().await {
            Ok(remote) => Some(remote),
            // The other side lets us see and hear nothing: we still send.
            Err(RtcError::NotAllowed(_)) => None,
            Err(e) => return Err(LinkEnd::Failed(e)),
        };
        let tracked = calls.track(Live {
            contact: key,
            name: name.to_string(),
            grant: grant.clone(),
            session: LiveSession::Call(connection.clone()),
            wants: (grant.video, grant.audio),
            announcer: None,
        });
        let Some(id) = tracked else {
            connection
                .close_with(EndCode::HungUp, "no longer allowed")
                .await;
            return Err(LinkEnd::Gone);
        };
        tracing::info!(contact = %name, video = grant.video, audio = grant.audio, "LINK: connected both ways");
        let mut remote = remote;
        if let Some(video) = remote.as_mut().and_then(|r| r.take_video()) {
            calls
                .picture
                .clone()
                .watch(key, name.to_string(), video, connection.clone());
        }
        if let Some(audio) = remote.as_mut().and_then(|r| r.take_audio()) {
            let talk_back = calls.talk_back.clone();
            let (name, connection) = (name.to_string(), connection.clone());
            tokio::spawn(async move { talk_back.listen(key, name, audio, connection).await });
        }
        let mut private = calls.media.privacy().subscribe();
        let shares = self.shares.clone();
        tokio::select! {
            _ = shares.serve(&connection, false) => {}
            _ = async { let _ = ended.wait_for(|e| *e).await; } => {
                connection.close_with(EndCode::HungUp, "the owner ended the call").await;
            }
            _ = async { let _ = private.wait_for(|p| *p).await; } => {
                connection.close_with(EndCode::Unavailable, "the owner has turned privacy on").await;
            }
        }
        calls.untrack(id);
        Ok(())
    }
}

/// How one session of a link ended badly.
enum LinkEnd {
    /// The contact is no longer approved: the link ends.
    Gone,
    /// It did not connect, or broke: call again.
    Failed(RtcError),
    /// Privacy went on while it was being made: call again once it is off.
    Private,
}
