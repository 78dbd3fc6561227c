//! The path estimator against made-up feedback: a path of a given rate and
//! queue, reported every 100 ms, with GCC replaced by a constant.

use super::*;
use crate::peer::queue_delay::BASE_SPAN;
use rtc::interceptor::ConstantBitrate;
use rtc::rtcp::transport_feedbacks::cc_feedback_report::Ecn;

/// A packet of a thousand bits, so every test rate is a whole number of them.
const PACKET: usize = 125;
const BATCH: Duration = Duration::from_millis(100);
/// The peer's clock runs this far from ours; only differences matter.
const CLOCK_OFFSET: Duration = Duration::from_secs(1234);

/// Feeds the estimator like a peer behind a path that delivers `rate`
/// bit/s with `queued` extra delay in each batch.
struct Path {
    epoch: Instant,
    now: Instant,
    next_id: u64,
}

impl Path {
    fn new() -> Path {
        let epoch = Instant::now();
        Path {
            epoch,
            now: epoch,
            next_id: 0,
        }
    }

    /// One 100 ms batch: the packets that carry `rate` in it, each queued
    /// for `queued` on top of a 20 ms base delay.
    fn batch(
        &mut self,
        estimator: &mut PathEstimator<ConstantBitrate>,
        rate: f64,
        queued: Duration,
    ) {
        let count = (rate * BATCH.as_secs_f64() / 8.0 / PACKET as f64).round() as u64;
        let reports: Vec<PacketReport> = (0..count)
            .map(|n| {
                let departure = self.now + BATCH * n as u32 / count as u32;
                let arrival =
                    CLOCK_OFFSET + (departure - self.epoch) + Duration::from_millis(20) + queued;
                self.next_id += 1;
                PacketReport {
                    ssrc: 1,
                    id: self.next_id,
                    rtp_sequence_number: self.next_id as u16,
                    is_twcc: true,
                    twcc_sequence_number: self.next_id as u16,
                    size: PACKET,
                    arrived: true,
                    departure,
                    arrival: Some(arrival),
                    ecn: Ecn::default(),
                }
            })
            .collect();
        self.now += BATCH;
        estimator.on_reports(self.now, &reports);
    }

    fn batches(
        &mut self,
        estimator: &mut PathEstimator<ConstantBitrate>,
        n: usize,
        rate: f64,
        queued: Duration,
    ) {
        for _ in 0..n {
            self.batch(estimator, rate, queued);
        }
    }
}

fn estimator() -> PathEstimator<ConstantBitrate> {
    PathEstimator::new(ConstantBitrate::new(800_000.0), 50_000.0, 800_000.0)
}

#[test]
fn a_free_path_keeps_the_estimate_where_it_is_though_the_stream_is_small() {
    let mut estimator = estimator();
    let mut path = Path::new();
    path.batches(&mut estimator, 50, 200_000.0, Duration::ZERO);
    assert_eq!(estimator.target_bitrate(), 800_000.0);
}

#[test]
fn a_queue_that_persists_brings_the_estimate_below_what_gets_through() {
    let mut estimator = estimator();
    let mut path = Path::new();
    path.batches(&mut estimator, 20, 200_000.0, Duration::ZERO);
    // The path now carries 150 kbit/s and its queue grows.
    for n in 1..=4u32 {
        path.batch(&mut estimator, 150_000.0, Duration::from_millis(40) * n);
    }
    let estimate = estimator.target_bitrate();
    assert!(
        estimate < 150_000.0,
        "estimate {estimate} after the queue built behind 150 kbit/s"
    );
}

#[test]
fn a_keyframes_short_queue_is_not_congestion() {
    let mut estimator = estimator();
    let mut path = Path::new();
    path.batches(&mut estimator, 20, 400_000.0, Duration::ZERO);
    let before = estimator.target_bitrate();
    path.batch(&mut estimator, 400_000.0, Duration::from_millis(120));
    path.batch(&mut estimator, 400_000.0, Duration::ZERO);
    path.batches(&mut estimator, 3, 400_000.0, Duration::ZERO);
    assert!(
        estimator.target_bitrate() >= before,
        "{before} fell to {} over one queued batch",
        estimator.target_bitrate()
    );
}

#[test]
fn decreases_are_spaced_so_the_queue_can_drain() {
    let mut estimator = estimator();
    let mut path = Path::new();
    path.batches(&mut estimator, 20, 200_000.0, Duration::ZERO);
    path.batches(&mut estimator, 3, 150_000.0, Duration::from_millis(200));
    let first = estimator.following;
    // The queue is still there while it drains: no second cut yet.
    path.batches(&mut estimator, 3, 150_000.0, Duration::from_millis(200));
    assert_eq!(estimator.following, first);
    path.batches(&mut estimator, 4, 150_000.0, Duration::from_millis(200));
    assert!(estimator.following < first);
}

#[test]
fn near_where_the_queue_built_the_estimate_creeps_and_far_from_it_climbs() {
    let mut estimator = estimator();
    let mut path = Path::new();
    path.batches(&mut estimator, 20, 200_000.0, Duration::ZERO);
    path.batches(&mut estimator, 3, 150_000.0, Duration::from_millis(200));
    let after_cut = estimator.following;
    let ceiling = estimator.ceiling.expect("a ceiling where the queue built");
    // An empty queue for 1 s: a step near the ceiling, not a factor.
    path.batches(&mut estimator, 10, 150_000.0, Duration::ZERO);
    let crept = estimator.following - after_cut;
    assert!(
        crept > 0.0 && crept <= NEAR_GROWTH_SHARE * ceiling + 1.0,
        "grew {crept} bit/s in 1 s near the ceiling {ceiling}"
    );
    // The link is lifted: once past the ceiling the growth is a factor.
    path.batches(&mut estimator, 150, 600_000.0, Duration::ZERO);
    assert!(
        estimator.following > 500_000.0,
        "only {} after 15 s on a free path",
        estimator.following
    );
}

#[test]
fn the_base_delay_survives_a_clock_offset_and_a_route_change() {
    let mut queue = QueueDelay::default();
    let epoch = Instant::now();
    let report = |id: u64, sent: Duration, delay: Duration| PacketReport {
        ssrc: 1,
        id,
        rtp_sequence_number: id as u16,
        is_twcc: true,
        twcc_sequence_number: id as u16,
        size: PACKET,
        arrived: true,
        departure: epoch + sent,
        arrival: Some(CLOCK_OFFSET + sent + delay),
        ecn: Ecn::default(),
    };
    let at = |ms: u64| Duration::from_millis(ms);
    assert_eq!(
        queue.update(epoch, &[report(1, at(0), at(30))]),
        Some(Duration::ZERO)
    );
    let queued = queue
        .update(epoch + at(100), &[report(2, at(100), at(110))])
        .unwrap();
    assert_eq!(queued, at(80));
    // A longer route for good: after two spans it is the new base.
    let mut now = epoch + at(200);
    let mut sent = at(200);
    let mut queued = None;
    while now < epoch + 2 * BASE_SPAN + at(500) {
        queued = queue.update(now, &[report(3, sent, at(50))]);
        now += at(100);
        sent += at(100);
    }
    assert_eq!(queued, Some(Duration::ZERO));
}
