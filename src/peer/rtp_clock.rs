//! RTP time from the capture clock. The WebRTC stack's sample track advances
//! a track's RTP timestamp by each sample's duration, truncated to whole
//! ticks: a 30 fps frame (33.333… ms) advanced 2,999 ticks of 90 kHz instead
//! of 3,000, and the stream's time ran 383 ppm slow (11 ms every 30 s). Our
//! tracks cut their own packets instead, and [`RtpClock`] says how far to
//! move the packetizer's timestamp before each sample so that it is the
//! sample's capture time, counted from the track's first sample: exact for
//! every frame, whether one came late or was skipped.
//!
//! Audio is counted in samples, not stamped: a microphone's 20 ms packets
//! are read, not taken at an instant, so the time a packet was read jitters
//! by a few milliseconds while its samples are contiguous. An audio clock
//! keeps each packet exactly one packet after the last one, and follows the
//! wall clock only when the two differ by more than half a packet (a pause,
//! a dropped packet, or a sound card whose crystal drifts).

use std::time::{Duration, Instant};

/// The RTP time of one track, anchored at its first sample's capture.
#[derive(Debug)]
pub(crate) struct RtpClock {
    rate: u32,
    /// Counted in samples (audio) rather than stamped (video).
    counted: bool,
    anchor: Option<Instant>,
    /// Ticks the packetizer's timestamp has moved since the first sample.
    at: u64,
    /// Where the next sample starts if it follows the last one without a gap.
    next: u64,
}

impl RtpClock {
    /// A video clock of `rate` ticks a second (90,000): each frame at its
    /// capture time.
    pub fn stamped(rate: u32) -> RtpClock {
        RtpClock {
            rate,
            counted: false,
            anchor: None,
            at: 0,
            next: 0,
        }
    }

    /// An audio clock of `rate` ticks a second (48,000 for Opus): packets
    /// back to back, re-anchored when the wall clock is half a packet away.
    pub fn counted(rate: u32) -> RtpClock {
        RtpClock {
            counted: true,
            ..RtpClock::stamped(rate)
        }
    }

    /// How many ticks to move the timestamp before the sample captured at
    /// `captured_at`, so that its timestamp is its capture time. A sample
    /// captured no later than the one before (a clock that stepped back)
    /// gets that one's time plus its `duration`, so time never runs backwards
    /// nor stands still.
    pub fn skip_to(&mut self, captured_at: Instant, duration: Duration) -> u32 {
        let length = ticks_of(duration, self.rate).max(1);
        let Some(anchor) = self.anchor else {
            self.anchor = Some(captured_at);
            self.next = length;
            return 0;
        };
        let mut target = ticks_of(captured_at.saturating_duration_since(anchor), self.rate);
        if self.counted && target.abs_diff(self.next) <= length / 2 {
            target = self.next;
        }
        if target <= self.at {
            target = self.at + length;
        }
        let skip = (target - self.at).min(u64::from(u32::MAX));
        self.at += skip;
        self.next = self.at + length;
        skip as u32
    }
}

/// `d` in ticks of `rate`, rounded to the nearest.
fn ticks_of(d: Duration, rate: u32) -> u64 {
    ((d.as_nanos() * u128::from(rate) + 500_000_000) / 1_000_000_000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 90_000;
    const FRAME: Duration = Duration::from_nanos(33_333_333);

    /// Each sample's timestamp (relative to the first) as the packetizer
    /// moves it, for samples captured at `captures`.
    fn timestamps(captures: &[Instant]) -> Vec<u64> {
        let mut clock = RtpClock::stamped(RATE);
        let mut at = 0u64;
        captures
            .iter()
            .map(|&c| {
                at += u64::from(clock.skip_to(c, FRAME));
                at
            })
            .collect()
    }

    /// The capture times in ticks, from the first capture.
    fn truth(captures: &[Instant]) -> Vec<u64> {
        captures
            .iter()
            .map(|c| ticks_of(*c - captures[0], RATE))
            .collect()
    }

    #[test]
    fn sixty_seconds_at_30_fps_keep_exact_time() {
        let start = Instant::now();
        let captures: Vec<Instant> = (0..1800u32).map(|n| start + FRAME * n).collect();
        assert_eq!(timestamps(&captures), truth(&captures));
        // What the stack's sample track did: 2,999 ticks a frame, 20 ms behind.
        let nominal = (FRAME.as_secs_f64() * f64::from(RATE)) as u64 * 1799;
        assert_eq!(nominal, 1799 * 2999);
        assert_eq!(truth(&captures)[1799], 1799 * 3000);
    }

    #[test]
    fn late_captures_and_skipped_frames_keep_exact_time() {
        let start = Instant::now();
        let mut captures = vec![];
        for n in 0..900u32 {
            if n % 100 == 50 {
                continue; // a frame this viewer skipped
            }
            let late = Duration::from_millis(u64::from(n % 7) * 4);
            captures.push(start + FRAME * n + late);
        }
        assert_eq!(timestamps(&captures), truth(&captures));
    }

    #[test]
    fn time_never_stands_still_or_runs_back() {
        let start = Instant::now();
        let captures = [start, start + FRAME, start + FRAME, start];
        let got = timestamps(&captures);
        assert_eq!(got[..2], [0, 3000]);
        assert!(got.windows(2).all(|w| w[1] > w[0]), "{got:?}");
    }

    /// Audio packets of 20 ms at 48 kHz, read `late[n]` ms after their time.
    fn audio(late: &[u64]) -> Vec<u64> {
        let start = Instant::now();
        let mut clock = RtpClock::counted(48_000);
        let mut at = 0u64;
        late.iter()
            .enumerate()
            .map(|(n, &l)| {
                let read = start + Duration::from_millis(20 * n as u64 + l);
                at += u64::from(clock.skip_to(read, Duration::from_millis(20)));
                at
            })
            .collect()
    }

    #[test]
    fn audio_packets_read_with_jitter_stay_back_to_back() {
        let got = audio(&[0, 3, 1, 7, 0, 9, 2]);
        let want: Vec<u64> = (0..7).map(|n| n * 960).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn audio_after_a_gap_follows_the_wall_clock() {
        // Packet 3 read 30 ms late: a packet and a half went missing.
        let got = audio(&[0, 0, 0, 30, 30, 30]);
        assert_eq!(got[..3], [0, 960, 1920]);
        assert_eq!(got[3], 3 * 960 + 1440);
        assert_eq!(got[4] - got[3], 960, "back to back again after the gap");
    }
}
