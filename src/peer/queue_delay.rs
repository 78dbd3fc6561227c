//! How long the path's queue is holding our packets, from the departure and
//! arrival times the peer's transport-wide feedback gives back.
//!
//! Each packet's one-way delay is its arrival (on the peer's clock) less
//! its departure (on ours); the two clocks' offset is unknown but constant,
//! so the delay over the smallest one seen lately is the time the packet
//! spent queued. The smallest is kept over two alternating spans of
//! [`BASE_SPAN`], so a route that changes for good is learnt within two
//! spans.
//!
//! The stack's GCC has a delay detector too, but behind a 150 kbit/s link
//! with a 400 ms queue it never left "normal" in our tests (its delay half
//! stayed at the ceiling while the queue overflowed), so Hearth reads the
//! queue itself.

use rtc::interceptor::PacketReport;
use std::time::{Duration, Instant};

/// How long one of the two spans that keep the base delay lasts.
pub const BASE_SPAN: Duration = Duration::from_secs(10);

/// A one-way delay this far from the base means the clocks were reset (a
/// new reference time): the base starts again.
const RESET_BEYOND: Duration = Duration::from_secs(10);

/// The queueing delay on the path, from per-packet reports.
#[derive(Debug, Default)]
pub struct QueueDelay {
    epoch: Option<Instant>,
    current_min: Option<f64>,
    previous_min: Option<f64>,
    span_started: Option<Instant>,
}

impl QueueDelay {
    /// Takes a feedback batch at `now`; returns the mean queueing delay of
    /// the packets in it that arrived, if any did.
    pub fn update(&mut self, now: Instant, reports: &[PacketReport]) -> Option<Duration> {
        let started = *self.span_started.get_or_insert(now);
        if now.saturating_duration_since(started) >= BASE_SPAN {
            self.previous_min = self.current_min.take();
            self.span_started = Some(now);
        }
        let delays: Vec<f64> = reports
            .iter()
            .filter_map(|report| {
                let arrival = report.arrival.filter(|_| report.arrived)?;
                let epoch = *self.epoch.get_or_insert(report.departure);
                let departure = report.departure.checked_duration_since(epoch)?;
                Some(arrival.as_secs_f64() - departure.as_secs_f64())
            })
            .collect();
        if delays.is_empty() {
            return None;
        }
        for &delay in &delays {
            let base = self.base().unwrap_or(delay);
            if (delay - base).abs() > RESET_BEYOND.as_secs_f64() {
                self.current_min = None;
                self.previous_min = None;
            }
            self.current_min = Some(self.current_min.map_or(delay, |min| min.min(delay)));
        }
        let base = self.base()?;
        let mean = delays.iter().map(|delay| delay - base).sum::<f64>() / delays.len() as f64;
        Some(Duration::from_secs_f64(mean.max(0.0)))
    }

    fn base(&self) -> Option<f64> {
        match (self.current_min, self.previous_min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
