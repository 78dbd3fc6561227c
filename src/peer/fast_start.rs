//! Fast connection start-up.
//!
//! `webrtc` 0.21 queues a few handshake packets (DTLS ClientHello, SCTP INIT, DCEP OPEN) that
//! only leave at the next protocol timer tick, and the ICE timer ticks every 200 ms, so a
//! loopback connection takes ~600 ms from offer to open data channel. The connection's runtime
//! (`runtime.rs`) passes every `sleep` of the connection's driver through [`FastStart::capped`],
//! which caps it at 1 ms **while the connection is starting**; that brings the start down to a
//! few milliseconds.
//!
//! The cap is switched off, for good, as soon as every [`Milestone`] the connection is
//! waiting for has been reached (connected; data channel open; first media written after
//! connecting), when the connection fails or closes, or when the window given to
//! [`FastStart::arm`] runs out — whichever comes first. While on, it costs ~2 % of a core.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest sleep the driver may take while fast start is on.
pub const FAST_TICK: Duration = Duration::from_millis(1);

/// Things the connection has to reach before fast start switches itself off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Milestone {
    /// The peer connection reached `Connected` (ICE + DTLS up).
    Connected = 1,
    /// The data channel opened.
    DataChannelOpen = 2,
    /// The first media sample was written after connecting.
    FirstMediaSent = 4,
}

/// Shared on/off switch of one connection's fast start.
#[derive(Debug)]
pub struct FastStart {
    active: AtomicBool,
    /// Milestones still outstanding (bit set = not reached yet).
    pending: AtomicU8,
    armed_at: Mutex<Option<Instant>>,
    window: Duration,
}

impl FastStart {
    /// A switch that, once armed, waits for `milestones` for at most `window`.
    pub fn new(milestones: &[Milestone], window: Duration) -> Arc<Self> {
        let pending = milestones.iter().fold(0u8, |acc, m| acc | *m as u8);
        Arc::new(FastStart {
            active: AtomicBool::new(false),
            pending: AtomicU8::new(pending),
            armed_at: Mutex::new(None),
            window,
        })
    }

    /// Switches fast start on (called when the offer/answer exchange begins). Does nothing if
    /// every milestone has already been reached.
    pub fn arm(&self) {
        if self.pending.load(Ordering::Acquire) == 0 {
            return;
        }
        *self.armed_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        self.active.store(true, Ordering::Release);
        tracing::debug!("fast start armed");
    }

    /// Records a milestone; switches fast start off when none remain.
    pub fn reached(&self, milestone: Milestone) {
        let bit = milestone as u8;
        let before = self.pending.fetch_and(!bit, Ordering::AcqRel);
        if before & bit != 0 && before & !bit == 0 {
            self.disarm("all milestones reached");
        }
    }

    /// Switches fast start off (connection failed/closed, or all milestones reached).
    pub fn disarm(&self, why: &str) {
        if self.active.swap(false, Ordering::AcqRel) {
            let elapsed = self
                .armed_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .map(|t| t.elapsed());
            tracing::debug!(?elapsed, "fast start off: {why}");
        }
    }

    /// Whether the 1 ms cap currently applies.
    pub fn is_active(&self) -> bool {
        if !self.active.load(Ordering::Acquire) {
            return false;
        }
        let armed_at = *self.armed_at.lock().unwrap_or_else(|e| e.into_inner());
        match armed_at {
            Some(t) if t.elapsed() < self.window => true,
            _ => {
                self.disarm("window elapsed");
                false
            }
        }
    }

    /// The sleep the driver should take instead of `requested`.
    pub fn capped(&self, requested: Duration) -> Duration {
        if self.is_active() {
            requested.min(FAST_TICK)
        } else {
            requested
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_only_while_armed_and_pending() {
        let fs = FastStart::new(
            &[Milestone::Connected, Milestone::DataChannelOpen],
            Duration::from_secs(5),
        );
        let long = Duration::from_millis(200);
        assert_eq!(fs.capped(long), long, "not armed yet");
        fs.arm();
        assert_eq!(fs.capped(long), FAST_TICK);
        fs.reached(Milestone::Connected);
        assert_eq!(fs.capped(long), FAST_TICK, "data channel still pending");
        fs.reached(Milestone::DataChannelOpen);
        assert_eq!(fs.capped(long), long, "all milestones reached");
        fs.arm();
        assert_eq!(
            fs.capped(long),
            long,
            "re-arming after completion is a no-op"
        );
    }

    #[test]
    fn window_bounds_the_cap() {
        let fs = FastStart::new(&[Milestone::Connected], Duration::from_millis(20));
        fs.arm();
        assert_eq!(fs.capped(Duration::from_secs(1)), FAST_TICK);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(fs.capped(Duration::from_secs(1)), Duration::from_secs(1));
    }

    #[test]
    fn disarm_switches_off() {
        let fs = FastStart::new(&[Milestone::Connected], Duration::from_secs(5));
        fs.arm();
        fs.disarm("test");
        assert!(!fs.is_active());
    }
}
