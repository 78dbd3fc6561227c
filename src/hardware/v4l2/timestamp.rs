//! A V4L2 buffer's timestamp as an [`Instant`]: drivers stamp frames on
//! `CLOCK_MONOTONIC` when they say so in the buffer's flags, and that is the
//! clock `Instant` reads on Linux, so the stamp is placed by its distance
//! from now on both clocks.

use std::time::{Duration, Instant};

/// `V4L2_BUF_FLAG_TIMESTAMP_MASK`.
const TIMESTAMP_MASK: u32 = 0xe000;
/// `V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC`.
const TIMESTAMP_MONOTONIC: u32 = 0x2000;

/// When the driver stamped a buffer with `flags` and `stamp`, if it stamps on
/// the monotonic clock; `None` for other clocks, a zero stamp, or a stamp in
/// the future.
pub fn capture_instant(flags: u32, stamp: Duration) -> Option<Instant> {
    place(flags, stamp, monotonic_now()?, Instant::now())
}

/// The rule, with both clocks' "now" given.
fn place(flags: u32, stamp: Duration, mono_now: Duration, now: Instant) -> Option<Instant> {
    if flags & TIMESTAMP_MASK != TIMESTAMP_MONOTONIC || stamp.is_zero() {
        return None;
    }
    now.checked_sub(mono_now.checked_sub(stamp)?)
}

fn monotonic_now() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } == 0;
    ok.then(|| {
        Duration::new(
            ts.tv_sec.max(0) as u64,
            ts.tv_nsec.clamp(0, 999_999_999) as u32,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_monotonic_stamp_is_placed_by_its_age() {
        let now = Instant::now();
        let mono = Duration::from_secs(1000);
        let at = place(
            TIMESTAMP_MONOTONIC,
            mono - Duration::from_millis(7),
            mono,
            now,
        );
        assert_eq!(at, Some(now - Duration::from_millis(7)));
    }

    #[test]
    fn other_clocks_zero_and_future_stamps_are_not_used() {
        let now = Instant::now();
        let mono = Duration::from_secs(1000);
        let copy = 0x4000; // V4L2_BUF_FLAG_TIMESTAMP_COPY
        assert_eq!(place(copy, mono, mono, now), None);
        assert_eq!(place(TIMESTAMP_MONOTONIC, Duration::ZERO, mono, now), None);
        let future = mono + Duration::from_millis(1);
        assert_eq!(place(TIMESTAMP_MONOTONIC, future, mono, now), None);
    }

    #[test]
    fn now_on_the_monotonic_clock_is_now() {
        let stamp = monotonic_now().unwrap();
        let at = capture_instant(TIMESTAMP_MONOTONIC, stamp).unwrap();
        assert!(at.elapsed() < Duration::from_secs(1));
    }
}
