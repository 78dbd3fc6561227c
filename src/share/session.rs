//! The share transfer on one data channel, as a sans-IO state machine: feed it
//! what arrives ([`ShareSession::handle_text`], [`ShareSession::handle_binary`])
//! and the time ([`ShareSession::handle_timeout`]); take what it wants sent and
//! what happened from [`ShareSession::poll_output`]. Both directions run at
//! once: shares this side pushes, one at a time, and shares the peer pushes.
//!
//! The session never writes. To decide on an offer it reads the store through
//! a [`ShareLookup`]; every write it needs (a chunk, a finished share, the
//! chunks of a share that will never complete) comes out of
//! [`ShareSession::poll_output`] as [`Output::Write`]. The driver carries each
//! out on a [`super::ShareStore`] off the async workers
//! ([`StoreWrite::carry_out`]), in order, and gives the outcome back with
//! [`ShareSession::handle_written`]: a share is acknowledged only once it is
//! stored whole, and a write that failed refuses it.
//!
//! Chunks are made one at a time, as [`ShareSession::poll_output`] is called,
//! so [`ShareSession::cancel`] stops a transfer between any two chunks.

use super::manifest::VerifiedShare;
use super::store::{ShareLookup, StoreWrite, WriteDone};
use super::wire::{decode_chunk, encode_chunk, Control};
use super::{Limits, ShareError, ShareKind};
use crate::keys::PeerKey;
pub use crate::policy::ReceiveRules;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

/// Something the session wants done or reports.
#[derive(Debug)]
pub enum Output {
    /// Send this text on the data channel.
    SendText(String),
    /// Send these bytes on the data channel.
    SendBinary(Vec<u8>),
    /// Carry out this write on the store, off the async workers and in the
    /// order they come, then give its outcome to
    /// [`ShareSession::handle_written`].
    Write(StoreWrite),
    /// The peer acknowledged one of our shares: it is delivered.
    Delivered(String),
    /// The peer refused one of our shares; it will not be offered to it again.
    Rejected {
        /// The share id.
        id: String,
        /// The peer's reason.
        reason: String,
    },
    /// The peer refused one of our shares for now (its inbox is full): keep
    /// it queued and offer it again on a later session.
    Deferred {
        /// The share id.
        id: String,
        /// The peer's reason.
        reason: String,
    },
    /// A share from the peer arrived whole, verified, and is stored.
    Received(Box<VerifiedShare>),
    /// We refused something the peer sent.
    Refused(ShareError),
    /// The peer did not answer one of our shares within the response
    /// timeout. The share stays with the session: it is offered again after
    /// a pause, and a late answer still counts. A call made only to deliver
    /// shares may end here and try again later.
    TimedOut {
        /// The share id.
        id: String,
    },
}

struct Outgoing {
    share: VerifiedShare,
    jpeg: Option<Vec<u8>>,
    /// Chunk indices still to send (filled by the peer's `share_have`).
    todo: VecDeque<u32>,
    /// How many times the peer let an offer of it time out.
    timeouts: u32,
    /// Not offered again before this (after a timeout).
    not_before: Option<Instant>,
}

/// The longest pause before a timed-out share is offered again.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(600);

/// The share transfer with one peer.
pub struct ShareSession {
    me: PeerKey,
    peer: PeerKey,
    rules: ReceiveRules,
    limits: Limits,
    queue: VecDeque<Outgoing>,
    current: Option<(Outgoing, Instant)>,
    /// Incoming shares being received, and the chunks the store holds of each.
    incoming: HashMap<String, (VerifiedShare, BTreeSet<u32>)>,
    /// Incoming shares held whole, being stored ([`StoreWrite::Finish`] asked for).
    finishing: HashMap<String, VerifiedShare>,
    /// Incoming shares refused or withdrawn in this session: their late chunks are dropped quietly.
    dropped: HashSet<String>,
    out: VecDeque<Output>,
    response_timeout: Duration,
}

impl ShareSession {
    /// A session between `me` and `peer`; `rules` say what `peer` may push to us.
    pub fn new(me: PeerKey, peer: PeerKey, rules: ReceiveRules, limits: Limits) -> Self {
        ShareSession {
            me,
            peer,
            rules,
            limits,
            queue: VecDeque::new(),
            current: None,
            incoming: HashMap::new(),
            finishing: HashMap::new(),
            dropped: HashSet::new(),
            out: VecDeque::new(),
            response_timeout: Duration::from_secs(30),
        }
    }

    /// How long to wait for the peer's answer to an offer or its chunks.
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// Queues one of our shares for the peer. A share whose audience does not
    /// name the peer is never offered.
    pub fn push(&mut self, share: VerifiedShare, jpeg: Option<Vec<u8>>, now: Instant) {
        if !share.body.audience.contains(&self.peer) {
            self.out.push_back(Output::Rejected {
                id: share.id.clone(),
                reason: "the peer is not in this share's audience".into(),
            });
            return;
        }
        self.queue.push_back(Outgoing {
            share,
            jpeg,
            todo: VecDeque::new(),
            timeouts: 0,
            not_before: None,
        });
        self.next_offer(now);
    }

    /// Changes what `peer` may push from the next offer on (the owner changed
    /// its permissions during the session). Offers already accepted go on.
    pub fn set_rules(&mut self, rules: ReceiveRules) {
        self.rules = rules;
    }

    /// Whether a share of ours is queued or in flight.
    pub fn is_sending(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    /// The ids of our shares queued or in flight, the one in flight first.
    pub fn outgoing(&self) -> Vec<String> {
        self.current
            .iter()
            .map(|(c, _)| &c.share.id)
            .chain(self.queue.iter().map(|q| &q.share.id))
            .cloned()
            .collect()
    }

    /// Withdraws one of our shares: dropped from the queue, or — when it is
    /// the one in flight — no further chunk of it is sent and the peer is
    /// told with `share_cancel`. Returns whether the share was here.
    pub fn cancel(&mut self, id: &str, now: Instant) -> bool {
        if self.current.as_ref().is_some_and(|(c, _)| c.share.id == id) {
            self.current = None;
            self.send(&Control::ShareCancel { id: id.to_string() });
            self.next_offer(now);
            return true;
        }
        let before = self.queue.len();
        self.queue.retain(|q| q.share.id != id);
        self.queue.len() != before
    }

    /// The next thing to do, if any. Chunks of the share in flight are made
    /// one per call, after everything else waiting.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(output) = self.out.pop_front() {
            return Some(output);
        }
        let (current, _) = self.current.as_mut()?;
        let info = current.share.body.jpeg.as_ref()?;
        let jpeg = current.jpeg.as_ref()?;
        while let Some(index) = current.todo.pop_front() {
            let start = index as usize * info.chunk_size as usize;
            let end = (start + info.chunk_size as usize).min(jpeg.len());
            if start >= end {
                continue;
            }
            if let Ok(frame) = encode_chunk(&current.share.id, index, &jpeg[start..end]) {
                return Some(Output::SendBinary(frame));
            }
        }
        None
    }

    /// When [`ShareSession::handle_timeout`] should next be called: the
    /// deadline of the share in flight, or when a timed-out share may be
    /// offered again.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.current {
            Some((_, at)) => Some(*at + self.response_timeout),
            None => self.queue.iter().filter_map(|q| q.not_before).min(),
        }
    }

    /// Lets time pass. A share whose peer did not answer in time goes back
    /// to the queue, to be offered again after a pause that grows with each
    /// timeout (one response timeout more each time, at most ten minutes);
    /// the next queued share is offered meanwhile.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired = self
            .current
            .as_ref()
            .is_some_and(|(_, at)| now >= *at + self.response_timeout);
        if expired {
            let (mut timed_out, _) = self.current.take().expect("checked");
            timed_out.timeouts += 1;
            timed_out.todo.clear();
            let pause = (self.response_timeout * timed_out.timeouts).min(MAX_RETRY_PAUSE);
            timed_out.not_before = Some(now + pause);
            self.out.push_back(Output::TimedOut {
                id: timed_out.share.id.clone(),
            });
            self.queue.push_back(timed_out);
        }
        self.next_offer(now);
    }

    /// Takes a share of ours out of the queue (one that timed out, whose
    /// answer came late).
    fn take_queued(&mut self, id: &str) -> Option<Outgoing> {
        let at = self.queue.iter().position(|q| q.share.id == id)?;
        self.queue.remove(at)
    }

    /// A text message from the peer. Returns `false` when it is not a share
    /// message, so other data-channel protocols can share the channel.
    /// The store is only read (to decide on an offer).
    pub fn handle_text(&mut self, text: &str, now: Instant, store: &dyn ShareLookup) -> bool {
        match Control::parse(text) {
            Ok(None) => false,
            Ok(Some(control)) => {
                self.handle_control(control, now, store);
                true
            }
            Err(e) => {
                if text.contains("\"share_") {
                    self.refuse("", e);
                    return true;
                }
                false
            }
        }
    }

    fn handle_control(&mut self, control: Control, now: Instant, store: &dyn ShareLookup) {
        match control {
            Control::ShareOffer { manifest } => {
                let share = match manifest.verify(&self.limits) {
                    Ok(share) => share,
                    Err(e) => return self.refuse(&super::share_id(&manifest.body), e),
                };
                if let Err(e) = self.may_receive(&share) {
                    return self.refuse(&share.id, e);
                }
                if store.is_stored(&share.id) {
                    return self.send(&Control::ShareAck { id: share.id });
                }
                if self.finishing.contains_key(&share.id) {
                    // Offered again while it is being stored: the answer follows.
                    return;
                }
                if let Err(e) = store.room_for(&share) {
                    return self.refuse(&share.id, e);
                }
                self.dropped.remove(&share.id);
                let held = store.chunks_held(&share.id);
                let have = held.iter().copied().collect();
                let id = share.id.clone();
                self.incoming.insert(id.clone(), (share, held));
                self.send(&Control::ShareHave {
                    id: id.clone(),
                    have,
                });
                self.try_finish(&id);
            }
            Control::ShareHave { id, have } => {
                // A late answer to an offer that timed out resumes it at once
                // when nothing else is in flight (else it is offered next).
                if self.current.is_none() {
                    if let Some(late) = self.take_queued(&id) {
                        self.current = Some((late, now));
                    }
                } else if let Some(late) = self.queue.iter_mut().find(|q| q.share.id == id) {
                    late.not_before = None;
                }
                let Some((current, at)) = self.current.as_mut().filter(|(c, _)| c.share.id == id)
                else {
                    return;
                };
                *at = now;
                let have: BTreeSet<u32> = have.into_iter().collect();
                current.todo = (0..current.share.chunk_count())
                    .filter(|index| !have.contains(index))
                    .collect();
            }
            Control::ShareAck { id } => {
                if self.current.as_ref().is_some_and(|(c, _)| c.share.id == id) {
                    self.current = None;
                    self.out.push_back(Output::Delivered(id));
                    self.next_offer(now);
                } else if self.take_queued(&id).is_some() {
                    // The answer to an offer that had timed out.
                    self.out.push_back(Output::Delivered(id));
                }
            }
            Control::ShareRefused {
                id, reason, retry, ..
            } => {
                let in_flight = self.current.as_ref().is_some_and(|(c, _)| c.share.id == id);
                if in_flight || self.take_queued(&id).is_some() {
                    if in_flight {
                        self.current = None;
                    }
                    self.out.push_back(match retry {
                        true => Output::Deferred { id, reason },
                        false => Output::Rejected { id, reason },
                    });
                    self.next_offer(now);
                }
            }
            Control::ShareCancel { id } => {
                if self.incoming.remove(&id).is_some() {
                    self.dropped.insert(id.clone());
                    self.withdraw_writes(&id);
                    self.write(StoreWrite::Discard { id });
                }
            }
        }
    }

    /// A binary message: a chunk of a share the peer offered. A chunk that
    /// matches its hash comes out as a [`StoreWrite::PutChunk`].
    pub fn handle_binary(&mut self, frame: &[u8]) {
        let chunk = match decode_chunk(frame) {
            Ok(chunk) => chunk,
            Err(e) => return self.out.push_back(Output::Refused(e)),
        };
        let id = chunk.id.clone();
        if self.dropped.contains(&id) {
            return;
        }
        let Some((share, _)) = self.incoming.get(&id) else {
            return self.out.push_back(Output::Refused(ShareError::Malformed(
                "a chunk of a share that was not offered".into(),
            )));
        };
        if !share.chunk_ok(chunk.index, chunk.data) {
            let e = ShareError::Corrupt(format!("chunk {} does not match its hash", chunk.index));
            return self.refuse_incoming(&id, e);
        }
        self.write(StoreWrite::PutChunk {
            id,
            index: chunk.index,
            data: chunk.data.to_vec(),
        });
    }

    /// The outcome of a write the session asked for ([`Output::Write`]). A
    /// share is acknowledged once it is stored whole; a write that failed
    /// refuses it. The outcome of a write for a share refused or withdrawn
    /// meanwhile is dropped quietly.
    pub fn handle_written(&mut self, done: WriteDone) {
        match done {
            WriteDone::Chunk { id, index, result } => {
                let Some((_, held)) = self.incoming.get_mut(&id) else {
                    return;
                };
                match result {
                    Ok(()) => {
                        held.insert(index);
                        self.try_finish(&id);
                    }
                    Err(e) if e.is_temporary() => self.refuse_incoming(&id, e),
                    Err(e) => {
                        self.incoming.remove(&id);
                        self.withdraw_writes(&id);
                        self.out.push_back(Output::Refused(e));
                    }
                }
            }
            WriteDone::Finished { id, result } => {
                let Some(share) = self.finishing.remove(&id) else {
                    return;
                };
                match result {
                    Ok(()) => {
                        self.send(&Control::ShareAck { id });
                        self.out.push_back(Output::Received(Box::new(share)));
                    }
                    Err(e) => self.refuse_incoming(&id, e),
                }
            }
            WriteDone::Discarded { result, .. } => {
                if let Err(e) = result {
                    self.out.push_back(Output::Refused(e));
                }
            }
        }
    }

    /// Asks for the share to be stored once the store holds every chunk.
    fn try_finish(&mut self, id: &str) {
        let Some((share, held)) = self.incoming.get(id) else {
            return;
        };
        if (held.len() as u32) < share.chunk_count() {
            return;
        }
        let (share, _) = self.incoming.remove(id).expect("present");
        self.finishing.insert(id.to_string(), share.clone());
        self.write(StoreWrite::Finish {
            share: Box::new(share),
        });
    }

    /// Refuses a share the peer is sending. Its late chunks are ignored, and
    /// so are its chunk writes not yet carried out; its kept chunks stay for
    /// a refusal for now (the transfer resumes later) and are dropped for a
    /// refusal for good (it can never complete).
    fn refuse_incoming(&mut self, id: &str, error: ShareError) {
        self.incoming.remove(id);
        self.finishing.remove(id);
        self.dropped.insert(id.to_string());
        self.withdraw_writes(id);
        if !error.is_temporary() {
            self.write(StoreWrite::Discard { id: id.to_string() });
        }
        self.refuse(id, error);
    }

    /// Takes back the chunk writes of share `id` not yet handed to the driver.
    fn withdraw_writes(&mut self, id: &str) {
        self.out.retain(
            |o| !matches!(o, Output::Write(StoreWrite::PutChunk { id: of, .. }) if of == id),
        );
    }

    fn write(&mut self, write: StoreWrite) {
        self.out.push_back(Output::Write(write));
    }

    fn may_receive(&self, share: &VerifiedShare) -> Result<(), ShareError> {
        if share.body.author != self.peer {
            return Err(ShareError::NotAllowed(
                "a share is accepted only from its author, never passed on".into(),
            ));
        }
        if !share.body.audience.contains(&self.me) {
            return Err(ShareError::NotAllowed(
                "this device is not in the share's audience".into(),
            ));
        }
        let allowed = match share.body.kind {
            ShareKind::Snapshot => self.rules.snapshots,
            ShareKind::Photo | ShareKind::Thought => self.rules.photos_and_thoughts,
        };
        if !allowed {
            return Err(ShareError::NotAllowed(format!(
                "this device's owner does not accept a {} from this contact (it needs {})",
                share.body.kind.name(),
                match share.body.kind {
                    ShareKind::Snapshot => "to be an approved contact",
                    _ => "`talk_back`",
                }
            )));
        }
        Ok(())
    }

    /// Offers the first queued share that may go now, if none is in flight.
    fn next_offer(&mut self, now: Instant) {
        if self.current.is_some() {
            return;
        }
        let ready = self
            .queue
            .iter()
            .position(|q| q.not_before.is_none_or(|at| at <= now));
        if let Some(next) = ready.and_then(|at| self.queue.remove(at)) {
            let offer = Control::ShareOffer {
                manifest: next.share.manifest.clone(),
            };
            self.current = Some((next, now));
            self.send(&offer);
        }
    }

    fn refuse(&mut self, id: &str, error: ShareError) {
        self.send(&Control::ShareRefused {
            id: id.to_string(),
            reason: error.peer_reason(),
            retry: error.is_temporary(),
            code: Some(error.code().to_string()),
        });
        self.out.push_back(Output::Refused(error));
    }

    fn send(&mut self, control: &Control) {
        let text = serde_json::to_string(control).expect("control messages serialize");
        self.out.push_back(Output::SendText(text));
    }
}
