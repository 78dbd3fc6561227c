//! The shared state between a pipeline thread and everyone who controls or watches it.
//!
//! One mutex guards the broadcast sender and the pause/stop/keyframe flags, and a condvar
//! wakes the (blocking) pipeline thread when something changes. Publishing happens under
//! the same mutex as pausing, which is what makes the privacy switch exact: once
//! `set_paused(true)` returns, no further packet reaches any subscriber — nor any raw
//! frame anyone waits for.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use super::{MediaPacket, PipelineStats};

struct State<T: MediaPacket> {
    tx: Option<broadcast::Sender<Arc<T>>>,
    paused: bool,
    stopping: bool,
    keyframe_requested: bool,
    /// Who waits for the next captured frame, raw.
    raw_waiters: Vec<oneshot::Sender<Arc<T::Raw>>>,
}

/// Shared core of one pipeline.
pub(crate) struct Hub<T: MediaPacket> {
    state: Mutex<State<T>>,
    wake: Condvar,
    pub(crate) frames_encoded: AtomicU64,
    pub(crate) keyframes_encoded: AtomicU64,
    frames_published: AtomicU64,
    pub(crate) capture_errors: AtomicU64,
    pub(crate) encode_errors: AtomicU64,
    /// Each subscriber's path estimate (bits per second, 0: none yet).
    estimates: Mutex<Vec<Weak<AtomicU64>>>,
}

impl<T: MediaPacket> Hub<T> {
    pub(crate) fn new(capacity: usize) -> Arc<Self> {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Arc::new(Self {
            state: Mutex::new(State {
                tx: Some(tx),
                paused: false,
                stopping: false,
                keyframe_requested: true,
                raw_waiters: Vec::new(),
            }),
            wake: Condvar::new(),
            frames_encoded: AtomicU64::new(0),
            keyframes_encoded: AtomicU64::new(0),
            frames_published: AtomicU64::new(0),
            capture_errors: AtomicU64::new(0),
            encode_errors: AtomicU64::new(0),
            estimates: Mutex::new(Vec::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic elsewhere must not take the privacy switch down with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Someone wants encoded packets.
    fn encoding_wanted(s: &State<T>) -> bool {
        !s.paused && s.tx.as_ref().is_some_and(|tx| tx.receiver_count() > 0)
    }

    /// Someone wants the next capture: encoded, or raw.
    fn wanted(s: &State<T>) -> bool {
        Self::encoding_wanted(s) || (!s.paused && !s.raw_waiters.is_empty())
    }

    /// Blocks until there is someone to capture for; `false` once the pipeline stops.
    pub(crate) fn wait_until_wanted(&self, what: &str) -> bool {
        let mut s = self.lock();
        let mut idle = false;
        while !s.stopping && !Self::wanted(&s) {
            if !idle {
                debug!(stream = what, paused = s.paused, "pipeline idle");
                idle = true;
            }
            s = self.wake.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        if idle && !s.stopping {
            debug!(stream = what, "pipeline active");
            s.keyframe_requested = true;
        }
        !s.stopping
    }

    /// Sleeps for `delay` unless the pipeline stops first; `false` if it stopped.
    pub(crate) fn sleep(&self, delay: Duration) -> bool {
        let deadline = Instant::now() + delay;
        let mut s = self.lock();
        while !s.stopping {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            s = self
                .wake
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        !s.stopping
    }

    /// Called with a fresh capture: hands it to everyone waiting for a raw frame (unless
    /// paused), then says whether to encode it: `None` if it must be dropped (paused,
    /// nobody watching, stopping), else whether it must be a keyframe (consumes the
    /// request).
    pub(crate) fn begin_encode(&self, raw: &Arc<T::Raw>) -> Option<bool> {
        let mut s = self.lock();
        if s.stopping {
            return None;
        }
        if !s.paused {
            for waiter in s.raw_waiters.drain(..) {
                let _ = waiter.send(Arc::clone(raw));
            }
        }
        if !Self::encoding_wanted(&s) {
            return None;
        }
        Some(std::mem::take(&mut s.keyframe_requested))
    }

    /// Broadcasts a packet unless the pipeline was paused meanwhile.
    pub(crate) fn publish(&self, mut packet: T) -> bool {
        let s = self.lock();
        let Some(tx) = s.tx.as_ref().filter(|_| !s.paused && !s.stopping) else {
            return false;
        };
        packet.set_sequence(self.frames_published.load(Ordering::Relaxed));
        // An error only means every subscriber left just now; the loop will idle.
        let _ = tx.send(Arc::new(packet));
        self.frames_published.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// The lowest and the highest path estimate among the subscribers that
    /// reported one.
    pub(crate) fn estimate_range(&self) -> (Option<u64>, Option<u64>) {
        let mut estimates = self.estimates.lock().unwrap_or_else(|p| p.into_inner());
        estimates.retain(|e| e.strong_count() > 0);
        let known = estimates
            .iter()
            .filter_map(Weak::upgrade)
            .map(|e| e.load(Ordering::Relaxed))
            .filter(|&bps| bps > 0);
        known.fold((None, None), |(low, high), bps| {
            (
                Some(low.map_or(bps, |l: u64| l.min(bps))),
                Some(high.map_or(bps, |h: u64| h.max(bps))),
            )
        })
    }

    pub(crate) fn request_keyframe(&self) {
        let mut s = self.lock();
        if !s.keyframe_requested {
            s.keyframe_requested = true;
            self.wake.notify_all();
        }
    }

    /// Stops the thread at its next check and wakes it if it waits.
    pub(crate) fn stop(&self) {
        self.lock().stopping = true;
        self.wake.notify_all();
    }

    /// Drops the sender so subscribers see the end of the stream.
    pub(crate) fn close(&self) {
        let mut s = self.lock();
        s.stopping = true;
        s.tx = None;
        s.raw_waiters.clear();
        self.wake.notify_all();
    }
}

/// The pipeline is one of the privacy switch's gates: paused while privacy is on.
impl<T: MediaPacket> crate::privacy::PrivacyGate for PipelineControl<T> {
    fn set_private(&self, on: bool) {
        self.set_paused(on);
    }
}

/// Controls a running pipeline and adds subscribers; cheap to clone, `Send + Sync`.
pub struct PipelineControl<T: MediaPacket> {
    hub: Arc<Hub<T>>,
}

impl<T: MediaPacket> Clone for PipelineControl<T> {
    fn clone(&self) -> Self {
        Self {
            hub: Arc::clone(&self.hub),
        }
    }
}

impl<T: MediaPacket> PipelineControl<T> {
    pub(crate) fn new(hub: Arc<Hub<T>>) -> Self {
        Self { hub }
    }

    /// A new feed of packets. Asks for a keyframe, and the feed's first packet is one.
    /// If the pipeline has stopped, the feed is already closed.
    pub fn subscribe(&self) -> Subscriber<T> {
        let rx = {
            let mut s = self.hub.lock();
            let rx = match &s.tx {
                Some(tx) => tx.subscribe(),
                None => broadcast::channel(1).1,
            };
            s.keyframe_requested = true;
            rx
        };
        self.hub.wake.notify_all();
        debug!("pipeline subscriber added");
        let estimate = Arc::new(AtomicU64::new(0));
        self.hub
            .estimates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::downgrade(&estimate));
        Subscriber {
            rx,
            hub: Arc::clone(&self.hub),
            waiting_for_keyframe: true,
            estimate,
        }
    }

    /// The next frame the source captures, before encoding — what a snapshot needs.
    /// Wakes an idle pipeline for that one capture (nothing is encoded for it).
    /// `None` if privacy is on (also if it comes on while waiting) or the pipeline stopped.
    pub async fn next_raw(&self) -> Option<Arc<T::Raw>> {
        let (tx, rx) = oneshot::channel();
        {
            let mut s = self.hub.lock();
            if s.paused || s.stopping || s.tx.is_none() {
                return None;
            }
            s.raw_waiters.push(tx);
        }
        self.hub.wake.notify_all();
        rx.await.ok()
    }

    /// Makes the next encoded frame a keyframe. Any number of requests before that
    /// frame result in one keyframe.
    pub fn request_keyframe(&self) {
        self.hub.request_keyframe();
    }

    /// Privacy switch. `true`: capture and encoding stop and, once this returns, no
    /// further packet reaches any subscriber. `false`: resumes, starting with a keyframe.
    pub fn set_paused(&self, paused: bool) {
        let mut s = self.hub.lock();
        if s.paused != paused {
            info!(paused, "pipeline privacy pause changed");
            s.paused = paused;
            if !paused {
                s.keyframe_requested = true;
            }
        }
        if paused {
            // Their frames will not come: tell them now (they get `None`).
            s.raw_waiters.clear();
        }
        drop(s);
        self.hub.wake.notify_all();
    }

    /// Whether the pipeline is paused.
    pub fn is_paused(&self) -> bool {
        self.hub.lock().paused
    }

    /// How many frames the encoder has produced (once per frame, not per subscriber).
    pub fn frames_encoded(&self) -> u64 {
        self.hub.frames_encoded.load(Ordering::Relaxed)
    }

    /// All counters at once.
    pub fn stats(&self) -> PipelineStats {
        let h = &self.hub;
        PipelineStats {
            frames_encoded: h.frames_encoded.load(Ordering::Relaxed),
            keyframes_encoded: h.keyframes_encoded.load(Ordering::Relaxed),
            frames_published: h.frames_published.load(Ordering::Relaxed),
            capture_errors: h.capture_errors.load(Ordering::Relaxed),
            encode_errors: h.encode_errors.load(Ordering::Relaxed),
        }
    }
}

/// One subscriber's feed. Starts at a keyframe; if it falls so far behind that packets
/// are lost, it asks for a keyframe and skips ahead to it, so what it yields always
/// decodes.
pub struct Subscriber<T: MediaPacket> {
    rx: broadcast::Receiver<Arc<T>>,
    hub: Arc<Hub<T>>,
    waiting_for_keyframe: bool,
    /// This viewer's path estimate, which the encoder may follow.
    estimate: Arc<AtomicU64>,
}

impl<T: MediaPacket> Subscriber<T> {
    /// Next packet, or `None` once the pipeline has stopped.
    pub async fn recv(&mut self) -> Option<Arc<T>> {
        loop {
            let r = self.rx.recv().await;
            if let Some(done) = self.accept(r) {
                return done;
            }
        }
    }

    /// Like [`recv`](Self::recv), for threads outside the async runtime. Must not be
    /// called from inside an async task.
    pub fn blocking_recv(&mut self) -> Option<Arc<T>> {
        loop {
            let r = self.rx.blocking_recv();
            if let Some(done) = self.accept(r) {
                return done;
            }
        }
    }

    /// A packet if one is queued right now; `None` if not (or if the pipeline stopped).
    pub fn try_recv(&mut self) -> Option<Arc<T>> {
        loop {
            let r = match self.rx.try_recv() {
                Ok(p) => Ok(p),
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Closed) => Err(RecvError::Closed),
                Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            };
            if let Some(done) = self.accept(r) {
                return done;
            }
        }
    }

    /// What the path to this subscriber's viewer carries, in bits per
    /// second (`None`: not known); the encoder follows the weakest viewer
    /// ([`crate::media::rate`]).
    pub fn report_estimate(&self, bits_per_second: Option<u64>) {
        self.estimate
            .store(bits_per_second.unwrap_or(0), Ordering::Relaxed);
    }

    /// Asks the pipeline for a keyframe (e.g. on an RTCP PLI from this viewer).
    pub fn request_keyframe(&self) {
        self.hub.request_keyframe();
    }

    /// `Some(result)` to hand to the caller, `None` to keep reading.
    fn accept(&mut self, r: Result<Arc<T>, RecvError>) -> Option<Option<Arc<T>>> {
        match r {
            Ok(p) if self.waiting_for_keyframe && !p.is_keyframe() => None,
            Ok(p) => {
                self.waiting_for_keyframe = false;
                Some(Some(p))
            }
            Err(RecvError::Closed) => Some(None),
            Err(RecvError::Lagged(n)) => {
                warn!(
                    lost = n,
                    "subscriber too slow; skipping to the next keyframe"
                );
                self.waiting_for_keyframe = true;
                self.hub.request_keyframe();
                None
            }
        }
    }
}
