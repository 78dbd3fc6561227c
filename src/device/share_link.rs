//! Moving shares over connections — the thin async layer around
//! [`crate::share::ShareSession`]: on every session with a contact (its call,
//! or the device's own data-only call to it) push what waits for it and take
//! what it pushes; and call contacts that have shares waiting, on every new
//! share and every `retry_secs`. Each session follows the contact book: when
//! the contact loses `snapshots` (or is removed), the share in flight stops
//! before its next chunk and what waits for it leaves the outbox.
//!
//! The session decides and this layer only executes: the inbox writes it asks
//! for ([`Output::Write`]) are carried out one at a time, in order, off the
//! async workers ([`off_the_workers`]; each chunk and record is fsynced, a
//! photo decoded in full), and their outcomes given back to it.

use super::blocking::off_the_workers;
use super::deliveries::Outgoing;
use super::shares::{ReceivedNotice, Shares, WITHDRAWN};
use crate::api::{Message, PeerConnection, RtcSettings};
use crate::contacts::ContactBook;
use crate::keys::PeerKey;
use crate::node::Node;
use crate::share::{Output, ShareError, ShareSession};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

impl Shares {
    /// Serves the data channel of `connection` until it closes: shares both
    /// ways, and the `ping` → `pong` protocol. With `until_sent`, returns once
    /// everything waiting for the contact was sent (the device's own call).
    pub(super) async fn serve(&self, connection: &PeerConnection, until_sent: bool) {
        let peer = connection.contact();
        *self
            .online
            .lock()
            .expect("online lock")
            .entry(peer)
            .or_insert(0) += 1;
        self.run(connection, peer, until_sent).await;
        let mut online = self.online.lock().expect("online lock");
        if let Some(n) = online.get_mut(&peer) {
            *n -= 1;
            if *n == 0 {
                online.remove(&peer);
            }
        }
    }

    async fn run(&self, connection: &PeerConnection, peer: PeerKey, until_sent: bool) {
        let me = self.identity.peer_key();
        let mut session = ShareSession::new(me, peer, self.rules_for(&peer), self.config.limits());
        let mut offered = Offered {
            pushed: HashSet::new(),
            retry: Duration::from_secs(self.config.retry_secs.max(1)),
            recheck: None,
        };
        let mut queued = self.queued.subscribe();
        queued.mark_changed();
        let mut book = self.contacts.subscribe();
        loop {
            if queued.has_changed().unwrap_or(false) {
                queued.borrow_and_update();
                if self.may_send_to(&peer) {
                    for (share, jpeg) in self.pending_for(&peer).await {
                        if offered.pushed.insert(share.id.clone()) {
                            session.push(share, jpeg, Instant::now());
                        }
                    }
                }
            }
            if !self
                .drain(
                    &mut session,
                    connection,
                    &peer,
                    &mut book,
                    until_sent,
                    &mut offered,
                )
                .await
            {
                return;
            }
            if until_sent && !session.is_sending() {
                return;
            }
            let deadline = session.poll_timeout();
            let sleep = deadline.map(tokio::time::Instant::from_std);
            let recheck = offered.recheck;
            tokio::select! {
                message = connection.recv() => match message {
                    None => return,
                    // A chunk is checked here; its write comes out of the session.
                    Some(Message::Binary(frame)) => session.handle_binary(&frame),
                    Some(Message::Text(text)) => {
                        // The owner may have allowed or withdrawn `talk_back` since the session began.
                        session.set_rules(self.rules_for(&peer));
                        // An offer reads the inbox (what it holds, how full it is).
                        if !off_the_workers(|| session.handle_text(&text, Instant::now(), &self.inbox)) {
                            reply_ping(connection, &text).await;
                        }
                    }
                },
                _ = async { tokio::time::sleep_until(sleep.expect("guarded")).await }, if sleep.is_some() => {
                    session.handle_timeout(Instant::now());
                }
                _ = async { tokio::time::sleep_until(recheck.expect("guarded")).await }, if recheck.is_some() => {
                    // Shares the peer had no room for: offer them again.
                    offered.recheck = None;
                    queued.mark_changed();
                }
                _ = queued.changed() => queued.mark_changed(),
                changed = book.changed() => {
                    if changed.is_ok() {
                        book.borrow_and_update();
                        if self.follow_book(&mut session, &peer).await {
                            // It may have just been allowed: look for waiting shares.
                            queued.mark_changed();
                        }
                    }
                }
            }
        }
    }

    /// The contact book changed: if the peer may no longer receive shares,
    /// ours are withdrawn — the one in flight sends no further chunk, and
    /// every one leaves its queue. Returns whether the peer may still receive shares.
    async fn follow_book(&self, session: &mut ShareSession, peer: &PeerKey) -> bool {
        if self.may_send_to(peer) {
            return true;
        }
        let withdraw = self.withdrawn_from(peer);
        for id in session.outgoing() {
            session.cancel(&id, Instant::now());
            if withdraw {
                tracing::info!(contact = %peer.short(), "a share was withdrawn: the contact no longer has `snapshots`");
                self.done(&id, peer).await;
                self.announce(Outgoing::Refused {
                    id,
                    to: *peer,
                    reason: WITHDRAWN.into(),
                });
            }
        }
        false
    }

    /// Carries out what the session asks; `false` once the session should end.
    /// A peer that does not answer share offers (a viewer without sharing)
    /// ends the device's own call, but not the peer's call to the device.
    async fn drain(
        &self,
        session: &mut ShareSession,
        connection: &PeerConnection,
        peer: &PeerKey,
        book: &mut watch::Receiver<ContactBook>,
        own_call: bool,
        offered: &mut Offered,
    ) -> bool {
        loop {
            // The owner may revoke while chunks go out: look before each one.
            if book.has_changed().unwrap_or(false) {
                book.borrow_and_update();
                self.follow_book(session, peer).await;
            }
            let Some(output) = session.poll_output() else {
                return true;
            };
            let sent = match output {
                Output::SendText(text) => connection.send(&text).await,
                Output::SendBinary(frame) => connection.send_bytes(&frame).await,
                Output::Write(write) => {
                    let mut inbox = self.inbox.clone();
                    session.handle_written(off_the_workers(|| write.carry_out(&mut inbox)));
                    Ok(())
                }
                Output::Delivered(id) => {
                    tracing::info!(contact = %peer.short(), "share delivered");
                    self.done(&id, peer).await;
                    self.announce(Outgoing::Delivered { id, to: *peer });
                    Ok(())
                }
                Output::Deferred { id, reason } => {
                    tracing::info!(contact = %peer.short(), %reason, "the contact has no room for a share now; it stays queued and is offered again later");
                    offered.pushed.remove(&id);
                    let retry = offered.retry;
                    offered
                        .recheck
                        .get_or_insert_with(|| tokio::time::Instant::now() + retry);
                    Ok(())
                }
                Output::Rejected { id, reason } => {
                    tracing::warn!(contact = %peer.short(), %reason, "the contact refused a share; it will not be offered to it again");
                    self.done(&id, peer).await;
                    self.announce(Outgoing::Refused {
                        id,
                        to: *peer,
                        reason,
                    });
                    Ok(())
                }
                Output::Received(share) => {
                    let name = self.name_of(peer);
                    tracing::info!(from = %name, kind = share.body.kind.name(), "NEW SHARE received; `hearth inbox` lists it");
                    self.inbox_full
                        .send_if_modified(|full| full.take().is_some());
                    let _ = self.received.send(ReceivedNotice {
                        id: share.id.clone(),
                        from: name,
                        kind: share.body.kind,
                        jpeg: self.inbox.jpeg_of(&share),
                        text: share.body.text,
                    });
                    Ok(())
                }
                Output::Refused(error @ ShareError::InboxFull(_)) => {
                    let message = error.to_string();
                    tracing::warn!(from = %self.name_of(peer), "INBOX FULL: {message}");
                    self.inbox_full.send_replace(Some(message));
                    Ok(())
                }
                Output::Refused(error) => {
                    tracing::warn!(contact = %peer.short(), code = error.code(), %error, "refused a share from a contact");
                    Ok(())
                }
                Output::TimedOut { .. } => {
                    tracing::info!(contact = %peer.short(), "the contact did not answer a share offer in time; it stays queued and is offered again");
                    if own_call {
                        return false;
                    }
                    Ok(())
                }
            };
            if sent.is_err() {
                return false;
            }
        }
    }

    fn name_of(&self, peer: &PeerKey) -> String {
        self.contacts
            .with(|b| b.get(peer).map(|c| c.name.clone()))
            .unwrap_or_else(|| peer.short())
    }

    /// Calls contacts that have shares waiting and no session now: on every
    /// new share, and every `retry_secs`. The relay answers at once when a
    /// contact is offline, so a try costs little.
    pub(super) async fn deliver(
        self: Arc<Self>,
        node: Node,
        rtc: RtcSettings,
        mut stopped: watch::Receiver<bool>,
    ) {
        let mut queued = self.queued.subscribe();
        let mut book = self.contacts.subscribe();
        let calling: Arc<std::sync::Mutex<HashSet<PeerKey>>> = Default::default();
        let retry = Duration::from_secs(self.config.retry_secs.max(1));
        loop {
            let waiting = match self.outbox.per_contact() {
                Ok(waiting) => waiting,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the outbox");
                    Default::default()
                }
            };
            for peer in waiting.into_keys() {
                let busy = self.online.lock().expect("online lock").contains_key(&peer);
                if busy || !calling.lock().expect("calling lock").insert(peer) {
                    continue;
                }
                let (shares, node, rtc, calling) =
                    (self.clone(), node.clone(), rtc.clone(), calling.clone());
                tokio::spawn(async move {
                    if !shares.may_send_to(&peer) {
                        shares.pending_for(&peer).await;
                    } else {
                        let connection = PeerConnection::with_settings(&node, peer, rtc);
                        match connection.connect().await {
                            Ok(()) => {
                                shares.serve(&connection, true).await;
                                connection.close().await;
                            }
                            Err(e) => {
                                tracing::debug!(contact = %peer.short(), error = %e, "contact not reachable; shares stay queued")
                            }
                        }
                    }
                    calling.lock().expect("calling lock").remove(&peer);
                });
            }
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                _ = queued.changed() => {}
                changed = book.changed() => if changed.is_ok() {
                    // Contacts the book names now may be withdrawn from once removed.
                    let keys: Vec<PeerKey> = book.borrow_and_update().iter().map(|c| c.key).collect();
                    self.remember(&keys);
                },
                _ = tokio::time::sleep(retry) => {}
            }
        }
    }
}

/// Which of the outbox's shares a session has taken, and when to look again
/// at those the peer had no room for.
struct Offered {
    /// Ids given to the session (it offers them, again after a timeout).
    pushed: HashSet<String>,
    /// How long a share the peer deferred waits (`retry_secs`).
    retry: Duration,
    /// When to look at the outbox again for deferred shares.
    recheck: Option<tokio::time::Instant>,
}

async fn reply_ping(connection: &PeerConnection, text: &str) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        tracing::debug!("ignored a data-channel message that is not JSON");
        return;
    };
    if value["type"] == "ping" {
        let pong = serde_json::json!({ "type": "pong", "id": value["id"] });
        let _ = connection.send_json(&pong).await;
    }
}
