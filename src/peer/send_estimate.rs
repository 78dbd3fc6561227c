//! The congestion controller's estimate of what the path to this peer
//! carries, taken where the stack hands it out and kept for the
//! application.
//!
//! The stack's controller (`rtc-interceptor`: TWCC feedback into a GCC
//! estimator, `Slot::CongestionControl`) attaches each new estimate to the
//! feedback packet that produced it, as `Attribute::TargetBitrateChanged`,
//! on the read leg. [`SendEstimateTap`] sits application-ward of it and
//! copies the number into a [`SendEstimate`] the peer's media sender reads;
//! the video pipeline follows the weakest viewer's estimate
//! ([`crate::media::rate`]). No pacer: the stack's paces at exactly the
//! estimate, which holds a keyframe back for a second at 300 kbit/s; the
//! encoder following the estimate keeps the rate down instead.

use rtc::interceptor::{Attribute, Interceptor, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The latest estimate for one connection, in bits per second; shared
/// between the tap (writer) and the media sender (reader).
#[derive(Debug, Clone, Default)]
pub struct SendEstimate(Arc<AtomicU64>);

impl SendEstimate {
    /// The estimate, once the controller has made one.
    pub fn get(&self) -> Option<u64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|&bps| bps > 0)
    }

    /// Where the controller starts, before it has said anything.
    pub(crate) fn start_at(&self, bits_per_second: f64) {
        self.set(bits_per_second);
    }

    fn set(&self, bits_per_second: f64) {
        self.0
            .store(bits_per_second.max(1.0) as u64, Ordering::Relaxed);
    }
}

/// Copies each new estimate into its [`SendEstimate`]; passes everything.
pub struct SendEstimateTap {
    estimate: SendEstimate,
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
}

impl SendEstimateTap {
    /// A tap writing into `estimate`.
    pub fn new(estimate: SendEstimate) -> SendEstimateTap {
        SendEstimateTap {
            estimate,
            read_queue: VecDeque::new(),
            write_queue: VecDeque::new(),
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for SendEstimateTap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        for attribute in &msg.message.attributes {
            if let Attribute::TargetBitrateChanged { bits_per_second } = attribute {
                self.estimate.set(*bits_per_second);
            }
        }
        self.read_queue.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }
}

impl Interceptor for SendEstimateTap {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
