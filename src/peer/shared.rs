//! State shared between a [`HearthPeer`](crate::peer::HearthPeer), its `webrtc` event
//! handler and its background tasks, plus the task that merges their events into the one
//! channel the owner reads.
//!
//! Two internal queues feed the owner's event channel:
//! * **control** (state changes, candidates, keyframe requests) — written with `try_send` from
//!   the `webrtc` driver task, which must never block;
//! * **data** (data-channel open/close/messages) — written with `send().await` by the
//!   data-channel pump, so a slow reader pushes back on the remote sender.
//!
//! The merger prefers control events, so `Connected` is never overtaken by data.

use crate::peer::data_channel::DataLink;
use crate::peer::events::{AudioPacket, PeerEvent, PeerState, VideoFrame};
use crate::peer::fast_start::FastStart;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_remote::TrackRemote;

/// Capacity of the internal control queue.
const CONTROL_CAPACITY: usize = 256;
/// Capacity of the internal data queue (the owner's channel adds `event_capacity`).
const DATA_CAPACITY: usize = 16;

/// Decides whether local candidates are announced as events (see `IceMode`).
#[derive(Debug, Default)]
pub(crate) struct CandidateGate {
    /// Emit `LocalCandidate` events (trickle mode, or after the gathered SDP was taken).
    pub emit: bool,
    /// `a=mid` of the first (bundled) media section, stamped on local candidates.
    pub mid: Option<String>,
    /// Local candidates seen so far (lets the gathered-SDP reader detect a race).
    pub seen: u64,
}

/// Channels towards the owner of remote media.
pub(crate) struct RemoteMedia {
    pub video_tx: Option<mpsc::Sender<VideoFrame>>,
    pub audio_tx: Option<mpsc::Sender<AudioPacket>>,
    /// The remote video track and its SSRC, for sending PLI.
    pub video_track: Mutex<Option<(Arc<dyn TrackRemote>, u32)>>,
}

/// See the module documentation.
pub(crate) struct Shared {
    ctrl_tx: mpsc::Sender<PeerEvent>,
    data_tx: mpsc::Sender<PeerEvent>,
    pub state_tx: watch::Sender<PeerState>,
    pub gathering_tx: watch::Sender<bool>,
    pub gate: tokio::sync::Mutex<CandidateGate>,
    pub fast: Option<Arc<FastStart>>,
    pub data: Arc<DataLink>,
    pub remote: RemoteMedia,
    /// Whether the answerer accepts the remote's `hearth` data channel.
    pub accept_data_channel: bool,
    /// The congestion controller's estimate of the path ([`crate::peer::send_estimate`]).
    pub send_estimate: crate::peer::send_estimate::SendEstimate,
    closed: AtomicBool,
    closed_emitted: AtomicBool,
}

impl Shared {
    /// Creates the shared state and spawns the event merger; returns the owner's receiver.
    pub fn new(
        event_capacity: usize,
        fast: Option<Arc<FastStart>>,
        remote: RemoteMedia,
        accept_data_channel: bool,
    ) -> (Arc<Self>, mpsc::Receiver<PeerEvent>) {
        let (ctrl_tx, ctrl_rx) = mpsc::channel(CONTROL_CAPACITY);
        let (data_tx, data_rx) = mpsc::channel(DATA_CAPACITY);
        let (out_tx, out_rx) = mpsc::channel(event_capacity.max(1));
        tokio::spawn(merge_events(ctrl_rx, data_rx, out_tx));
        let shared = Arc::new(Shared {
            ctrl_tx,
            data_tx,
            state_tx: watch::channel(PeerState::New).0,
            gathering_tx: watch::channel(false).0,
            gate: tokio::sync::Mutex::new(CandidateGate::default()),
            fast,
            data: Arc::new(DataLink::new()),
            send_estimate: Default::default(),
            remote,
            accept_data_channel,
            closed: AtomicBool::new(false),
            closed_emitted: AtomicBool::new(false),
        });
        (shared, out_rx)
    }

    /// Queues a control event without ever blocking (safe on the `webrtc` driver task).
    pub fn emit_control(&self, event: PeerEvent) {
        match self.ctrl_tx.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(event)) => {
                tracing::warn!(
                    ?event,
                    "peer event dropped: the PeerEvent receiver is not being read"
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {} // owner stopped listening
        }
    }

    /// Queues a data event, waiting for room (back-pressure). Returns `false` once the
    /// owner has dropped the event receiver.
    pub async fn emit_data(&self, event: PeerEvent) -> bool {
        self.data_tx.send(event).await.is_ok()
    }

    /// Publishes a connection state and the matching event.
    pub fn set_state(&self, state: PeerState) {
        let previous = self.state_tx.send_replace(state);
        if previous == state || previous == PeerState::Closed {
            return;
        }
        let event = match state {
            PeerState::Connected => Some(PeerEvent::Connected),
            PeerState::Disconnected => Some(PeerEvent::Disconnected),
            PeerState::Failed => Some(PeerEvent::Failed),
            PeerState::Closed => self.take_closed_event(),
            PeerState::New | PeerState::Connecting => None,
        };
        if let Some(fast) = &self.fast {
            match state {
                PeerState::Connected => fast.reached(crate::peer::fast_start::Milestone::Connected),
                PeerState::Failed | PeerState::Closed => fast.disarm("connection ended"),
                _ => {}
            }
        }
        if let Some(event) = event {
            self.emit_control(event);
        }
    }

    fn take_closed_event(&self) -> Option<PeerEvent> {
        (!self.closed_emitted.swap(true, Ordering::AcqRel)).then_some(PeerEvent::Closed)
    }

    /// Marks the peer closed (by `close()`); returns `true` the first time.
    pub fn mark_closed(&self) -> bool {
        !self.closed.swap(true, Ordering::AcqRel)
    }

    /// Whether `close()` has been called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Current connection state.
    pub fn state(&self) -> PeerState {
        *self.state_tx.borrow()
    }
}

/// Forwards control and data events to the owner, control first, until `Closed` went out
/// or the owner stopped listening.
async fn merge_events(
    mut ctrl_rx: mpsc::Receiver<PeerEvent>,
    mut data_rx: mpsc::Receiver<PeerEvent>,
    out_tx: mpsc::Sender<PeerEvent>,
) {
    loop {
        let event = tokio::select! {
            biased;
            Some(event) = ctrl_rx.recv() => event,
            Some(event) = data_rx.recv() => event,
            else => break,
        };
        let last = event == PeerEvent::Closed;
        if out_tx.send(event).await.is_err() || last {
            break;
        }
    }
}
