//! Real-time pacing for the simulated devices.
//!
//! A real camera or microphone blocks until the hardware has the next frame; the
//! simulated ones must behave the same or the pipeline would encode as fast as the CPU
//! allows. The pacer sleeps until fixed deadlines (so there is no drift), and when the
//! caller fell far behind (e.g. the pipeline idled while nobody watched) it starts
//! afresh instead of delivering a burst of catch-up frames.

use std::time::{Duration, Instant};

/// Sleeps until evenly spaced deadlines.
#[derive(Debug, Clone)]
pub struct Pacer {
    period: Duration,
    next: Option<Instant>,
}

impl Pacer {
    /// A pacer that releases one tick per `period`. The first tick is immediate.
    pub fn new(period: Duration) -> Self {
        Self { period, next: None }
    }

    /// The time between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Blocks until the next deadline and returns the instant of this tick.
    pub fn wait(&mut self) -> Instant {
        let now = Instant::now();
        let deadline = match self.next {
            // More than one period late: the caller paused; do not burst to catch up.
            Some(d) if now <= d + self.period => d,
            _ => now,
        };
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
        self.next = Some(deadline + self.period);
        deadline
    }
}
