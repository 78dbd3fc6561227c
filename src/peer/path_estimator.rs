//! The path estimate Hearth acts on: the stack's GCC, with the queue on the
//! path read directly.
//!
//! Behind a 150 kbit/s link with a 400 ms queue, the stack's GCC
//! (`rtc-interceptor` 0.21) only ever came down on loss: its delay half
//! stayed at the ceiling while the queue overflowed, and its loss half,
//! once the loss stopped, climbed 5% every 200 ms straight back over the
//! link. Each overshoot filled the queue, dropped a burst of packets and
//! froze the picture for seconds. [`PathEstimator`] wraps GCC as the same
//! `BandwidthEstimator` and says the lesser of two numbers:
//!
//! * GCC's own target (its loss half still answers heavy loss);
//! * a rate that follows the path's queue ([`QueueDelay`]): down to 0.85 of
//!   what was acknowledged when packets wait more than [`QUEUE_HIGH`] for
//!   [`QUEUE_PERSISTS`], at most once per [`DECREASE_GAP`]; up only while the
//!   queue is under [`QUEUE_LOW`], by a step a second near the rate where the
//!   queue last built ([`NEAR_CEILING`]), by a factor away from it.
//!
//! The estimate is not capped at a multiple of what was acknowledged (as
//! libwebrtc's is): the test picture needs 210 kbit/s at 640×480, and a
//! cap at 1.5× that made the encoder halve the picture on a free path.

use crate::peer::queue_delay::QueueDelay;
use rtc::interceptor::{BandwidthEstimator, EstimatorStats, PacketReport};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use tracing::debug;

/// The span the rate a decrease starts from is measured over: while the
/// queue builds, what arrives is what the path carries.
pub const CARRIED_WINDOW: Duration = Duration::from_millis(500);
/// A queueing delay over this is congestion (once it persists).
pub const QUEUE_HIGH: Duration = Duration::from_millis(60);
/// How long the queue must stay over [`QUEUE_HIGH`] before the rate comes
/// down: a keyframe's own burst drains sooner on a path that carries it.
pub const QUEUE_PERSISTS: Duration = Duration::from_millis(150);
/// The rate only grows while the queueing delay is under this.
pub const QUEUE_LOW: Duration = Duration::from_millis(25);
/// What a decrease leaves of the acknowledged rate.
pub const DECREASE_TO: f64 = 0.85;
/// The least time between two decreases: the queue needs it to drain.
pub const DECREASE_GAP: Duration = Duration::from_millis(600);
/// Between these shares of the rate where the queue last built (the
/// ceiling), the rate grows by [`NEAR_GROWTH_SHARE`] of the ceiling a second
/// (at least [`NEAR_GROWTH_BPS`]); elsewhere by [`FAR_GROWTH`]. The lower
/// one is under [`DECREASE_TO`], so a decrease lands near.
pub const NEAR_CEILING: (f64, f64) = (0.8, 1.15);
/// Growth a second near the ceiling, as a share of it.
pub const NEAR_GROWTH_SHARE: f64 = 0.15;
/// The least growth a second near the ceiling.
pub const NEAR_GROWTH_BPS: f64 = 10_000.0;
/// Growth a second away from it (a factor): after the link is freed, from
/// 150 kbit/s to the full picture's 560 in under 5 s.
pub const FAR_GROWTH: f64 = 1.4;

/// Bytes the peer reported arriving, by the time their report came.
#[derive(Debug, Default)]
struct AckedRate {
    arrivals: VecDeque<(Instant, usize)>,
    first: Option<Instant>,
}

impl AckedRate {
    fn add(&mut self, now: Instant, bytes: usize) {
        self.first.get_or_insert(now);
        self.arrivals.push_back((now, bytes));
    }

    /// Forgets what is older than [`CARRIED_WINDOW`].
    fn prune(&mut self, now: Instant) {
        while let Some(&(at, _)) = self.arrivals.front() {
            if now.saturating_duration_since(at) < CARRIED_WINDOW {
                break;
            }
            self.arrivals.pop_front();
        }
    }

    /// Bits per second over the last [`CARRIED_WINDOW`], or since the
    /// first report, once that is a fifth of the window.
    fn rate(&self, now: Instant) -> Option<f64> {
        let span = now
            .saturating_duration_since(self.first?)
            .min(CARRIED_WINDOW);
        if span < CARRIED_WINDOW / 5 {
            return None;
        }
        let bytes: usize = self.arrivals.iter().map(|(_, bytes)| bytes).sum();
        Some(bytes as f64 * 8.0 / span.as_secs_f64())
    }
}

/// GCC's target, held to the path's queue and to what was acknowledged.
pub struct PathEstimator<E> {
    inner: E,
    queue: QueueDelay,
    acked: AckedRate,
    /// The queue-following rate.
    following: f64,
    /// The acknowledged rate when the queue last built.
    ceiling: Option<f64>,
    queued_since: Option<Instant>,
    last_decrease: Option<Instant>,
    last_update: Option<Instant>,
    target: f64,
    floor: f64,
    most: f64,
    logged: Option<Instant>,
}

impl<E: BandwidthEstimator> PathEstimator<E> {
    /// Wraps `inner`; the target stays between `floor` and `most`.
    pub fn new(inner: E, floor: f64, most: f64) -> Self {
        let target = inner.target_bitrate().clamp(floor, most);
        PathEstimator {
            inner,
            queue: QueueDelay::default(),
            acked: AckedRate::default(),
            following: target,
            ceiling: None,
            queued_since: None,
            last_decrease: None,
            last_update: None,
            target,
            floor,
            most,
            logged: None,
        }
    }

    /// Moves the queue-following rate for a batch that showed `queued`
    /// delay.
    fn follow_queue(&mut self, now: Instant, queued: Option<Duration>) {
        let elapsed = self
            .last_update
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at))
            .min(Duration::from_secs(1));
        self.last_update = Some(now);
        let queued_long = match queued {
            Some(delay) if delay > QUEUE_HIGH => {
                let since = *self.queued_since.get_or_insert(now);
                now.saturating_duration_since(since) >= QUEUE_PERSISTS
            }
            Some(_) => {
                self.queued_since = None;
                false
            }
            None => false,
        };
        let may_decrease = self
            .last_decrease
            .is_none_or(|at| now.saturating_duration_since(at) >= DECREASE_GAP);
        if queued_long && may_decrease {
            let carried = self.acked.rate(now).unwrap_or(self.following);
            self.following = (DECREASE_TO * carried).min(self.following);
            self.ceiling = Some(carried);
            self.last_decrease = Some(now);
            return;
        }
        if queued.is_none_or(|delay| delay >= QUEUE_LOW) {
            return;
        }
        let (below, above) = NEAR_CEILING;
        let near = self
            .ceiling
            .filter(|ceiling| (ceiling * below..ceiling * above).contains(&self.following));
        self.following = if let Some(ceiling) = near {
            let growth = (NEAR_GROWTH_SHARE * ceiling).max(NEAR_GROWTH_BPS);
            self.following + growth * elapsed.as_secs_f64()
        } else {
            self.ceiling = None;
            self.following * FAR_GROWTH.powf(elapsed.as_secs_f64())
        }
        .min(self.most);
    }
}

impl<E: BandwidthEstimator> BandwidthEstimator for PathEstimator<E> {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        if reports.is_empty() {
            return;
        }
        self.inner.on_reports(now, reports);
        for report in reports.iter().filter(|report| report.arrived) {
            self.acked.add(now, report.size);
        }
        self.acked.prune(now);
        let queued = self.queue.update(now, reports);
        let lost = reports.iter().filter(|report| !report.arrived).count();
        self.follow_queue(now, queued);
        let gcc = self.inner.target_bitrate();
        self.target = gcc.min(self.following).clamp(self.floor, self.most);
        if self
            .logged
            .is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_millis(200))
        {
            self.logged = Some(now);
            debug!(
                target: "hearth::path_estimate",
                target_kbps = (self.target / 1000.0) as u64,
                gcc_kbps = (gcc / 1000.0) as u64,
                following_kbps = (self.following / 1000.0) as u64,
                acked_kbps = self.acked.rate(now).map(|b| (b / 1000.0) as u64),
                queued_ms = queued.map(|d| d.as_millis() as u64),
                lost,
                reports = reports.len(),
                "path estimate"
            );
        }
    }

    fn target_bitrate(&self) -> f64 {
        self.target
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }

    fn stats(&self) -> EstimatorStats {
        self.inner.stats()
    }
}

#[cfg(test)]
#[path = "path_estimator_tests.rs"]
mod tests;
