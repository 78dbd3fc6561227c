//! For the `peer_*` tests: building a viewer/device pair on 127.0.0.1,
//! exchanging SDP directly, relaying trickle candidates, and waiting for events.

use hearth::peer::{HearthPeer, IceMode, PeerEvent, PeerOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Generous bound for anything that should take milliseconds on loopback.
pub const STEP: Duration = Duration::from_secs(10);

/// One side of a test connection: the peer and its (relayed) events with arrival times.
pub struct Side {
    pub peer: Arc<HearthPeer>,
    pub events: mpsc::Receiver<(Instant, PeerEvent)>,
}

impl Side {
    /// Waits at most [`STEP`] for this side's `DataChannelOpen`; `who`
    /// ("viewer", "device") names the side if it never comes.
    pub async fn wait_open(&mut self, who: &str) -> Instant {
        let what = format!("{who} DataChannelOpen");
        wait_for(&mut self.events, STEP, &what, |e| {
            *e == PeerEvent::DataChannelOpen
        })
        .await
        .0
    }
}

/// A connected-or-connecting pair and the instant the offer was requested.
pub struct Pair {
    pub viewer: Side,
    pub device: Side,
    pub offer: String,
    pub answer: String,
    pub started: Instant,
}

/// Options for 127.0.0.1 only.
pub fn local(opts: PeerOptions) -> PeerOptions {
    opts.loopback_only()
}

/// Builds both peers, relays trickle candidates between them, and runs offer/answer.
pub async fn negotiate(viewer_opts: PeerOptions, device_opts: PeerOptions) -> Pair {
    let (viewer, viewer_rx) = HearthPeer::new(local(viewer_opts)).await.expect("viewer");
    let (device, device_rx) = HearthPeer::new(local(device_opts)).await.expect("device");
    let viewer = Arc::new(viewer);
    let device = Arc::new(device);
    let viewer_events = relay(viewer_rx, device.clone());
    let device_events = relay(device_rx, viewer.clone());

    let started = Instant::now();
    let offer = viewer.create_offer().await.expect("create_offer");
    let answer = device.accept_offer(&offer).await.expect("accept_offer");
    viewer.accept_answer(&answer).await.expect("accept_answer");
    Pair {
        viewer: Side {
            peer: viewer,
            events: viewer_events,
        },
        device: Side {
            peer: device,
            events: device_events,
        },
        offer,
        answer,
        started,
    }
}

/// Forwards `LocalCandidate`s to `other` (as a signalling server would) and everything
/// else, time-stamped, to the returned receiver. Bounded, so back-pressure is preserved.
pub fn relay(
    mut rx: mpsc::Receiver<PeerEvent>,
    other: Arc<HearthPeer>,
) -> mpsc::Receiver<(Instant, PeerEvent)> {
    let (tx, out) = mpsc::channel(1024);
    let other = Arc::downgrade(&other);
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let PeerEvent::LocalCandidate(c) = &event {
                if let Some(other) = other.upgrade() {
                    // Through JSON, as the real signalling path would.
                    let json = c.to_json();
                    if let Err(e) = other.add_remote_candidate_json(&json).await {
                        eprintln!("relay: candidate rejected: {e}");
                    }
                }
                continue;
            }
            if tx.send((Instant::now(), event)).await.is_err() {
                break;
            }
        }
    });
    out
}

/// Waits for the first event matching `pred`, skipping others; panics after `timeout`.
pub async fn wait_for(
    events: &mut mpsc::Receiver<(Instant, PeerEvent)>,
    timeout: Duration,
    what: &str,
    mut pred: impl FnMut(&PeerEvent) -> bool,
) -> (Instant, PeerEvent) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some((at, event))) if pred(&event) => return (at, event),
            Ok(Some(_)) => continue,
            Ok(None) => panic!("event stream ended while waiting for {what}"),
            Err(_) => panic!("timed out after {timeout:?} waiting for {what}"),
        }
    }
}

/// Options for a pure data-channel pair with the given ICE mode and fast start setting.
pub fn data_only(ice_mode: IceMode, fast_start: bool) -> (PeerOptions, PeerOptions) {
    let viewer = PeerOptions {
        ice_mode,
        fast_start,
        ..PeerOptions::default()
    };
    let device = PeerOptions {
        role: hearth::peer::Role::Answerer,
        ..viewer.clone()
    };
    (viewer, device)
}

/// Median of some durations.
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}
